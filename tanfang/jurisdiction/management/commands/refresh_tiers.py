"""`manage.py refresh_tiers`: recompute every active elder's tier; run daily, so
that an elder who turns 80 today is a key object today (ages cross thresholds
without any write to the file)."""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from tanfang.refresh import refresh_tiers
from tanfang.registry.models import Elder, Status


class Command(BaseCommand):
    help = "Recompute the stored tier of every active elder (run daily)."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = refresh_tiers(Elder.objects.filter(status=Status.ACTIVE), timezone.localdate())
        self.stdout.write(f"分级已更新：{changed} 人。")

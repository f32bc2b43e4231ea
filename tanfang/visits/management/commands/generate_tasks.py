"""`manage.py generate_tasks`: make the visit tasks of this month and the next
for every active elder; run daily, after `refresh_tiers` (a second run the same
day makes nothing)."""

import argparse
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from tanfang.visits.generation import generate_tasks
from tanfang.visits.planning import MONTHS


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("日期格式应为 YYYY-MM-DD") from None


def _months(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 12:
        raise argparse.ArgumentTypeError("月数应为 1 至 12")
    return int(text)


class Command(BaseCommand):
    help = "Make the visit tasks of this month and the next (run daily; idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", type=_day, help="the day of the run (YYYY-MM-DD), today by default"
        )
        parser.add_argument(
            "--months",
            type=_months,
            default=MONTHS,
            help=f"months from that day's on (default {MONTHS})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = options["date"] or timezone.localdate()
        created = generate_tasks(today=today, months=options["months"])
        self.stdout.write(f"探访任务已生成：{created} 项（{today}，{options['months']} 个月）。")

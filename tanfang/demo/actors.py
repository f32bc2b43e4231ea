"""Who acts in the demo county: the demo accounts, and which of them records
for a village (tanfang.demo.visits, tanfang.demo.care)."""

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.utils import timezone

from tanfang.accounts.models import User
from tanfang.registry.models import Elder, Status

COUNTY = "350581"


@dataclass(frozen=True)
class Accounts:
    """The demo accounts that act: each records where a real one would."""

    county: User
    township: User
    liaison: User
    visitor: User


def county_elders() -> Any:
    return Elder.objects.filter(village__code__startswith=COUNTY, status=Status.ACTIVE)


def local(day: date, moment: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, moment))


def actor_for(accounts: Accounts, village: str) -> User:
    """Who records for a village: its liaison in the demo community, the
    township officer in the demo township, the county officer elsewhere (the
    liaisons of the other villages have no demo account)."""
    if village == accounts.liaison.region_id:
        return accounts.liaison
    if village.startswith(accounts.township.region_id[:9]):
        return accounts.township
    return accounts.county

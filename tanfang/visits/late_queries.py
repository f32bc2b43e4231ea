"""Reads about late entries (补录, issue 16 "Closed months"): when a node's month
locked and was last re-frozen, how many late entries wait (the report page),
and the officer's review list (tanfang.visits.late_views).

A node at or below a county locks on its county's day; above, its counties
may lock on different days, and the earliest and latest are given.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Max, Q, QuerySet

from tanfang.accounts.models import User
from tanfang.jurisdiction import tiers
from tanfang.months import bounds, month_of
from tanfang.regions.models import Level, Region
from tanfang.visits import closing
from tanfang.visits.models import LateState, Visit


@dataclass(frozen=True)
class MonthLock:
    month: date
    # When the month locks (locked) under the node: its counties' earliest and
    # latest moments, the same where one county's rules apply.
    first: datetime
    last: datetime
    locked: bool
    # The last approval of a late entry dated in the month (its re-freeze).
    refrozen_at: datetime | None
    # Late entries waiting under the node: dated in the month, and in all.
    pending: int
    pending_all: int

    @property
    def same_day(self) -> bool:
        return self.first == self.last


def month_lock(region: Region, month: date, now: datetime) -> MonthLock:
    """The lock of `month` under `region` as of `now`: two queries at or below a
    county (its rules; the late entries), three above (its counties)."""
    month = month_of(month)
    if region.level >= Level.COUNTY:
        counties = [region.code[:6].ljust(12, "0")]
        choices = None
    else:
        counties = list(
            Region.objects.filter(region.subtree(), level=Level.COUNTY).values_list(
                "code", flat=True
            )
        ) or [region.code]
        choices = tiers.all_choices()
    moments = sorted({closing.month_locks_at(code, month, choices) for code in counties})
    start, end = bounds(month)
    in_month = Q(visited_at__gte=start, visited_at__lt=end)
    found = (
        Visit.objects.filter(region.subtree("village_id"))
        .filter(late_state__in=[LateState.PENDING, LateState.APPROVED])
        .aggregate(
            pending=Count("pk", filter=in_month & Q(late_state=LateState.PENDING)),
            pending_all=Count("pk", filter=Q(late_state=LateState.PENDING)),
            refrozen_at=Max("late_decided_at", filter=in_month & Q(late_state=LateState.APPROVED)),
        )
    )
    return MonthLock(
        month=month,
        first=moments[0],
        last=moments[-1],
        locked=now >= moments[0],
        refrozen_at=found["refrozen_at"],
        pending=found["pending"],
        pending_all=found["pending_all"],
    )


# What the review page lists, by its `state` parameter.
STATES = {
    "pending": ("待审核", (LateState.PENDING,)),
    "decided": ("已审核", (LateState.APPROVED, LateState.REFUSED)),
}


def late_entries(
    user: User, *, state: str, region: Region | None = None, month: date | None = None
) -> QuerySet[Visit]:
    """The late entries the user may see, in `state` ("pending": oldest visit
    first; "decided": last decided first), under `region` and dated in `month`
    when given, with what a row of the list shows."""
    _, states = STATES[state]
    visits = Visit.objects.visible_to(user).filter(late_state__in=states)
    if region is not None:
        visits = visits.filter(region.subtree("village_id"))
    if month is not None:
        start, end = bounds(month)
        visits = visits.filter(visited_at__gte=start, visited_at__lt=end)
    order = ("visited_at", "pk") if state == "pending" else ("-late_decided_at", "-pk")
    return (
        visits.select_related("recorded_by", "late_decided_by")
        .prefetch_related("visitors")
        .order_by(*order)
    )

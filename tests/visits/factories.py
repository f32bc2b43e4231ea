"""Elders, visitors, assignments and tasks for the visit tests, made directly so
that each test states the windows it is about."""

from datetime import date, datetime
from typing import Any

from tanfang.accounts.models import User
from tanfang.jurisdiction.models import PolicyChoice
from tanfang.regions.models import Region
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder
from tanfang.registry.registration import register_elder
from tanfang.visits.models import Assignment, TaskKind, Visitor, VisitTask
from tests.conftest import COUNTY, TOWNSHIP_A, TOWNSHIP_B, VILLAGE_A

# A 1-pixel PNG, as a signature drawn on the screen arrives.
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

# 000_4970ff49482a0570.txt 附件4: every item of the Fujian form answered, all well.
GOOD = {
    "population": {"value": "unchanged", "count": None},
    "expression": "unchanged",
    "mobility": "unchanged",
    "disease": {"value": "unchanged", "detail": None},
    "mood": "unchanged",
    "gas_safety": "safe",
    "water_heating_safety": "safe",
    "electrical_safety": "safe",
    "personal_hygiene": "unchanged",
    "household_hygiene": "unchanged",
    "indoor_environment": "unchanged",
}


def follow_shishi(users: dict[str, User]) -> None:
    """石狮's own scheme (000_4970ff49482a0570.txt), from long before the tests' days."""
    PolicyChoice.objects.create(
        region_id=COUNTY,
        since=date(2023, 1, 1),
        profile="fujian-shishi",
        changed_by=users["county"],
    )


def make_elder(
    users: dict[str, User],
    regions: dict[str, Region],
    sequence: int = 1,
    *,
    village: str = VILLAGE_A,
    registered_on: date = date(2026, 1, 10),
    **details: Any,
) -> Elder:
    registrar = users["liaison_a"] if village == VILLAGE_A else users["liaison_b"]
    elder = register_elder(
        acting_user=registrar,
        id_number=make_id_number("350581", date(1940, 3, 1), sequence, "女"),
        name=f"老人{sequence}",
        village=regions[village],
        **details,
    )
    Elder.objects.filter(pk=elder.pk).update(registered_on=registered_on)
    elder.refresh_from_db()
    return elder


def make_visitor(
    users: dict[str, User],
    regions: dict[str, Region],
    name: str = "林秀英",
    *,
    township: str = TOWNSHIP_A,
    villages: tuple[str, ...] = (VILLAGE_A,),
    user: str | None = "visitor_a",
    kind: str = "grid_worker",
) -> Visitor:
    visitor = Visitor.objects.create(
        township=regions[township],
        name=name,
        kind=kind,
        user=users[user] if user else None,
        created_by=users["township_a" if township == TOWNSHIP_A else "township_b"],
    )
    visitor.villages.set([regions[v] for v in villages])
    return visitor


def assign(users: dict[str, User], elder: Elder, visitor: Visitor) -> Assignment:
    return Assignment.objects.create(elder=elder, visitor=visitor, started_by=users["liaison_a"])


def make_task(
    elder: Elder,
    start: date,
    deadline: date,
    end: date | None = None,
    *,
    kind: str = TaskKind.REGULAR,
    key: str = "regular:1",
    modes: tuple[str, ...] = ("home",),
    label: str = "半月上门探访",
    extra: bool = False,
    remote_counts_as_home: bool = False,
    month: date | None = None,
    due_at: datetime | None = None,
) -> VisitTask:
    """A task as the generation makes it. `month`, whose figures it counts in,
    is by default the month of its deadline (a period's task); a festival's is
    the month of the festival day, an event's that of its span's start."""
    return VisitTask.objects.create(
        elder=elder,
        kind=kind,
        key=key,
        label=label,
        window_start=start,
        deadline=deadline,
        window_end=end or deadline,
        modes=list(modes),
        extra=extra,
        remote_counts_as_home=remote_counts_as_home,
        month=month or deadline.replace(day=1),
        due_at=due_at,
    )


__all__ = [
    "PNG",
    "TOWNSHIP_B",
    "assign",
    "follow_shishi",
    "make_elder",
    "make_task",
    "make_visitor",
]

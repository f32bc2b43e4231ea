"""Rows of the rollup tables made directly, for tests of the report pages and
queries only: what keeps the tables current (tanfang/reports/rollups.py) is
tested in its own files. Registering an elder already makes the elder's rows
and counters; a test that states its own numbers makes its elders first, then
`wipe()`s what they made, then writes its rows."""

from datetime import date, datetime
from typing import Any

from tanfang.accounts.models import User
from tanfang.regions.models import Kind, Level, Region
from tanfang.registry.models import Elder
from tanfang.reports.models import ElderMonth, VillageMonth
from tanfang.visits.models import Visit, Visitor
from tests.conftest import TOWNSHIP_A


def counter(village: str, month: date, dimension: str = "", **counts: int) -> VillageMonth:
    return VillageMonth.objects.create(
        village_id=village, month=month, dimension=dimension, **counts
    )


def wipe() -> None:
    """Forget the rows and counters the rollups made so far."""
    ElderMonth.objects.all().delete()
    VillageMonth.objects.all().delete()


def elder_month(elder: Elder, month: date, **fields: Any) -> ElderMonth:
    """The elder's row of `month` as given: counted, not visited unless said."""
    values: dict[str, Any] = {
        "counted": True,
        "declined": False,
        "visited": False,
        "compliant": False,
        "visits": 0,
        "tier": "",
        "categories": [],
        "missing": [],
        "village_id": elder.village_id,
        **fields,
    }
    row, _ = ElderMonth.objects.update_or_create(elder=elder, month=month, defaults=values)
    return row


_visits = {"n": 0}


def visit_on(
    users: dict[str, User], elder: Elder, visitor: Visitor, at: datetime, mode: str = "home"
) -> Visit:
    _visits["n"] += 1
    visit = Visit.objects.create(
        uuid=f"00000000-0000-0000-0000-{_visits['n']:012d}",
        content_hash="x",
        elder=elder,
        village_id=elder.village_id,
        sequence=Visit.objects.filter(elder=elder).count() + 1,
        mode=mode,
        visited_at=at,
        recorded_by=users["liaison_a"],
        checklist="fujian",
    )
    visit.visitors.set([visitor])
    return visit


def add_villages(regions: dict[str, Region], count: int, month: date) -> list[Region]:
    """`count` more villages in 灵秀镇, each with 3 counted, 2 visited, 1 compliant."""
    made = []
    for number in range(count):
        village = Region.objects.create(
            code=f"{TOWNSHIP_A[:9]}{300 + number:03d}",
            name=f"新村{number}",
            level=Level.VILLAGE,
            kind=Kind.RURAL,
            parent_id=TOWNSHIP_A,
        )
        counter(village.code, month, counted=3, visited=2, compliant=1)
        made.append(village)
    return made

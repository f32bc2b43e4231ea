"""A locked month's numbers after late entries (补录) are decided are the very
numbers a rebuild from the raw rows gives (`recompute_month`), and in both a
late entry waiting or refused is no valid visit (docs/统计口径.md §4, §13;
issue 16 "Closed months"): a hand count of the visits agrees with every row.
Random histories through the real actions, with the clock moving across the
locks on the 5th, as tests/reports/test_recompute.py plays them."""

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tanfang.months import bounds, month_of, zone
from tanfang.reports import rollups
from tanfang.reports.models import ElderMonth
from tanfang.reports.rebuild import months_to_recompute, recompute_month
from tanfang.visits.actions import record_visit
from tanfang.visits.late import approve_late, refuse_late
from tanfang.visits.models import LateState, Visit
from tests.conftest import VILLAGE_A, VILLAGE_B, aware
from tests.reports.test_recompute import START, History, step
from tests.reports.test_rollups import LIAISON, assert_never_negative, make_visitors, tables
from tests.visits.factories import GOOD, PNG

NOVEMBER = date(2026, 11, 1)
COUNTED = ("", str(LateState.APPROVED))


@pytest.fixture
def visitors(users, regions):
    return make_visitors(users, regions)


class LateHistory(History):
    """History whose visits say why when they come after their month's lock,
    and whose county officer decides the late entries waiting."""

    def visit(self, index: int, mode: str, refused: bool, back: int, at: tuple[int, int]) -> None:
        day = self.today - timedelta(days=back)
        elder = self.elder(index)
        signed = not refused
        record_visit(
            acting_user=self.users[LIAISON[elder.village_id]],
            uuid=uuid.uuid4(),
            elder=elder,
            mode=mode,
            visited_at=aware(day.year, day.month, day.day, *at),
            visitors=[self.visitors[elder.village_id]],
            answers={} if refused else GOOD,
            refused=refused,
            visitor_signature=PNG if signed else "",
            elder_signature=PNG if signed and mode == "home" else "",
            late_reason="村里没有信号，回镇上才提交",
        )

    def decide(self, which: int, approve: bool) -> None:
        waiting = list(Visit.objects.filter(late_state=LateState.PENDING).order_by("pk"))
        if waiting:
            decide = approve_late if approve else refuse_late
            decide(
                acting_user=self.users["county"], visit=waiting[which % len(waiting)], note="核实"
            )


def assert_rebuild_gives_the_same(today: date) -> None:
    kept = tables()
    assert_never_negative()
    for month in months_to_recompute(START.date(), today, today):
        recompute_month(month, today)
    assert tables() == kept


def assert_only_counted_visits_count() -> None:
    """Every row's valid visits, counted by hand: not refused by the elder, and
    entered in time or approved."""
    for row in ElderMonth.objects.all():
        start, end = bounds(row.month)
        valid = Visit.objects.filter(
            elder_id=row.elder_id,
            visited_at__gte=start,
            visited_at__lt=end,
            refused=False,
            late_state__in=COUNTED,
        ).count()
        assert row.visits == valid, (row.elder_id, row.month)
        assert row.visited == (valid > 0)


decide_step = st.tuples(st.just("decide"), st.integers(0, 10), st.booleans())


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.one_of(step, decide_step, decide_step), min_size=8, max_size=40))
def test_decided_late_entries_give_the_numbers_of_a_rebuild(
    steps, users, regions, visitors, time_machine
):
    with transaction.atomic():
        history = LateHistory(users, regions, visitors, time_machine)
        history.play(steps)
        assert_only_counted_visits_count()
        assert_rebuild_gives_the_same(history.today)
        assert_only_counted_visits_count()
        transaction.set_rollback(True)


@pytest.mark.parametrize("one_by_one", [rollups.PYTHON_LIMIT, 0], ids=["python", "set-based"])
def test_a_locked_month_after_approvals_equals_its_rebuild(
    one_by_one, users, regions, visitors, time_machine, monkeypatch
):
    # With 0, every refresh of the actions goes through the set-based statements.
    monkeypatch.setattr(rollups, "PYTHON_LIMIT", one_by_one)
    history = LateHistory(users, regions, visitors, time_machine)
    history.play(
        [
            ("register", VILLAGE_A, "", True, []),
            ("register", VILLAGE_B, "severe", True, ["独居"]),
            # Day by day at most 10 at a time, as the daily task run goes.
            *[("advance", 10)] * 4,  # 3 November
            ("visit", 0, "home", False, 0, (9, 0)),  # in time
            *[("advance", 10)] * 3,
            ("advance", 4),  # 7 December: November locked on the 5th
        ]
    )
    late: dict[str, Any] = {}
    # v4 and v5 wait and are refused beside approved entries of the same
    # elders, whose rows the approvals then recompute.
    for index, (number, day) in enumerate([(1, 14), (2, 20), (3, 25), (0, 28), (1, 22), (0, 26)]):
        history.visit(number, "home", False, (history.today - date(2026, 11, day)).days, (10, 0))
        late[f"v{index}"] = Visit.objects.latest("pk")
    assert {v.late_state for v in late.values()} == {LateState.PENDING}
    before = tables()

    refuse_late(acting_user=users["county"], visit=late["v5"], note="重复录入")
    approve_late(acting_user=users["township_b"], visit=late["v0"], note="核实")
    refuse_late(acting_user=users["county"], visit=late["v1"], note="定位不符")
    approve_late(acting_user=users["county"], visit=late["v3"], note="核实")

    assert tables() != before
    assert Visit.objects.get(pk=late["v2"].pk).late_state == LateState.PENDING
    assert_only_counted_visits_count()
    assert_rebuild_gives_the_same(history.today)
    # Waiting and refused: no valid visit of November for their elders.
    for key in ("v1", "v2", "v4", "v5"):
        visit = Visit.objects.get(pk=late[key].pk)
        assert not visit.counted
        assert visit.visited_at.astimezone(zone()).month == 11
    assert month_of(history.today) == date(2026, 12, 1)
    assert ElderMonth.objects.filter(month=NOVEMBER).exists()

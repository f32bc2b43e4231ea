"""The full recompute (`recompute_month`, `manage.py recompute_rates`) gives the
very numbers the actions keep current (issue 6 item 2): random histories of
elders registering, visits of every mode (refused ones, late ones, at the
stroke of midnight), tasks done, excused and cancelled, tier, consent,
category and status changes, elders moving village, heat waves declared, the
daily task run — all through the real actions, with the clock moving — and
festival and event surges (extra or mandatory, windows within the month),
trigger tasks due within hours and quarterly tasks made as the generation
makes them; then every month rebuilt from the raw rows, oldest first,
compared row by row (surges, quarter compliance and rules included).
"""

from datetime import date, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tanfang.jurisdiction.actions import declare_event
from tanfang.months import last_day, month_of, months_between, quarter_start, zone
from tanfang.registry.actions import change_status, confirm_categories, override_tier, update_elder
from tanfang.registry.models import Elder
from tanfang.reports import rollups
from tanfang.reports.models import ElderMonth, VillageMonth
from tanfang.reports.rebuild import months_to_recompute, recompute_month
from tanfang.visits.actions import excuse_task
from tanfang.visits.generation import generate_tasks
from tanfang.visits.models import TaskKind, VisitTask
from tests.conftest import COUNTY, VILLAGE_A, VILLAGE_B
from tests.reports.test_rollups import (
    assert_never_negative,
    make_visitors,
    register,
    tables,
    visit,
)
from tests.visits.factories import make_task

# Each day's actions at its last minute, in Asia/Shanghai.
START = datetime(2026, 9, 24, 23, 59, 30, tzinfo=zone())
OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 1)
CATEGORIES = ["孤寡", "独居", "空巢"]

elder_index = st.integers(0, 40)
visit_step = st.tuples(
    st.just("visit"),
    elder_index,
    st.sampled_from(["home", "home", "phone", "video", "other"]),
    st.sampled_from([False, False, False, True]),  # refused
    st.sampled_from([0, 0, 0, 1, 3, 12, 35]),  # days before today
    st.sampled_from([(0, 0), (9, 30), (15, 59), (16, 0), (23, 59)]),
)
advance_step = st.tuples(st.just("advance"), st.integers(1, 12))
step = st.one_of(
    st.tuples(
        st.just("register"),
        st.sampled_from([VILLAGE_A, VILLAGE_B]),
        st.sampled_from(["", "severe"]),
        st.sampled_from([True, True, True, False]),  # consents to visits
        st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True),
    ),
    # Visits and days passing more often than the rest.
    *[visit_step] * 6,
    *[advance_step] * 3,
    st.tuples(st.just("excuse"), elder_index, st.integers(0, 4)),
    st.tuples(
        st.just("status"),
        elder_index,
        st.sampled_from(["deceased", "moved_away", "in_institution", "active", "active"]),
        st.sampled_from([0, 2, 9, 30]),  # effective so many days before today
    ),
    st.tuples(st.just("move"), elder_index),
    st.tuples(st.just("consent"), elder_index),
    st.tuples(st.just("override"), elder_index, st.sampled_from(["", "key", "general"])),
    st.tuples(st.just("ability"), elder_index, st.sampled_from(["", "intact", "severe"])),
    st.tuples(
        st.just("categories"), elder_index, st.lists(st.sampled_from(CATEGORIES), unique=True)
    ),
    st.tuples(st.just("event"), st.integers(0, 10)),
    # Made as the generation makes them (tests/visits/factories.py).
    st.tuples(
        st.just("surge"),
        elder_index,
        st.sampled_from(["festival:中秋", "festival:重阳", "event:7"]),
        st.booleans(),  # extra (适当增加) or mandatory (必须开展)
        st.integers(0, 6),  # days before today the window opens
        st.integers(0, 8),  # its length in days after that
        st.sampled_from([1, 1, 2]),  # visits asked
    ),
    st.tuples(st.just("trigger"), elder_index, st.integers(-30, 30)),  # hours from now
    st.tuples(st.just("quarterly"), elder_index),
)


class History:
    """Plays the steps through the actions; a step the actions refuse (a visit
    before the file existed, a status it already has) is skipped, as it would
    be for an officer."""

    def __init__(self, users, regions, visitors, time_machine) -> None:
        self.users, self.regions, self.visitors = users, regions, visitors
        self.time_machine = time_machine
        self.now = START
        self.elders: list[Elder] = []
        self.number = 0
        # Month -> elder -> (village, tier, categories, consents) of the rows
        # there were when the month ended: what a month once over keeps.
        self.closed: dict[date, dict[int, tuple[Any, ...]]] = {}
        self.time_machine.move_to(self.now, tick=False)

    @property
    def today(self) -> date:
        return self.now.date()

    def elder(self, index: int) -> Elder:
        elder = self.elders[index % len(self.elders)]
        elder.refresh_from_db()
        return elder

    def play(self, steps: list[tuple[Any, ...]]) -> None:
        self.register(VILLAGE_A, "severe", True, [])
        self.register(VILLAGE_B, "", True, ["空巢"])
        for kind, *args in steps:
            try:
                with transaction.atomic():
                    getattr(self, kind)(*args)
            except (ValidationError, PermissionDenied):
                pass

    def register(self, village: str, ability: str, consents: bool, categories: list[str]) -> None:
        self.number += 1
        self.elders.append(
            register(
                self.users,
                self.regions,
                self.number,
                village,
                ability=ability,
                consents_to_visits=consents,
                categories=categories,
            )
        )

    def advance(self, days: int) -> None:
        if month_of(self.today + timedelta(days=days)) > month_of(self.today):
            self.close_month(month_of(self.today))
        self.now += timedelta(days=days)
        self.time_machine.move_to(self.now, tick=False)
        generate_tasks(today=self.today)  # the daily run

    def close_month(self, month: date) -> None:
        """At the month's end its rows say what the files say."""
        kept = {}
        for row in ElderMonth.objects.filter(month=month).select_related("elder"):
            elder = row.elder
            confirmed = elder.categories.filter(withdrawn_at__isnull=True)
            on_file = (
                elder.village_id,
                elder.tier_override or elder.tier,
                sorted(confirmed.values_list("category", flat=True)),
                elder.consents_to_visits,
            )
            kept[row.elder_id] = (row.village_id, row.tier, row.categories, row.consents)
            assert kept[row.elder_id] == on_file
        self.closed[month] = kept

    def check_closed_months(self) -> None:
        """…and keep saying it once the month is over."""
        for month, kept in self.closed.items():
            for row in ElderMonth.objects.filter(month=month, elder_id__in=list(kept)):
                assert (row.village_id, row.tier, row.categories, row.consents) == kept[
                    row.elder_id
                ]

    def visit(self, index: int, mode: str, refused: bool, back: int, at: tuple[int, int]) -> None:
        day = self.today - timedelta(days=back)
        visit(
            self.users,
            self.visitors,
            self.elder(index),
            day.year,
            day.month,
            day.day,
            *at,
            mode=mode,
            refused=refused,
        )

    def excuse(self, index: int, which: int) -> None:
        open_tasks = list(
            VisitTask.objects.filter(
                elder=self.elder(index),
                window_start__lte=self.today,
                done_at__isnull=True,
                excused_at__isnull=True,
                cancelled_at__isnull=True,
            )
            .exclude(kind=TaskKind.REVIEW)
            .order_by("pk")
        )
        if open_tasks:
            task = open_tasks[which % len(open_tasks)]
            excuse_task(acting_user=self.users["county"], task=task, reason="hospital", note="")

    def status(self, index: int, to_status: str, back: int) -> None:
        change_status(
            acting_user=self.users["county"],
            elder=self.elder(index),
            to_status=to_status,
            effective_on=self.today - timedelta(days=back),
            reason="核实",
            destination="外地",
        )

    def move(self, index: int) -> None:
        elder = self.elder(index)
        other = VILLAGE_B if elder.village_id == VILLAGE_A else VILLAGE_A
        update_elder(
            acting_user=self.users["county"], elder=elder, changes={"village": self.regions[other]}
        )

    def consent(self, index: int) -> None:
        elder = self.elder(index)
        update_elder(
            acting_user=self.users["county"],
            elder=elder,
            changes={"consents_to_visits": not elder.consents_to_visits},
        )

    def override(self, index: int, tier: str) -> None:
        override_tier(
            acting_user=self.users["county"], elder=self.elder(index), tier=tier, reason="核实"
        )

    def ability(self, index: int, ability: str) -> None:
        update_elder(
            acting_user=self.users["county"], elder=self.elder(index), changes={"ability": ability}
        )

    def categories(self, index: int, categories: list[str]) -> None:
        confirm_categories(
            acting_user=self.users["county"], elder=self.elder(index), categories=categories
        )

    def surge(self, index: int, key: str, extra: bool, back: int, length: int, count: int) -> None:
        """A festival's or event's visits inside a window within the month
        (one crossing a month end is tested in test_compliance.py: the visit
        action refreshes the month of the window's start)."""
        elder = self.elder(index)
        start = max(self.today - timedelta(days=back), month_of(self.today))
        end = min(start + timedelta(days=length), last_day(start))
        for number in range(1, count + 1):
            self.owe(
                elder,
                start,
                end,
                kind=TaskKind.FESTIVAL if key.startswith("festival") else TaskKind.EVENT,
                key=key if number == 1 else f"{key}:{number}",
                label=f"{key}探访",
                modes=("home",) if not extra else ("home", "phone", "street", "video"),
                extra=extra,
                month=month_of(start),
            )

    def trigger(self, index: int, hours: int) -> None:
        """A visit owed within hours of a fall recorded now."""
        due = self.now + timedelta(hours=hours)
        self.owe(
            self.elder(index),
            min(self.today, due.date()),
            due.date(),
            kind=TaskKind.TRIGGER,
            key="trigger:fall",
            label="跌倒后24小时内探访",
            due_at=due,
            month=month_of(due.date()),
        )

    def quarterly(self, index: int) -> None:
        """A quarter's visit, counting in its last month."""
        first = quarter_start(self.today)
        last = last_day(date(first.year, first.month + 2, 1))
        self.owe(self.elder(index), first, last, key="regular:9", label="本季度例行探访")

    def owe(self, elder: Elder, start: date, end: date, **details: Any) -> None:
        if VisitTask.objects.filter(
            elder=elder, key=details.get("key", "regular:1"), window_start=start
        ).exists():
            return
        task = make_task(elder, start, end, **details)
        # As the generation does after making tasks (refresh_open_months).
        rollups.refresh_elders(
            [elder.pk], rollups.task_months(task.window_start, task.month, self.today)
        )

    def event(self, days: int) -> None:
        # 000_4970ff49482a0570.txt 四(二): 极端天气适当增加探访频次.
        declare_event(
            acting_user=self.users["county"],
            region=self.regions[COUNTY],
            kind="heat",
            title="高温",
            starts_on=self.today,
            ends_on=self.today + timedelta(days=days),
        )


@pytest.mark.parametrize("one_by_one", [rollups.PYTHON_LIMIT, 0], ids=["python", "set-based"])
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=8, max_size=40))
def test_the_recompute_gives_the_incremental_numbers(
    one_by_one, steps, users, regions, visitors, time_machine, monkeypatch
):
    # With 0, every refresh of the actions goes through the set-based statements.
    monkeypatch.setattr(rollups, "PYTHON_LIMIT", one_by_one)
    with transaction.atomic():
        history = History(users, regions, visitors, time_machine)
        history.play(steps)
        history.check_closed_months()
        incremental = tables()
        assert_never_negative()
        for month in months_to_recompute(START.date(), history.today, history.today):
            recompute_month(month, history.today)
        assert tables() == incremental
        transaction.set_rollback(True)


def test_it_rebuilds_a_month_from_nothing(users, regions, visitors, time_machine):
    history = History(users, regions, visitors, time_machine)
    history.play(
        [
            ("advance", 8),
            ("visit", 0, "home", False, 0, (9, 30)),
            ("visit", 1, "phone", False, 1, (23, 59)),
            ("register", VILLAGE_A, "", False, ["独居"]),
            ("status", 1, "deceased", 0),
            ("advance", 5),
        ]
    )
    kept = tables(empty_rows=False)
    ElderMonth.objects.all().delete()
    VillageMonth.objects.all().delete()

    for month in months_between(START.date(), history.today):
        recompute_month(month, history.today)

    assert tables() == kept
    assert ElderMonth.objects.filter(month=OCTOBER).count() == 3


# --- The command ---------------------------------------------------------------------------------


@pytest.fixture
def visitors(users, regions):
    return make_visitors(users, regions)


@pytest.fixture
def october(users, regions, visitors, time_machine):
    history = History(users, regions, visitors, time_machine)
    history.play([("advance", 10), ("visit", 0, "home", False, 0, (9, 0)), ("advance", 30)])
    return history


def test_the_command_rebuilds_one_month(october):
    kept = tables()
    VillageMonth.objects.filter(month=OCTOBER).update(counted=99)
    out = StringIO()

    call_command("recompute_rates", "--month", "2026-10", stdout=out)

    assert tables() == kept
    assert out.getvalue().startswith("2026-10：2 人")
    # And the rest of October's quarter up to this month, whose quarter
    # compliance reads October's rows.
    assert [line[:7] for line in out.getvalue().splitlines()] == ["2026-10", "2026-11"]


def test_the_command_rebuilds_a_range_of_months(october):
    kept = tables(empty_rows=False)
    ElderMonth.objects.all().delete()
    VillageMonth.objects.all().delete()
    out = StringIO()

    call_command("recompute_rates", "--from", "2026-09", "--to", "2026-11", stdout=out)

    assert tables() == kept
    assert [line[:7] for line in out.getvalue().splitlines()] == ["2026-09", "2026-10", "2026-11"]


def test_the_command_rebuilds_this_month_by_default(october):
    out = StringIO()
    call_command("recompute_rates", stdout=out)

    assert out.getvalue().startswith("2026-11：")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--month", "2026-13"], "月份“2026-13”格式应为 YYYY-MM"),
        (["--month", "十月"], "格式应为 YYYY-MM"),
        (["--month", "2026-12"], "2026-12 尚未开始"),
        (["--from", "2026-11", "--to", "2026-10"], "起始月份 2026-11 晚于结束月份 2026-10"),
        (["--month", "2026-10", "--from", "2026-09"], "不能同时使用"),
    ],
)
def test_the_command_refuses_bad_months_in_words(october, arguments, message):
    kept = tables()

    with pytest.raises(CommandError, match=message):
        call_command("recompute_rates", *arguments, stdout=StringIO(), stderr=StringIO())

    assert tables() == kept

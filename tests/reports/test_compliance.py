"""What the month's compliance counts, and the surges' coverage beside it
(docs/统计口径.md §5–§7): a festival visit asked on top of the rules
(000_4970ff49482a0570.txt 四(二) "适当增加探访频次") counts for the festival's
coverage only, a mandatory one (001_35a01bee4c628ebd.txt 二(五)2 "必须开展") for
compliance too; a window crossing a month end counts in the month of its
festival day; a trigger is met by a visit by its moment; a task of a longer
period in progress keeps a month without a task due compliant; the quarter's
compliance; the rules each row was computed with.

The tasks are made here as the generation makes them (tests/visits/factories.py),
and done by setting the visit that completed them, as record_visit does; each
test ends by comparing the rows kept one by one with the set-based refresh of
the same elders and with a full recompute.
"""

from datetime import UTC, date, datetime

import pytest

from tanfang.jurisdiction import tiers
from tanfang.jurisdiction.models import PolicyChoice
from tanfang.months import last_day, later_in_quarter
from tanfang.registry.models import Elder, StatusChange
from tanfang.reports import queries, rollups
from tanfang.reports.models import ElderMonth, VillageMonth
from tanfang.reports.rebuild import months_to_recompute, recompute_month
from tanfang.reports.rows import task_words
from tanfang.visits.models import TaskKind, VisitTask
from tests.conftest import COUNTY, VILLAGE_A, aware
from tests.reports.fill import visit_on
from tests.reports.test_rollups import (
    assert_never_negative,
    assert_same_as_recomputed,
    counts,
    make_visitors,
    register,
    row,
    tables,
    visit,
)
from tests.visits.factories import make_task

SEPTEMBER, OCTOBER = date(2026, 9, 1), date(2026, 10, 1)
NOVEMBER, DECEMBER = date(2026, 11, 1), date(2026, 12, 1)
EVERY_MODE = ("home", "monitoring", "phone", "street", "video")


@pytest.fixture
def visitors(users, regions):
    return make_visitors(users, regions)


@pytest.fixture
def clock(time_machine):
    def move(*moment: int) -> date:
        time_machine.move_to(aware(*moment), tick=False)
        return date(*moment[:3])

    return move


def elder_owing_nothing(users, regions, number: int, **details) -> Elder:
    """An elder registered in August, with none of the generated tasks: each
    test states the tasks it is about."""
    elder = register(users, regions, number, **details)
    VisitTask.objects.filter(elder=elder).delete()
    Elder.objects.filter(pk=elder.pk).update(registered_on=date(2026, 8, 20))
    elder.refresh_from_db()
    return elder


def done(users, visitors, task: VisitTask, at: datetime) -> None:
    """The visit at `at` completed `task` (tanfang.visits.counting decides which)."""
    elder = task.elder
    visit = visit_on(users, elder, visitors[elder.village_id], at)
    VisitTask.objects.filter(pk=task.pk).update(done_at=at, done_by_visit=visit)


def refresh(elders: list[Elder], months: list[date], today: date) -> None:
    for elder in elders:
        for month in months:
            rollups.refresh_elder_month(elder.pk, month, today)


def assert_both_ways(elders: list[Elder], months: list[date], today: date, monkeypatch) -> None:
    """The rows kept one by one are those of the set-based refresh of the same
    elders, and of a full recompute of each month, oldest first."""
    kept = tables()
    assert_never_negative()
    ElderMonth.objects.all().delete()
    VillageMonth.objects.all().delete()
    monkeypatch.setattr(rollups, "PYTHON_LIMIT", 0)
    rollups.refresh_elders([e.pk for e in elders], months, today)
    assert tables() == kept
    for month in months:
        recompute_month(month, today)
    assert tables() == kept


# --- Festivals: coverage always, compliance where mandatory ---------------------------------


@pytest.mark.parametrize(
    ("profile", "extra", "compliant", "missing"),
    [
        # 000_4970ff49482a0570.txt 四(二): 重点对象每半月至少上门探访1次; 节日适当增加探访频次.
        ("fujian-shishi", True, True, []),
        # 001_35a01bee4c628ebd.txt 二(五)2: 传统节日等特殊时间节点，必须开展探访关爱服务.
        ("sichuan", False, False, ["重阳节日探访未完成（须上门探访，截止10月21日）"]),
    ],
    ids=["shishi", "sichuan"],
)
def test_a_festival_visit_missed_lowers_compliance_only_where_mandatory(
    users, regions, visitors, clock, monkeypatch, profile, extra, compliant, missing
):
    PolicyChoice.objects.filter(region_id=COUNTY).update(profile=profile)
    today = clock(2026, 10, 31, 20, 0)
    elder = elder_owing_nothing(users, regions, 1, ability="severe")
    first = make_task(elder, date(2026, 10, 1), date(2026, 10, 15), label="10月上半月例行探访")
    second = make_task(elder, date(2026, 10, 16), date(2026, 10, 31), label="10月下半月例行探访")
    make_task(
        elder,
        date(2026, 10, 14),
        date(2026, 10, 21),
        kind=TaskKind.FESTIVAL,
        key="festival:重阳",
        label="重阳节日探访",
        modes=EVERY_MODE if extra else ("home",),
        extra=extra,
    )
    # Both half-month home visits made; none inside the 重阳 window (10/14–10/21).
    done(users, visitors, first, aware(2026, 10, 8, 10, 0))
    done(users, visitors, second, aware(2026, 10, 25, 10, 0))
    refresh([elder], [OCTOBER], today)

    october = row(elder, OCTOBER)
    assert (october.counted, october.visited, october.compliant) == (True, True, compliant)
    assert october.missing == missing
    assert october.surges == {"festival:重阳": {"covered": False, "mandatory": not extra}}
    assert counts(VILLAGE_A, OCTOBER) == (1, 1, int(compliant), 0)
    assert counts(VILLAGE_A, OCTOBER, "surge:festival:重阳") == (1, 0, 0, 0)
    assert counts(VILLAGE_A, OCTOBER, "must:festival:重阳") == ((0, 1)[not extra], 0, 0, 0)
    assert october.rules == tiers.rules_version(VILLAGE_A, date(2026, 10, 31))
    assert october.rules.startswith(f"{profile}@")
    assert_both_ways([elder], [OCTOBER], today, monkeypatch)


def test_a_festival_visit_made_covers_the_festival(users, regions, visitors, clock, monkeypatch):
    today = clock(2026, 10, 31, 20, 0)
    elder = elder_owing_nothing(users, regions, 1)
    regular = make_task(elder, date(2026, 10, 1), date(2026, 10, 31), label="10月例行探访")
    festival = make_task(
        elder,
        date(2026, 10, 14),
        date(2026, 10, 21),
        kind=TaskKind.FESTIVAL,
        key="festival:重阳",
        label="重阳节日探访",
        modes=EVERY_MODE,
        extra=True,
    )
    # One home visit inside the window: the month's visit and the festival's.
    done(users, visitors, regular, aware(2026, 10, 18, 10, 0))
    VisitTask.objects.filter(pk=festival.pk).update(
        done_at=aware(2026, 10, 18, 10, 0), done_by_visit=regular.elder.visits.get()
    )
    refresh([elder], [OCTOBER], today)

    assert row(elder, OCTOBER).surges == {"festival:重阳": {"covered": True, "mandatory": False}}
    assert counts(VILLAGE_A, OCTOBER, "surge:festival:重阳") == (1, 1, 1, 0)
    assert_both_ways([elder], [OCTOBER], today, monkeypatch)


def test_a_surge_of_two_visits_is_one_surge_covered_when_both_are_made(
    users, regions, visitors, clock, monkeypatch
):
    today = clock(2026, 10, 31, 20, 0)
    twice = elder_owing_nothing(users, regions, 1)
    excused = elder_owing_nothing(users, regions, 2)
    tasks = {}
    for elder in (twice, excused):
        for key, label in (("event:12", "高温期间探访"), ("event:12:2", "高温期间探访（第2次）")):
            tasks[elder.pk, key] = make_task(
                elder,
                date(2026, 10, 5),
                date(2026, 10, 20),
                kind=TaskKind.EVENT,
                key=key,
                label=label,
                modes=EVERY_MODE,
                extra=True,
            )
    done(users, visitors, tasks[twice.pk, "event:12"], aware(2026, 10, 6, 10, 0))
    # Excused (in hospital): out of the surge's scope.
    VisitTask.objects.filter(elder=excused).update(excused_at=aware(2026, 10, 7, 9, 0))
    refresh([twice, excused], [OCTOBER], today)

    assert row(twice, OCTOBER).surges == {"event:12": {"covered": False, "mandatory": False}}
    assert row(excused, OCTOBER).surges == {}
    assert counts(VILLAGE_A, OCTOBER, "surge:event:12") == (1, 0, 0, 0)
    done(users, visitors, tasks[twice.pk, "event:12:2"], aware(2026, 10, 9, 10, 0))
    rollups.refresh_elder_month(twice.pk, OCTOBER, today)
    assert counts(VILLAGE_A, OCTOBER, "surge:event:12") == (1, 1, 1, 0)
    # Owing no required task and visited: compliant; the excused one, not visited, is not.
    assert row(twice, OCTOBER).compliant
    assert row(excused, OCTOBER).missing == ["10月未探访"]
    assert_both_ways([twice, excused], [OCTOBER], today, monkeypatch)


# --- A window crossing a month end ----------------------------------------------------------


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "mandatory"])
def test_a_window_crossing_a_month_end_counts_in_the_month_of_the_festival_day(
    users, regions, visitors, clock, monkeypatch, extra
):
    # A festival on 1 October, its window 24 September to 4 October.
    today = clock(2026, 10, 10, 9, 0)
    visited = elder_owing_nothing(users, regions, 1)
    missed = elder_owing_nothing(users, regions, 2)
    for elder in (visited, missed):
        for first, last in ((SEPTEMBER, date(2026, 9, 30)), (OCTOBER, date(2026, 10, 31))):
            task = make_task(elder, first, last, label=f"{first.month}月例行探访")
            done(users, visitors, task, aware(first.year, first.month, 8, 10, 0))
        festival = make_task(
            elder,
            date(2026, 9, 24),
            date(2026, 10, 4),
            kind=TaskKind.FESTIVAL,
            key="festival:中秋",
            label="中秋节日探访",
            modes=EVERY_MODE if extra else ("home",),
            extra=extra,
            month=OCTOBER,
        )
        if elder == visited:
            done(users, visitors, festival, aware(2026, 9, 28, 10, 0))
    refresh([visited, missed], [SEPTEMBER, OCTOBER], today)

    for elder in (visited, missed):
        assert row(elder, SEPTEMBER).compliant
        assert row(elder, SEPTEMBER).surges == {}
    assert not VillageMonth.objects.filter(month=SEPTEMBER, dimension__startswith="surge:").exists()
    assert counts(VILLAGE_A, OCTOBER, "surge:festival:中秋") == (2, 1, 1, 0)
    assert row(visited, OCTOBER).compliant
    assert row(missed, OCTOBER).compliant == extra
    if not extra:
        assert row(missed, OCTOBER).missing == ["中秋节日探访未完成（须上门探访，截止10月4日）"]
    assert_both_ways([visited, missed], [SEPTEMBER, OCTOBER], today, monkeypatch)


def test_a_visit_recorded_in_a_window_before_its_month_counts_there_at_once(
    users, regions, visitors, clock
):
    # Before September's figures lock on 5 October (issue 16 "Closed months").
    today = clock(2026, 10, 4, 9, 0)
    elder = elder_owing_nothing(users, regions, 1)
    make_task(
        elder,
        date(2026, 9, 24),
        date(2026, 10, 4),
        kind=TaskKind.FESTIVAL,
        key="festival:中秋",
        label="中秋节日探访",
        modes=EVERY_MODE,
        extra=True,
        month=OCTOBER,
    )
    refresh([elder], [SEPTEMBER, OCTOBER], today)

    visit(users, visitors, elder, 2026, 9, 28, 10, 0)

    assert row(elder, OCTOBER).surges == {"festival:中秋": {"covered": True, "mandatory": False}}


def test_it_refreshes_every_month_a_tasks_window_touches(users, regions, visitors, clock):
    today = clock(2026, 10, 10, 9, 0)
    elder = elder_owing_nothing(users, regions, 1)
    refresh([elder], [SEPTEMBER, OCTOBER], today)
    assert row(elder, OCTOBER).missing == ["10月未探访"]

    # Made after the fact (a rule refreshed): the September-to-October window
    # counts in October, and is in progress in September.
    quarter = make_task(elder, date(2026, 9, 24), date(2026, 11, 30), label="秋季例行探访")
    rollups.refresh_open_months([elder.pk], today)

    assert rollups.task_months(quarter.window_start, quarter.month, today) == [
        SEPTEMBER,
        OCTOBER,
    ]
    assert row(elder, SEPTEMBER).compliant
    assert row(elder, OCTOBER).compliant


# --- Triggers: by their moment -----------------------------------------------------------------


def test_a_trigger_is_met_by_a_visit_by_its_moment(users, regions, visitors, clock, monkeypatch):
    today = clock(2026, 12, 5, 10, 0)
    never, in_time, late = (elder_owing_nothing(users, regions, n) for n in (1, 2, 3))
    triggers = {
        elder.pk: make_task(
            elder,
            date(2026, 12, 2),
            date(2026, 12, 3),
            kind=TaskKind.TRIGGER,
            key="trigger:fall",
            label="跌倒后24小时内探访",
            due_at=aware(2026, 12, 3, 14, 0),
        )
        for elder in (never, in_time, late)
    }
    done(users, visitors, triggers[in_time.pk], aware(2026, 12, 3, 13, 59))
    # On the deadline day, but after the moment: done late.
    done(users, visitors, triggers[late.pk], aware(2026, 12, 3, 15, 0))
    refresh([never, in_time, late], [DECEMBER], today)

    assert row(never, DECEMBER).missing == [
        "跌倒后24小时内探访未完成（须上门探访，截止12月3日14:00）"
    ]
    assert row(in_time, DECEMBER).compliant
    assert not row(late, DECEMBER).compliant
    assert row(late, DECEMBER).missing == ["跌倒后24小时内探访逾期完成（截止12月3日14:00）"]
    assert counts(VILLAGE_A, DECEMBER) == (3, 2, 1, 0)
    assert_both_ways([never, in_time, late], [DECEMBER], today, monkeypatch)


def test_it_says_a_triggers_moment_in_words():
    due = datetime(2026, 12, 3, 6, 5, tzinfo=UTC)  # 14:05 in Shanghai

    assert (
        task_words("出院后48小时内探访", ["home"], date(2026, 12, 3), False, due)
        == "出院后48小时内探访未完成（须上门探访，截止12月3日14:05）"
    )
    assert (
        task_words("出院后48小时内探访", ["home"], date(2026, 12, 3), True, due)
        == "出院后48小时内探访逾期完成（截止12月3日14:05）"
    )


# --- A month without a task due --------------------------------------------------------------


def test_a_task_of_a_longer_period_in_progress_keeps_the_month_compliant(
    users, regions, visitors, clock, monkeypatch
):
    today = clock(2026, 11, 20, 9, 0)
    quarterly = elder_owing_nothing(users, regions, 1)
    nothing = elder_owing_nothing(users, regions, 2)
    cancelled = elder_owing_nothing(users, regions, 3)
    for elder in (quarterly, cancelled):
        task = make_task(elder, OCTOBER, date(2026, 12, 31), label="第四季度例行探访")
    VisitTask.objects.filter(pk=task.pk).update(cancelled_at=aware(2026, 10, 2, 9, 0))
    refresh([quarterly, nothing, cancelled], [OCTOBER, NOVEMBER], today)

    # 本月无到期的探访要求: nothing missing while the quarter's visit is owed later.
    for month in (OCTOBER, NOVEMBER):
        assert (row(quarterly, month).compliant, row(quarterly, month).missing) == (True, [])
        assert row(quarterly, month).quarter_compliant
        assert row(nothing, month).missing == [f"{month.month}月未探访"]
        assert row(cancelled, month).missing == [f"{month.month}月未探访"]
    assert_both_ways([quarterly, nothing, cancelled], [OCTOBER, NOVEMBER], today, monkeypatch)

    today = clock(2026, 12, 5, 9, 0)
    refresh([quarterly], [DECEMBER], today)
    assert row(quarterly, DECEMBER).missing == [
        "第四季度例行探访未完成（须上门探访，截止12月31日）"
    ]


# --- The quarter ----------------------------------------------------------------------------


def test_the_quarters_compliance_takes_every_month_counted(
    users, regions, visitors, clock, monkeypatch
):
    # 001_35a01bee4c628ebd.txt 三(三): 相关数据按月更新，按季调度.
    today = clock(2026, 12, 5, 9, 0)
    short, away, steady = (elder_owing_nothing(users, regions, n) for n in (1, 2, 3))
    tasks = {}
    for elder in (short, away, steady):
        for month in (OCTOBER, NOVEMBER, DECEMBER):
            tasks[elder.pk, month] = make_task(
                elder, month, last_day(month), label=f"{month.month}月例行探访"
            )
            if (elder, month) != (short, NOVEMBER):
                done(users, visitors, tasks[elder.pk, month], aware(2026, month.month, 2, 9, 0))
    # Away from 10 November, back on 1 December: not counted in November.
    for effective_on, to_status, back in (
        (date(2026, 11, 10), "moved_away", False),
        (DECEMBER, "active", True),
    ):
        StatusChange.objects.create(
            elder=away,
            from_status="moved_away" if back else "active",
            to_status=to_status,
            effective_on=effective_on,
            reason="随子女外出",
            changed_by=users["county"],
            changed_at=aware(effective_on.year, effective_on.month, effective_on.day, 9, 0),
        )
    refresh([short, away, steady], [OCTOBER, NOVEMBER, DECEMBER], today)

    assert [row(short, m).quarter_compliant for m in (OCTOBER, NOVEMBER, DECEMBER)] == [
        True,
        False,
        False,
    ]
    assert row(short, DECEMBER).compliant
    assert not row(away, NOVEMBER).counted
    assert row(away, DECEMBER).quarter_compliant
    assert row(steady, DECEMBER).quarter_compliant
    assert (
        VillageMonth.objects.get(
            month=DECEMBER, village_id=VILLAGE_A, dimension=""
        ).quarter_compliant
        == 2
    )
    summary = queries.quarter_summary(COUNTY, 2026, 4, today)
    assert summary.reference == DECEMBER
    assert summary.rows[0].quarter == queries.Counts(3, 3, 3, 0, 2)
    assert summary.quarter_total.quarter_compliance_rate_text == "66.7%"
    assert_both_ways([short, away, steady], [OCTOBER, NOVEMBER, DECEMBER], today, monkeypatch)

    # November's visit excused late: refreshing November refreshes December's
    # quarter compliance too.
    monkeypatch.setattr(rollups, "PYTHON_LIMIT", 20)
    VisitTask.objects.filter(pk=tasks[short.pk, NOVEMBER].pk).update(
        excused_at=aware(2026, 12, 5, 9, 0)
    )
    rollups.refresh_elder_month(short.pk, NOVEMBER, today)

    assert row(short, DECEMBER).quarter_compliant
    assert (
        VillageMonth.objects.get(
            month=DECEMBER, village_id=VILLAGE_A, dimension=""
        ).quarter_compliant
        == 3
    )
    assert_both_ways([short, away, steady], [OCTOBER, NOVEMBER, DECEMBER], today, monkeypatch)


def test_a_rebuild_runs_on_to_the_end_of_the_quarter():
    today = date(2026, 12, 5)

    assert months_to_recompute(OCTOBER, OCTOBER, today) == [OCTOBER, NOVEMBER, DECEMBER]
    assert months_to_recompute(SEPTEMBER, OCTOBER, date(2026, 11, 2)) == [
        SEPTEMBER,
        OCTOBER,
        NOVEMBER,
    ]
    assert months_to_recompute(DECEMBER, DECEMBER, today) == [DECEMBER]
    assert later_in_quarter(date(2026, 3, 1), today) == []


# --- The rules of each row ---------------------------------------------------------------------


def test_each_row_records_its_rules_and_a_month_over_keeps_them(
    users, regions, visitors, clock, monkeypatch
):
    today = clock(2026, 11, 5, 9, 0)
    elder = elder_owing_nothing(users, regions, 1)
    refresh([elder], [OCTOBER, NOVEMBER], today)
    shishi = tiers.rules_version(VILLAGE_A, date(2026, 10, 31))
    assert shishi.startswith("fujian-shishi@")
    assert row(elder, OCTOBER).rules == row(elder, NOVEMBER).rules == shishi

    # The county follows Linzi's rules from today: November is computed with
    # them (its tasks are made under them from today); October is over.
    PolicyChoice.objects.create(
        region_id=COUNTY, since=today, profile="linzi", changed_by=users["county"]
    )
    refresh([elder], [OCTOBER, NOVEMBER], today)
    linzi = tiers.rules_version(VILLAGE_A, date(2026, 11, 30))
    assert linzi.startswith("linzi@")
    assert row(elder, OCTOBER).rules == shishi
    assert row(elder, NOVEMBER).rules == linzi
    # A row stored before the rules were recorded gets those of its month.
    ElderMonth.objects.filter(elder=elder, month=OCTOBER).update(rules="")
    refresh([elder], [OCTOBER], today)
    assert row(elder, OCTOBER).rules == shishi
    assert_both_ways([elder], [OCTOBER, NOVEMBER], today, monkeypatch)

    # Recorded now as in force since before October: a month over keeps its own.
    PolicyChoice.objects.filter(profile="linzi").update(since=date(2026, 9, 1))
    refresh([elder], [OCTOBER], today)
    assert row(elder, OCTOBER).rules == shishi
    assert_same_as_recomputed([OCTOBER, NOVEMBER], today)

"""The tasks one elder is owed in a month, per profile (tanfang.visits.schedule):
periods, deadlines, festival and event windows, month ends, 29 February, the
turn of the year and lunar leap months; and the states read from the dates with
a frozen clock."""

from datetime import date

import pytest
from django.utils import timezone

from tanfang.months import add_months
from tanfang.policy import engine
from tanfang.policy.engine import EventKind, Facts, Mode, Period, VisitRule
from tanfang.visits import schedule
from tanfang.visits.models import TaskKind, TaskState, VisitTask
from tanfang.visits.schedule import EventSpan, Kind, TaskSpec
from tests.conftest import aware

HEALTHY = Facts(birth_date=date(1940, 3, 1), ability="intact", health="good")
BEDRIDDEN = Facts(birth_date=date(1940, 3, 1), ability="severe", health="poor")


def rules(profile: str, tier: str, facts: Facts = HEALTHY, year: int = 2026, month: int = 11):
    version = schedule.version_for_month(engine.load(profile), {}, year, month)
    found = schedule.tier_of(version, tier)
    return schedule.rules_for(found, facts), version


def month(profile, tier, year, month_, facts=HEALTHY, events=(), kind=None):
    rule, version = rules(profile, tier, facts, year, month_)
    tasks = schedule.tasks_for_month(rule, version, list(events), year, month_)
    return [t for t in tasks if kind is None or t.kind == kind]


def windows(tasks):
    return [(t.key, t.window_start, t.deadline, t.window_end) for t in tasks]


def test_it_uses_the_models_task_kinds():
    assert {str(k) for k in Kind} == set(TaskKind.values)


# --- Regular visits per profile -------------------------------------------------------


def test_it_gives_a_shishi_key_elder_one_home_visit_each_half_month():
    # 000_4970ff49482a0570.txt 四(二): 重点对象每半月至少上门探访1次.
    tasks = month("fujian-shishi", "key", 2026, 11, kind=Kind.REGULAR)

    assert windows(tasks) == [
        ("regular:1", date(2026, 11, 1), date(2026, 11, 15), date(2026, 11, 15)),
        ("regular:1", date(2026, 11, 16), date(2026, 11, 30), date(2026, 11, 30)),
    ]
    assert [t.modes for t in tasks] == [("home",), ("home",)]
    assert [t.label for t in tasks] == ["11月上半月例行探访", "11月下半月例行探访"]
    assert tasks[0].cite.startswith("000_4970ff49482a0570.txt 四(二)")


def test_it_gives_a_shishi_general_elder_one_home_visit_a_month():
    # 000_4970ff49482a0570.txt 四(二): 一般对象每月至少上门探访1次.
    tasks = month("fujian-shishi", "general", 2026, 11, kind=Kind.REGULAR)

    assert windows(tasks) == [
        ("regular:1", date(2026, 11, 1), date(2026, 11, 30), date(2026, 11, 30))
    ]
    assert tasks[0].modes == ("home",)


def test_it_sets_linzis_deadline_on_the_20th_with_the_window_to_the_month_end():
    # 003_fe235aaa23e67560.txt 五(二): 每月20日前完成巡访; key objects 以上门巡访为主:
    # a home visit and another one (default), by the 20th.
    tasks = month("linzi", "key", 2026, 11, kind=Kind.REGULAR)

    assert windows(tasks) == [
        ("home:1", date(2026, 11, 1), date(2026, 11, 20), date(2026, 11, 30)),
        ("regular:1", date(2026, 11, 1), date(2026, 11, 20), date(2026, 11, 30)),
    ]
    assert [t.label for t in tasks] == ["11月上门巡访", "11月巡访"]
    assert [t.modes for t in tasks] == [("home",), ("home", "phone", "video")]
    assert {t.month for t in tasks} == {date(2026, 11, 1)}
    general = month("linzi", "general", 2026, 11, kind=Kind.REGULAR)
    assert windows(general) == [
        ("regular:1", date(2026, 11, 1), date(2026, 11, 20), date(2026, 11, 30))
    ]
    assert general[0].modes == ("home", "phone", "video")


def test_it_gives_a_jining_key_elder_two_visits_a_month_one_each_half():
    # 004_1657df0ed1e05604.txt 二(四)1: 重点人群视情增加频次 (default: one each half-month).
    tasks = month("jining", "key", 2026, 11, kind=Kind.REGULAR)

    assert [(t.window_start, t.window_end) for t in tasks] == [
        (date(2026, 11, 1), date(2026, 11, 15)),
        (date(2026, 11, 16), date(2026, 11, 30)),
    ]
    assert tasks[0].modes == ("home", "phone", "street", "video")


def test_it_counts_only_home_visits_for_a_jining_elder_not_in_good_health():
    # 004_1657df0ed1e05604.txt 二(四): 电话、线上、路遇 only for healthy, self-caring elders.
    tasks = month("jining", "key", 2026, 11, facts=BEDRIDDEN, kind=Kind.REGULAR)

    assert {t.modes for t in tasks} == {("home",)}


def test_it_takes_the_county_numbers_for_the_open_parameters():
    version = schedule.version_for_month(engine.load("linzi"), {"key_home_visits": 3}, 2026, 11)
    (home, other) = schedule.rules_for(schedule.tier_of(version, "key"), HEALTHY)

    assert [t.key for t in schedule.regular_tasks(home, 2026, 11)] == [
        "home:1",
        "home:2",
        "home:3",
    ]
    assert [t.key for t in schedule.regular_tasks(other, 2026, 11)] == ["regular:1"]


def test_it_gives_an_unknown_tier_the_catch_all_rules():
    version = schedule.version_for_month(engine.load("fujian-shishi"), {}, 2026, 11)

    assert schedule.tier_of(version, "").key == "general"
    assert schedule.tier_of(version, "secondary").key == "general"


def test_it_uses_the_first_version_for_a_month_before_it():
    profile = engine.load("jining")  # since 2023-08-15

    assert schedule.version_for_month(profile, {}, 2023, 8) is profile.versions[0]
    assert schedule.version_for_month(profile, {}, 2020, 1) is profile.versions[0]


# --- Month ends -------------------------------------------------------------------------


def test_it_ends_the_second_half_of_february_on_the_29th_in_a_leap_year():
    tasks = month("fujian-shishi", "key", 2028, 2, kind=Kind.REGULAR)

    assert [(t.window_start, t.window_end) for t in tasks] == [
        (date(2028, 2, 1), date(2028, 2, 15)),
        (date(2028, 2, 16), date(2028, 2, 29)),
    ]
    assert windows(month("linzi", "general", 2028, 2, kind=Kind.REGULAR)) == [
        ("regular:1", date(2028, 2, 1), date(2028, 2, 20), date(2028, 2, 29))
    ]


def test_it_ends_february_on_the_28th_in_a_common_year():
    tasks = month("fujian-shishi", "key", 2027, 2, kind=Kind.REGULAR)

    assert tasks[-1].window_end == date(2027, 2, 28)


def test_it_ends_months_of_30_and_31_days_on_their_last_day():
    assert month("fujian-shishi", "general", 2026, 12, kind=Kind.REGULAR)[0].window_end == date(
        2026, 12, 31
    )
    assert month("fujian-shishi", "general", 2026, 4, kind=Kind.REGULAR)[0].window_end == date(
        2026, 4, 30
    )


def test_it_turns_december_into_january_of_the_next_year():
    assert schedule.next_month(2026, 12) == (2027, 1)
    assert schedule.next_month(2026, 11, 2) == (2027, 1)
    assert schedule.month_bounds(2027, 1) == (date(2027, 1, 1), date(2027, 1, 31))
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)


def test_it_keeps_a_deadline_day_past_the_month_end_inside_the_month():
    rule = VisitRule(Period.MONTH, 1, frozenset({Mode.HOME}), deadline_day=31)

    assert schedule.regular_tasks(rule, 2027, 2)[0].deadline == date(2027, 2, 28)


def test_it_ends_a_half_month_before_the_deadline_day_on_its_last_day():
    rule = VisitRule(Period.HALF_MONTH, 1, frozenset({Mode.HOME}), deadline_day=20)

    first, second = schedule.regular_tasks(rule, 2026, 11)
    assert (first.deadline, second.deadline) == (date(2026, 11, 15), date(2026, 11, 20))


def test_it_counts_n_day_periods_from_a_fixed_anchor():
    rule = VisitRule(Period.DAYS, 1, frozenset({Mode.HOME}), days=10)

    months = [schedule.regular_tasks(rule, *ym) for ym in [(2026, 11), (2026, 12), (2027, 1)]]
    # A month is owed the periods that overlap it; one crossing a month end is
    # owed by both and made once (the same key and start).
    tasks = sorted(
        {t.identity: t for found in months for t in found}.values(), key=lambda t: t.window_start
    )
    # Contiguous, ten days each, each counted in the month of its deadline, the
    # same on every call.
    for before, after in zip(tasks, tasks[1:], strict=False):
        assert (after.window_start - before.window_end).days == 1
    assert all((t.window_end - t.window_start).days == 9 for t in tasks)
    assert all(t.month == date(t.deadline.year, t.deadline.month, 1) for t in tasks)
    assert all(
        t.window_start <= date(2026, 11, 30) and t.window_end >= date(2026, 11, 1)
        for t in months[0]
    )
    assert (tasks[0].window_start - schedule.DAYS_ANCHOR).days % 10 == 0
    assert schedule.regular_tasks(rule, 2026, 12) == months[1]


# --- Festivals ------------------------------------------------------------------------


def test_it_adds_an_extra_any_mode_festival_visit_in_shishi():
    # 000_4970ff49482a0570.txt 四(二): 传统节日适当增加探访频次. 重阳 2026 is 18 October.
    (task,) = month("fujian-shishi", "general", 2026, 10, kind=Kind.FESTIVAL)

    assert (task.key, task.window_start, task.deadline, task.window_end) == (
        "festival:重阳",
        date(2026, 10, 11),
        date(2026, 10, 21),
        date(2026, 10, 21),
    )
    assert task.extra
    assert task.modes == schedule.ANY_MODE
    assert task.label == "重阳节日探访"


def test_it_makes_sichuans_festival_visit_mandatory_in_the_regular_modes():
    # 001_35a01bee4c628ebd.txt 二(五)2: 传统节日等特殊时间节点必须开展探访.
    (task,) = month("sichuan", "key", 2026, 10, kind=Kind.FESTIVAL)

    assert not task.extra
    assert task.modes == ("home",)
    assert task.cite.startswith("001_35a01bee4c628ebd.txt 二(五)2")


def test_it_counts_a_festival_window_crossing_months_once_in_the_festival_days_month():
    # 春节 2027 is 6 February: the window opens on 30 January and counts in
    # February, once (issue: "A window that crosses a month end counts once,
    # in the month of the festival day").
    january = month("fujian-shishi", "general", 2027, 1, kind=Kind.FESTIVAL)
    february = month("fujian-shishi", "general", 2027, 2, kind=Kind.FESTIVAL)

    assert january == []
    assert [(t.key, t.window_start, t.window_end, t.month) for t in february] == [
        ("festival:春节", date(2027, 1, 30), date(2027, 2, 9), date(2027, 2, 1)),
        ("festival:元宵", date(2027, 2, 13), date(2027, 2, 23), date(2027, 2, 1)),
    ]


def test_it_gives_each_festival_once_in_a_year_with_a_lunar_leap_month():
    # 2028 has a leap fifth month (闰五月); 端午 is in the ordinary one, 28 May.
    keys = [
        (t.key, t.window_start)
        for m in range(1, 13)
        for t in month("fujian-shishi", "general", 2028, m, kind=Kind.FESTIVAL)
    ]

    assert [k for k, _ in keys] == [
        "festival:春节",
        "festival:元宵",
        "festival:清明",
        "festival:端午",
        "festival:中秋",
        "festival:重阳",
    ]
    assert dict(keys)["festival:端午"] == date(2028, 5, 21)
    # 中秋 2028 is 3 October: its window opens in September.
    assert dict(keys)["festival:中秋"] == date(2028, 9, 26)


def test_it_finds_double_ninth_once_in_2014_with_a_leap_ninth_month():
    found = [
        t.window_start
        for m in range(1, 13)
        for t in month("fujian-shishi", "general", 2014, m, kind=Kind.FESTIVAL)
        if t.key == "festival:重阳"
    ]

    assert found == [date(2014, 9, 25)]  # 重阳 2014: 2 October


# --- Declared events ------------------------------------------------------------------


def test_it_adds_an_epidemic_visit_a_month_where_remote_counts_as_home():
    # 001_35a01bee4c628ebd.txt 二(五)2: remote visits count, one more a month (default).
    epidemic = EventSpan(7, EventKind.EPIDEMIC, "疫情防控", date(2027, 1, 20), date(2027, 3, 10))

    tasks = month("sichuan", "key", 2027, 2, events=[epidemic], kind=Kind.EVENT)

    assert [(t.key, t.window_start, t.window_end) for t in tasks] == [
        ("event:7", date(2027, 1, 20), date(2027, 2, 19)),
        ("event:7", date(2027, 2, 20), date(2027, 3, 10)),
    ]
    assert all(t.remote_counts_as_home and t.extra for t in tasks)
    assert tasks[0].label == "公共卫生事件期间探访：疫情防控"


def test_it_makes_a_sichuan_heat_wave_visit_mandatory_at_home():
    # 001_35a01bee4c628ebd.txt 二(五)2: 极端恶劣天气必须开展探访.
    heat = EventSpan(3, EventKind.HEAT, "高温", date(2026, 7, 28), date(2026, 8, 3))

    july = month("sichuan", "general", 2026, 7, events=[heat], kind=Kind.EVENT)
    august = month("sichuan", "general", 2026, 8, events=[heat], kind=Kind.EVENT)

    assert july == august
    assert [(t.window_start, t.deadline, t.modes, t.extra) for t in july] == [
        (date(2026, 7, 28), date(2026, 8, 3), ("home",), False)
    ]


def test_it_leaves_out_events_that_do_not_touch_the_month():
    heat = EventSpan(3, EventKind.HEAT, "高温", date(2026, 7, 1), date(2026, 7, 5))

    assert month("fujian-shishi", "general", 2026, 8, events=[heat], kind=Kind.EVENT) == []


def test_it_opens_a_file_review_thirty_days_before_it_is_due():
    # 000_4970ff49482a0570.txt 三(四): 每半年动态更新一次.
    task = schedule.review_task(date(2026, 12, 10))

    assert (task.kind, task.key, task.window_start, task.deadline, task.window_end) == (
        Kind.REVIEW,
        "review",
        date(2026, 11, 10),
        date(2026, 12, 10),
        date(2026, 12, 10),
    )
    assert task.modes == ()


# --- States with a frozen clock ----------------------------------------------------------


def stored(spec: TaskSpec) -> VisitTask:
    return VisitTask(
        kind=spec.kind,
        key=spec.key,
        label=spec.label,
        window_start=spec.window_start,
        deadline=spec.deadline,
        window_end=spec.window_end,
        month=spec.month,
        modes=list(spec.modes),
    )


@pytest.mark.parametrize(
    ("moment", "state"),
    [
        (aware(2026, 10, 31, 23, 59), TaskState.SCHEDULED),
        (aware(2026, 11, 1, 0, 0), TaskState.DUE),
        # Midnight in Shanghai is 16:00 UTC the day before.
        (aware(2026, 11, 20, 23, 59), TaskState.DUE),
        (aware(2026, 11, 21, 0, 1), TaskState.OVERDUE),
        (aware(2026, 11, 30, 23, 59), TaskState.OVERDUE),
        (aware(2026, 12, 1, 0, 0), TaskState.MISSED),
    ],
)
def test_it_reads_a_linzi_tasks_state_from_the_clock(time_machine, moment, state):
    # 003_fe235aaa23e67560.txt 五(二): by the 20th; still doable to the month end.
    time_machine.move_to(moment, tick=False)
    spec = month("linzi", "general", 2026, 11, kind=Kind.REGULAR)[0]

    assert stored(spec).state_on(timezone.localdate()) == state


@pytest.mark.parametrize(
    ("moment", "state"),
    [
        (aware(2028, 2, 15, 23, 59), TaskState.SCHEDULED),
        (aware(2028, 2, 29, 12, 0), TaskState.DUE),
        (aware(2028, 3, 1, 0, 0), TaskState.MISSED),
    ],
)
def test_it_keeps_the_second_half_of_february_open_on_the_29th(time_machine, moment, state):
    time_machine.move_to(moment, tick=False)
    spec = month("fujian-shishi", "key", 2028, 2, kind=Kind.REGULAR)[1]

    assert stored(spec).state_on(timezone.localdate()) == state


def test_it_turns_the_year_for_a_december_task(time_machine):
    time_machine.move_to(aware(2027, 1, 1, 0, 0), tick=False)
    spec = month("fujian-shishi", "key", 2026, 12, kind=Kind.REGULAR)[1]

    assert spec.window_end == date(2026, 12, 31)
    assert stored(spec).state_on(timezone.localdate()) == TaskState.MISSED

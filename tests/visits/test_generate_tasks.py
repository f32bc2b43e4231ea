"""The daily run (`manage.py generate_tasks`): the tasks of this month and the next
for every active elder who consents to visits, from the stored tier and the
county's rules, the half-year file reviews, festivals and declared events;
idempotent, and a fixed number of queries whatever the number of elders."""

from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tanfang.audit.models import Action, AuditEvent
from tanfang.jurisdiction.models import DeclaredEvent, PolicyChoice
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder, Status
from tanfang.registry.registration import register_elder
from tanfang.reports import rollups
from tanfang.visits.generation import generate_tasks
from tanfang.visits.models import TaskKind, VisitTask
from tests.conftest import COUNTY, OTHER_COUNTY, OTHER_VILLAGE, VILLAGE_A, VILLAGE_B, aware

TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


def follow(users, profile, region=COUNTY):
    PolicyChoice.objects.create(
        region_id=region, since=date(2023, 1, 1), profile=profile, changed_by=users["county"]
    )


def make(users, regions, sequence, village=VILLAGE_A, registered_on=date(2026, 10, 1), **facts):
    """A registered file without tasks yet, as a bulk import leaves it until the daily run."""
    user = {VILLAGE_A: "liaison_a", VILLAGE_B: "liaison_b"}.get(village, "county_other")
    elder = register_elder(
        acting_user=users[user],
        id_number=make_id_number("350581", date(1940, 3, 1), sequence, "女"),
        name=f"老人{sequence}",
        village=regions[village],
        **facts,
    )
    Elder.objects.filter(pk=elder.pk).update(registered_on=registered_on)
    VisitTask.objects.filter(elder=elder).delete()
    elder.refresh_from_db()
    return elder


def tasks_of(elder, kind=None):
    found = VisitTask.objects.filter(elder=elder).order_by("window_start", "key")
    if kind:
        found = found.filter(kind=kind)
    return [(t.key, t.window_start, t.deadline, t.window_end) for t in found]


def test_it_makes_the_rest_of_this_month_and_the_next_for_a_shishi_key_elder(users, regions):
    # 000_4970ff49482a0570.txt 四(二): 重点对象每半月至少上门探访1次.
    follow(users, "fujian-shishi")
    elder = make(users, regions, 1, ability="moderate")

    created = generate_tasks(today=TODAY)

    assert created == 3
    # 1–15 November is over on the 23rd: not owed to an elder without a task for it.
    assert tasks_of(elder) == [
        ("regular:1", date(2026, 11, 16), date(2026, 11, 30), date(2026, 11, 30)),
        ("regular:1", date(2026, 12, 1), date(2026, 12, 15), date(2026, 12, 15)),
        ("regular:1", date(2026, 12, 16), date(2026, 12, 31), date(2026, 12, 31)),
    ]
    task = VisitTask.objects.filter(elder=elder).first()
    assert (task.kind, task.modes, task.tier, task.profile) == (
        "regular",
        ["home"],
        "key",
        "fujian-shishi",
    )
    assert task.cite.startswith("000_4970ff49482a0570.txt 四(二)")
    assert task.is_open()


def test_it_makes_one_task_a_month_for_a_general_elder(users, regions):
    follow(users, "fujian-shishi")
    elder = make(users, regions, 1, ability="intact")

    generate_tasks(today=TODAY)

    assert tasks_of(elder) == [
        ("regular:1", date(2026, 11, 1), date(2026, 11, 30), date(2026, 11, 30)),
        ("regular:1", date(2026, 12, 1), date(2026, 12, 31), date(2026, 12, 31)),
    ]


def test_it_gives_linzi_elders_the_20th_as_deadline(users, regions):
    # 003_fe235aaa23e67560.txt 五(二): 每月20日前完成巡访.
    follow(users, "linzi")
    elder = make(users, regions, 1, ability="severe")

    generate_tasks(today=TODAY)

    # 五(二)、四: 以上门巡访为主 — a home visit and another visit each month.
    assert tasks_of(elder) == [
        ("home:1", date(2026, 11, 1), date(2026, 11, 20), date(2026, 11, 30)),
        ("regular:1", date(2026, 11, 1), date(2026, 11, 20), date(2026, 11, 30)),
        ("home:1", date(2026, 12, 1), date(2026, 12, 20), date(2026, 12, 31)),
        ("regular:1", date(2026, 12, 1), date(2026, 12, 20), date(2026, 12, 31)),
    ]


def test_it_creates_nothing_on_a_second_run(users, regions):
    follow(users, "fujian-shishi")
    for sequence in range(1, 4):
        make(users, regions, sequence, ability="moderate" if sequence % 2 else "intact")
    first = generate_tasks(today=TODAY)
    before = list(VisitTask.objects.order_by("pk").values_list("pk", "elder_id", "key"))

    second = generate_tasks(today=TODAY)

    assert (first, second) == (3 + 2 + 3, 0)
    assert list(VisitTask.objects.order_by("pk").values_list("pk", "elder_id", "key")) == before
    assert AuditEvent.objects.filter(action=Action.TASKS_GENERATED).count() == 1
    event = AuditEvent.objects.get(action=Action.TASKS_GENERATED)
    assert event.detail == {"today": "2026-11-23", "months": 2, "created": 8}


def test_it_takes_the_next_month_on_the_next_days_run(users, regions):
    follow(users, "fujian-shishi")
    elder = make(users, regions, 1, ability="intact")
    generate_tasks(today=TODAY)

    created = generate_tasks(today=date(2026, 12, 1))

    # January's visit. 春节 (6 February 2027) counts in February, whose tasks the
    # run of 1 January makes, its window opening on 30 January.
    assert created == 1
    assert tasks_of(elder)[-1] == (
        "regular:1",
        date(2027, 1, 1),
        date(2027, 1, 31),
        date(2027, 1, 31),
    )
    generate_tasks(today=date(2027, 1, 1))
    assert ("festival:春节", date(2027, 1, 30), date(2027, 2, 9), date(2027, 2, 9)) in tasks_of(
        elder
    )
    festival = VisitTask.objects.get(elder=elder, key="festival:春节")
    assert (festival.month, festival.extra) == (date(2027, 2, 1), True)


def test_it_gives_no_visit_tasks_to_elders_who_left_or_decline_visits(users, regions):
    follow(users, "fujian-shishi")
    make(users, regions, 1, consents_to_visits=False)
    deceased = make(users, regions, 2)
    moved = make(users, regions, 3)
    Elder.objects.filter(pk=deceased.pk).update(status=Status.DECEASED)
    Elder.objects.filter(pk=moved.pk).update(status=Status.MOVED_AWAY)

    assert generate_tasks(today=TODAY) == 0

    assert not VisitTask.objects.exists()


def test_it_uses_the_officers_tier_over_the_computed_one(users, regions):
    follow(users, "fujian-shishi")
    elder = make(users, regions, 1, ability="intact")
    Elder.objects.filter(pk=elder.pk).update(tier_override="key")

    generate_tasks(today=TODAY)

    assert [t[1] for t in tasks_of(elder)] == [
        date(2026, 11, 16),
        date(2026, 12, 1),
        date(2026, 12, 16),
    ]
    assert set(VisitTask.objects.values_list("tier", flat=True)) == {"key"}


def test_it_follows_each_countys_rules(users, regions):
    follow(users, "linzi")
    follow(users, "fujian-shishi", region=OTHER_COUNTY)
    linzi = make(users, regions, 1, ability="intact")
    shishi = make(users, regions, 2, village=OTHER_VILLAGE, ability="intact")

    generate_tasks(today=TODAY)

    assert tasks_of(linzi)[0][2] == date(2026, 11, 20)
    assert tasks_of(shishi)[0][2] == date(2026, 11, 30)
    assert VisitTask.objects.get(elder=linzi, window_start=date(2026, 11, 1)).modes == [
        "home",
        "phone",
        "video",
    ]


def test_it_makes_the_half_year_review_in_the_30_days_before_it_is_due(users, regions):
    # 000_4970ff49482a0570.txt 三(四): 每半年动态更新一次.
    follow(users, "fujian-shishi")
    due_soon = make(users, regions, 1, registered_on=date(2026, 6, 10), consents_to_visits=False)
    opens_in_december = make(users, regions, 2, registered_on=date(2026, 7, 15))
    opens_in_january = make(users, regions, 3, registered_on=date(2026, 8, 10))
    reviewed = make(users, regions, 4, registered_on=date(2025, 1, 5))
    Elder.objects.filter(pk=reviewed.pk).update(last_reviewed_on=date(2026, 6, 20))
    overdue = make(users, regions, 5, registered_on=date(2026, 5, 1))

    generate_tasks(today=TODAY)

    # Declining visits does not end the file's review.
    assert tasks_of(due_soon, TaskKind.REVIEW) == [
        ("review", date(2026, 11, 10), date(2026, 12, 10), date(2026, 12, 10))
    ]
    assert tasks_of(opens_in_december, TaskKind.REVIEW) == [
        ("review", date(2026, 12, 16), date(2027, 1, 15), date(2027, 1, 15))
    ]
    assert tasks_of(opens_in_january, TaskKind.REVIEW) == []
    assert tasks_of(reviewed, TaskKind.REVIEW) == [
        ("review", date(2026, 11, 20), date(2026, 12, 20), date(2026, 12, 20))
    ]
    # Due on 1 November, already past: the registry's overdue list shows it.
    assert tasks_of(overdue, TaskKind.REVIEW) == []
    task = VisitTask.objects.get(elder=due_soon)
    assert (task.label, task.modes) == ("档案半年核查", [])
    assert task.cite == "000_4970ff49482a0570.txt 三(四) 每半年动态更新一次"


def test_it_adds_sichuans_mandatory_festival_visit(users, regions):
    # 001_35a01bee4c628ebd.txt 二(五)2: 传统节日必须开展探访. 春节 2027: 6 February.
    follow(users, "sichuan")
    elder = make(users, regions, 1, ability="intact")

    generate_tasks(today=date(2027, 1, 5))

    festival = VisitTask.objects.get(elder=elder, key="festival:春节")
    assert (festival.key, festival.window_start, festival.window_end, festival.month) == (
        "festival:春节",
        date(2027, 1, 30),
        date(2027, 2, 9),
        date(2027, 2, 1),
    )
    assert (festival.extra, festival.modes) == (False, ["home"])
    assert tasks_of(elder, TaskKind.REGULAR) == [
        ("regular:1", date(2027, 1, 1), date(2027, 1, 31), date(2027, 1, 31)),
        ("regular:1", date(2027, 2, 1), date(2027, 2, 28), date(2027, 2, 28)),
    ]


def test_it_adds_a_declared_event_only_where_it_was_declared(users, regions):
    follow(users, "fujian-shishi")
    inside = make(users, regions, 1)
    outside = make(users, regions, 2, village=VILLAGE_B)
    event = DeclaredEvent.objects.create(
        region=regions[VILLAGE_A],
        kind="typhoon",
        title="台风“海葵”",
        starts_on=date(2026, 11, 25),
        ends_on=date(2026, 11, 28),
        declared_by=users["county"],
    )

    generate_tasks(today=TODAY)

    task = VisitTask.objects.get(elder=inside, kind=TaskKind.EVENT)
    assert (task.key, task.window_start, task.window_end, task.extra) == (
        f"event:{event.pk}",
        date(2026, 11, 25),
        date(2026, 11, 28),
        True,
    )
    assert task.label == "台风期间探访：台风“海葵”"
    assert not VisitTask.objects.filter(elder=outside, kind=TaskKind.EVENT).exists()


def test_it_limits_a_run_to_the_elders_given(users, regions):
    follow(users, "fujian-shishi")
    first = make(users, regions, 1)
    second = make(users, regions, 2, village=VILLAGE_B)

    created = generate_tasks(today=TODAY, elders=Elder.objects.filter(village_id=VILLAGE_B))

    assert created == 2
    assert tasks_of(first) == []
    assert len(tasks_of(second)) == 2


def test_its_number_of_queries_does_not_grow_with_the_elders(
    users, regions, django_assert_num_queries, monkeypatch
):
    # Policy choices, events, villages, attribute combinations, three temporary
    # tables (create, fill, index, drop; and ANALYZE on PostgreSQL), two inserts,
    # the elders with a major change lately (trigger tasks), the audit entry,
    # the savepoint, the festival and event tasks made (for the visits already
    # made in their window, tanfang.visits.counting.earlier_credits); then the
    # month's rollups of the elders owed new tasks, set-based
    # (tanfang.reports.rollups.refresh_after_generation), with the rules
    # version of each village's month — here for a single elder too, which
    # would otherwise go the Python way.
    monkeypatch.setattr(rollups, "PYTHON_LIMIT", 0)
    queries = 64 if connection.vendor == "postgresql" else 59
    follow(users, "fujian-shishi")
    make(users, regions, 1, ability="moderate")
    with django_assert_num_queries(queries):
        generate_tasks(today=TODAY)
    VisitTask.objects.all().delete()
    for sequence in range(2, 12):
        make(
            users,
            regions,
            sequence,
            village=VILLAGE_B if sequence % 2 else VILLAGE_A,
            ability=["moderate", "intact", "severe"][sequence % 3],
            registered_on=date(2026, 6, sequence),
        )

    with django_assert_num_queries(queries):
        created = generate_tasks(today=TODAY)

    # 8 key objects × 3 half-months, 3 general × 2 months, 10 reviews due in December.
    assert created == 8 * 3 + 3 * 2 + 10
    assert VisitTask.objects.count() == created


def test_the_command_prints_how_many_it_made(users, regions, capsys):
    follow(users, "fujian-shishi")
    make(users, regions, 1, ability="intact")

    call_command("generate_tasks", "--date", "2026-11-23", "--months", "1")
    call_command("generate_tasks", "--date", "2026-11-23", "--months", "1")

    out = capsys.readouterr().out.splitlines()
    assert out == [
        "探访任务已生成：1 项（2026-11-23，1 个月）。",
        "探访任务已生成：0 项（2026-11-23，1 个月）。",
    ]
    assert VisitTask.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], "日期格式应为 YYYY-MM-DD"),
        (["--months", "0"], "月数应为 1 至 12"),
        (["--months", "x"], "月数应为 1 至 12"),
    ],
)
def test_the_command_refuses_a_bad_argument(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate_tasks", *args)

    assert not VisitTask.objects.exists()


def test_it_makes_nothing_for_an_empty_choice_of_elders(db):
    from tanfang.registry.models import Elder
    from tanfang.visits.generation import generate_tasks

    assert generate_tasks(today=date(2026, 11, 23), elders=Elder.objects.filter(pk__in=[])) == 0

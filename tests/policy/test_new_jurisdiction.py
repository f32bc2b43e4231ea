"""A jurisdiction nobody wrote code for (issue 14 "Proof"): a made-up county's
rules as one file in a folder of its own, with a weekly, a monthly and a
quarterly tier and a 24-hour visit after a discharge or a fall, chosen for a
county; then elders registered, visits and changes recorded, and the tiers,
tasks, due times and the month's and quarter's compliance checked — with no
code change."""

import uuid
from datetime import date, datetime
from pathlib import Path

import pytest
from django.conf import settings

from tanfang.jurisdiction.actions import choose_profile
from tanfang.policy import engine
from tanfang.registry.life_events import record_life_event
from tanfang.registry.models import Elder
from tanfang.reports.models import ElderMonth
from tanfang.reports.rebuild import recompute_month
from tanfang.visits.actions import record_visit
from tanfang.visits.generation import generate_tasks
from tanfang.visits.models import TaskKind, VisitTask
from tests.conftest import COUNTY, aware
from tests.visits.factories import GOOD, PNG, assign, make_elder, make_visitor

PROFILE = """
title = "某某县"
checklist = "fujian"
maintainer = "某某县民政局养老服务股"

[[documents]]
key = "mouxian-2026"
title = "某某县特殊困难老年人探访关爱服务办法"
number = "某民〔2026〕1号"
issued_on = 2026-01-01
sections = ["一", "二", "三", "四"]

[[versions]]
since = 2026-01-01
document = "mouxian-2026"

[versions.params.advanced_age]
value = 85
open = true
min = 70
max = 100
label = "高龄（周岁）"
cite = "mouxian-2026 二 高龄指85周岁以上"

[versions.params.change_hours]
value = 24
label = "出院、跌倒后探访时限（小时）"
cite = "mouxian-2026 四"

[[versions.tiers]]
key = "weekly"
label = "每周探访对象"
cite = "mouxian-2026 二"
when = [
  { age_at_least = "@advanced_age", lives_alone = true, reason = "{advanced_age}周岁以上独自居住" },
  { life_threatening_illness = true, reason = "患有可能危及生命的慢性病" },
]
visits = [{ per = "week", count = 1, modes = ["home"], cite = "mouxian-2026 三 每周上门探访1次" }]

[[versions.tiers]]
key = "monthly"
label = "每月探访对象"
cite = "mouxian-2026 二"
when = [
  { ability = ["moderate", "severe", "complete"], reason = "中度以上失能" },
  { hospitalised_within_days = 30, reason = "30天内住院或出院" },
]
visits = [{ per = "month", count = 1, modes = ["home", "phone"], cite = "mouxian-2026 三" }]

[[versions.tiers]]
key = "quarterly"
label = "每季探访对象"
cite = "mouxian-2026 二"
otherwise = "其他特殊困难老年人"
visits = [{ per = "quarter", count = 1, modes = ["home", "video"], cite = "mouxian-2026 三" }]

[[versions.triggers]]
changes = ["discharged", "fell"]
within_hours = "@change_hours"
modes = ["home"]
label = "出院、跌倒后上门探访"
cite = "mouxian-2026 四"
"""


@pytest.fixture
def county(tmp_path: Path, users, regions, time_machine):
    (tmp_path / "mouxian.toml").write_text(PROFILE, encoding="utf-8")
    engine.configure([tmp_path])
    time_machine.move_to(aware(2026, 10, 5, 10, 0), tick=False)
    choose_profile(acting_user=users["county"], region=regions[COUNTY], profile="mouxian")
    yield
    engine.configure(settings.TANFANG_PROFILE_DIRS)


def tasks_of(elder: Elder) -> list[tuple[str, str, date, date, date]]:
    rows = VisitTask.objects.filter(elder=elder, cancelled_at__isnull=True).exclude(
        kind=TaskKind.REVIEW
    )
    return [
        (t.kind, t.key, t.window_start, t.deadline, t.month)
        for t in rows.order_by("window_start", "key")
    ]


def visit(users, elder, visitor, when: datetime, mode: str = "home", number: int = 0):
    return record_visit(
        acting_user=users["visitor_a"],
        uuid=uuid.UUID(int=elder.pk * 1000 + number),
        elder=elder,
        mode=mode,
        visited_at=when,
        visitors=[visitor],
        answers=GOOD,
        visitor_signature=PNG,
        elder_signature=PNG,
    )


def row(elder: Elder, month: date) -> ElderMonth:
    return ElderMonth.objects.get(elder=elder, month=month)


def test_a_county_of_its_own_rules_from_one_file(county, users, regions, time_machine):
    weekly = make_elder(users, regions, 1, life_threatening_illness=True)
    monthly = make_elder(users, regions, 2, ability="moderate")
    quarterly = make_elder(users, regions, 3, ability="intact")
    discharged = make_elder(users, regions, 4, ability="intact")
    visitor = make_visitor(users, regions)
    for elder in (weekly, monthly, quarterly, discharged):
        assign(users, elder, visitor)

    # Tiers, each with its reason in the file's words.
    assert [(e.tier, e.tier_reasons) for e in Elder.objects.order_by("pk")] == [
        ("weekly", ["患有可能危及生命的慢性病"]),
        ("monthly", ["中度以上失能"]),
        ("quarterly", ["其他特殊困难老年人"]),
        ("quarterly", ["其他特殊困难老年人"]),
    ]

    # Tasks of this month and the next: weeks Monday to Sunday, each counted in
    # the month of its last day; the quarter counted in December.
    weeks = [t for t in tasks_of(weekly)]
    assert weeks[:5] == [
        ("regular", "regular:1", date(2026, 10, 5), date(2026, 10, 11), date(2026, 10, 1)),
        ("regular", "regular:1", date(2026, 10, 12), date(2026, 10, 18), date(2026, 10, 1)),
        ("regular", "regular:1", date(2026, 10, 19), date(2026, 10, 25), date(2026, 10, 1)),
        ("regular", "regular:1", date(2026, 10, 26), date(2026, 11, 1), date(2026, 11, 1)),
        ("regular", "regular:1", date(2026, 11, 2), date(2026, 11, 8), date(2026, 11, 1)),
    ]
    assert weeks[-1][2:] == (date(2026, 11, 30), date(2026, 12, 6), date(2026, 12, 1))
    assert [t[2:] for t in tasks_of(monthly) if t[0] == "regular"] == [
        (date(2026, 10, 1), date(2026, 10, 31), date(2026, 10, 1)),
        (date(2026, 11, 1), date(2026, 11, 30), date(2026, 11, 1)),
    ]
    assert [t[2:] for t in tasks_of(quarterly) if t[0] == "regular"] == [
        (date(2026, 10, 1), date(2026, 12, 31), date(2026, 12, 1)),
    ]

    # A discharge recorded at 10:00: a home visit is due by 10:00 the next day,
    # and for 30 days the elder is visited monthly.
    record_life_event(
        acting_user=users["liaison_a"],
        elder=discharged,
        change="discharged",
        occurred_at=aware(2026, 10, 5, 9, 0),
    )
    discharged.refresh_from_db()
    assert (discharged.tier, discharged.tier_reasons) == ("monthly", ["30天内住院或出院"])
    trigger = VisitTask.objects.get(elder=discharged, kind=TaskKind.TRIGGER)
    assert trigger.due_at == aware(2026, 10, 6, 10, 0)
    assert (trigger.window_start, trigger.deadline, trigger.month) == (
        date(2026, 10, 5),
        date(2026, 10, 6),
        date(2026, 10, 1),
    )
    assert trigger.modes == ["home"]
    assert "出院" in trigger.label and "24小时" in trigger.label

    # October: the visits the rules ask for, and the trigger's within the day.
    time_machine.move_to(aware(2026, 10, 6, 9, 0), tick=False)
    visit(users, discharged, visitor, aware(2026, 10, 6, 9, 0))
    assert VisitTask.objects.get(pk=trigger.pk).done_at is not None
    for number, day in enumerate((6, 13, 20), start=1):
        time_machine.move_to(aware(2026, 10, day, 15, 0), tick=False)
        visit(users, weekly, visitor, aware(2026, 10, day, 15, 0), number=number)
    time_machine.move_to(aware(2026, 10, 15, 16, 0), tick=False)
    visit(users, monthly, visitor, aware(2026, 10, 15, 16, 0), mode="phone")

    # November: the weekly elder's week of 26 October–1 November is missed; the
    # quarterly elder is called on video; the monthly elder is not visited.
    time_machine.move_to(aware(2026, 11, 1, 6, 0), tick=False)
    generate_tasks(today=date(2026, 11, 1))
    for number, day in enumerate((3, 10, 17, 24), start=10):
        time_machine.move_to(aware(2026, 11, day, 15, 0), tick=False)
        visit(users, weekly, visitor, aware(2026, 11, day, 15, 0), number=number)
    visit(users, quarterly, visitor, aware(2026, 11, 10, 11, 0), mode="video")
    quarter_task = VisitTask.objects.get(elder=quarterly, kind=TaskKind.REGULAR)
    assert quarter_task.done_at is not None

    time_machine.move_to(aware(2026, 12, 1, 6, 0), tick=False)
    generate_tasks(today=date(2026, 12, 1))
    time_machine.move_to(aware(2026, 12, 31, 20, 0), tick=False)
    today = date(2026, 12, 31)
    for month in (date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)):
        recompute_month(month, today)

    october, november, december = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
    # October: every elder compliant; the quarterly elder owes nothing due in
    # October (its quarter runs), the discharged elder's visit was in time.
    assert [row(e, october).compliant for e in (weekly, monthly, quarterly, discharged)] == [
        True,
        True,
        True,
        True,
    ]
    assert row(weekly, october).rules == "mouxian@2026-01-01"
    # November: the weekly elder missed the week ending 1 November; the monthly
    # elder was not visited.
    assert not row(weekly, november).compliant
    assert any("11月1日" in words for words in row(weekly, november).missing)
    assert not row(monthly, november).compliant
    assert row(quarterly, november).compliant
    # December: the quarter's visit made in November meets it.
    assert row(quarterly, december).compliant
    # The quarter: only the quarterly elder was compliant in each of its months.
    assert row(quarterly, december).quarter_compliant
    assert not row(weekly, december).quarter_compliant
    assert not row(monthly, december).quarter_compliant

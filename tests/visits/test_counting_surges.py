"""A visit completes every task it satisfies, the most urgent first (issue 16
item 5): a cold wave (寒潮) and the routine visit on the same day, whether the
cold wave was declared before the visit or after it; and the documents' rules
that keep one visit from counting twice (tanfang.visits.counting).

The clock stands on Tuesday 2026-12-08 10:00; 石狮's rules
(000_4970ff49482a0570.txt 四(二)): a key elder owes a home visit every half
month, and extreme weather "适当增加探访频次" (an extra visit of any mode, counted
for the surge's coverage).
"""

import uuid
from datetime import date

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.jurisdiction.actions import declare_event
from tanfang.visits import counting
from tanfang.visits.actions import checklist_for, record_visit
from tanfang.visits.models import LateState, TaskKind, Visit, VisitTask
from tests.conftest import COUNTY, aware
from tests.visits.factories import GOOD, PNG, assign, follow_shishi, make_elder, make_visitor
from tests.visits.test_visit_form_page import good_answers

TODAY = date(2026, 12, 8)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 12, 8, 10, 0), tick=False)


@pytest.fixture
def setting(users, regions):
    follow_shishi(users)
    elder = make_elder(users, regions, ability="severe")  # 重点对象: 中度以上失能
    visitor = make_visitor(users, regions)
    assign(users, elder, visitor)
    return {"elder": elder, "visitor": visitor}


def cold_wave(users, regions, starts_on=date(2026, 12, 5), ends_on=TODAY):
    return declare_event(
        acting_user=users["county"],
        region=regions[COUNTY],
        kind="cold",
        title="寒潮蓝色预警",
        starts_on=starts_on,
        ends_on=ends_on,
    )


def visit(users, setting, number=1, **overrides):
    values = {
        "acting_user": users["visitor_a"],
        "uuid": uuid.UUID(int=number),
        "elder": setting["elder"],
        "mode": "home",
        "visited_at": aware(2026, 12, 8, 9, 0),
        "visitors": [setting["visitor"]],
        "answers": GOOD,
        "visitor_signature": PNG,
        "elder_signature": PNG,
    }
    values.update(overrides)
    return record_visit(**values).visit


def task_of(elder, kind):
    return VisitTask.objects.get(
        elder=elder, kind=kind, window_start__lte=TODAY, window_end__gte=TODAY
    )


# --- The cold wave and the routine visit on the same day ---------------------------------


def test_a_home_visit_on_the_cold_wave_day_completes_both_the_cold_wave_first(
    client_for, users, regions, setting
):
    # Through the phone's form, as a visitor does it.
    cold_wave(users, regions)
    elder = setting["elder"]
    client = client_for("visitor_a")
    check = client.get(
        f"/visits/check/{elder.pk}/", {"mode": "home", "visited_at": "2026-12-08T09:30"}
    )
    # The "will it count" check lists every task the visit will complete, the
    # weather's before the routine one.
    assert (
        "本次探访将完成“寒潮期间探访：寒潮蓝色预警”“12月上半月例行探访”" in check.content.decode()
    )
    data = {
        "uuid": "8f0c6a9e-2d1b-4c3a-9e7f-0a1b2c3d4e5f",
        "mode": "home",
        "visited_at": "2026-12-08T09:30",
        "visitors": [setting["visitor"].pk],
        "visitor_signature": PNG,
        "elder_signature": PNG,
        **good_answers(checklist_for(elder)),
    }

    response = client.post(f"/visits/new/{elder.pk}/", data, follow=True)

    stored = Visit.objects.get()
    assert task_of(elder, TaskKind.EVENT).done_by_visit == stored
    assert task_of(elder, TaskKind.REGULAR).done_by_visit == stored
    assert "已完成：寒潮期间探访：寒潮蓝色预警、12月上半月例行探访" in response.content.decode()


def test_a_visit_made_before_the_cold_wave_was_declared_that_day_completes_it(
    users, regions, setting
):
    # The visitor went at 9:00; the county declared the cold wave at 10:00, from
    # 5 December. Before the fix the visit stayed credited to the routine task
    # only, and the cold-wave task stayed open until it was missed.
    made = visit(users, setting)
    assert [t.kind for t in made.completed_tasks.all()] == [TaskKind.REGULAR]

    cold_wave(users, regions)

    event = task_of(setting["elder"], TaskKind.EVENT)
    assert event.done_by_visit == made
    assert event.state_on(TODAY) == "done"
    generated = AuditEvent.objects.filter(action=Action.TASKS_GENERATED).latest("pk")
    assert generated.detail["credited"] == 1


def test_a_back_dated_cold_wave_goes_to_the_first_visit_inside_it(users, regions, setting):
    before = visit(users, setting, 1, visited_at=aware(2026, 12, 4, 9, 0))
    first_inside = visit(users, setting, 2, mode="phone", visited_at=aware(2026, 12, 6, 9, 0))
    visit(users, setting, 3, visited_at=aware(2026, 12, 7, 9, 0))

    cold_wave(users, regions)

    # The extra weather visit is of any mode (000_4970ff49482a0570.txt 四(二)).
    assert task_of(setting["elder"], TaskKind.EVENT).done_by_visit == first_inside
    assert not before.completed_tasks.filter(kind=TaskKind.EVENT).exists()


def test_a_visit_that_found_no_task_counts_once_the_cold_wave_is_declared(users, regions, setting):
    visit(users, setting, 1, visited_at=aware(2026, 12, 2, 9, 0))  # the half month's visit
    again = visit(users, setting, 2, mode="phone", visited_at=aware(2026, 12, 6, 9, 0))
    assert not again.counted
    assert again.not_counted_reason == counting.NO_TASK_REASON

    cold_wave(users, regions)

    again.refresh_from_db()
    assert again.counted
    assert again.not_counted_reason == ""
    assert task_of(setting["elder"], TaskKind.EVENT).done_by_visit == again


def test_a_refused_visit_or_a_late_entry_awaiting_approval_completes_no_cold_wave(
    users, regions, setting
):
    refused = visit(
        users, setting, 1, refused=True, answers={}, visitor_signature="", elder_signature=""
    )
    pending = visit(users, setting, 2, mode="phone", visited_at=aware(2026, 12, 7, 9, 0))
    Visit.objects.filter(pk=pending.pk).update(late_state=LateState.PENDING)
    VisitTask.objects.filter(done_by_visit=pending).update(done_at=None, done_by_visit=None)

    cold_wave(users, regions)

    assert task_of(setting["elder"], TaskKind.EVENT).done_at is None
    assert not refused.completed_tasks.exists()


def test_a_cold_wave_declared_ahead_waits_for_its_visit(users, regions, setting):
    visit(users, setting)

    cold_wave(users, regions, starts_on=date(2026, 12, 10), ends_on=date(2026, 12, 12))

    assert VisitTask.objects.get(elder=setting["elder"], kind=TaskKind.EVENT).done_at is None


# --- decide: every task satisfied, the most urgent first -------------------------------


def task(pk, kind, key, start, deadline, modes=("home",), **more):
    return VisitTask(
        pk=pk,
        elder_id=1,
        kind=kind,
        key=key,
        label=key,
        window_start=start,
        deadline=deadline,
        window_end=more.pop("end", deadline),
        modes=list(modes),
        **more,
    )


ANY = ("home", "monitoring", "phone", "street", "video")


def test_it_completes_every_kind_open_on_the_day_the_most_urgent_first():
    open_tasks = [
        task(1, TaskKind.REGULAR, "regular:1", date(2026, 12, 1), date(2026, 12, 15)),
        task(2, TaskKind.FOLLOW_UP, "follow_up:need:3", date(2026, 12, 2), date(2026, 12, 9), ANY),
        task(3, TaskKind.FESTIVAL, "festival:冬至", date(2026, 12, 15), date(2026, 12, 25), ANY),
        task(4, TaskKind.EVENT, "event:1", date(2026, 12, 5), date(2026, 12, 8), ANY, extra=True),
        task(5, TaskKind.TRIGGER, "trigger:9", date(2026, 12, 7), date(2026, 12, 8)),
    ]

    outcome = counting.decide(open_tasks, mode="home", refused=False, tier_label="重点对象")

    assert [t.kind for t in outcome.completes] == [
        TaskKind.TRIGGER,
        TaskKind.EVENT,
        TaskKind.FESTIVAL,
        TaskKind.REGULAR,
        TaskKind.FOLLOW_UP,
    ]
    assert outcome.reasons == ()


def test_one_home_visit_is_one_of_linzis_two_monthly_visits():
    # 003_fe235aaa23e67560.txt 五(二): key objects owe a home visit and another
    # visit each month; one home visit is the home one, not both.
    home = task(1, TaskKind.REGULAR, "home:1", date(2026, 12, 1), date(2026, 12, 20))
    other = task(2, TaskKind.REGULAR, "regular:1", date(2026, 12, 1), date(2026, 12, 20), ANY)

    outcome = counting.decide([home, other], mode="home", refused=False, tier_label="重点对象")

    assert outcome.completes == (home,)


def test_one_visit_is_one_visit_of_a_surge_that_asks_for_two():
    # 000_4970ff49482a0570.txt 四(二) 适当增加探访频次: a count of 2 asks for two visits.
    first = task(1, TaskKind.EVENT, "event:1", date(2026, 12, 5), date(2026, 12, 8), ANY)
    second = task(2, TaskKind.EVENT, "event:1:2", date(2026, 12, 5), date(2026, 12, 8), ANY)

    outcome = counting.decide([first, second], mode="phone", refused=False, tier_label="")

    assert outcome.completes == (first,)


def visit_on(pk, day, mode="home", surges=()):
    return counting.EarlierVisit(pk, 1, day, mode, set(surges))


def test_earlier_visits_complete_one_task_each_of_a_surge_that_asks_for_two():
    first = task(1, TaskKind.EVENT, "event:1", date(2026, 12, 5), date(2026, 12, 8), ANY)
    second = task(2, TaskKind.EVENT, "event:1:2", date(2026, 12, 5), date(2026, 12, 8), ANY)
    visits = [visit_on(10, date(2026, 12, 5)), visit_on(11, date(2026, 12, 6))]

    credits = counting.credit_earlier([first, second], visits)

    assert [(t.pk, v.pk) for t, v in credits] == [(1, 10), (2, 11)]
    assert counting.credit_earlier([first, second], [visit_on(12, date(2026, 12, 5))]) != []
    # A visit already counted for this surge completes no other task of it.
    assert (
        counting.credit_earlier([second], [visit_on(13, date(2026, 12, 6), surges=["event:1"])])
        == []
    )


def test_a_mandatory_weather_visit_is_not_completed_by_an_earlier_phone_call():
    # 001_35a01bee4c628ebd.txt 二(五)2: 极端恶劣天气必须开展探访 in the modes of
    # the regular rules (Sichuan: home visits).
    mandatory = task(1, TaskKind.EVENT, "event:1", date(2026, 12, 5), date(2026, 12, 8), ("home",))

    assert counting.credit_earlier([mandatory], [visit_on(10, date(2026, 12, 6), "phone")]) == []
    assert len(counting.credit_earlier([mandatory], [visit_on(11, date(2026, 12, 6))])) == 1


def test_earlier_visits_complete_no_routine_trigger_or_follow_up_task():
    # A routine task made late belongs to rules that changed; a trigger runs
    # from the change's recording; a follow-up opens the day after.
    made_late = [
        task(1, TaskKind.REGULAR, "regular:2", date(2026, 12, 1), date(2026, 12, 15)),
        task(2, TaskKind.TRIGGER, "trigger:4", date(2026, 12, 6), date(2026, 12, 7)),
        task(3, TaskKind.FOLLOW_UP, "follow_up:need:5", date(2026, 12, 6), date(2026, 12, 9)),
    ]

    assert counting.credit_earlier(made_late, [visit_on(10, date(2026, 12, 6))]) == []

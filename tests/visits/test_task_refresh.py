"""Tasks follow the file at once: registering, a change of tier, status, consent
or rules cancels the open tasks no longer owed (never deletes them) and makes
those now owed; a review closes the file-review task; an officer excuses a task
with a reason."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from tanfang.audit.models import Action, AuditEvent
from tanfang.jurisdiction.actions import choose_profile, declare_event, end_event
from tanfang.jurisdiction.models import PolicyChoice
from tanfang.registry.actions import change_status, override_tier, review_elder, update_elder
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder
from tanfang.registry.registration import register_elder
from tanfang.visits.actions import excuse_task
from tanfang.visits.generation import generate_tasks, refresh_tasks
from tanfang.visits.models import TaskKind, TaskState, VisitTask
from tests.conftest import COUNTY, VILLAGE_A, aware

TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def shishi(users):
    PolicyChoice.objects.create(
        region_id=COUNTY,
        since=date(2023, 1, 1),
        profile="fujian-shishi",
        changed_by=users["county"],
    )


@pytest.fixture
def elder(users, regions, shishi):
    """A general object of 石狮 (000_4970ff49482a0570.txt 四(二)), registered in October."""
    elder = register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", date(1950, 3, 1), 1, "女"),
        name="林阿婆",
        village=regions[VILLAGE_A],
        ability="intact",
    )
    Elder.objects.filter(pk=elder.pk).update(registered_on=date(2026, 10, 1))
    elder.refresh_from_db()
    return elder


def open_tasks(elder):
    return [
        (t.key, t.window_start, t.window_end)
        for t in VisitTask.objects.filter(elder=elder, cancelled_at__isnull=True).order_by(
            "window_start", "key"
        )
    ]


def cancelled(elder):
    return [
        (t.key, t.window_start, t.cancel_reason)
        for t in VisitTask.objects.filter(elder=elder, cancelled_at__isnull=False).order_by(
            "window_start", "key"
        )
    ]


def test_it_makes_the_tasks_when_the_file_is_registered(elder):
    assert open_tasks(elder) == [
        ("regular:1", date(2026, 11, 1), date(2026, 11, 30)),
        ("regular:1", date(2026, 12, 1), date(2026, 12, 31)),
    ]
    assert generate_tasks(today=TODAY) == 0


def test_it_cancels_and_makes_tasks_when_the_tier_changes(users, elder):
    # 000_4970ff49482a0570.txt 四(二): 中度以上失能 makes a key object, every half-month.
    update_elder(acting_user=users["liaison_a"], elder=elder, changes={"ability": "moderate"})

    elder.refresh_from_db()
    assert elder.tier == "key"
    assert open_tasks(elder) == [
        ("regular:1", date(2026, 11, 16), date(2026, 11, 30)),
        ("regular:1", date(2026, 12, 1), date(2026, 12, 15)),
        ("regular:1", date(2026, 12, 16), date(2026, 12, 31)),
    ]
    assert cancelled(elder) == [
        ("regular:1", date(2026, 11, 1), "分级变更为“重点对象”"),
        ("regular:1", date(2026, 12, 1), "分级变更为“重点对象”"),
    ]
    assert VisitTask.objects.filter(elder=elder).count() == 5


def test_a_tier_changing_back_owes_the_same_task_again(users, elder):
    update_elder(acting_user=users["liaison_a"], elder=elder, changes={"ability": "moderate"})

    update_elder(acting_user=users["liaison_a"], elder=elder, changes={"ability": "intact"})

    assert open_tasks(elder) == [
        ("regular:1", date(2026, 11, 1), date(2026, 11, 30)),
        ("regular:1", date(2026, 12, 1), date(2026, 12, 31)),
    ]
    assert len(cancelled(elder)) == 5


def test_it_leaves_done_excused_and_past_tasks_alone(users, elder):
    november = VisitTask.objects.get(elder=elder, window_start=date(2026, 11, 1))
    VisitTask.objects.filter(pk=november.pk).update(done_at=aware(2026, 11, 5, 10, 0))
    past = VisitTask.objects.create(
        elder=elder,
        kind=TaskKind.REGULAR,
        key="regular:1",
        label="10月例行探访",
        window_start=date(2026, 10, 1),
        deadline=date(2026, 10, 31),
        window_end=date(2026, 10, 31),
        month=date(2026, 10, 1),
        modes=["home"],
    )

    update_elder(acting_user=users["liaison_a"], elder=elder, changes={"ability": "moderate"})

    november.refresh_from_db()
    past.refresh_from_db()
    assert november.state_on(TODAY) == TaskState.DONE
    assert past.state_on(TODAY) == TaskState.MISSED
    # The second half of November is owed as a key object; the first is over.
    assert ("regular:1", date(2026, 11, 16), date(2026, 11, 30)) in open_tasks(elder)


def test_it_cancels_the_open_tasks_when_the_elder_dies(users, elder):
    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status="deceased",
        effective_on=date(2026, 11, 20),
        reason="病故",
    )

    assert open_tasks(elder) == []
    assert cancelled(elder) == [
        ("regular:1", date(2026, 11, 1), "档案状态变更为“去世”"),
        ("regular:1", date(2026, 12, 1), "档案状态变更为“去世”"),
    ]
    assert VisitTask.objects.filter(elder=elder).count() == 2


def test_it_owes_visits_again_when_the_file_returns(users, elder):
    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status="moved_away",
        effective_on=date(2026, 11, 20),
        reason="随子女迁居",
        destination="泉州市区",
    )

    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status="active",
        effective_on=date(2026, 11, 23),
        reason="迁回",
    )

    assert len(open_tasks(elder)) == 2


def test_it_cancels_the_visits_when_the_elder_declines_them(users, elder):
    update_elder(acting_user=users["liaison_a"], elder=elder, changes={"consents_to_visits": False})

    assert open_tasks(elder) == []
    assert {reason for _, _, reason in cancelled(elder)} == {"老人不愿接受探访"}


def test_it_follows_an_officers_tier(users, elder):
    override_tier(
        acting_user=users["county"],
        elder=elder,
        tier="key",
        reason="独居且患病",
        document="000_4970ff49482a0570.txt",
        section="四(二)",
    )

    assert [start for _, start, _ in open_tasks(elder)] == [
        date(2026, 11, 16),
        date(2026, 12, 1),
        date(2026, 12, 16),
    ]
    assert set(VisitTask.objects.filter(cancelled_at=None).values_list("tier", flat=True)) == {
        "key"
    }


def test_it_follows_the_countys_new_rules(users, regions, elder):
    # 003_fe235aaa23e67560.txt 五(二): 每月20日前完成.
    choose_profile(acting_user=users["county"], region=regions[COUNTY], profile="linzi")

    assert [
        (t.window_start, t.deadline, t.profile)
        for t in VisitTask.objects.filter(elder=elder, cancelled_at=None).order_by("window_start")
    ] == [
        (date(2026, 11, 1), date(2026, 11, 20), "linzi"),
        (date(2026, 12, 1), date(2026, 12, 20), "linzi"),
    ]
    assert {reason for _, _, reason in cancelled(elder)} == {"探访规则或特殊时段变更"}


def test_an_event_owes_its_visit_at_once_and_ends_with_it(users, regions, elder):
    event = declare_event(
        acting_user=users["county"],
        region=regions[COUNTY],
        kind="cold",
        title="寒潮",
        starts_on=date(2026, 11, 20),
        ends_on=date(2026, 11, 30),
    )

    task = VisitTask.objects.get(elder=elder, kind=TaskKind.EVENT)
    assert (task.key, task.window_start, task.window_end) == (
        f"event:{event.pk}",
        date(2026, 11, 20),
        date(2026, 11, 30),
    )

    end_event(acting_user=users["county"], event=event)

    task.refresh_from_db()
    assert task.cancel_reason == "探访规则或特殊时段变更"
    shorter = VisitTask.objects.get(elder=elder, kind=TaskKind.EVENT, cancelled_at=None)
    assert (shorter.window_start, shorter.window_end) == (date(2026, 11, 20), TODAY)


def test_a_review_closes_the_review_task(users, regions, shishi):
    # 000_4970ff49482a0570.txt 三(四): 每半年动态更新一次.
    elder = register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", date(1950, 3, 1), 2, "女"),
        name="陈阿公",
        village=regions[VILLAGE_A],
    )
    Elder.objects.filter(pk=elder.pk).update(registered_on=date(2026, 6, 10))
    elder.refresh_from_db()
    refresh_tasks(elder, TODAY)
    review = VisitTask.objects.get(elder=elder, kind=TaskKind.REVIEW)
    assert (review.window_start, review.deadline) == (date(2026, 11, 10), date(2026, 12, 10))

    review_elder(acting_user=users["liaison_a"], elder=elder, reviewed_on=TODAY)

    review.refresh_from_db()
    assert review.state_on(TODAY) == TaskState.DONE
    # The next is due on 23 May 2027: beyond the months planned.
    assert VisitTask.objects.filter(elder=elder, kind=TaskKind.REVIEW).count() == 1


# --- Excusing a task -------------------------------------------------------------------


def task_of(elder):
    return VisitTask.objects.filter(elder=elder).order_by("window_start").first()


def test_it_excuses_an_open_task_with_the_reason_and_who(users, elder):
    task = task_of(elder)

    excuse_task(acting_user=users["liaison_a"], task=task, reason="hospital", note=" 住院治疗 ")

    task.refresh_from_db()
    assert task.state_on(TODAY) == TaskState.EXCUSED
    assert (task.excuse_reason, task.excuse_note, task.excused_by) == (
        "hospital",
        "住院治疗",
        users["liaison_a"],
    )
    event = AuditEvent.objects.get(action=Action.TASK_EXCUSED)
    assert (event.actor, event.object_id, event.region_code) == (
        users["liaison_a"],
        str(task.pk),
        VILLAGE_A,
    )
    assert event.detail["reason"] == "hospital"


@pytest.mark.parametrize(
    ("reason", "note", "errors"),
    [
        ("holiday", "", {"reason": ["请选择免除原因。"]}),
        ("other", "  ", {"note": ["免除原因为“其他”时，请填写说明。"]}),
        ("away", "长" * 201, {"note": ["说明不能超过200字。"]}),
    ],
)
def test_it_refuses_a_bad_reason_or_note(users, elder, reason, note, errors):
    task = task_of(elder)

    with pytest.raises(ValidationError) as raised:
        excuse_task(acting_user=users["liaison_a"], task=task, reason=reason, note=note)

    assert raised.value.message_dict == errors
    task.refresh_from_db()
    assert task.is_open()
    assert not AuditEvent.objects.filter(action=Action.TASK_EXCUSED).exists()


@pytest.mark.parametrize(
    ("field", "value", "state"),
    [
        ("done_at", aware(2026, 11, 5, 9, 0), "已完成"),
        ("excused_at", aware(2026, 11, 5, 9, 0), "已免除"),
        ("cancelled_at", aware(2026, 11, 5, 9, 0), "已取消"),
    ],
)
def test_it_excuses_only_an_open_task(users, elder, field, value, state):
    task = task_of(elder)
    VisitTask.objects.filter(pk=task.pk).update(**{field: value})

    with pytest.raises(ValidationError) as raised:
        excuse_task(acting_user=users["liaison_a"], task=task, reason="away", note="")

    assert raised.value.message_dict == {"task": [f"该任务{state}，不能免除。"]}
    task.refresh_from_db()
    assert task.excuse_reason == ""
    assert not AuditEvent.objects.filter(action=Action.TASK_EXCUSED).exists()


def test_it_answers_not_found_outside_the_users_region(users, elder):
    task = task_of(elder)

    with pytest.raises(Http404):
        excuse_task(acting_user=users["liaison_b"], task=task, reason="away", note="")

    task.refresh_from_db()
    assert task.is_open()
    assert not AuditEvent.objects.filter(action=Action.TASK_EXCUSED).exists()


def test_it_refuses_a_visitor(users, elder):
    task = task_of(elder)

    with pytest.raises(PermissionDenied):
        excuse_task(acting_user=users["visitor_a"], task=task, reason="away", note="")

    task.refresh_from_db()
    assert task.is_open()

"""Emergencies: the steps with their times, closing only once help was called,
the family or a contact reached for and the village told (001_35a01bee4c628ebd.txt
二(五)1: 第一时间协助拨打紧急求助电话，帮助联系其家庭成员或者其他紧急联系人，并报告老人
居住所在村（社区）…事后做好处置情况记录归档; 004_1657df0ed1e05604.txt 二(三)7), archived
read-only, and the township's follow-up visit."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from tanfang.audit.models import Action, AuditEvent
from tanfang.care import emergencies
from tanfang.care.models import Emergency, EmergencyStep
from tanfang.visits.models import TaskKind, VisitTask
from tests.care.conftest import visit_of
from tests.conftest import aware


@pytest.fixture
def fall(users, elder):
    return emergencies.raise_emergency(
        acting_user=users["visitor_a"],
        elder=elder,
        kind="fall",
        source="phone",
        description="邻居来电：老人在院中跌倒不能起身",
        raised_at=aware(2026, 11, 23, 8, 0),
    )


def step(users, emergency, kind, minute, who="visitor_a", **fields):
    return emergencies.record_step(
        acting_user=users[who],
        emergency=emergency,
        kind=kind,
        at=aware(2026, 11, 23, 8, minute),
        **fields,
    )


def handled(users, emergency):
    step(users, emergency, "help_called", 2, number="120")
    step(users, emergency, "family_notified", 5, whom="儿子 王强", how="phone", answered=False)
    step(users, emergency, "contact_notified", 6, whom="侄女 王芳", how="phone", answered=True)
    step(users, emergency, "village_informed", 10, whom="村主任", how="wechat")


def close(users, emergency, outcome_kind="hospital", who="liaison_a"):
    return emergencies.close_emergency(
        acting_user=users[who],
        emergency=emergency,
        outcome_kind=outcome_kind,
        outcome="120送市医院，侄女陪同",
    )


def test_raising_records_who_when_and_is_audited(users, fall):
    stored = Emergency.objects.get()
    assert (stored.kind, stored.source, stored.raised_by) == ("fall", "phone", users["visitor_a"])
    assert stored.raised_at == aware(2026, 11, 23, 8, 0)
    assert not stored.is_closed()
    assert AuditEvent.objects.filter(
        action=Action.EMERGENCY_RAISED, object_id=str(fall.pk)
    ).exists()


def test_raised_from_a_visit_it_names_the_visit(users, elder, visitor):
    visit = visit_of(users, elder, visitor, number=1)
    emergency = emergencies.raise_emergency(
        acting_user=users["visitor_a"],
        elder=elder,
        kind="illness",
        source="visit",
        description="探访时老人胸痛",
        visit=visit,
    )
    assert Emergency.objects.get(pk=emergency.pk).visit == visit

    with pytest.raises(ValidationError) as caught:
        emergencies.raise_emergency(
            acting_user=users["visitor_a"],
            elder=elder,
            kind="illness",
            source="visit",
            description="胸痛",
        )
    assert caught.value.message_dict == {
        "visit": ["来源为“探访发现”时，请选择发现问题的探访记录。"]
    }


def test_raising_nonsense_is_refused(users, elder):
    with pytest.raises(ValidationError) as caught:
        emergencies.raise_emergency(
            acting_user=users["visitor_a"],
            elder=elder,
            kind="flood",
            source="phone",
            description="",
            raised_at=aware(2026, 11, 24, 8, 0),
        )
    assert caught.value.message_dict == {
        "kind": ["请选择事件类型。"],
        "description": ["请填写情况描述。"],
        "raised_at": ["发生时间不能晚于现在。"],
    }
    assert not Emergency.objects.exists()


def test_the_steps_are_kept_with_their_times(users, fall):
    handled(users, fall)

    steps = list(
        EmergencyStep.objects.filter(emergency=fall).values_list(
            "kind", "number", "whom", "answered"
        )
    )
    assert steps == [
        ("help_called", "120", "", None),
        ("family_notified", "", "儿子 王强", False),
        ("contact_notified", "", "侄女 王芳", True),
        ("village_informed", "", "村主任", None),
    ]
    assert AuditEvent.objects.filter(action=Action.EMERGENCY_STEP_RECORDED).count() == 4


def test_a_step_before_the_emergency_or_in_the_future_is_refused(users, fall):
    with pytest.raises(ValidationError) as caught:
        emergencies.record_step(
            acting_user=users["visitor_a"],
            emergency=fall,
            kind="help_called",
            at=aware(2026, 11, 23, 7, 59),
            number="120",
        )
    assert caught.value.message_dict == {"at": ["处置时间不能早于事件发生(报告)时间。"]}
    with pytest.raises(ValidationError) as caught:
        emergencies.record_step(
            acting_user=users["visitor_a"],
            emergency=fall,
            kind="help_called",
            at=aware(2026, 11, 23, 11, 0),
            number="120",
        )
    assert caught.value.message_dict == {"at": ["时间不能晚于现在。"]}


def test_a_step_in_the_minute_the_emergency_was_raised_is_taken(users, elder):
    """Raised "now" with seconds; the step is typed to the minute."""
    raised = emergencies.raise_emergency(
        acting_user=users["visitor_a"],
        elder=elder,
        kind="fall",
        source="phone",
        description="邻居来电：老人跌倒",
        raised_at=aware(2026, 11, 23, 8, 0) + timedelta(seconds=42),
    )

    made = step(users, raised, "help_called", 0, number="120")

    assert made.at == aware(2026, 11, 23, 8, 0)
    with pytest.raises(ValidationError):
        emergencies.record_step(
            acting_user=users["visitor_a"],
            emergency=raised,
            kind="help_called",
            at=aware(2026, 11, 23, 7, 59),
            number="120",
        )


def test_a_step_missing_what_it_needs_is_refused(users, fall):
    with pytest.raises(ValidationError) as caught:
        step(users, fall, "help_called", 2, number="12345")
    assert caught.value.message_dict == {"number": ["请选择拨打的紧急求助电话：120、119 或 110。"]}
    with pytest.raises(ValidationError) as caught:
        step(users, fall, "family_notified", 3)
    assert caught.value.message_dict == {
        "how": ["请选择联系方式。"],
        "whom": ["请填写联系对象。"],
        "answered": ["请选择是否联系上。"],
    }
    with pytest.raises(ValidationError) as caught:
        step(users, fall, "other", 3)
    assert caught.value.message_dict == {"note": ["请填写说明。"]}
    assert not EmergencyStep.objects.exists()


def test_closing_without_the_required_steps_is_refused_in_words(users, fall):
    with pytest.raises(ValidationError) as caught:
        close(users, fall)
    assert caught.value.message_dict == {
        "emergency": [
            "尚未记录拨打紧急求助电话（120、119 或 110），不能结案。",
            "尚未记录联系家庭成员或其他紧急联系人，不能结案。",
            "尚未记录报告老人居住所在村（社区），不能结案。",
        ]
    }
    step(users, fall, "help_called", 2, number="120")
    step(users, fall, "family_notified", 5, whom="儿子", how="phone", answered=False)
    with pytest.raises(ValidationError) as caught:
        close(users, fall)
    # 001_35a01bee4c628ebd.txt 二(五)1: 并报告老人居住所在村（社区）.
    assert caught.value.message_dict == {
        "emergency": ["尚未记录报告老人居住所在村（社区），不能结案。"]
    }
    assert Emergency.objects.get(pk=fall.pk).closed_at is None


def test_a_danger_cleared_needs_no_call_for_help(users, fall):
    step(users, fall, "family_notified", 5, whom="儿子", how="phone", answered=True)
    step(users, fall, "village_informed", 10, how="phone")

    closed = close(users, fall, outcome_kind="cleared")
    assert closed.is_closed()


def test_closing_archives_it_and_owes_the_township_a_follow_up(
    users, elder, visitor, fall, time_machine
):
    handled(users, fall)

    close(users, fall)

    stored = Emergency.objects.get(pk=fall.pk)
    assert (stored.outcome_kind, stored.closed_by) == ("hospital", users["liaison_a"])
    assert stored.closed_at == aware(2026, 11, 23, 10, 0)
    task = VisitTask.objects.get(pk=stored.follow_up_task_id)
    assert (task.kind, task.label) == (TaskKind.FOLLOW_UP, "跟踪回访：应急处置（跌倒）")
    assert task.window_start == date(2026, 11, 24)
    assert (
        AuditEvent.objects.get(action=Action.EMERGENCY_CLOSED).detail["follow_up_task"] == task.pk
    )

    time_machine.move_to(aware(2026, 11, 25, 10, 0), tick=False)
    visit = visit_of(
        users,
        elder,
        visitor,
        number=1,
        mode="phone",
        elder_signature="",
        visited_at=aware(2026, 11, 25, 9, 0),
    )
    assert VisitTask.objects.get(pk=task.pk).done_by_visit == visit


def test_a_death_owes_no_follow_up(users, fall):
    handled(users, fall)
    closed = close(users, fall, outcome_kind="died")
    assert closed.follow_up_task is None
    assert not VisitTask.objects.filter(kind=TaskKind.FOLLOW_UP).exists()


def test_a_closed_emergency_is_read_only(users, fall):
    handled(users, fall)
    close(users, fall)

    with pytest.raises(ValidationError) as caught:
        step(users, fall, "township_informed", 30, how="phone")
    assert caught.value.message_dict == {"emergency": ["该应急事件已结案归档，不能再修改。"]}
    with pytest.raises(ValidationError) as caught:
        close(users, fall, outcome_kind="other")
    assert caught.value.message_dict == {"emergency": ["该应急事件已结案归档，不能再修改。"]}
    assert EmergencyStep.objects.filter(emergency=fall).count() == 4
    assert Emergency.objects.get(pk=fall.pk).outcome_kind == "hospital"


def test_who_may_close_and_where(users, fall):
    handled(users, fall)
    with pytest.raises(PermissionDenied):
        close(users, fall, who="visitor_a")
    with pytest.raises(Http404):
        close(users, fall, who="township_b")
    with pytest.raises(Http404):
        step(users, fall, "other", 20, who="liaison_b", note="看看")
    with pytest.raises(PermissionDenied):
        step(users, fall, "other", 20, who="supervisor", note="看看")
    assert Emergency.objects.get(pk=fall.pk).closed_at is None
    close(users, fall, who="township_a")

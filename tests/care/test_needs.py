"""Needs (帮扶需求): one measure each, the states and who moved them, refused moves
in words, scope, and the audit. 001_35a01bee4c628ebd.txt 二(二)5: 对照记录的帮扶需求
和帮扶措施要一一对应，落实情况形成闭环管理."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from tanfang.audit.models import Action, AuditEvent
from tanfang.care import needs
from tanfang.care.models import Need, NeedEvent
from tanfang.visits.models import TaskKind, VisitTask
from tests.care.conftest import visit_of


def raise_meals(users, elder, **overrides):
    values = {
        "acting_user": users["visitor_a"],
        "elder": elder,
        "need_type": "meals",
        "source": "phone",
        "description": "女儿来电：老人做饭困难",
    }
    values.update(overrides)
    return needs.raise_need(**values)


def with_measure(users, need, **overrides):
    values = {
        "acting_user": users["liaison_a"],
        "need": need,
        "measure": "对接镇长者食堂每日送午餐",
        "responsible_unit": "灵秀镇长者食堂",
        "responsible_person": "王主任",
        "due_on": date(2026, 12, 1),
    }
    values.update(overrides)
    return needs.set_measure(**values)


def move(users, need, to_status, note="", who="liaison_a"):
    return needs.change_need_status(
        acting_user=users[who], need=need, to_status=to_status, note=note
    )


def test_a_need_raised_by_a_call_is_open_with_its_first_event_and_audited(users, elder):
    need = raise_meals(users, elder)

    stored = Need.objects.get()
    assert (stored.status, stored.source, stored.need_type) == ("open", "phone", "meals")
    assert stored.created_by == users["visitor_a"]
    event = NeedEvent.objects.get(need=stored)
    assert (event.from_status, event.to_status, event.by) == ("", "open", users["visitor_a"])
    audit = AuditEvent.objects.get(action=Action.NEED_RAISED)
    assert audit.object_id == str(need.pk)
    assert audit.region_code == elder.village_id


def test_needs_found_by_a_visit_enter_with_their_first_event(users, elder, visitor):
    visit = visit_of(
        users, elder, visitor, number=1, needs_found=[{"type": "bathing", "met": False}]
    )

    need = Need.objects.get()
    assert (need.visit, need.source, need.status) == (visit, "visit", "open")
    event = need.events.get()
    assert (event.from_status, event.to_status, event.visit) == ("", "open", visit)


def test_bad_input_is_refused_in_words_and_nothing_is_stored(users, elder):
    with pytest.raises(ValidationError) as caught:
        raise_meals(users, elder, need_type="wish", source="visit")

    assert caught.value.message_dict == {
        "need_type": ["请选择需求类型。"],
        "visit": ["来源为“探访发现”时，请选择发现问题的探访记录。"],
    }
    assert not Need.objects.exists()
    assert not NeedEvent.objects.exists()


def test_the_measure_is_set_with_unit_person_and_due_date(users, elder):
    need = with_measure(users, raise_meals(users, elder))

    stored = Need.objects.get(pk=need.pk)
    assert stored.measure == "对接镇长者食堂每日送午餐"
    assert (stored.responsible_unit, stored.responsible_person) == ("灵秀镇长者食堂", "王主任")
    assert stored.due_on == date(2026, 12, 1)
    assert AuditEvent.objects.filter(
        action=Action.NEED_MEASURE_SET, object_id=str(need.pk)
    ).exists()


def test_a_measure_without_unit_or_due_before_the_need_is_refused(users, elder):
    need = raise_meals(users, elder)

    with pytest.raises(ValidationError) as caught:
        with_measure(users, need, measure=" ", responsible_unit="", due_on=date(2026, 11, 1))

    assert caught.value.message_dict == {
        "measure": ["请填写帮扶措施。"],
        "responsible_unit": ["请填写责任单位。"],
        "due_on": ["办理期限不能早于需求登记日期（2026年11月23日）。"],
    }
    assert Need.objects.get(pk=need.pk).measure == ""


def test_the_states_move_on_with_who_when_and_a_note(users, elder):
    need = with_measure(users, raise_meals(users, elder))

    move(users, need, "referred", "转介镇长者食堂")
    move(users, need, "in_progress", who="township_a")
    move(users, need, "resolved", "已每日送餐")

    stored = Need.objects.get(pk=need.pk)
    assert stored.status == "resolved"
    assert stored.resolved_at is not None
    moves = list(
        NeedEvent.objects.filter(need=need).values_list(
            "from_status", "to_status", "note", "by__username"
        )
    )
    assert moves == [
        ("", "open", "", "visitor_a"),
        ("open", "referred", "转介镇长者食堂", "liaison_a"),
        ("referred", "in_progress", "", "township_a"),
        ("in_progress", "resolved", "已每日送餐", "liaison_a"),
    ]
    assert AuditEvent.objects.filter(action=Action.NEED_STATUS_CHANGED).count() == 3


def test_no_move_without_the_measure(users, elder):
    # 001_35a01bee4c628ebd.txt 二(二)5: 帮扶需求和帮扶措施要一一对应.
    need = raise_meals(users, elder)

    with pytest.raises(ValidationError) as caught:
        move(users, need, "resolved")

    assert caught.value.message_dict == {
        "status": ["请先填写帮扶措施和责任单位（一项需求对应一项帮扶措施）。"]
    }
    assert Need.objects.get(pk=need.pk).status == "open"
    assert not VisitTask.objects.filter(kind=TaskKind.FOLLOW_UP).exists()


def test_referring_needs_a_due_date(users, elder):
    need = with_measure(users, raise_meals(users, elder), due_on=None)

    with pytest.raises(ValidationError) as caught:
        move(users, need, "referred")

    assert caught.value.message_dict == {"status": ["请先填写办理期限。"]}


def test_declining_needs_a_note_but_no_measure(users, elder):
    need = raise_meals(users, elder)

    with pytest.raises(ValidationError) as caught:
        move(users, need, "declined")
    assert caught.value.message_dict == {"note": ["老人谢绝帮扶时，请填写说明。"]}

    move(users, need, "declined", "老人表示由儿子照顾")
    assert Need.objects.get(pk=need.pk).status == "declined"


@pytest.mark.parametrize(
    ("path", "refused", "message"),
    [
        (["in_progress"], "referred", "需求当前为“处理中”，不能改为“已转介”。"),
        (["in_progress"], "open", "需求当前为“处理中”，不能改为“待处理”。"),
        (["resolved"], "declined", "需求当前为“已解决”，不能改为“老人谢绝”。"),
        (["resolved"], "in_progress", "需求当前为“已解决”，不能改为“处理中”。"),
        (["referred"], "referred", "需求当前为“已转介”，不能改为“已转介”。"),
    ],
)
def test_moves_back_or_out_of_the_end_are_refused(users, elder, path, refused, message):
    need = with_measure(users, raise_meals(users, elder))
    for step in path:
        move(users, need, step)

    with pytest.raises(ValidationError) as caught:
        move(users, need, refused, "改一下")

    assert caught.value.message_dict == {"status": [message]}
    assert Need.objects.get(pk=need.pk).status == path[-1]


def test_an_unknown_state_is_refused(users, elder):
    need = raise_meals(users, elder)
    with pytest.raises(ValidationError) as caught:
        move(users, need, "done")
    assert caught.value.message_dict == {"status": ["请选择新的状态。"]}


def test_the_measure_of_a_finished_need_is_not_changed(users, elder):
    need = with_measure(users, raise_meals(users, elder))
    move(users, need, "resolved")

    with pytest.raises(ValidationError) as caught:
        with_measure(users, need, measure="另一项措施")

    assert caught.value.message_dict == {"need": ["该需求已解决，不能再修改帮扶措施。"]}


def test_a_visitor_raises_but_does_not_decide(users, elder):
    need = raise_meals(users, elder)

    with pytest.raises(PermissionDenied):
        with_measure(users, need, acting_user=users["visitor_a"])
    with pytest.raises(PermissionDenied):
        move(users, need, "declined", "不需要", who="visitor_a")
    with pytest.raises(PermissionDenied):
        raise_meals(users, elder, acting_user=users["supervisor"])


def test_another_townships_user_gets_404(users, elder):
    need = raise_meals(users, elder)

    with pytest.raises(Http404):
        with_measure(users, need, acting_user=users["township_b"])
    with pytest.raises(Http404):
        move(users, need, "declined", "不需要", who="liaison_b")
    with pytest.raises(Http404):
        raise_meals(users, elder, acting_user=users["liaison_b"])
    assert Need.objects.get(pk=need.pk).measure == ""
    assert not AuditEvent.objects.filter(action=Action.NEED_MEASURE_SET).exists()


def test_overdue_is_past_the_due_date_and_not_finished(users, elder):
    need = with_measure(users, raise_meals(users, elder), due_on=date(2026, 11, 25))

    assert not need.is_overdue(date(2026, 11, 25))
    assert need.is_overdue(date(2026, 11, 26))
    move(users, need, "resolved")
    assert not Need.objects.get(pk=need.pk).is_overdue(date(2026, 11, 26))

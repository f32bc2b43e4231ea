"""跟踪回访: resolving a need owes a follow-up visit, which a later visit makes and
which confirms the need (000_4970ff49482a0570.txt 四(三)三是: 对…急需困难缓解情况、
转介服务落实情况进行跟踪回访). The follow-up is no part of the monthly rules."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from tanfang.audit.models import Action, AuditEvent
from tanfang.care import follow_up, needs
from tanfang.care.follow_up import CONFIRMED_NOTE
from tanfang.care.models import Need, NeedEvent
from tanfang.registry.models import Elder
from tanfang.visits import generation
from tanfang.visits.models import VISIT_KINDS, TaskKind, VisitTask
from tests.care.conftest import visit_of
from tests.conftest import aware


@pytest.fixture
def resolved(users, elder):
    need = needs.raise_need(
        acting_user=users["visitor_a"], elder=elder, need_type="meals", source="phone"
    )
    needs.set_measure(
        acting_user=users["liaison_a"],
        need=need,
        measure="长者食堂送餐",
        responsible_unit="灵秀镇长者食堂",
    )
    return needs.change_need_status(
        acting_user=users["liaison_a"], need=need, to_status="resolved", note="已送餐"
    )


def follow_up_of(need):
    return VisitTask.objects.get(pk=Need.objects.get(pk=need.pk).follow_up_task_id)


def test_resolving_owes_a_follow_up_from_the_next_day(resolved):
    task = follow_up_of(resolved)

    assert task.kind == TaskKind.FOLLOW_UP
    assert task.label == "跟踪回访：助餐"
    assert task.elder_id == resolved.elder_id
    # The next day on; deadline 15 days after resolving, still doable 30 days more.
    assert (task.window_start, task.deadline, task.window_end) == (
        date(2026, 11, 24),
        date(2026, 12, 8),
        date(2027, 1, 7),
    )
    assert task.modes == ["home", "phone"]
    assert "000_4970ff49482a0570.txt 四(三)三是" in task.cite
    assert not task.extra


def test_the_visit_of_the_same_day_does_not_confirm(users, elder, visitor, resolved):
    visit_of(users, elder, visitor, number=1, visited_at=aware(2026, 11, 23, 9, 30))

    assert follow_up_of(resolved).done_at is None
    assert Need.objects.get(pk=resolved.pk).confirmed_at is None


def test_a_later_visit_makes_the_follow_up_and_confirms_the_need(
    users, elder, visitor, resolved, time_machine
):
    time_machine.move_to(aware(2026, 11, 26, 10, 0), tick=False)
    visit = visit_of(users, elder, visitor, number=1, visited_at=aware(2026, 11, 26, 9, 0))

    task = follow_up_of(resolved)
    assert task.done_by_visit == visit
    need = Need.objects.get(pk=resolved.pk)
    assert need.status == "resolved"
    assert need.confirmed_at == aware(2026, 11, 26, 10, 0)
    last = NeedEvent.objects.filter(need=need).last()
    assert (last.from_status, last.to_status, last.visit, last.note) == (
        "resolved",
        "resolved",
        visit,
        CONFIRMED_NOTE,
    )
    assert AuditEvent.objects.filter(action=Action.NEED_CONFIRMED, object_id=str(need.pk)).exists()
    # The same visit is also the elder's regular visit of the half month.
    regular = VisitTask.objects.get(
        elder=elder, kind=TaskKind.REGULAR, window_start=date(2026, 11, 16)
    )
    assert regular.done_by_visit == visit


def test_a_call_makes_the_follow_up_but_still_says_why_it_is_no_regular_visit(
    users, elder, visitor, resolved, time_machine
):
    time_machine.move_to(aware(2026, 11, 26, 10, 0), tick=False)
    visit = visit_of(
        users,
        elder,
        visitor,
        number=1,
        mode="phone",
        visited_at=aware(2026, 11, 26, 9, 0),
        elder_signature="",
    )

    assert follow_up_of(resolved).done_by_visit == visit
    assert not VisitTask.objects.filter(
        elder=elder, kind=TaskKind.REGULAR, done_at__isnull=False
    ).exists()
    assert "电话探访不计入“11月下半月例行探访”" in visit.not_counted_reason


def test_a_refused_visit_makes_no_follow_up(users, elder, visitor, resolved, time_machine):
    time_machine.move_to(aware(2026, 11, 26, 10, 0), tick=False)
    visit_of(
        users,
        elder,
        visitor,
        number=1,
        refused=True,
        answers={},
        visited_at=aware(2026, 11, 26, 9, 0),
    )

    assert follow_up_of(resolved).done_at is None


def test_the_rules_refresh_never_cancels_a_follow_up(users, elder, resolved):
    Elder.objects.filter(pk=elder.pk).update(consents_to_visits=False)

    refreshed = generation.refresh_tasks(Elder.objects.get(pk=elder.pk), date(2026, 11, 23))

    assert refreshed.cancelled > 0
    task = follow_up_of(resolved)
    assert task.cancelled_at is None
    assert task.is_open()


def test_follow_ups_are_not_part_of_the_monthly_compliance(resolved):
    assert str(TaskKind.FOLLOW_UP) not in VISIT_KINDS


def test_found_not_resolved_goes_back_in_progress_and_owes_a_new_follow_up(
    users, elder, visitor, resolved, time_machine
):
    time_machine.move_to(aware(2026, 11, 26, 10, 0), tick=False)
    visit = visit_of(users, elder, visitor, number=1, visited_at=aware(2026, 11, 26, 9, 0))
    first = follow_up_of(resolved)

    needs.report_not_resolved(
        acting_user=users["visitor_a"], need=resolved, note="食堂只送了三天", visit=visit
    )

    need = Need.objects.get(pk=resolved.pk)
    assert (need.status, need.confirmed_at, need.resolved_at) == ("in_progress", None, None)
    last = NeedEvent.objects.filter(need=need).last()
    assert (last.from_status, last.to_status, last.note) == (
        "resolved",
        "in_progress",
        "食堂只送了三天",
    )
    assert AuditEvent.objects.filter(action=Action.NEED_NOT_RESOLVED).count() == 1

    needs.change_need_status(acting_user=users["liaison_a"], need=need, to_status="resolved")
    second = follow_up_of(need)
    assert second.pk != first.pk
    assert second.window_start == date(2026, 11, 27)
    assert VisitTask.objects.get(pk=first.pk).done_by_visit == visit


def test_reporting_not_resolved_before_the_visit_cancels_the_open_follow_up(users, resolved):
    needs.report_not_resolved(acting_user=users["visitor_a"], need=resolved, note="老人说没人送")

    task = follow_up_of(resolved)
    assert task.cancelled_at is not None
    assert task.cancel_reason == "回访发现需求未解决"


def test_only_a_resolved_need_is_reported_not_resolved_and_with_a_note(users, resolved):
    with pytest.raises(ValidationError) as caught:
        needs.report_not_resolved(acting_user=users["visitor_a"], need=resolved, note=" ")
    assert caught.value.message_dict == {"note": ["请填写回访发现的情况。"]}

    needs.report_not_resolved(acting_user=users["visitor_a"], need=resolved, note="没送")
    with pytest.raises(ValidationError) as caught:
        needs.report_not_resolved(acting_user=users["visitor_a"], need=resolved, note="没送")
    assert caught.value.message_dict == {
        "need": ["该需求为“处理中”，只有已解决的需求才能回访反馈未解决。"]
    }


def test_the_same_follow_up_asked_for_again_is_the_open_one(elder, resolved):
    task = follow_up_of(resolved)

    again = follow_up.follow_up_task_for(
        elder, key=task.key, label=task.label, day=date(2026, 11, 23)
    )

    assert again.pk == task.pk
    assert VisitTask.objects.filter(kind=TaskKind.FOLLOW_UP).count() == 1


def test_only_a_follow_up_is_cancelled_as_one(elder):
    regular = VisitTask.objects.create(
        elder=elder,
        kind=TaskKind.REGULAR,
        key="regular:9",
        label="例行探访",
        window_start=date(2026, 11, 1),
        deadline=date(2026, 11, 30),
        window_end=date(2026, 11, 30),
        month=date(2026, 11, 1),
    )

    with pytest.raises(ValueError, match="not a follow-up"):
        generation.cancel_follow_up(regular, reason="-", at=aware(2026, 11, 23, 10, 0))

    assert VisitTask.objects.get(pk=regular.pk).cancelled_at is None

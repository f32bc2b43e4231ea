"""Needs (帮扶需求) and their one measure: raised, given a measure, moved on,
confirmed by a follow-up visit or found not met after all.

001_35a01bee4c628ebd.txt 二(二)5: 对照记录的帮扶需求和帮扶措施要一一对应，落实情况
形成闭环管理，体现帮扶成效 — a need moves on only with its measure, every move is
kept (`NeedEvent`), and a resolved need is confirmed by a follow-up visit
(tanfang.care.follow_up). Every function checks the permission and the scope,
refuses bad input with Chinese messages keyed by the argument, writes in one
transaction and records an audit entry. The needs a visit finds are stored with
the visit (tanfang.care.findings).
"""

from datetime import date, datetime

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.care import follow_up
from tanfang.care.checks import (
    DESCRIPTION_MAX,
    NOTE_MAX,
    check_active,
    check_finding_visit,
    check_text,
    collector,
    elder_in_scope,
    raise_if,
)
from tanfang.care.models import Need, NeedEvent, NeedSource, NeedStatus
from tanfang.registry.models import Elder, Status
from tanfang.visits.findings import NeedType
from tanfang.visits.generation import cancel_follow_up
from tanfang.visits.models import Visit, VisitTask

# open → referred → in progress → resolved or declined (DOMAIN.md "Needs, hazards,
# emergencies"); a step may be skipped, never taken back. Resolved goes back to
# in progress only when the follow-up finds it unsolved (`report_not_resolved`).
NEED_TRANSITIONS: dict[str, frozenset[str]] = {
    NeedStatus.OPEN: frozenset(
        {NeedStatus.REFERRED, NeedStatus.IN_PROGRESS, NeedStatus.RESOLVED, NeedStatus.DECLINED}
    ),
    NeedStatus.REFERRED: frozenset(
        {NeedStatus.IN_PROGRESS, NeedStatus.RESOLVED, NeedStatus.DECLINED}
    ),
    NeedStatus.IN_PROGRESS: frozenset({NeedStatus.RESOLVED, NeedStatus.DECLINED}),
    NeedStatus.RESOLVED: frozenset(),
    NeedStatus.DECLINED: frozenset(),
}
# The states that act on the measure: it must be there (一一对应).
_NEEDS_MEASURE = frozenset({NeedStatus.REFERRED, NeedStatus.IN_PROGRESS, NeedStatus.RESOLVED})
# The states that are tracked against the due date.
_NEEDS_DUE_DATE = frozenset({NeedStatus.REFERRED, NeedStatus.IN_PROGRESS})


@transaction.atomic
def raise_need(
    *,
    acting_user: User,
    elder: Elder,
    need_type: str,
    source: str,
    description: str = "",
    visit: Visit | None = None,
    request: HttpRequest | None = None,
) -> Need:
    """Enter a need reported by a call, a device, a department or the family (a
    visit's needs are entered by the visit itself, tanfang.visits.actions)."""
    access.check(acting_user, Perm.CARE_RAISE)
    elder = elder_in_scope(acting_user, elder)
    description = description.strip()
    errors, add = collector()
    check_active(elder, add)
    if need_type not in NeedType.values:
        add("need_type", "请选择需求类型。")
    if source not in NeedSource.values:
        add("source", "请选择需求来源。")
    else:
        check_finding_visit(elder, source, visit, add)
    check_text(add, "description", description, "需求描述", required=False, limit=DESCRIPTION_MAX)
    raise_if(errors)
    now = timezone.now()
    need = Need.objects.create(
        elder=elder,
        visit=visit,
        source=source,
        need_type=need_type,
        description=description,
        created_by=acting_user,
        created_at=now,
        updated_at=now,
    )
    follow_up.record_creation([need])
    record(
        Action.NEED_RAISED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=need,
        detail={"elder": elder.pk, "need_type": need_type, "source": source},
    )
    return need


def _locked_need(acting_user: User, need: Need, perm: Perm) -> Need:
    access.check(acting_user, perm)
    found = access.get_or_404(Need.objects.visible_to(acting_user), pk=need.pk)
    return Need.objects.select_for_update(of=("self",)).select_related("elder").get(pk=found.pk)


@transaction.atomic
def set_measure(
    *,
    acting_user: User,
    need: Need,
    measure: str,
    responsible_unit: str,
    responsible_person: str = "",
    due_on: date | None = None,
    request: HttpRequest | None = None,
) -> Need:
    """The need's one measure (帮扶措施), who answers for it and by when
    (001_35a01bee4c628ebd.txt 二(二)5 一一对应). Changed while the need is open."""
    need = _locked_need(acting_user, need, Perm.CARE_MANAGE)
    measure, responsible_unit = measure.strip(), responsible_unit.strip()
    responsible_person = responsible_person.strip()
    errors, add = collector()
    if need.is_closed():
        add("need", f"该需求{need.get_status_display()}，不能再修改帮扶措施。")
    check_text(add, "measure", measure, "帮扶措施", required=True, limit=NOTE_MAX)
    check_text(add, "responsible_unit", responsible_unit, "责任单位", required=True, limit=100)
    check_text(add, "responsible_person", responsible_person, "责任人", required=False, limit=50)
    created_on = timezone.localdate(need.created_at)
    if due_on is not None and due_on < created_on:
        add("due_on", f"办理期限不能早于需求登记日期（{created_on:%Y年%m月%d日}）。")
    raise_if(errors)
    before = {
        "measure": need.measure,
        "responsible_unit": need.responsible_unit,
        "responsible_person": need.responsible_person,
        "due_on": str(need.due_on) if need.due_on else "",
    }
    need.measure = measure
    need.responsible_unit = responsible_unit
    need.responsible_person = responsible_person
    need.due_on = due_on
    need.updated_at = timezone.now()
    need.save(
        update_fields=[
            "measure",
            "responsible_unit",
            "responsible_person",
            "due_on",
            "updated_at",
        ]
    )
    record(
        Action.NEED_MEASURE_SET,
        actor=acting_user,
        request=request,
        region_code=need.elder.village_id,
        target=need,
        detail={
            "elder": need.elder_id,
            "before": before,
            "due_on": str(due_on) if due_on else "",
            "responsible_unit": responsible_unit,
        },
    )
    return need


@transaction.atomic
def change_need_status(
    *,
    acting_user: User,
    need: Need,
    to_status: str,
    note: str = "",
    request: HttpRequest | None = None,
) -> Need:
    """Move the need on (`NEED_TRANSITIONS`). Resolving owes a follow-up visit
    (跟踪回访, 000_4970ff49482a0570.txt 四(三)三是) that confirms the result."""
    need = _locked_need(acting_user, need, Perm.CARE_MANAGE)
    note = note.strip()
    errors, add = collector()
    if to_status not in NeedStatus.values:
        add("status", "请选择新的状态。")
        raise_if(errors)
    target = NeedStatus(to_status)
    if target not in NEED_TRANSITIONS[need.status]:
        add(
            "status",
            f"需求当前为“{need.get_status_display()}”，不能改为“{target.label}”。",
        )
        raise_if(errors)
    if target in _NEEDS_MEASURE and not (need.measure and need.responsible_unit):
        # 001_35a01bee4c628ebd.txt 二(二)5: 帮扶需求和帮扶措施要一一对应.
        add("status", "请先填写帮扶措施和责任单位（一项需求对应一项帮扶措施）。")
    if target in _NEEDS_DUE_DATE and need.due_on is None:
        add("status", "请先填写办理期限。")
    if target == NeedStatus.DECLINED and not note:
        add("note", "老人谢绝帮扶时，请填写说明。")
    check_text(add, "note", note, "说明", required=False, limit=NOTE_MAX)
    raise_if(errors)
    now = timezone.now()
    from_status = need.status
    need.status = target
    need.updated_at = now
    fields = ["status", "updated_at"]
    if target == NeedStatus.RESOLVED:
        need.resolved_at = now
        need.confirmed_at = None
        need.follow_up_task = _need_follow_up(need, now)
        fields += ["resolved_at", "confirmed_at", "follow_up_task"]
    need.save(update_fields=fields)
    NeedEvent.objects.create(
        need=need, from_status=from_status, to_status=target, note=note, by=acting_user, at=now
    )
    record(
        Action.NEED_STATUS_CHANGED,
        actor=acting_user,
        request=request,
        region_code=need.elder.village_id,
        target=need,
        detail={
            "elder": need.elder_id,
            "from": from_status,
            "to": str(target),
            "follow_up_task": need.follow_up_task_id if target == NeedStatus.RESOLVED else None,
        },
    )
    return need


def _need_follow_up(need: Need, now: datetime) -> VisitTask | None:
    """The follow-up of a resolved need, unless the elder is no longer visited."""
    if need.elder.status != Status.ACTIVE:
        return None
    rounds = NeedEvent.objects.filter(need=need, to_status=NeedStatus.RESOLVED).count()
    return follow_up.follow_up_task_for(
        need.elder,
        key=f"follow_up:need:{need.pk}:{rounds + 1}",
        label=f"跟踪回访：{need.get_need_type_display()}",
        day=timezone.localdate(now),
    )


@transaction.atomic
def report_not_resolved(
    *,
    acting_user: User,
    need: Need,
    note: str,
    visit: Visit | None = None,
    request: HttpRequest | None = None,
) -> Need:
    """The follow-up found the need not met after all: back to in progress, with
    what was found; resolving it again owes a new follow-up."""
    need = _locked_need(acting_user, need, Perm.CARE_RAISE)
    note = note.strip()
    errors, add = collector()
    if need.status != NeedStatus.RESOLVED:
        add("need", f"该需求为“{need.get_status_display()}”，只有已解决的需求才能回访反馈未解决。")
    check_text(add, "note", note, "回访发现的情况", required=True, limit=NOTE_MAX)
    if visit is not None and visit.elder_id != need.elder_id:
        add("visit", "该探访记录不是这位老人的。")
    raise_if(errors)
    now = timezone.now()
    if need.follow_up_task is not None:
        cancel_follow_up(need.follow_up_task, reason="回访发现需求未解决", at=now)
    need.status = NeedStatus.IN_PROGRESS
    need.resolved_at = None
    need.confirmed_at = None
    need.updated_at = now
    need.save(update_fields=["status", "resolved_at", "confirmed_at", "updated_at"])
    NeedEvent.objects.create(
        need=need,
        from_status=NeedStatus.RESOLVED,
        to_status=NeedStatus.IN_PROGRESS,
        note=note,
        visit=visit,
        by=acting_user,
        at=now,
    )
    record(
        Action.NEED_NOT_RESOLVED,
        actor=acting_user,
        request=request,
        region_code=need.elder.village_id,
        target=need,
        detail={"elder": need.elder_id, "visit": visit.pk if visit else None},
    )
    return need

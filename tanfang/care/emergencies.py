"""Emergencies (应急处置) step by step: raised, every step of the handling
recorded with its time, closed and archived with the follow-up visit it owes.

001_35a01bee4c628ebd.txt 二(五)1: 第一时间协助拨打紧急求助电话，帮助联系其家庭成员或者
其他紧急联系人，并报告老人居住所在村（社区）… 事后做好处置情况记录归档. Every function
checks the permission and the scope, refuses bad input with Chinese messages
keyed by the argument, writes in one transaction and records an audit entry.
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
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
    Add,
    check_finding_visit,
    check_text,
    collector,
    elder_in_scope,
    raise_if,
)
from tanfang.care.models import (
    ContactMeans,
    Emergency,
    EmergencyKind,
    EmergencyOutcome,
    EmergencySource,
    EmergencyStep,
    HelpNumber,
    StepKind,
)
from tanfang.inputs import beijing_time
from tanfang.registry.models import Elder, Status
from tanfang.visits.models import Visit

# A phone's clock may run a little fast (as for visits).
CLOCK_SKEW = timedelta(minutes=5)


@transaction.atomic
def raise_emergency(
    *,
    acting_user: User,
    elder: Elder,
    kind: str,
    source: str,
    description: str,
    raised_at: datetime | None = None,
    visit: Visit | None = None,
    request: HttpRequest | None = None,
) -> Emergency:
    """An emergency found on a visit, reported by a call or (later) a device:
    opened so that every step of its handling is recorded with its time."""
    access.check(acting_user, Perm.CARE_RAISE)
    elder = elder_in_scope(acting_user, elder)
    description = description.strip()
    now = timezone.now()
    raised_at = beijing_time(raised_at) if raised_at is not None else now
    errors, add = collector()
    if kind not in EmergencyKind.values:
        add("kind", "请选择事件类型。")
    if source not in EmergencySource.values:
        add("source", "请选择事件来源。")
    else:
        check_finding_visit(elder, source, visit, add)
    check_text(add, "description", description, "情况描述", required=True, limit=DESCRIPTION_MAX)
    if raised_at > now + CLOCK_SKEW:
        add("raised_at", "发生时间不能晚于现在。")
    elif timezone.localdate(raised_at) < elder.registered_on:
        add("raised_at", "发生时间早于该老人的建档日期。")
    raise_if(errors)
    emergency = Emergency.objects.create(
        elder=elder,
        source=source,
        visit=visit,
        kind=kind,
        description=description,
        raised_at=raised_at,
        raised_by=acting_user,
        created_at=now,
    )
    record(
        Action.EMERGENCY_RAISED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=emergency,
        detail={"elder": elder.pk, "kind": kind, "source": source},
    )
    return emergency


def _locked_emergency(acting_user: User, emergency: Emergency, perm: Perm) -> Emergency:
    """The emergency, locked; refused once closed: the archive is read-only
    (001_35a01bee4c628ebd.txt 二(五)1 事后做好处置情况记录归档)."""
    access.check(acting_user, perm)
    found = access.get_or_404(Emergency.objects.visible_to(acting_user), pk=emergency.pk)
    locked = (
        Emergency.objects.select_for_update(of=("self",)).select_related("elder").get(pk=found.pk)
    )
    if locked.is_closed():
        raise ValidationError({"emergency": ["该应急事件已结案归档，不能再修改。"]})
    return locked


@transaction.atomic
def record_step(
    *,
    acting_user: User,
    emergency: Emergency,
    kind: str,
    at: datetime,
    number: str = "",
    whom: str = "",
    how: str = "",
    answered: bool | None = None,
    note: str = "",
    request: HttpRequest | None = None,
) -> EmergencyStep:
    """One step of the handling with the time it was taken: help called, the
    family or an emergency contact notified (who, how, reached or not), the
    village or township told (001_35a01bee4c628ebd.txt 二(五)1)."""
    emergency = _locked_emergency(acting_user, emergency, Perm.CARE_RAISE)
    whom, note = whom.strip(), note.strip()
    at = beijing_time(at)
    errors, add = collector()
    if kind not in StepKind.values:
        add("kind", "请选择处置步骤。")
        raise_if(errors)
    if at > timezone.now() + CLOCK_SKEW:
        add("at", "时间不能晚于现在。")
    # Steps are entered to the minute: one in the minute the emergency was
    # raised is not before it.
    elif at < emergency.raised_at.replace(second=0, microsecond=0):
        add("at", "处置时间不能早于事件发生(报告)时间。")
    _check_step(kind, number=number, whom=whom, how=how, answered=answered, note=note, add=add)
    raise_if(errors)
    step = EmergencyStep.objects.create(
        emergency=emergency,
        kind=kind,
        at=at,
        number=number if kind == StepKind.HELP_CALLED else "",
        whom=whom,
        how=how,
        answered=answered,
        note=note,
        recorded_by=acting_user,
    )
    record(
        Action.EMERGENCY_STEP_RECORDED,
        actor=acting_user,
        request=request,
        region_code=emergency.elder.village_id,
        target=emergency,
        detail={"elder": emergency.elder_id, "step": step.pk, "kind": kind, "at": at.isoformat()},
    )
    return step


_NOTIFIED = frozenset({StepKind.FAMILY_NOTIFIED, StepKind.CONTACT_NOTIFIED})
_INFORMED = frozenset({StepKind.VILLAGE_INFORMED, StepKind.TOWNSHIP_INFORMED})


def _check_step(
    kind: str, *, number: str, whom: str, how: str, answered: bool | None, note: str, add: Add
) -> None:
    if kind == StepKind.HELP_CALLED:
        if number not in HelpNumber.values:
            add("number", "请选择拨打的紧急求助电话：120、119 或 110。")
    elif number:
        add("number", "只有“拨打紧急求助电话”需要填写求助电话。")
    if kind in _NOTIFIED or kind in _INFORMED:
        if how not in ContactMeans.values:
            add("how", "请选择联系方式。")
    elif how and how not in ContactMeans.values:
        add("how", "联系方式不是可选项。")
    if kind in _NOTIFIED:
        check_text(add, "whom", whom, "联系对象", required=True, limit=50)
        if answered is None:
            add("answered", "请选择是否联系上。")
    else:
        check_text(add, "whom", whom, "联系对象", required=False, limit=50)
    check_text(add, "note", note, "说明", required=kind == StepKind.OTHER, limit=NOTE_MAX)


@transaction.atomic
def close_emergency(
    *,
    acting_user: User,
    emergency: Emergency,
    outcome_kind: str,
    outcome: str,
    request: HttpRequest | None = None,
) -> Emergency:
    """Close and archive the emergency with its outcome; the township then owes
    the elder a follow-up visit (跟踪回访, 001_35a01bee4c628ebd.txt 二(五)1)."""
    emergency = _locked_emergency(acting_user, emergency, Perm.CARE_MANAGE)
    outcome = outcome.strip()
    errors, add = collector()
    if outcome_kind not in EmergencyOutcome.values:
        add("outcome_kind", "请选择处置结果。")
    check_text(add, "outcome", outcome, "处置情况", required=True, limit=DESCRIPTION_MAX)
    for message in _missing_steps(emergency, outcome_kind):
        add("emergency", message)
    raise_if(errors)
    now = timezone.now()
    emergency.outcome_kind = outcome_kind
    emergency.outcome = outcome
    emergency.closed_at = now
    emergency.closed_by = acting_user
    if outcome_kind != EmergencyOutcome.DIED and emergency.elder.status == Status.ACTIVE:
        emergency.follow_up_task = follow_up.follow_up_task_for(
            emergency.elder,
            key=f"follow_up:emergency:{emergency.pk}",
            label=f"跟踪回访：应急处置（{emergency.get_kind_display()}）",
            day=timezone.localdate(now),
        )
    emergency.save(
        update_fields=["outcome_kind", "outcome", "closed_at", "closed_by", "follow_up_task"]
    )
    record(
        Action.EMERGENCY_CLOSED,
        actor=acting_user,
        request=request,
        region_code=emergency.elder.village_id,
        target=emergency,
        detail={
            "elder": emergency.elder_id,
            "outcome_kind": outcome_kind,
            "follow_up_task": emergency.follow_up_task_id,
        },
    )
    return emergency


def _missing_steps(emergency: Emergency, outcome_kind: str) -> list[str]:
    """The steps the documents require before the record is archived, in words:
    第一时间协助拨打紧急求助电话，帮助联系其家庭成员或者其他紧急联系人，并报告老人居住
    所在村（社区） (001_35a01bee4c628ebd.txt 二(五)1; 004_1657df0ed1e05604.txt 二(三)7:
    联系其子女、亲属或者其他监护人和村（居）负责人). A call for help is not owed when
    the danger proved to be none (已排除)."""
    kinds = set(emergency.steps.values_list("kind", flat=True))
    missing = []
    if outcome_kind != EmergencyOutcome.CLEARED and StepKind.HELP_CALLED not in kinds:
        missing.append("尚未记录拨打紧急求助电话（120、119 或 110），不能结案。")
    if not kinds & _NOTIFIED:
        missing.append("尚未记录联系家庭成员或其他紧急联系人，不能结案。")
    if StepKind.VILLAGE_INFORMED not in kinds:
        missing.append("尚未记录报告老人居住所在村（社区），不能结案。")
    return missing

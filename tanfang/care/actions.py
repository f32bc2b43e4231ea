"""The closed loop's changes: needs and their one measure, hazards until removed,
emergencies step by step. One function per change, used by the pages and the API.

001_35a01bee4c628ebd.txt 二(二)5: 对照记录的帮扶需求和帮扶措施要一一对应，落实情况
形成闭环管理，体现帮扶成效 — a need moves on only with its measure, every move is
kept (`NeedEvent`), and a resolved need is confirmed by a follow-up visit
(tanfang.care.follow_up). Every function checks the permission and the scope,
refuses bad input with Chinese messages keyed by the argument, writes in one
transaction and records an audit entry.
"""

from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.care import follow_up
from tanfang.care.models import (
    ContactMeans,
    Emergency,
    EmergencyKind,
    EmergencyOutcome,
    EmergencySource,
    EmergencyStep,
    Hazard,
    HazardItem,
    HazardSeverity,
    HazardStatus,
    HelpNumber,
    Need,
    NeedEvent,
    NeedSource,
    NeedStatus,
    NeedType,
    StepKind,
)
from tanfang.registry.models import Elder, Status
from tanfang.visits.actions import read_photo
from tanfang.visits.models import Visit, VisitTask

NOTE_MAX = 500
DESCRIPTION_MAX = 2000
# A phone's clock may run a little fast (as for visits).
CLOCK_SKEW = timedelta(minutes=5)

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

Errors = dict[str, list[str]]
Add = Callable[[str, str], None]


def _collector() -> tuple[Errors, Add]:
    errors: Errors = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    return errors, add


def _raise_if(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


def _elder_in_scope(acting_user: User, elder: Elder) -> Elder:
    """The elder, re-read, or 404 when outside the user's subtree."""
    if not access.in_scope(acting_user, elder.village_id):
        raise Http404
    return Elder.objects.get(pk=elder.pk)


def _check_active(elder: Elder, add: Add) -> None:
    if elder.status != Status.ACTIVE:
        add("elder", f"该老人档案状态为“{elder.get_status_display()}”，不能登记。")


def _check_text(
    add: Add, field: str, value: str, label: str, *, required: bool, limit: int
) -> None:
    if required and not value:
        add(field, f"请填写{label}。")
    elif len(value) > limit:
        add(field, f"{label}不能超过{limit}字。")


def _check_finding_visit(elder: Elder, source: str, visit: Visit | None, add: Add) -> None:
    """A record found by a visit names the visit, and only then."""
    if source == "visit" and visit is None:
        add("visit", "来源为“探访发现”时，请选择发现问题的探访记录。")
    elif visit is not None and source != "visit":
        add("source", "关联探访记录时，来源应为“探访发现”。")
    if visit is not None and visit.elder_id != elder.pk:
        add("visit", "该探访记录不是这位老人的。")


def _moment(value: datetime) -> datetime:
    """A time without a zone is a time in Asia/Shanghai (ARCHITECTURE.md)."""
    return timezone.make_aware(value) if timezone.is_naive(value) else value


# --- Needs (帮扶需求) ---------------------------------------------------------------


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
    elder = _elder_in_scope(acting_user, elder)
    description = description.strip()
    errors, add = _collector()
    _check_active(elder, add)
    if need_type not in NeedType.values:
        add("need_type", "请选择需求类型。")
    if source not in NeedSource.values:
        add("source", "请选择需求来源。")
    else:
        _check_finding_visit(elder, source, visit, add)
    _check_text(add, "description", description, "需求描述", required=False, limit=DESCRIPTION_MAX)
    _raise_if(errors)
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
    found = access.get_need_for(acting_user, need.pk)
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
    errors, add = _collector()
    if need.is_closed():
        add("need", f"该需求{need.get_status_display()}，不能再修改帮扶措施。")
    _check_text(add, "measure", measure, "帮扶措施", required=True, limit=NOTE_MAX)
    _check_text(add, "responsible_unit", responsible_unit, "责任单位", required=True, limit=100)
    _check_text(add, "responsible_person", responsible_person, "责任人", required=False, limit=50)
    created_on = timezone.localdate(need.created_at)
    if due_on is not None and due_on < created_on:
        add("due_on", f"办理期限不能早于需求登记日期（{created_on:%Y年%m月%d日}）。")
    _raise_if(errors)
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
    errors, add = _collector()
    if to_status not in NeedStatus.values:
        add("status", "请选择新的状态。")
        _raise_if(errors)
    target = NeedStatus(to_status)
    if target not in NEED_TRANSITIONS[need.status]:
        add(
            "status",
            f"需求当前为“{need.get_status_display()}”，不能改为“{target.label}”。",
        )
        _raise_if(errors)
    if target in _NEEDS_MEASURE and not (need.measure and need.responsible_unit):
        # 001_35a01bee4c628ebd.txt 二(二)5: 帮扶需求和帮扶措施要一一对应.
        add("status", "请先填写帮扶措施和责任单位（一项需求对应一项帮扶措施）。")
    if target in _NEEDS_DUE_DATE and need.due_on is None:
        add("status", "请先填写办理期限。")
    if target == NeedStatus.DECLINED and not note:
        add("note", "老人谢绝帮扶时，请填写说明。")
    _check_text(add, "note", note, "说明", required=False, limit=NOTE_MAX)
    _raise_if(errors)
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
    errors, add = _collector()
    if need.status != NeedStatus.RESOLVED:
        add("need", f"该需求为“{need.get_status_display()}”，只有已解决的需求才能回访反馈未解决。")
    _check_text(add, "note", note, "回访发现的情况", required=True, limit=NOTE_MAX)
    if visit is not None and visit.elder_id != need.elder_id:
        add("visit", "该探访记录不是这位老人的。")
    _raise_if(errors)
    now = timezone.now()
    task = need.follow_up_task
    if task is not None and task.is_open():
        task.cancelled_at = now
        task.cancel_reason = "回访发现需求未解决"
        task.save(update_fields=["cancelled_at", "cancel_reason"])
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


# --- Hazards (安全隐患) -------------------------------------------------------------


@transaction.atomic
def raise_hazard(
    *,
    acting_user: User,
    elder: Elder,
    item: str,
    severity: str = HazardSeverity.ORDINARY,
    description: str = "",
    visit: Visit | None = None,
    request: HttpRequest | None = None,
) -> Hazard:
    """Enter a hazard seen outside the visit form (the form's own safety items
    enter theirs, tanfang.visits.actions)."""
    access.check(acting_user, Perm.CARE_RAISE)
    elder = _elder_in_scope(acting_user, elder)
    description = description.strip()
    errors, add = _collector()
    _check_active(elder, add)
    if item not in HazardItem.values:
        add("item", "请选择隐患类别。")
    if severity not in HazardSeverity.values:
        add("severity", "请选择严重程度。")
    _check_text(add, "description", description, "隐患说明", required=True, limit=NOTE_MAX)
    if visit is not None and visit.elder_id != elder.pk:
        add("visit", "该探访记录不是这位老人的。")
    _raise_if(errors)
    hazard = Hazard.objects.create(
        elder=elder,
        visit=visit,
        item=item,
        finding=description[:100],
        description=description,
        severity=severity,
        created_by=acting_user,
    )
    record(
        Action.HAZARD_RAISED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=hazard,
        detail={"elder": elder.pk, "item": item, "severity": severity},
    )
    return hazard


def _locked_hazard(acting_user: User, hazard: Hazard, perm: Perm) -> Hazard:
    access.check(acting_user, perm)
    found = access.get_hazard_for(acting_user, hazard.pk)
    return (
        Hazard.objects.select_for_update(of=("self",))
        .select_related("elder", "visit")
        .get(pk=found.pk)
    )


def _check_open(hazard: Hazard, add: Add) -> None:
    if hazard.status != HazardStatus.OPEN:
        add("hazard", "该隐患已消除。")


@transaction.atomic
def update_hazard(
    *,
    acting_user: User,
    hazard: Hazard,
    severity: str,
    description: str,
    request: HttpRequest | None = None,
) -> Hazard:
    """Grade an open hazard (一般、较大、重大) and say what it is."""
    hazard = _locked_hazard(acting_user, hazard, Perm.CARE_RAISE)
    description = description.strip()
    errors, add = _collector()
    _check_open(hazard, add)
    if severity not in HazardSeverity.values:
        add("severity", "请选择严重程度。")
    _check_text(add, "description", description, "隐患说明", required=False, limit=NOTE_MAX)
    _raise_if(errors)
    before = {"severity": hazard.severity, "description": hazard.description}
    hazard.severity = severity
    hazard.description = description
    hazard.save(update_fields=["severity", "description"])
    record(
        Action.HAZARD_CHANGED,
        actor=acting_user,
        request=request,
        region_code=hazard.elder.village_id,
        target=hazard,
        detail={"elder": hazard.elder_id, "before": before, "severity": severity},
    )
    return hazard


@transaction.atomic
def remind_hazard(
    *,
    acting_user: User,
    hazard: Hazard,
    elder: bool,
    family: bool,
    note: str = "",
    request: HttpRequest | None = None,
) -> Hazard:
    """The elder and/or the family were told to remove the hazard
    (001_35a01bee4c628ebd.txt 二(二)2: 提醒其及时消除隐患)."""
    hazard = _locked_hazard(acting_user, hazard, Perm.CARE_RAISE)
    note = note.strip()
    errors, add = _collector()
    _check_open(hazard, add)
    if not (elder or family):
        add("elder", "请选择已提醒的对象：老人或家属。")
    _check_text(add, "note", note, "说明", required=False, limit=NOTE_MAX)
    _raise_if(errors)
    hazard.reminded_elder = hazard.reminded_elder or elder
    hazard.reminded_family = hazard.reminded_family or family
    hazard.reminded_at = timezone.now()
    hazard.reminded_by = acting_user
    hazard.save(update_fields=["reminded_elder", "reminded_family", "reminded_at", "reminded_by"])
    record(
        Action.HAZARD_REMINDED,
        actor=acting_user,
        request=request,
        region_code=hazard.elder.village_id,
        target=hazard,
        detail={"elder": hazard.elder_id, "reminded_elder": elder, "family": family, "note": note},
    )
    return hazard


@transaction.atomic
def confirm_hazard_removed(
    *,
    acting_user: User,
    hazard: Hazard,
    visit: Visit | None = None,
    photo: UploadedFile | None = None,
    note: str = "",
    request: HttpRequest | None = None,
) -> Hazard:
    """The hazard is gone, as seen on a later visit to the elder or shown by a
    photo; a word is not enough."""
    hazard = _locked_hazard(acting_user, hazard, Perm.CARE_RAISE)
    note = note.strip()
    errors, add = _collector()
    _check_open(hazard, add)
    photo_bytes = b""
    try:
        photo_bytes = read_photo(photo)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if visit is None and photo is None:
        add("visit", "请选择之后的一次探访记录，或上传隐患消除后的照片。")
    if visit is not None:
        _check_removal_visit(acting_user, hazard, visit, add)
    if photo_bytes and not hazard.elder.consents_to_photos:
        add("photo", "老人未同意拍照，不能上传照片：请以之后的探访记录确认。")
    _check_text(add, "note", note, "消除说明", required=False, limit=NOTE_MAX)
    _raise_if(errors)
    now = timezone.now()
    hazard.status = HazardStatus.REMOVED
    hazard.removed_at = visit.visited_at if visit is not None else now
    hazard.removed_by = acting_user
    hazard.removal_visit = visit
    hazard.removal_note = note
    if photo_bytes:
        extension = "png" if photo_bytes.startswith(b"\x89PNG") else "jpg"
        hazard.removal_photo.save(
            f"hazard-{hazard.pk}-{now:%Y%m%d%H%M%S}.{extension}",
            ContentFile(photo_bytes),
            save=False,
        )
    hazard.save(
        update_fields=[
            "status",
            "removed_at",
            "removed_by",
            "removal_visit",
            "removal_note",
            "removal_photo",
        ]
    )
    record(
        Action.HAZARD_REMOVED,
        actor=acting_user,
        request=request,
        region_code=hazard.elder.village_id,
        target=hazard,
        detail={
            "elder": hazard.elder_id,
            "visit": visit.pk if visit else None,
            "photo": bool(photo_bytes),
        },
    )
    return hazard


def _check_removal_visit(acting_user: User, hazard: Hazard, visit: Visit, add: Add) -> None:
    if not access.visits_visible_to(acting_user).filter(pk=visit.pk).exists():
        add("visit", "找不到该探访记录。")
    elif visit.elder_id != hazard.elder_id:
        add("visit", "该探访记录不是这位老人的。")
    elif visit.refused:
        add("visit", "老人拒绝了该次探访，不能据此确认隐患已消除。")
    elif visit.visited_at <= hazard.found_at:
        add("visit", "请选择发现隐患之后的探访记录。")


@transaction.atomic
def reopen_hazard(
    *,
    acting_user: User,
    hazard: Hazard,
    note: str,
    request: HttpRequest | None = None,
) -> Hazard:
    """A hazard confirmed removed by mistake, or come back: open again. What the
    removal said stays in the audit entry."""
    hazard = _locked_hazard(acting_user, hazard, Perm.CARE_MANAGE)
    note = note.strip()
    errors, add = _collector()
    if hazard.status != HazardStatus.REMOVED:
        add("hazard", "该隐患尚未消除，无需重新打开。")
    _check_text(add, "note", note, "重新打开的原因", required=True, limit=NOTE_MAX)
    _raise_if(errors)
    before = {
        "removed_at": hazard.removed_at.isoformat() if hazard.removed_at else "",
        "removed_by": hazard.removed_by_id,
        "removal_visit": hazard.removal_visit_id,
        "removal_photo": hazard.removal_photo.name or "",
        "removal_note": hazard.removal_note,
    }
    hazard.status = HazardStatus.OPEN
    hazard.removed_at = None
    hazard.removed_by = None
    hazard.removal_visit = None
    hazard.removal_photo = ""
    hazard.removal_note = ""
    hazard.save(
        update_fields=[
            "status",
            "removed_at",
            "removed_by",
            "removal_visit",
            "removal_photo",
            "removal_note",
        ]
    )
    record(
        Action.HAZARD_REOPENED,
        actor=acting_user,
        request=request,
        region_code=hazard.elder.village_id,
        target=hazard,
        detail={"elder": hazard.elder_id, "note": note, "before": before},
    )
    return hazard


# --- Emergencies (应急处置) -----------------------------------------------------------


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
    elder = _elder_in_scope(acting_user, elder)
    description = description.strip()
    now = timezone.now()
    raised_at = _moment(raised_at) if raised_at is not None else now
    errors, add = _collector()
    if kind not in EmergencyKind.values:
        add("kind", "请选择事件类型。")
    if source not in EmergencySource.values:
        add("source", "请选择事件来源。")
    else:
        _check_finding_visit(elder, source, visit, add)
    _check_text(add, "description", description, "情况描述", required=True, limit=DESCRIPTION_MAX)
    if raised_at > now + CLOCK_SKEW:
        add("raised_at", "发生时间不能晚于现在。")
    elif timezone.localdate(raised_at) < elder.registered_on:
        add("raised_at", "发生时间早于该老人的建档日期。")
    _raise_if(errors)
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
    found = access.get_emergency_for(acting_user, emergency.pk)
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
    at = _moment(at)
    errors, add = _collector()
    if kind not in StepKind.values:
        add("kind", "请选择处置步骤。")
        _raise_if(errors)
    if at > timezone.now() + CLOCK_SKEW:
        add("at", "时间不能晚于现在。")
    # Steps are entered to the minute: one in the minute the emergency was
    # raised is not before it.
    elif at < emergency.raised_at.replace(second=0, microsecond=0):
        add("at", "处置时间不能早于事件发生(报告)时间。")
    _check_step(kind, number=number, whom=whom, how=how, answered=answered, note=note, add=add)
    _raise_if(errors)
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
        _check_text(add, "whom", whom, "联系对象", required=True, limit=50)
        if answered is None:
            add("answered", "请选择是否联系上。")
    else:
        _check_text(add, "whom", whom, "联系对象", required=False, limit=50)
    _check_text(add, "note", note, "说明", required=kind == StepKind.OTHER, limit=NOTE_MAX)


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
    errors, add = _collector()
    if outcome_kind not in EmergencyOutcome.values:
        add("outcome_kind", "请选择处置结果。")
    _check_text(add, "outcome", outcome, "处置情况", required=True, limit=DESCRIPTION_MAX)
    for message in _missing_steps(emergency, outcome_kind):
        add("emergency", message)
    _raise_if(errors)
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

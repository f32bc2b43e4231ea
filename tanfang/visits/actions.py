"""Recording a visit: one function, used by the phone page, the API and the demo.

A phone sends a visit with a UUID it made; sending it again (a retry after a
dropped connection) must change nothing (ARCHITECTURE.md "Every submission from
a phone or a device carries an id"). The same UUID with other content is a
conflict, never a silent overwrite.

Excusing a task (`excuse_task`) is here too: an officer's action on one task,
audited like a visit; the tasks themselves are made by tanfang.visits.generation.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import Http404, HttpRequest
from django.utils import timezone

from tanfang import photos, refresh
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm, Role
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.care import follow_up
from tanfang.care.findings import record_findings
from tanfang.inputs import beijing_time, merge_errors
from tanfang.jurisdiction import tiers
from tanfang.months import month_of
from tanfang.policy import engine
from tanfang.registry.models import Elder, Status
from tanfang.visits import checklist, closing, counting
from tanfang.visits.findings import NeedType
from tanfang.visits.models import (
    Assignment,
    ExcuseReason,
    LateState,
    TaskState,
    Visit,
    VisitMode,
    Visitor,
    VisitTask,
)

# A phone's clock may run a little fast; a visit further ahead is a mistake.
CLOCK_SKEW = timedelta(minutes=5)
SIGNATURE_MAX_BYTES = 200_000
LATE_REASON_MAX = 500
IN_PERSON_MODES = frozenset({VisitMode.HOME, VisitMode.STREET})


class VisitConflict(Exception):
    """The UUID names a visit already stored with other content (HTTP 409)."""

    def __init__(self, visit: Visit) -> None:
        super().__init__("同一编号的探访记录已存在且内容不同，未作任何修改。")
        self.visit = visit


@dataclass(frozen=True)
class Recorded:
    visit: Visit
    created: bool


def checklist_for(elder: Elder, day: Any = None) -> checklist.Checklist:
    """The form of the rules the elder's county follows (POLICIES.md: "which
    checklist the visit form uses")."""
    profile, _ = tiers.choice_for(elder.village_id, day)
    return checklist.load(engine.load(profile).checklist)


def record_visit(
    *,
    acting_user: User,
    uuid: UUID,
    elder: Elder,
    mode: str,
    visited_at: datetime,
    visitors: Sequence[Visitor],
    answers: Mapping[str, Any],
    refused: bool = False,
    needs_found: Sequence[Mapping[str, Any]] = (),
    services_given: str = "",
    suggestions: str = "",
    satisfaction: str = "",
    notes: str = "",
    visitor_signature: str = "",
    elder_signature: str = "",
    photo: UploadedFile | None = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    location_accuracy: float | None = None,
    late_reason: str = "",
    recorded_at: datetime | None = None,
    outside_reason: str = "",
    request: HttpRequest | None = None,
) -> Recorded:
    """Store one visit record (探访关爱服务记录) and complete the tasks it satisfies.

    Every error is a ValidationError keyed by the field it is about, and nothing
    is stored. A visit whose UUID is stored already is returned as it is when the
    content is the same (`created` False) and raises `VisitConflict` otherwise.

    A visit whose month was locked when it is recorded (tanfang.visits.closing)
    is a late entry (补录): it needs `late_reason`, completes no task and counts
    in nothing until an officer decides (tanfang.visits.late). `recorded_at` is
    when the visitor sent it: now, except for a history loaded as it was sent
    (the demo's); pages and the API never pass it. The late reason is no part
    of the content: a resend that adds it is the same visit.
    """
    access.check(acting_user, Perm.VISITS_RECORD)
    if not access.in_scope(acting_user, elder.village_id):
        raise Http404
    visited_at = beijing_time(visited_at)
    started_at = beijing_time(started_at) if started_at is not None else None
    ended_at = beijing_time(ended_at) if ended_at is not None else None
    photo_bytes = photos.read_photo(photo)
    content_hash = fingerprint(
        elder=elder.pk,
        mode=mode,
        visited_at=visited_at,
        visitors=sorted(v.pk for v in visitors),
        answers=answers,
        refused=refused,
        needs_found=list(needs_found),
        texts=[services_given, suggestions, satisfaction, notes],
        signatures=[digest(visitor_signature.encode()), digest(elder_signature.encode())],
        photo=digest(photo_bytes) if photo_bytes else "",
        evidence=[started_at, ended_at, latitude, longitude, location_accuracy],
        # Only when given, so that the hashes of visits without one are unchanged.
        **({"outside_reason": outside_reason.strip()} if outside_reason.strip() else {}),
    )
    try:
        with transaction.atomic():
            # One writer per elder at a time: the sequence number (第 N 次) and a
            # retry of the same UUID both wait here for the first to commit.
            locked = Elder.objects.select_for_update().get(pk=elder.pk)
            existing = Visit.objects.filter(uuid=uuid).first()
            if existing is not None:
                return _replayed(existing, content_hash)
            return Recorded(
                _store(
                    acting_user=acting_user,
                    uuid=uuid,
                    content_hash=content_hash,
                    elder=locked,
                    mode=mode,
                    visited_at=visited_at,
                    visitors=visitors,
                    answers=answers,
                    refused=refused,
                    needs_found=needs_found,
                    services_given=services_given,
                    suggestions=suggestions,
                    satisfaction=satisfaction,
                    notes=notes,
                    visitor_signature=visitor_signature,
                    elder_signature=elder_signature,
                    photo_bytes=photo_bytes,
                    photo_name=(photo.name or "") if photo is not None else "",
                    started_at=started_at,
                    ended_at=ended_at,
                    latitude=latitude,
                    longitude=longitude,
                    location_accuracy=location_accuracy,
                    late_reason=late_reason,
                    recorded_at=recorded_at,
                    outside_reason=outside_reason,
                    request=request,
                ),
                created=True,
            )
    except IntegrityError:
        # The same UUID committed by a request for another elder in the meantime.
        existing = Visit.objects.filter(uuid=uuid).first()
        if existing is None:
            raise
        return _replayed(existing, content_hash)


def _replayed(existing: Visit, content_hash: str) -> Recorded:
    if existing.content_hash != content_hash:
        raise VisitConflict(existing)
    return Recorded(existing, created=False)


def _store(
    *,
    acting_user: User,
    uuid: UUID,
    content_hash: str,
    elder: Elder,
    mode: str,
    visited_at: datetime,
    visitors: Sequence[Visitor],
    answers: Mapping[str, Any],
    refused: bool,
    needs_found: Sequence[Mapping[str, Any]],
    services_given: str,
    suggestions: str,
    satisfaction: str,
    notes: str,
    visitor_signature: str,
    elder_signature: str,
    photo_bytes: bytes,
    photo_name: str,
    started_at: datetime | None,
    ended_at: datetime | None,
    latitude: Decimal | None,
    longitude: Decimal | None,
    location_accuracy: float | None,
    late_reason: str,
    recorded_at: datetime | None,
    outside_reason: str,
    request: HttpRequest | None,
) -> Visit:
    checked = check_visit(
        acting_user=acting_user,
        elder=elder,
        mode=mode,
        visited_at=visited_at,
        visitors=visitors,
        answers=answers,
        refused=refused,
        needs_found=needs_found,
        satisfaction=satisfaction,
        visitor_signature=visitor_signature,
        elder_signature=elder_signature,
        photo_bytes=photo_bytes,
        started_at=started_at,
        ended_at=ended_at,
        latitude=latitude,
        longitude=longitude,
        location_accuracy=location_accuracy,
        late_reason=late_reason,
        recorded_at=recorded_at,
        outside_reason=outside_reason,
    )
    form, cleaned, needs = checked.form, checked.answers, checked.needs
    day = timezone.localdate(visited_at)
    if checked.late is not None:
        # 补录: nothing counts until an officer approves it.
        outcome = counting.Outcome((), (checked.late.pending_words(),))
    else:
        tasks = list(counting.open_tasks_on(elder, day).select_for_update())
        outcome = counting.decide(
            tasks, mode=mode, refused=refused, tier_label=counting.tier_label_of(elder)
        )
    latest = Visit.objects.filter(elder=elder).aggregate(n=Max("sequence"))["n"] or 0
    visit = Visit(
        uuid=uuid,
        content_hash=content_hash,
        elder=elder,
        village_id=elder.village_id,
        sequence=latest + 1,
        mode=mode,
        refused=refused,
        visited_at=visited_at,
        recorded_by=acting_user,
        checklist=form.name,
        answers=cleaned,
        needs_found=needs,
        services_given=services_given.strip(),
        suggestions=suggestions.strip(),
        satisfaction=satisfaction,
        notes=notes.strip(),
        visitor_signature=visitor_signature,
        elder_signature=elder_signature,
        started_at=started_at,
        ended_at=ended_at,
        latitude=latitude,
        longitude=longitude,
        location_accuracy=location_accuracy,
        counted=outcome.counts,
        not_counted_reason="\n".join(outcome.reasons),
        late_state=LateState.PENDING if checked.late is not None else "",
        late_reason=checked.late_reason,
        outside_reason=outside_reason.strip(),
    )
    if recorded_at is not None:
        visit.recorded_at = recorded_at
    if photo_bytes:
        extension = photos.extension(photo_bytes)
        visit.photo.save(f"{uuid}.{extension}", ContentFile(photo_bytes), save=False)
    visit.save()
    visit.visitors.set(visitors)
    now = timezone.now()
    for task in outcome.completes:
        task.done_at = now
        task.done_by_visit = visit
        task.save(update_fields=["done_at", "done_by_visit"])
    # A follow-up visit (跟踪回访) confirms the needs it was owed for.
    follow_up.confirm_follow_ups(visit, outcome.completes)
    # What it found is care's to enter: hazards and needs, linked to the visit.
    found = found_by(form, cleaned)
    record_findings(visit, acting_user=acting_user, found=found, named_needs=needs)
    record(
        Action.VISIT_RECORDED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=visit,
        detail={
            "elder": elder.pk,
            "sequence": visit.sequence,
            "mode": mode,
            "refused": refused,
            "tasks_done": [t.pk for t in outcome.completes],
            "photo_name": photo_name[:100],
            **late_detail(checked.late),
        },
    )
    if checked.late is None:
        # The month's rate counts it at once (issue 6): the visit's month, and the
        # months the tasks it completed count in (a festival window that began in
        # the month before its festival day, a quarter counted in its last month).
        # A late entry changes no figure (rows and rebuild leave it out).
        refresh.after_visits_changed(
            [elder.pk], {month_of(day), *(t.month for t in outcome.completes)}
        )
    return visit


def late_detail(late: closing.Lateness | None) -> dict[str, Any]:
    """The audit detail of a late entry: its state and when its month locked."""
    if late is None:
        return {}
    return {"late_state": str(LateState.PENDING), "locked_at": late.locked_at.isoformat()}


@dataclass(frozen=True)
class Checked:
    """What `check_visit` found acceptable: the form, the cleaned answers and
    needs, and for a late entry (补录) the lock it came after and its reason."""

    form: checklist.Checklist
    answers: dict[str, Any]
    needs: list[dict[str, Any]]
    late: closing.Lateness | None = None
    late_reason: str = ""


def check_visit(
    *,
    acting_user: User,
    elder: Elder,
    mode: str,
    visited_at: datetime,
    visitors: Sequence[Visitor],
    answers: Mapping[str, Any],
    refused: bool,
    needs_found: Sequence[Mapping[str, Any]],
    satisfaction: str,
    visitor_signature: str,
    elder_signature: str,
    photo_bytes: bytes,
    started_at: datetime | None,
    ended_at: datetime | None,
    latitude: Decimal | None,
    longitude: Decimal | None,
    location_accuracy: float | None,
    late_reason: str = "",
    recorded_at: datetime | None = None,
    outside_reason: str = "",
) -> Checked:
    """Every rule a visit record must meet, shared by `record_visit` and its bulk
    variant (tanfang.visits.bulk); every error is a ValidationError keyed by
    its field. `recorded_at` (now by default) says whether the visit's month was
    locked when it was sent: then it is a late entry and needs `late_reason`."""
    form = checklist_for(elder, timezone.localdate(visited_at) if visited_at else None)
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    _check_elder(elder, add)
    _check_mode(elder, form, mode, refused, add)
    _check_times(elder, visited_at, started_at, ended_at, add)
    late = None
    if "visited_at" not in errors:
        late = closing.lateness(
            elder.village_id, timezone.localdate(visited_at), recorded_at or timezone.now()
        )
    late_reason = late_reason.strip() if late is not None else ""
    if late is not None and not late_reason:
        add("late_reason", f"{late.words()}，本次为补录：请填写补录原因（为什么现在才录入）。")
    if len(late_reason) > LATE_REASON_MAX:
        add("late_reason", f"补录原因不能超过{LATE_REASON_MAX}字。")
    _check_visitors(acting_user, elder, visitors, add)
    _check_outside(acting_user, elder, outside_reason, add)
    cleaned: dict[str, Any] = {}
    if refused and not answers:
        pass  # 老人拒绝探访: nothing was checked.
    else:
        try:
            cleaned = checklist.clean_answers(form, answers)
        except ValidationError as error:
            merge_errors(errors, error)
    needs = _clean_needs(needs_found, add)
    if form.satisfaction and not refused:
        options = {o.value for o in form.satisfaction}
        if not satisfaction:
            add("satisfaction", "请填写老年人服务满意度评价。")
        elif satisfaction not in options:
            labels = "、".join(o.label for o in form.satisfaction)
            add("satisfaction", f"满意度评价应为 {labels} 之一。")
    elif satisfaction:
        add("satisfaction", "本地区的探访记录表没有满意度评价。")
    if not refused:
        # 000_… 附件4, 001_… 附件3: both sign the record. The elder signs on the
        # visitor's screen, so only where they met: not after a phone or video call.
        signers = set(form.signatures)
        if mode not in IN_PERSON_MODES:
            signers.discard("elder")
        for who, signature in (("visitor", visitor_signature), ("elder", elder_signature)):
            if who in signers and not signature:
                label = "探访人员签字" if who == "visitor" else "被探访人签字"
                add(f"{who}_signature", f"请在屏幕上签名：{label}。")
    for field, signature in (
        ("visitor_signature", visitor_signature),
        ("elder_signature", elder_signature),
    ):
        if signature:
            _check_signature(field, signature, add)
    if photo_bytes and not elder.consents_to_photos:
        add("photo", "老人未同意拍照，不能上传照片。")
    if (latitude is None) != (longitude is None):
        add("latitude", "定位须同时有纬度和经度。")
    if latitude is not None and not Decimal(-90) <= latitude <= Decimal(90):
        add("latitude", "纬度应在 -90 到 90 之间。")
    if longitude is not None and not Decimal(-180) <= longitude <= Decimal(180):
        add("longitude", "经度应在 -180 到 180 之间。")
    if location_accuracy is not None and location_accuracy < 0:
        add("location_accuracy", "定位精度不能为负数。")
    if errors:
        raise ValidationError(errors)
    return Checked(form, cleaned, needs, late, late_reason)


def _check_elder(elder: Elder, add: Any) -> None:
    if elder.status != Status.ACTIVE:
        add("elder", f"该老人档案状态为“{elder.get_status_display()}”，不能录入探访记录。")


def modes_for(elder: Elder, form: checklist.Checklist) -> list[tuple[str, str]]:
    """The modes offered for the elder's visits: the form's, and any other mode the
    county's rules count (Jining's 路遇, 004_1657df0ed1e05604.txt 二(四), on the
    Fujian form that the Jining profile uses)."""
    profile, _ = tiers.choice_for(elder.village_id)
    try:
        version = engine.load(profile).versions[-1]
    except engine.ConfigError:
        version = None  # the form's own modes (the page says the rules cannot be read)
    counted = {
        str(m) for t in (version.tiers if version else ()) for rule in t.rules for m in rule.modes
    }
    offered = list(form.modes)
    known = {value for value, _ in offered}
    offered += [(m.value, m.label) for m in VisitMode if m.value in counted - known]
    return offered


def _check_mode(
    elder: Elder, form: checklist.Checklist, mode: str, refused: bool, add: Any
) -> None:
    offered = modes_for(elder, form)
    if mode not in VisitMode.values or mode not in {value for value, _ in offered}:
        labels = "、".join(label for _, label in offered)
        add("mode", f"探访方式应为 {labels} 之一。")
        return
    # 004_1657df0ed1e05604.txt 二(四): 入户探访须征得老年人或赡养人同意.
    if mode == VisitMode.HOME and not elder.consents_to_home_visits and not refused:
        add(
            "mode",
            "该老人未同意入户探访：请记录为电话等其他方式，或勾选“老人拒绝探访”。",
        )


def _check_times(
    elder: Elder,
    visited_at: datetime,
    started_at: datetime | None,
    ended_at: datetime | None,
    add: Any,
) -> None:
    latest = timezone.now() + CLOCK_SKEW
    if visited_at > latest:
        add("visited_at", "探访时间不能晚于现在。")
    elif timezone.localdate(visited_at) < elder.registered_on:
        add(
            "visited_at",
            f"探访时间早于该老人的建档日期（{elder.registered_on:%Y年%m月%d日}）。",
        )
    if started_at is not None and started_at > latest:
        add("started_at", "开始时间不能晚于现在。")
    if ended_at is not None and ended_at > latest:
        add("ended_at", "结束时间不能晚于现在。")
    if started_at is not None and ended_at is not None and ended_at < started_at:
        add("ended_at", "结束时间不能早于开始时间。")


def _check_visitors(acting_user: User, elder: Elder, visitors: Sequence[Visitor], add: Any) -> None:
    if not visitors:
        add("visitors", "请选择探访人员。")
        return
    assigned = set(
        Assignment.objects.filter(
            elder=elder, visitor__in=visitors, ended_at__isnull=True
        ).values_list("visitor_id", flat=True)
    )
    serving = set(
        Visitor.villages.through.objects.filter(
            visitor_id__in=[v.pk for v in visitors], region_id=elder.village_id
        ).values_list("visitor_id", flat=True)
    )
    township = elder.village_id[:9] + "000"
    for visitor in visitors:
        if not visitor.active:
            add("visitors", f"探访人员“{visitor.name}”已停用。")
        elif visitor.pk not in assigned and (
            visitor.township_id != township or visitor.pk not in serving
        ):
            add("visitors", f"探访人员“{visitor.name}”未包干该老人，也不服务该村(社区)。")
    if acting_user.role == Role.VISITOR:
        # A visitor records their own visits; a liaison may record on a visitor's behalf.
        own = Visitor.objects.filter(user=acting_user).values_list("pk", flat=True).first()
        if own is None:
            add("visitors", "您的账号尚未登记为探访人员，请联系乡镇(街道)。")
        elif own not in {v.pk for v in visitors}:
            add("visitors", "探访人员中须包括您本人。")


OUTSIDE_REASON_MAX = 500


def _check_outside(acting_user: User, elder: Elder, outside_reason: str, add: Any) -> None:
    """A visitor visits the elders assigned to them (包干, 000_4970ff49482a0570.txt
    三(二)); another elder of their village only saying why, which the liaison
    sees on the visit and on the board (issue 16)."""
    text = outside_reason.strip()
    if len(text) > OUTSIDE_REASON_MAX:
        add("outside_reason", f"非包干探访原因不能超过{OUTSIDE_REASON_MAX}字。")
    if text or not access.assigned_only(acting_user):
        return
    assigned = Assignment.objects.filter(
        elder=elder, visitor__user=acting_user, ended_at__isnull=True
    ).exists()
    if not assigned:
        add(
            "outside_reason",
            "该老人未包干给您：请填写为什么由您探访（如代同事探访、路遇），村(居)联络员可以看到。",
        )


def _clean_needs(needs_found: Sequence[Mapping[str, Any]], add: Any) -> list[dict[str, Any]]:
    cleaned = []
    for index, need in enumerate(needs_found, start=1):
        kind = need.get("type")
        if kind not in NeedType.values:
            add("needs_found", f"第{index}项需求：需求类型“{kind}”不是可选项。")
            continue
        met = need.get("met")
        if not isinstance(met, bool):
            add("needs_found", f"第{index}项需求：请选择是否已满足。")
            continue
        note = need.get("note", "") or ""
        if not isinstance(note, str) or len(note) > 500:
            add("needs_found", f"第{index}项需求：说明应为不超过500字的文本。")
            continue
        cleaned.append({"type": kind, "met": met, "note": note.strip()})
    return cleaned


def _check_signature(field: str, data: str, add: Any) -> None:
    """A PNG drawn on the screen, sent as a data URL."""
    prefix = "data:image/png;base64,"
    label = "探访人员签字" if field == "visitor_signature" else "被探访人签字"
    if not data.startswith(prefix):
        add(field, f"{label}应为屏幕上手写的签名图片（PNG）。")
        return
    raw = photos.base64_bytes(data[len(prefix) :])
    if raw is None:
        add(field, f"{label}的图片数据无法读取。")
        return
    if not raw.startswith(photos.PNG):
        add(field, f"{label}应为 PNG 图片。")
    elif len(raw) > SIGNATURE_MAX_BYTES:
        add(field, f"{label}的图片过大。")


def found_by(form: checklist.Checklist, answers: Mapping[str, Any]) -> checklist.Findings:
    """What the visit's answers found (nothing when none were given: a refusal
    at the door); care makes the hazards and needs of it (tanfang.care.findings)."""
    if not answers:
        return checklist.Findings(hazards=[], needs=[], bad_answers=[])
    return checklist.findings(form, answers)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fingerprint(**content: Any) -> str:
    """The request's content, independent of key order and of how a time was written."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, Decimal):
            return str(value.normalize())
        return str(value)

    text = json.dumps(content, sort_keys=True, default=plain, ensure_ascii=False)
    return digest(text.encode())


# --- Excusing a task ----------------------------------------------------------------


@transaction.atomic
def excuse_task(
    *,
    acting_user: User,
    task: VisitTask,
    reason: str,
    note: str,
    request: HttpRequest | None = None,
) -> VisitTask:
    """The elder is in hospital, away or declined: the task is excused with the
    reason and who, not missed (DOMAIN.md "Visits")."""
    access.check(acting_user, Perm.ASSIGNMENTS_MANAGE)
    elder = access.get_or_404(Elder.objects.visible_to(acting_user), pk=task.elder_id)
    task = VisitTask.objects.select_for_update().get(pk=task.pk)
    note = note.strip()
    errors: dict[str, str] = {}
    if reason not in ExcuseReason.values:
        errors["reason"] = "请选择免除原因。"
    elif reason == ExcuseReason.OTHER and not note:
        errors["note"] = "免除原因为“其他”时，请填写说明。"
    if len(note) > 200:
        errors["note"] = "说明不能超过200字。"
    if not task.is_open():
        state = task.state_on(timezone.localdate())
        errors["task"] = f"该任务{TaskState(state).label}，不能免除。"
    if errors:
        raise ValidationError(errors)
    task.excused_at = timezone.now()
    task.excused_by = acting_user
    task.excuse_reason = reason
    task.excuse_note = note
    task.save(update_fields=["excused_at", "excused_by", "excuse_reason", "excuse_note"])
    # An excused task is met (docs/统计口径.md).
    refresh.after_visits_changed([task.elder_id], [task.month])
    record(
        Action.TASK_EXCUSED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=task,
        detail={
            "elder": elder.pk,
            "key": task.key,
            "window_start": str(task.window_start),
            "reason": reason,
        },
    )
    return task

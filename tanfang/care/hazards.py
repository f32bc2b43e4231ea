"""Hazards (安全隐患) until removed: raised, graded, the elder and the family
reminded, removal confirmed by a later visit or a photo, reopened.

001_35a01bee4c628ebd.txt 二(二)2: 提醒其及时消除隐患. Every function checks the
permission and the scope, refuses bad input with Chinese messages keyed by the
argument, writes in one transaction and records an audit entry. The hazards a
visit's safety items find are stored with the visit (tanfang.care.findings).
"""

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tanfang import photos
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.care.checks import (
    NOTE_MAX,
    Add,
    check_active,
    check_text,
    collector,
    elder_in_scope,
    raise_if,
)
from tanfang.care.models import Hazard, HazardSeverity, HazardStatus
from tanfang.inputs import merge_errors
from tanfang.registry.models import Elder
from tanfang.visits.findings import HazardItem
from tanfang.visits.models import Visit


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
    elder = elder_in_scope(acting_user, elder)
    description = description.strip()
    errors, add = collector()
    check_active(elder, add)
    if item not in HazardItem.values:
        add("item", "请选择隐患类别。")
    if severity not in HazardSeverity.values:
        add("severity", "请选择严重程度。")
    check_text(add, "description", description, "隐患说明", required=True, limit=NOTE_MAX)
    if visit is not None and visit.elder_id != elder.pk:
        add("visit", "该探访记录不是这位老人的。")
    raise_if(errors)
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
    found = access.get_or_404(Hazard.objects.visible_to(acting_user), pk=hazard.pk)
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
    errors, add = collector()
    _check_open(hazard, add)
    if severity not in HazardSeverity.values:
        add("severity", "请选择严重程度。")
    check_text(add, "description", description, "隐患说明", required=False, limit=NOTE_MAX)
    raise_if(errors)
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
    errors, add = collector()
    _check_open(hazard, add)
    if not (elder or family):
        add("elder", "请选择已提醒的对象：老人或家属。")
    check_text(add, "note", note, "说明", required=False, limit=NOTE_MAX)
    raise_if(errors)
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
    errors, add = collector()
    _check_open(hazard, add)
    photo_bytes = b""
    try:
        photo_bytes = photos.read_photo(photo)
    except ValidationError as error:
        merge_errors(errors, error)
    if visit is None and photo is None:
        add("visit", "请选择之后的一次探访记录，或上传隐患消除后的照片。")
    if visit is not None:
        _check_removal_visit(acting_user, hazard, visit, add)
    if photo_bytes and not hazard.elder.consents_to_photos:
        add("photo", "老人未同意拍照，不能上传照片：请以之后的探访记录确认。")
    check_text(add, "note", note, "消除说明", required=False, limit=NOTE_MAX)
    raise_if(errors)
    now = timezone.now()
    hazard.status = HazardStatus.REMOVED
    hazard.removed_at = visit.visited_at if visit is not None else now
    hazard.removed_by = acting_user
    hazard.removal_visit = visit
    hazard.removal_note = note
    if photo_bytes:
        extension = photos.extension(photo_bytes)
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
    if not Visit.objects.visible_to(acting_user).filter(pk=visit.pk).exists():
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
    errors, add = collector()
    if hazard.status != HazardStatus.REMOVED:
        add("hazard", "该隐患尚未消除，无需重新打开。")
    check_text(add, "note", note, "重新打开的原因", required=True, limit=NOTE_MAX)
    raise_if(errors)
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

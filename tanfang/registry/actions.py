"""Writing the elder's file: one function per use case, atomic, audited."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from auditlog.context import set_actor
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tanfang import refresh
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.inputs import merge_errors
from tanfang.jurisdiction import tiers
from tanfang.policy import documents, engine
from tanfang.regions.models import Level, Region
from tanfang.registry import crypto, history, identity
from tanfang.registry.models import (
    AssistanceItem,
    Category,
    Elder,
    ElderCategory,
    EmergencyContact,
    HelpReceived,
    HouseholdMember,
    Review,
    Status,
    StatusChange,
)
from tanfang.registry.registration import (
    PLAIN_FIELDS,
    check_village,
    digits,
    encrypted_or_blank,
)

# A destination is part of these changes (DOMAIN.md "status: moved away (with
# destination), in an institution").
NEEDS_DESTINATION = {Status.MOVED_AWAY: "迁往何处", Status.IN_INSTITUTION: "入住机构名称"}


@transaction.atomic
def change_status(
    *,
    acting_user: User,
    elder: Elder,
    to_status: str,
    effective_on: date,
    reason: str,
    destination: str = "",
    request: HttpRequest | None = None,
) -> StatusChange:
    """The file leaves (or returns to) the active registry with its date, reason
    and who; nothing is deleted (DOMAIN.md "The elder's file")."""
    check_change(acting_user, elder)
    errors: dict[str, str] = {}
    if to_status not in Status.values:
        errors["to_status"] = "请选择新的状态。"
    elif to_status == elder.status:
        errors["to_status"] = f"档案已是“{Status(to_status).label}”状态。"
    if not reason.strip():
        errors["reason"] = "请填写变更原因。"
    if effective_on > timezone.localdate():
        errors["effective_on"] = "生效日期不能晚于今天。"
    elif effective_on < elder.birth_date:
        errors["effective_on"] = "生效日期不能早于出生日期。"
    label = NEEDS_DESTINATION.get(Status(to_status)) if to_status in Status.values else None
    if label and not destination.strip():
        errors["destination"] = f"请填写{label}。"
    if (
        to_status == Status.ACTIVE
        and Elder.objects.filter(id_number_hash=elder.id_number_hash, status=Status.ACTIVE)
        .exclude(pk=elder.pk)
        .exists()
    ):
        errors["to_status"] = "该身份证号码已有另一份在册档案，不能恢复。"
    if errors:
        raise ValidationError(errors)
    change = StatusChange.objects.create(
        elder=elder,
        from_status=elder.status,
        to_status=to_status,
        effective_on=effective_on,
        reason=reason.strip(),
        destination=destination.strip(),
        changed_by=acting_user,
    )
    elder.status = to_status
    with set_actor(acting_user):
        elder.save(update_fields=["status"])
    # Tasks, assignments and the months since the change follow the new
    # status (a return to the registry needs a new assignment).
    refresh.after_elder_changed(elder, since=effective_on, by=acting_user)
    record(
        Action.ELDER_STATUS_CHANGED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=elder,
        detail={"from": change.from_status, "to": to_status, "effective_on": str(effective_on)},
    )
    return change


def override_documents(elder: Elder) -> list[documents.Document]:
    """The documents a tier override may cite: those of the rules the elder's
    county follows (its own first), then the other seed documents."""
    profile, _ = tiers.choice_for(elder.village_id)
    version = engine.load(profile).versions[-1]
    own = {d.key: d for d in version.own_documents}
    known = {**documents.SEEDS, **own}
    first = [version.source] if version.source in known else []
    return [known[key] for key in dict.fromkeys([*first, *own, *documents.SEEDS])]


@transaction.atomic
def override_tier(
    *,
    acting_user: User,
    elder: Elder,
    tier: str,
    reason: str,
    document: str = "",
    section: str = "",
    request: HttpRequest | None = None,
) -> None:
    """An officer's tier for this elder, with a written reason and the document
    and section it rests on, shown beside the computed one with who and when;
    an empty `tier` returns to the computed tier.

    Township and county officers only (Perm.TIERS_OVERRIDE): the classification
    is the county's, adjusted as things change (004_1657df0ed1e05604.txt 二(一))."""
    access.check(acting_user, Perm.TIERS_OVERRIDE)
    if not access.in_scope(acting_user, elder.village_id):
        raise PermissionDenied
    profile, _ = tiers.choice_for(elder.village_id)
    try:
        allowed = dict(engine.load(profile).tier_keys())
        citable = override_documents(elder)
    except engine.ConfigError as error:
        raise ValidationError({"tier": engine.problem_of(profile, error)}) from error
    citation = ""
    if tier:
        errors: dict[str, str] = {}
        if tier not in allowed:
            errors["tier"] = "请选择分级。"
        if not reason.strip():
            errors["reason"] = "请填写调整理由。"
        elif len(reason.strip()) > 500:
            errors["reason"] = "调整理由不能超过500字。"
        citation, problems = _citation(document, section, citable)
        errors.update(problems)
        if errors:
            raise ValidationError(errors)
    elder.tier_override = tier
    elder.tier_override_reason = reason.strip() if tier else ""
    elder.tier_override_citation = citation
    elder.tier_override_by = acting_user if tier else None
    elder.tier_override_at = timezone.now() if tier else None
    elder.save(
        update_fields=[
            "tier_override",
            "tier_override_reason",
            "tier_override_citation",
            "tier_override_by",
            "tier_override_at",
        ]
    )
    refresh.after_elder_changed(elder)
    record(
        Action.ELDER_TIER_OVERRIDDEN,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=elder,
        detail={"tier": tier, "computed": elder.tier, "citation": citation},
    )


def _citation(
    document: str, section: str, citable: list[documents.Document]
) -> tuple[str, dict[str, str]]:
    """The citation "<document> <section>" of a tier override, checked against
    the document's sections (tanfang.policy.documents), or what is wrong, by
    field. The messages name documents by their titles, never by file name."""
    if not document:
        return "", {"document": "请选择调整依据的文件。"}
    if document not in {d.key for d in citable}:
        return "", {"document": "请从列出的文件中选择调整依据。"}
    text = documents.normalise(section)
    if not text or " " in text:
        return "", {"section": "请填写依据的条款，如 四(二)、二(一)1、附件3。"}
    for part in text.split("、"):
        if not documents.SECTION.match(part):
            return "", {"section": f"条款“{part[:20]}”格式不对，应如 四(二)、二(一)1、附件3。"}
    try:
        found = documents.parse(f"{document} {text}", citable)
    except documents.CitationError as error:
        return "", {"section": error.zh + "。"}
    return f"{found.document.key} {'、'.join(found.sections)}", {}


# --- Editing the file, section by section --------------------------------------

# Fields `update_elder` takes. The encrypted ones by their plain names (the
# value in clear, validated and encrypted here); the villages as Region objects.
ENCRYPTED_FIELDS = {
    "id_number": "id_number_token",
    "phone": "phone_token",
    "residence_address": "residence_address_token",
    "registration_address": "registration_address_token",
    "disability_certificate": "disability_certificate_token",
}
EDITABLE_FIELDS = frozenset(
    PLAIN_FIELDS | {"name", "village", "registration_village"} | set(ENCRYPTED_FIELDS)
)
CONSENT_FIELDS = frozenset({"consents_to_visits", "consents_to_home_visits", "consents_to_photos"})


def check_change(acting_user: User, elder: Elder) -> None:
    access.check(acting_user, Perm.PEOPLE_CHANGE)
    if not access.in_scope(acting_user, elder.village_id):
        raise PermissionDenied


@transaction.atomic
def update_elder(
    *,
    acting_user: User,
    elder: Elder,
    changes: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> list[str]:
    """Change fields of the file; returns the names of those that changed.

    The same checks as at registration (ID number, age, phone, village in scope,
    one active file per ID); every error at once, keyed by field, nothing
    stored. The history of each field is kept by django-auditlog (`history`).
    """
    check_change(acting_user, elder)
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({field: "该字段不能修改。" for field in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    updates: dict[str, Any] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field, value in changes.items():
        if field == "name":
            if not str(value).strip():
                fail("name", "请填写姓名。")
            else:
                updates["name"] = str(value).strip()
        elif field == "id_number":
            _update_id_number(elder, str(value), updates, fail)
        elif field == "phone":
            _update_phone(str(value), updates, fail)
        elif field in ENCRYPTED_FIELDS:
            text = str(value or "").strip()
            updates[ENCRYPTED_FIELDS[field]] = (
                text,  # compared in clear below, encrypted only when changed
            )
        elif field == "village":
            if not isinstance(value, Region):
                fail("village", "请选择居住地村(社区)。")
                continue
            try:
                check_village(acting_user, value, "village")
            except ValidationError as error:
                fail("village", error.message_dict["village"][0])
                continue
            updates["village_id"] = value.pk
        elif field == "registration_village":
            if value is not None and (
                not isinstance(value, Region) or value.level != Level.VILLAGE
            ):
                fail("registration_village", "请选择村(社区)一级的区划。")
                continue
            updates["registration_village_id"] = value.pk if value is not None else None
        else:
            updates[field] = value
    if errors:
        raise ValidationError(errors)

    changed: list[str] = []
    for attribute, value in updates.items():
        plain_name = _plain_name(attribute)
        if isinstance(value, tuple):  # an encrypted field's new value in clear
            (text,) = value
            current = getattr(elder, attribute)
            if (crypto.decrypt(current) if current else "") == text:
                continue
            value = encrypted_or_blank(text)
        elif getattr(elder, attribute) == value:
            continue
        setattr(elder, attribute, value)
        if attribute not in _DERIVED:
            changed.append(plain_name)
    if not changed:
        return []
    if CONSENT_FIELDS & set(changed):
        # Who recorded the elder's wishes, and when (DOMAIN.md "consent").
        elder.consent_recorded_by = acting_user
        elder.consent_recorded_at = timezone.now()
    try:
        elder.full_clean(
            exclude=["registered_on", "registered_by", "village", "registration_village"]
        )
    except ValidationError as error:
        raise ValidationError(
            {_plain_name(field): messages for field, messages in error.message_dict.items()}
        ) from error
    with set_actor(acting_user):
        elder.save()
    _updated(acting_user, elder, request, {"fields": changed})
    return changed


def _updated(
    acting_user: User, elder: Elder, request: HttpRequest | None, detail: dict[str, Any]
) -> None:
    """After any change of the file or its parts: warnings and tier, and the audit entry."""
    refresh.after_elder_changed(elder)
    record(
        Action.ELDER_UPDATED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=elder,
        detail=detail,
    )


# Set along with the encrypted value they come from, not changes of their own.
_DERIVED = frozenset(
    {"id_number_hash", "id_last4_hash", "birth_date", "sex", "phone_hash", "phone_last4"}
)


def _plain_name(attribute: str) -> str:
    for plain, token in ENCRYPTED_FIELDS.items():
        if attribute == token:
            return plain
    return attribute.removesuffix("_id") if attribute.endswith("village_id") else attribute


def _update_id_number(
    elder: Elder, value: str, updates: dict[str, Any], fail: Callable[[str, str], None]
) -> None:
    try:
        parsed = identity.parse_id_number(value)
    except ValidationError as error:
        fail("id_number", error.messages[0])
        return
    number_hash = crypto.lookup_hash(parsed.number, kind="id")
    if number_hash == elder.id_number_hash:
        return
    try:
        identity.check_elderly(parsed.birth_date, timezone.localdate())
    except ValidationError as error:
        fail("id_number", error.messages[0])
        return
    if (
        elder.status == Status.ACTIVE
        and Elder.objects.filter(id_number_hash=number_hash, status=Status.ACTIVE)
        .exclude(pk=elder.pk)
        .exists()
    ):
        fail("id_number", "该身份证号码已有在册档案，请勿重复登记。")
        return
    # A corrected number corrects the birth date and sex it carries.
    updates["id_number_token"] = (parsed.number,)
    updates["id_number_hash"] = number_hash
    updates["id_last4_hash"] = crypto.lookup_hash(parsed.number[-4:], kind="id_last4")
    updates["birth_date"] = parsed.birth_date
    updates["sex"] = parsed.sex


def _update_phone(value: str, updates: dict[str, Any], fail: Callable[[str, str], None]) -> None:
    normal = ""
    if value.strip():
        try:
            normal = identity.normalise_phone(value)
        except ValidationError as error:
            fail("phone", error.messages[0])
            return
    updates["phone_token"] = (normal,)
    updates["phone_hash"] = crypto.lookup_hash(normal, kind="phone") if normal else ""
    updates["phone_last4"] = digits(normal)[-4:]


# --- Categories -----------------------------------------------------------------


@transaction.atomic
def confirm_categories(
    *,
    acting_user: User,
    elder: Elder,
    categories: Iterable[str],
    request: HttpRequest | None = None,
) -> tuple[list[str], list[str]]:
    """The officer's set of categories (DOMAIN.md "The seven categories": the
    system proposes, the officer confirms). Categories no longer in the set are
    withdrawn with who and when, never deleted. Returns (added, withdrawn)."""
    check_change(acting_user, elder)
    wanted = list(dict.fromkeys(categories))
    bad = [c for c in wanted if c not in Category.values]
    if bad:
        raise ValidationError({"categories": f"未知的对象类型：{'、'.join(bad)}"})
    current = {c.category: c for c in elder.categories.filter(withdrawn_at__isnull=True)}
    now = timezone.now()
    added = [c for c in wanted if c not in current]
    withdrawn = [c for c in current if c not in wanted]
    with set_actor(acting_user):
        for category in withdrawn:
            row = current[category]
            row.withdrawn_by = acting_user
            row.withdrawn_at = now
            row.save(update_fields=["withdrawn_by", "withdrawn_at"])
        for category in added:
            ElderCategory.objects.create(
                elder=elder, category=category, confirmed_by=acting_user, confirmed_at=now
            )
    refresh.after_elder_changed(elder)
    if added or withdrawn:
        record(
            Action.ELDER_CATEGORIES_CONFIRMED,
            actor=acting_user,
            request=request,
            region_code=elder.village_id,
            target=elder,
            detail={"added": added, "withdrawn": withdrawn},
        )
    return added, withdrawn


# --- Household, contacts, assistance, help received --------------------------------


@dataclass(frozen=True)
class ItemKind:
    """One kind of repeated part of the file, and how its values are checked."""

    model: type[HouseholdMember | EmergencyContact | AssistanceItem | HelpReceived]
    label: str
    # Plain names of encrypted values -> (token attribute, hash attribute or "").
    encrypted: Mapping[str, tuple[str, str]]
    phone_required: bool = False


ITEM_KINDS: dict[str, ItemKind] = {
    "household": ItemKind(
        HouseholdMember,
        "家庭成员",
        {"id_number": ("id_number_token", "id_number_hash"), "phone": ("phone_token", "")},
    ),
    "contacts": ItemKind(
        EmergencyContact, "紧急联系人", {"phone": ("phone_token", "phone_hash")}, True
    ),
    "assistance": ItemKind(AssistanceItem, "救助和补贴项目", {}),
    "help": ItemKind(HelpReceived, "已享受帮扶", {"phone": ("contact_phone_token", "")}),
}


@transaction.atomic
def save_item(
    *,
    acting_user: User,
    elder: Elder,
    kind: str,
    values: Mapping[str, Any],
    item: HouseholdMember | EmergencyContact | AssistanceItem | HelpReceived | None = None,
    request: HttpRequest | None = None,
) -> HouseholdMember | EmergencyContact | AssistanceItem | HelpReceived:
    """Add or change a household member, emergency contact, assistance item or
    help received. Phones and ID numbers are checked and stored encrypted; every
    error at once, keyed by field."""
    check_change(acting_user, elder)
    spec = ITEM_KINDS[kind]
    if item is not None and (item.elder_id != elder.pk or not isinstance(item, spec.model)):
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    row = item if item is not None else spec.model(elder=elder)
    plain = {k: v for k, v in values.items() if k not in spec.encrypted}
    for field, value in plain.items():
        setattr(row, field, value)
    for field, (token_attribute, hash_attribute) in spec.encrypted.items():
        if field not in values:
            continue
        text = str(values[field] or "").strip()
        try:
            if field == "phone" and text:
                text = identity.normalise_phone(text)
            elif field == "id_number" and text:
                parsed = identity.parse_id_number(text)
                text = parsed.number
                if isinstance(row, HouseholdMember) and not row.sex:
                    row.sex = parsed.sex
        except ValidationError as error:
            errors.setdefault(field, []).extend(error.messages)
            continue
        if field == "phone" and spec.phone_required and not text:
            errors.setdefault(field, []).append("请填写联系电话。")
            continue
        current = getattr(row, token_attribute)
        if (crypto.decrypt(current) if current else "") != text:
            setattr(row, token_attribute, encrypted_or_blank(text))
        if hash_attribute:
            setattr(
                row,
                hash_attribute,
                crypto.lookup_hash(text, kind="id" if field == "id_number" else "phone")
                if text
                else "",
            )
    try:
        row.full_clean(
            exclude=["elder", *(a for pair in spec.encrypted.values() for a in pair if a)]
        )
    except ValidationError as error:
        merge_errors(errors, error)
    if isinstance(row, HouseholdMember) and row.deceased and row.lives_with_elder:
        errors.setdefault("lives_with_elder", []).append("已故成员不能填写为共同居住。")
    if (
        isinstance(row, HouseholdMember)
        and row.away_since
        and row.away_since > timezone.localdate()
    ):
        errors.setdefault("away_since", []).append("外出时间不能晚于今天。")
    if errors:
        raise ValidationError(errors)
    with set_actor(acting_user):
        row.save()
    _updated(acting_user, elder, request, {"part": kind, "item": row.pk, "added": item is None})
    return row


@transaction.atomic
def remove_item(
    *,
    acting_user: User,
    elder: Elder,
    item: HouseholdMember | EmergencyContact | AssistanceItem | HelpReceived,
    request: HttpRequest | None = None,
) -> None:
    """Take an item off the file: marked no longer valid, never deleted."""
    check_change(acting_user, elder)
    if item.elder_id != elder.pk:
        raise PermissionDenied
    if not item.active:
        return
    item.active = False
    with set_actor(acting_user):
        item.save(update_fields=["active"])
    _updated(
        acting_user, elder, request, {"part": type(item).__name__, "item": item.pk, "removed": True}
    )


# --- Half-year review ----------------------------------------------------------------


@transaction.atomic
def review_elder(
    *,
    acting_user: User,
    elder: Elder,
    reviewed_on: date,
    notes: str = "",
    request: HttpRequest | None = None,
) -> Review:
    """The half-yearly check of the file (000_4970ff49482a0570.txt 三(四):
    每半年动态更新一次): who, when, and which fields changed since the last check."""
    check_change(acting_user, elder)
    if reviewed_on > timezone.localdate():
        raise ValidationError({"reviewed_on": "核查日期不能晚于今天。"})
    since = elder.last_reviewed_on or elder.registered_on
    if reviewed_on < since:
        raise ValidationError({"reviewed_on": f"核查日期不能早于上次核查或建档日期（{since}）。"})
    if elder.status != Status.ACTIVE:
        raise ValidationError({"reviewed_on": "只有在册档案需要核查。"})
    changed = history.changed_fields_since(elder, since)
    review = Review.objects.create(
        elder=elder,
        reviewed_on=reviewed_on,
        reviewed_by=acting_user,
        changes={"fields": changed},
        notes=notes.strip(),
    )
    elder.last_reviewed_on = reviewed_on
    Elder.objects.filter(pk=elder.pk).update(last_reviewed_on=reviewed_on)
    refresh.after_elder_changed(elder)
    record(
        Action.ELDER_REVIEWED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=elder,
        detail={"reviewed_on": str(reviewed_on), "fields": changed},
    )
    return review

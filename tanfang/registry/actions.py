"""Writing the elder's file: one function per use case, atomic, audited."""

import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from auditlog.context import set_actor
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.policy.changes import CHANGE_LABELS, Change
from tanfang.regions.models import Level, Region
from tanfang.registry import crypto, identity
from tanfang.registry.models import (
    AssistanceItem,
    Category,
    Elder,
    ElderCategory,
    EmergencyContact,
    HelpReceived,
    HouseholdMember,
    LifeEvent,
    LifeEventSource,
    Review,
    Status,
    StatusChange,
)

# Fields of Elder that `register_elder` takes as they are; identity, contact and
# address fields are validated and encrypted on their own.
PLAIN_FIELDS = frozenset(
    {
        "ethnicity",
        "lives_at_registration",
        "rural_registration",
        "ability",
        "ability_assessed_on",
        "ability_source",
        "health",
        "dementia",
        "life_threatening_illness",
        "disease_history",
        "disability_type",
        "disability_grade",
        "extreme_poverty",
        "dispersed_support",
        "minimum_living",
        "minimum_living_edge",
        "monthly_disposable_income",
        "income_sources",
        "living_source",
        "annual_income",
        "pension_monthly",
        "household_monthly_income",
        "water_safe",
        "electricity_safe",
        "housing_safe",
        "children_count",
        "has_spouse",
        "able_to_work",
        "has_carer",
        "children_asked_for_visits",
        "consents_to_visits",
        "consents_to_home_visits",
        "consents_to_photos",
        "other_notes",
    }
)


def _check_village(acting_user: User, village: Region, field: str) -> None:
    if village.level != Level.VILLAGE:
        raise ValidationError({field: "请选择村(社区)一级的区划。"})
    if not access.in_scope(acting_user, village.code):
        raise ValidationError({field: "该村(社区)不在您的管辖范围内。"})


def _encrypted_or_blank(value: str) -> str:
    return crypto.encrypt(value) if value else ""


@transaction.atomic
def register_elder(
    *,
    acting_user: User,
    id_number: str,
    name: str,
    village: Region,
    phone: str = "",
    sex: str | None = None,
    birth_date: date | None = None,
    residence_address: str = "",
    registration_village: Region | None = None,
    registration_address: str = "",
    disability_certificate: str = "",
    categories: Iterable[str] = (),
    request: HttpRequest | None = None,
    **details: Any,
) -> Elder:
    """A new file in the registry (000_4970ff49482a0570.txt 三(四): 逐人建立电子台账).

    The ID number decides birth date and sex; typed values that disagree are an
    error. Under-60s are refused, and so is a second active file for one ID.
    Every error is a ValidationError keyed by the field it is about.
    """
    access.check(acting_user, Perm.PEOPLE_CHANGE)
    unknown = set(details) - PLAIN_FIELDS
    if unknown:
        raise TypeError(f"register_elder() got unexpected fields {sorted(unknown)}")
    errors: dict[str, list[str]] = {}

    def collect(check: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)
            return None

    if not name.strip():
        errors["name"] = ["请填写姓名。"]
    parsed = collect(_parse_id, id_number)
    if parsed is not None:
        collect(identity.check_matches, parsed, birth_date=birth_date, sex=sex)
        collect(_check_age, parsed.birth_date)
        if Elder.objects.filter(
            id_number_hash=crypto.lookup_hash(parsed.number, kind="id"), status=Status.ACTIVE
        ).exists():
            errors.setdefault("id_number", []).append("该身份证号码已有在册档案，请勿重复登记。")
    normal_phone = collect(_parse_phone, phone) if phone else ""
    collect(_check_village, acting_user, village, "village")
    if registration_village is not None:
        collect(_check_village_level, registration_village)
    bad_categories = [c for c in categories if c not in Category.values]
    if bad_categories:
        errors["categories"] = [f"未知的对象类型：{'、'.join(bad_categories)}"]
    if errors:
        raise ValidationError(errors)

    elder = Elder(
        name=name.strip(),
        sex=parsed.sex,
        birth_date=parsed.birth_date,
        id_number_token=crypto.encrypt(parsed.number),
        id_number_hash=crypto.lookup_hash(parsed.number, kind="id"),
        id_last4_hash=crypto.lookup_hash(parsed.number[-4:], kind="id_last4"),
        phone_token=_encrypted_or_blank(normal_phone),
        phone_hash=crypto.lookup_hash(normal_phone, kind="phone") if normal_phone else "",
        phone_last4=_digits(normal_phone)[-4:],
        village=village,
        residence_address_token=_encrypted_or_blank(residence_address.strip()),
        registration_village=registration_village,
        registration_address_token=_encrypted_or_blank(registration_address.strip()),
        disability_certificate_token=_encrypted_or_blank(disability_certificate.strip()),
        registered_by=acting_user,
        consent_recorded_by=acting_user,
        consent_recorded_at=timezone.now(),
        **details,
    )
    elder.full_clean(exclude=["registered_on"])
    now = timezone.now()
    with set_actor(acting_user):
        elder.save()
        for category in dict.fromkeys(categories):
            ElderCategory.objects.create(
                elder=elder, category=category, confirmed_by=acting_user, confirmed_at=now
            )
    refresh_warnings(elder)
    record(
        Action.ELDER_REGISTERED,
        actor=acting_user,
        request=request,
        region_code=village.code,
        target=elder,
        detail={"categories": list(dict.fromkeys(categories))},
    )
    return elder


def _parse_id(value: str) -> identity.IdNumber:
    try:
        return identity.parse_id_number(value)
    except ValidationError as error:
        raise ValidationError({"id_number": error.messages}) from error


def _parse_phone(value: str) -> str:
    try:
        return identity.normalise_phone(value)
    except ValidationError as error:
        raise ValidationError({"phone": error.messages}) from error


def _check_age(birth_date: date) -> None:
    try:
        identity.check_elderly(birth_date, timezone.localdate())
    except ValidationError as error:
        raise ValidationError({"id_number": error.messages}) from error


def _check_village_level(village: Region) -> None:
    if village.level != Level.VILLAGE:
        raise ValidationError({"registration_village": "请选择村(社区)一级的区划。"})


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


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
    _check_change(acting_user, elder)
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
    # The months from the change's on count the elder with the new status
    # (docs/统计口径.md: the status at each month's end).
    from tanfang.reports import rollups

    rollups.refresh_elders([elder.pk], rollups.months_between(effective_on, timezone.localdate()))
    # No visits are owed to an elder who died or left; owed again on return.
    from tanfang.visits.generation import refresh_tasks
    from tanfang.visits.models import Assignment

    refresh_tasks(elder, timezone.localdate())
    if to_status != Status.ACTIVE:
        # Nobody is responsible for visiting an elder who died or left; a return
        # to the registry needs a new assignment (000_… 三(二) 包干责任人).
        Assignment.objects.filter(elder=elder, ended_at__isnull=True).update(
            ended_at=timezone.now(),
            ended_by=acting_user,
            end_reason=f"档案状态变更为“{Status(to_status).label}”",
        )
    record(
        Action.ELDER_STATUS_CHANGED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=elder,
        detail={"from": change.from_status, "to": to_status, "effective_on": str(effective_on)},
    )
    return change


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


def _check_change(acting_user: User, elder: Elder) -> None:
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
    _check_change(acting_user, elder)
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
                _check_village(acting_user, value, "village")
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
            value = _encrypted_or_blank(text)
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
    refresh_warnings(elder)
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
    updates["phone_last4"] = _digits(normal)[-4:]


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
    _check_change(acting_user, elder)
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
    refresh_warnings(elder)
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


# Files whose warnings wait for the end of a `warnings_deferred()` block.
_deferred: ContextVar[dict[int, Elder] | None] = ContextVar("deferred_warnings", default=None)


@contextmanager
def warnings_deferred() -> Iterator[None]:
    """Recompute the warnings of the files touched inside the block once, at its
    end, rather than after every write (a file built part by part, as an import
    or the demo does)."""
    pending: dict[int, Elder] = {}
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    for elder in pending.values():
        refresh_warnings(elder)


def refresh_warnings(elder: Elder) -> list[str]:
    """Recompute and store the file's data-quality warnings, its tier and the
    visit tasks it is owed."""
    from tanfang.jurisdiction import tiers
    from tanfang.registry import quality
    from tanfang.visits.generation import refresh_tasks

    pending = _deferred.get()
    if pending is not None:
        pending[elder.pk] = elder
        return list(elder.quality_warnings)

    confirmed = elder.categories.filter(withdrawn_at__isnull=True).values_list(
        "category", flat=True
    )
    found = quality.warnings(elder, timezone.localdate(), list(confirmed))
    # The tier depends on the same facts (tanfang.policy via the county's rules).
    tiers.refresh_tier(elder, timezone.localdate())
    # And the visits owed on the tier, the consent and the status.
    refresh_tasks(elder, timezone.localdate())
    if found != elder.quality_warnings:
        elder.quality_warnings = found
        # Derived data: no field history entry for it.
        Elder.objects.filter(pk=elder.pk).update(quality_warnings=found)
    return found


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
    _check_change(acting_user, elder)
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
            setattr(row, token_attribute, _encrypted_or_blank(text))
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
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)
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
    _check_change(acting_user, elder)
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
    from tanfang.registry import history

    _check_change(acting_user, elder)
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
    refresh_warnings(elder)
    record(
        Action.ELDER_REVIEWED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=elder,
        detail={"reviewed_on": str(reviewed_on), "fields": changed},
    )
    return review


# --- Major life changes (重大变故) ----------------------------------------------------

LIFE_EVENT_NOTE_MAX = 200
# A phone's clock may run a little fast (as for visits and the closed loop).
LIFE_EVENT_CLOCK_SKEW = timedelta(minutes=5)
# Line breaks and tabs may be typed; other control characters, NUL among them,
# and lone surrogates cannot be stored (PostgreSQL, UTF-8).
_TYPED_CONTROLS = frozenset("\t\n\r")
_CHANGES = frozenset(c.value for c in Change)


def may_record_life_event(user: User) -> bool:
    """Visitors record what they find on a visit; officers what they learn."""
    return access.can(user, Perm.VISITS_RECORD) or access.can(user, Perm.PEOPLE_CHANGE)


def _beijing(moment: datetime) -> datetime:
    """A time without a zone is a time in Asia/Shanghai (ARCHITECTURE.md)."""
    if timezone.is_naive(moment):
        return timezone.make_aware(moment, ZoneInfo(settings.TIME_ZONE))
    return moment


def _unstorable(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cs") and c not in _TYPED_CONTROLS for c in text)


def _check_short_text(
    errors: dict[str, list[str]], field: str, label: str, text: str, *, required: bool
) -> None:
    if required and not text:
        errors.setdefault(field, []).append(f"请填写{label}。")
    elif len(text) > LIFE_EVENT_NOTE_MAX:
        errors.setdefault(field, []).append(f"{label}不能超过{LIFE_EVENT_NOTE_MAX}字。")
    elif _unstorable(text):
        errors.setdefault(field, []).append(f"{label}含有无法保存的控制字符，请删除后重新填写。")


@transaction.atomic
def record_life_event(
    *,
    acting_user: User,
    elder: Elder,
    change: str,
    occurred_at: datetime,
    note: str = "",
    source: str = LifeEventSource.FILE,
    request: HttpRequest | None = None,
) -> LifeEvent:
    """A major change in the elder's life on the file (重大变故, 004_1657df0ed1e05604.txt
    二(四)2: 受家庭变故……影响的老年人), for the rules that ask for a visit after it.

    The time is kept to the minute; without a zone it is Beijing time. The same
    change at the same minute already on the file (and not withdrawn) is not
    stored twice: that row comes back with `replayed` set, and nothing is written.
    Every error at once, keyed by argument, nothing stored.
    """
    if not may_record_life_event(acting_user):
        raise PermissionDenied
    if not access.in_scope(acting_user, elder.village_id):
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    if change not in _CHANGES:
        errors["change"] = ["请选择变故类型。" if not change else f"未知的变故类型：{change}"]
    if source not in LifeEventSource.values:
        errors["source"] = [f"未知的来源：{source}"]
    moment = (
        _beijing(occurred_at).replace(second=0, microsecond=0)
        if isinstance(occurred_at, datetime)
        else None
    )
    if moment is None:
        errors["occurred_at"] = ["请填写发生时间。"]
    elif moment > timezone.now() + LIFE_EVENT_CLOCK_SKEW:
        errors["occurred_at"] = ["发生时间不能晚于现在。"]
    elif timezone.localtime(moment).date() < elder.birth_date:
        errors["occurred_at"] = ["发生时间不能早于出生日期。"]
    text = (note or "").strip()
    _check_short_text(errors, "note", "说明", text, required=False)
    if elder.status != Status.ACTIVE:
        errors["elder"] = [f"该老人档案状态为“{elder.get_status_display()}”，不能登记重大变故。"]
    if errors or moment is None:
        raise ValidationError(errors)

    same = LifeEvent.objects.filter(
        elder=elder, change=change, occurred_at=moment, withdrawn_at__isnull=True
    )
    existing = same.first()
    if existing is not None:
        existing.replayed = True
        return existing
    try:
        # A savepoint: a simultaneous second submission loses the race on the
        # unique constraint and finds the first one's row.
        with transaction.atomic():
            event = LifeEvent.objects.create(
                elder=elder,
                change=change,
                occurred_at=moment,
                note=text,
                source=source,
                recorded_by=acting_user,
            )
    except IntegrityError:
        existing = same.first()
        if existing is None:
            raise
        existing.replayed = True
        return existing
    # The tier and the visits owed may depend on it ("visit within 24 hours of a fall").
    refresh_warnings(elder)
    record(
        Action.LIFE_EVENT_RECORDED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=event,
        detail={
            "elder": elder.pk,
            "change": change,
            "label": CHANGE_LABELS[Change(change)],
            "occurred_at": timezone.localtime(moment).isoformat(),
            "source": source,
        },
    )
    return event


@transaction.atomic
def withdraw_life_event(
    *,
    acting_user: User,
    event: LifeEvent,
    reason: str,
    request: HttpRequest | None = None,
) -> LifeEvent:
    """Take back an entry made by mistake, with who, when and why; the row
    stays on the file, struck through, and no rule counts it any more.
    Withdrawing it again changes nothing."""
    elder = event.elder
    _check_change(acting_user, elder)
    if event.withdrawn_at is not None:
        return event
    errors: dict[str, list[str]] = {}
    text = (reason or "").strip()
    _check_short_text(errors, "reason", "撤销原因", text, required=True)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    # Conditional: of two withdrawals at once, the second changes nothing.
    withdrawn = LifeEvent.objects.filter(pk=event.pk, withdrawn_at__isnull=True).update(
        withdrawn_at=now, withdrawn_by=acting_user, withdraw_reason=text
    )
    event.refresh_from_db()
    if not withdrawn:
        return event
    refresh_warnings(elder)
    record(
        Action.LIFE_EVENT_WITHDRAWN,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=event,
        detail={"elder": elder.pk, "change": event.change, "reason": text},
    )
    return event

"""Writing the elder's file: one function per use case, atomic, audited."""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.regions.models import Level, Region
from tanfang.registry import crypto, identity
from tanfang.registry.models import Category, Elder, ElderCategory, Status, StatusChange

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
    elder.save()
    now = timezone.now()
    ElderCategory.objects.bulk_create(
        ElderCategory(elder=elder, category=category, confirmed_by=acting_user, confirmed_at=now)
        for category in dict.fromkeys(categories)
    )
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
    access.check(acting_user, Perm.PEOPLE_CHANGE)
    if not access.in_scope(acting_user, elder.village_id):
        raise PermissionDenied
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
    elder.save(update_fields=["status"])
    record(
        Action.ELDER_STATUS_CHANGED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=elder,
        detail={"from": change.from_status, "to": to_status, "effective_on": str(effective_on)},
    )
    return change

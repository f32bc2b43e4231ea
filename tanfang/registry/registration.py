"""Registering elders: one file from the page or the API (`register_elder`),
or many at once from an Excel import (`check_registration` row by row, then
`register_many`), with the same checks in the same order and the same
messages.

`register_elder` asks the database about ten times a row (the model's
full_clean with its constraint queries, the insert, one insert per category,
the warnings, the audit entry): about 7.5 ms a row on SQLite, so 12 minutes for
the 100,000 rows that must import in under 2 (NONFUNCTIONAL.md "Speed"). So
`register_elder` is `check_registration` plus the one-active-file check, the
model's full validation and the writes; an import runs `check_registration`
on every row, asks once for many rows what `register_elder` asks for each (the
active files among the ID numbers, `active_id_hashes`) and inserts in bulk
(`register_many`). tests/exchange/test_bulk_parity.py registers the same
inputs both ways and compares every stored field, the categories, the
warnings and every error.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from auditlog.context import set_actor
from django.core.exceptions import ValidationError
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
from tanfang.regions.models import Level, Region
from tanfang.registry import categories as category_rules
from tanfang.registry import crypto, identity, quality
from tanfang.registry.models import Category, Elder, ElderCategory, Status

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


def check_village(acting_user: User, village: Region, field: str) -> None:
    if village.level != Level.VILLAGE:
        raise ValidationError({field: "请选择村(社区)一级的区划。"})
    if not access.in_scope(acting_user, village.code):
        raise ValidationError({field: "该村(社区)不在您的管辖范围内。"})


def encrypted_or_blank(value: str) -> str:
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
    # 000_4970ff49482a0570.txt 三(四): the village fills in the file (村 liaison and up).
    access.check(acting_user, Perm.ELDERS_REGISTER)
    unknown = set(details) - PLAIN_FIELDS
    if unknown:
        raise TypeError(f"register_elder() got unexpected fields {sorted(unknown)}")
    errors: dict[str, list[str]] = {}
    try:
        elder = check_registration(
            acting_user=acting_user,
            id_number=id_number,
            name=name,
            village=village,
            now=timezone.now(),
            phone=phone,
            sex=sex,
            birth_date=birth_date,
            residence_address=residence_address,
            registration_village=registration_village,
            registration_address=registration_address,
            disability_certificate=disability_certificate,
            categories=categories,
            **details,
        ).elder
    except ValidationError as error:
        errors = dict(error.message_dict)
        elder = None
    # The one check an import makes in bulk (`active_id_hashes`).
    hash_ = id_hash(id_number, timezone.localdate())
    if hash_ and Elder.objects.filter(id_number_hash=hash_, status=Status.ACTIVE).exists():
        errors.setdefault("id_number", []).append("该身份证号码已有在册档案，请勿重复登记。")
    if errors or elder is None:
        raise ValidationError(errors)
    elder.full_clean(exclude=["registered_on"])
    now = timezone.now()
    with set_actor(acting_user):
        elder.save()
        for category in dict.fromkeys(categories):
            ElderCategory.objects.create(
                elder=elder, category=category, confirmed_by=acting_user, confirmed_at=now
            )
    refresh.after_elder_changed(elder)
    record(
        Action.ELDER_REGISTERED,
        actor=acting_user,
        request=request,
        region_code=village.code,
        target=elder,
        detail={"categories": list(dict.fromkeys(categories))},
    )
    return elder


def parse_id(value: str) -> identity.IdNumber:
    try:
        return identity.parse_id_number(value)
    except ValidationError as error:
        raise ValidationError({"id_number": error.messages}) from error


def parse_phone(value: str) -> str:
    try:
        return identity.normalise_phone(value)
    except ValidationError as error:
        raise ValidationError({"phone": error.messages}) from error


def check_age(birth_date: date) -> None:
    try:
        identity.check_elderly(birth_date, timezone.localdate())
    except ValidationError as error:
        raise ValidationError({"id_number": error.messages}) from error


def check_village_level(village: Region) -> None:
    if village.level != Level.VILLAGE:
        raise ValidationError({"registration_village": "请选择村(社区)一级的区划。"})


def digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


# The model's validation (full_clean in register_elder) runs on the values as
# typed: the name and the plain fields. The others are valid by construction:
# computed here from values the registry's checks accepted (birth date, sex,
# tokens, hashes), the villages checked by `_check_village`, the users the
# acting user, the rest left at their defaults; the one-active-file
# constraint is checked in bulk (`active_id_hashes`).
_FIELD_NAMES = frozenset(field.name for field in Elder._meta.concrete_fields)
# Rows per query when looking up hashes (well under SQLite's 999 parameters).
_LOOKUP_BATCH = 900
# Rows per INSERT (fewer on SQLite, whose statements take at most 999 values).
_INSERT_BATCH = 1000


@dataclass
class NewElder:
    elder: Elder  # not saved yet
    categories: list[str]


def check_registration(
    *,
    acting_user: User,
    id_number: str,
    name: str,
    village: Region | None,
    now: datetime,
    phone: str = "",
    sex: str | None = None,
    birth_date: date | None = None,
    residence_address: str = "",
    registration_village: Region | None = None,
    registration_address: str = "",
    disability_certificate: str = "",
    categories: Iterable[str] = (),
    **details: Any,
) -> NewElder:
    """What `register_elder` would store for these arguments, not saved, or its
    ValidationError keyed by field. Not checked here: an active file with the
    same ID number (`active_id_hashes`). `village` None: the caller could not
    read the village and reports that itself; the other fields are still checked.
    """
    unknown = set(details) - PLAIN_FIELDS
    if unknown:
        raise TypeError(f"check_registration() got unexpected fields {sorted(unknown)}")
    errors: dict[str, list[str]] = {}

    def collect(check: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except ValidationError as error:
            merge_errors(errors, error)
            return None

    categories = list(categories)
    if not name.strip():
        errors["name"] = ["请填写姓名。"]
    parsed = collect(parse_id, id_number)
    if parsed is not None:
        collect(identity.check_matches, parsed, birth_date=birth_date, sex=sex)
        collect(check_age, parsed.birth_date)
    normal_phone = collect(parse_phone, phone) if phone else ""
    if village is not None:
        collect(check_village, acting_user, village, "village")
    if registration_village is not None:
        collect(check_village_level, registration_village)
    bad_categories = [c for c in categories if c not in Category.values]
    if bad_categories:
        errors["categories"] = [f"未知的对象类型：{'、'.join(bad_categories)}"]
    if errors or village is None:
        raise ValidationError(errors)

    elder = Elder(
        name=name.strip(),
        sex=parsed.sex,
        birth_date=parsed.birth_date,
        id_number_token=crypto.encrypt(parsed.number),
        id_number_hash=crypto.lookup_hash(parsed.number, kind="id"),
        id_last4_hash=crypto.lookup_hash(parsed.number[-4:], kind="id_last4"),
        phone_token=encrypted_or_blank(normal_phone),
        phone_hash=crypto.lookup_hash(normal_phone, kind="phone") if normal_phone else "",
        phone_last4=digits(normal_phone)[-4:],
        village=village,
        residence_address_token=encrypted_or_blank(residence_address.strip()),
        registration_village=registration_village,
        registration_address_token=encrypted_or_blank(registration_address.strip()),
        disability_certificate_token=encrypted_or_blank(disability_certificate.strip()),
        registered_by=acting_user,
        consent_recorded_by=acting_user,
        consent_recorded_at=now,
        **details,
    )
    elder.clean_fields(exclude=list(_FIELD_NAMES - {"name", *details}))
    elder.clean()
    return NewElder(elder, list(dict.fromkeys(categories)))


def id_hash(id_number: str, today: date) -> str | None:
    """The lookup hash of a valid ID number; None for one that is not (its
    error comes from `check_registration`)."""
    try:
        number = identity.parse_id_number(id_number, today=today).number
    except ValidationError:
        return None
    return crypto.lookup_hash(number, kind="id")


def active_id_hashes(hashes: Iterable[str]) -> set[str]:
    """Those of `hashes` that already have an active file, in a few queries."""
    wanted = list(dict.fromkeys(hashes))
    found: set[str] = set()
    for start in range(0, len(wanted), _LOOKUP_BATCH):
        found.update(
            Elder.objects.filter(
                id_number_hash__in=wanted[start : start + _LOOKUP_BATCH], status=Status.ACTIVE
            ).values_list("id_number_hash", flat=True)
        )
    return found


def register_many(new: list[NewElder], *, acting_user: User, now: datetime) -> None:
    """Insert the files and their confirmed categories, in the caller's
    transaction (a file is never stored without its categories), with their
    data-quality warnings.

    `quality.warnings` reads the file's household and contacts, two queries a
    file; a new file has neither. So the first file's warnings are computed
    exactly, by `tanfang.refresh`, and split into the category
    differences (`categories.differences`, pure) and what the empty household
    adds; every other file gets its own differences and the same additions.
    Should the first file's warnings not start with its differences (the
    rules changed shape), every file is refreshed one by one, exactly.
    """
    access.check(acting_user, Perm.ELDERS_IMPORT)
    if not new:
        return
    today = timezone.localdate()
    first, rest = new[0], new[1:]
    _insert([first], acting_user=acting_user, now=now)
    found = refresh.after_elder_changed(first.elder)
    differences = _differences(first, today)
    if found[: len(differences)] != differences:
        _insert(rest, acting_user=acting_user, now=now)
        for item in rest:
            refresh.after_elder_changed(item.elder)
        return
    added = found[len(differences) :]
    choices = tiers.all_choices()
    for item in rest:
        item.elder.quality_warnings = _differences(item, today) + added
        tiers.assign(item.elder, item.categories, today, choices)
    _insert(rest, acting_user=acting_user, now=now)
    refresh.after_elders_registered(Elder.objects.filter(pk__in=[i.elder.pk for i in rest]), today)


def _differences(item: NewElder, today: date) -> list[str]:
    facts = quality.facts_for(item.elder, today, members=[])
    confirmed = (category_rules.Category(c) for c in item.categories)
    return list(category_rules.differences(facts, confirmed))


def _insert(new: list[NewElder], *, acting_user: User, now: datetime) -> None:
    Elder.objects.bulk_create([item.elder for item in new], batch_size=_INSERT_BATCH)
    ElderCategory.objects.bulk_create(
        [
            ElderCategory(
                elder=item.elder, category=category, confirmed_by=acting_user, confirmed_at=now
            )
            for item in new
            for category in item.categories
        ],
        batch_size=_INSERT_BATCH,
    )


def date_registered(elder: Elder, day: date) -> None:
    """Back-date a file's registration for a loaded history (the demo county's
    files were opened over the years before it). Not for a live registry,
    whose registration date is the day the file was made."""
    Elder.objects.filter(pk=elder.pk).update(registered_on=day)
    elder.registered_on = day

"""Registering many elders at once: the checks of `register_elder`, row by row,
and the writes in bulk.

`register_elder` asks the database about ten times a row (the model's
full_clean with its constraint queries, the insert, one insert per category,
the warnings, the audit entry): about 7.5 ms a row on SQLite, so 12 minutes for
the 100,000 rows that must import in under 2 (NONFUNCTIONAL.md "Speed"). Here
every row goes through the registry's own checks (`_parse_id`,
`identity.check_matches`, `_check_age`, `_parse_phone`, `_check_village`,
`_check_village_level`, the known categories) and the model's field validation
in the same order, with the same messages; what `register_elder` asks the
database for each row is asked once for many rows: the active files among the
ID numbers (`active_id_hashes`), the inserts (`save_new_elders`).

The rules stay in the registry: tests/exchange/test_bulk_parity.py registers
the same inputs both ways and compares every stored field, the categories, the
warnings and every error, so a rule added to `register_elder` and not here
fails that test.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from tanfang.accounts.models import User
from tanfang.jurisdiction import tiers
from tanfang.regions.models import Region
from tanfang.registry import categories as category_rules
from tanfang.registry import crypto, identity, quality
from tanfang.registry.actions import (
    PLAIN_FIELDS,
    _check_age,
    _check_village,
    _check_village_level,
    _digits,
    _encrypted_or_blank,
    _parse_id,
    _parse_phone,
    refresh_warnings,
)
from tanfang.registry.models import Category, Elder, ElderCategory, Status

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
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)
            return None

    categories = list(categories)
    if not name.strip():
        errors["name"] = ["请填写姓名。"]
    parsed = collect(_parse_id, id_number)
    if parsed is not None:
        collect(identity.check_matches, parsed, birth_date=birth_date, sex=sex)
        collect(_check_age, parsed.birth_date)
    normal_phone = collect(_parse_phone, phone) if phone else ""
    if village is not None:
        collect(_check_village, acting_user, village, "village")
    if registration_village is not None:
        collect(_check_village_level, registration_village)
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


def save_new_elders(new: list[NewElder], *, acting_user: User, now: datetime) -> None:
    """Insert the files and their confirmed categories, in the caller's
    transaction (a file is never stored without its categories), with their
    data-quality warnings.

    `quality.warnings` reads the file's household and contacts, two queries a
    file; a new file has neither. So the first file's warnings are computed
    exactly, by the registry's `refresh_warnings`, and split into the category
    differences (`categories.differences`, pure) and what the empty household
    adds; every other file gets its own differences and the same additions.
    Should the first file's warnings not start with its differences (the
    rules changed shape), every file is refreshed one by one, exactly.
    """
    if not new:
        return
    today = timezone.localdate()
    first, rest = new[0], new[1:]
    _insert([first], acting_user=acting_user, now=now)
    found = refresh_warnings(first.elder)
    differences = _differences(first, today)
    if found[: len(differences)] != differences:
        _insert(rest, acting_user=acting_user, now=now)
        for item in rest:
            refresh_warnings(item.elder)
        return
    added = found[len(differences) :]
    choices = tiers.all_choices()
    for item in rest:
        item.elder.quality_warnings = _differences(item, today) + added
        tiers.assign(item.elder, item.categories, today, choices)
    _insert(rest, acting_user=acting_user, now=now)
    # The visits they are owed from today, as a registration on the page makes them.
    from tanfang.visits.generation import generate_tasks

    generate_tasks(today=today, elders=Elder.objects.filter(pk__in=[i.elder.pk for i in rest]))


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

"""One source of truth for the rules: the bulk path of the import
(`registration.check_registration` + `register_many`) stores exactly what
`register_elder` stores for the same arguments (every field, the categories,
the data-quality warnings) and refuses with exactly its errors. A rule added to
`register_elder` and not to the bulk path fails here."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tanfang.registry import crypto
from tanfang.registry.models import Elder
from tanfang.registry.registration import check_registration, register_elder, register_many
from tests.conftest import OTHER_VILLAGE, TOWNSHIP_A, VILLAGE_A, VILLAGE_B
from tests.exchange.conftest import id_number

# Arguments of register_elder beyond the acting user: villages by code.
VALID = [
    {"name": "林秀英", "id_number": id_number(1), "village": VILLAGE_A},
    {
        "name": " 陈阿公 ",
        "id_number": id_number(2, date(1935, 6, 1), "男").lower(),
        "village": VILLAGE_A,
        "phone": "0595 8888 1234 转 801",
        "sex": "男",
        "birth_date": date(1935, 6, 1),
        "residence_address": " 南洋路18号 ",
        "registration_village": VILLAGE_B,
        "registration_address": "塘后3号",
        "disability_certificate": id_number(2, date(1935, 6, 1), "男") + "41",
        "categories": ["重残", "独居", "独居"],
        "disability_type": "physical",
        "disability_grade": 1,
        "has_spouse": False,
        "children_count": 0,
        "ethnicity": "回族",
        "monthly_disposable_income": Decimal("820.5"),
        "consents_to_photos": True,
        "consents_to_visits": False,
        "other_notes": "耳背",
    },
    # Facts that make the rules propose categories the officer did not confirm.
    {
        "name": "王阿婆",
        "id_number": id_number(3),
        "village": VILLAGE_A,
        "ability": "severe",
        "has_spouse": False,
        "children_count": 0,
        "categories": ["空巢"],
    },
    {
        "name": "张阿公",
        "id_number": id_number(4, date(1950, 1, 1), "男"),
        "village": VILLAGE_A,
        "rural_registration": True,
        "has_spouse": True,
        "children_count": 3,
        "dementia": True,
        "categories": ["留守", "计划生育特殊家庭"],
    },
]

INVALID = [
    {"name": "", "id_number": id_number(5), "village": VILLAGE_A},
    {"name": "林" * 51, "id_number": id_number(5), "village": VILLAGE_A},
    {"name": "甲", "id_number": id_number(5)[:-1] + "0", "village": VILLAGE_A},
    {"name": "甲", "id_number": id_number(5, date(1970, 1, 1)), "village": VILLAGE_A},
    {"name": "甲", "id_number": id_number(5), "village": VILLAGE_A, "sex": "男"},
    {"name": "甲", "id_number": id_number(5), "village": VILLAGE_A, "birth_date": date(1941, 1, 1)},
    {"name": "甲", "id_number": id_number(5), "village": VILLAGE_A, "phone": "12345"},
    {"name": "甲", "id_number": id_number(5), "village": VILLAGE_B},
    {"name": "甲", "id_number": id_number(5), "village": OTHER_VILLAGE},
    {"name": "甲", "id_number": id_number(5), "village": TOWNSHIP_A},
    {
        "name": "甲",
        "id_number": id_number(5),
        "village": VILLAGE_A,
        "registration_village": TOWNSHIP_A,
    },
    {"name": "甲", "id_number": id_number(5), "village": VILLAGE_A, "categories": ["贫困"]},
    {"name": "甲", "id_number": id_number(5), "village": VILLAGE_A, "disability_grade": 5},
    {"name": "甲", "id_number": id_number(5), "village": VILLAGE_A, "ethnicity": "族" * 21},
    {"name": "", "id_number": "1", "village": VILLAGE_B, "phone": "1", "categories": ["x"]},
]


def arguments(case, regions):
    resolved = dict(case)
    for key in ("village", "registration_village"):
        if key in resolved:
            resolved[key] = regions[resolved[key]]
    return resolved


def snapshot(elder):
    """What is stored: every column, tokens decrypted, and the categories."""
    elder = Elder.objects.get(pk=elder.pk)
    fields = {}
    for field in Elder._meta.concrete_fields:
        value = getattr(elder, field.attname)
        if field.name == "id":
            continue
        if field.name.endswith("_token"):
            value = crypto.decrypt(value) if value else ""
        fields[field.name] = value
    categories = sorted(
        elder.categories.values_list("category", "confirmed_by_id", "confirmed_at", "withdrawn_at")
    )
    return fields, categories


def by_register_elder(user, case, regions):
    with transaction.atomic():
        elder = register_elder(acting_user=user, **arguments(case, regions))
        stored = snapshot(elder)
        transaction.set_rollback(True)
    return stored


def test_it_stores_what_register_elder_stores(users, regions):
    user = users["township_a"]
    expected = [by_register_elder(user, case, regions) for case in VALID]

    new = [
        check_registration(acting_user=user, now=timezone.now(), **arguments(case, regions))
        for case in VALID
    ]
    register_many(new, acting_user=user, now=timezone.now())

    got = [snapshot(item.elder) for item in new]
    for case, wanted, found in zip(VALID, expected, got, strict=True):
        assert found == wanted, case["name"]
    assert any(fields["quality_warnings"] for fields, _ in got[1:])


def errors(call):
    with pytest.raises(ValidationError) as raised, transaction.atomic():
        call()
    return raised.value.message_dict


@pytest.mark.parametrize("case", INVALID, ids=range(len(INVALID)))
def test_it_refuses_what_register_elder_refuses_with_its_messages(case, users, regions):
    user = users["township_a"]

    wanted = errors(lambda: register_elder(acting_user=user, **arguments(case, regions)))
    found = errors(
        lambda: check_registration(acting_user=user, now=timezone.now(), **arguments(case, regions))
    )

    assert found == wanted
    assert not Elder.objects.exists()


def test_it_takes_the_same_arguments_as_register_elder(users, regions):
    with pytest.raises(TypeError, match="no_such_field"):
        check_registration(
            acting_user=users["county"],
            now=timezone.now(),
            id_number=id_number(1),
            name="甲",
            village=regions[VILLAGE_A],
            no_such_field=True,
        )

"""Registering an elder (000_4970ff49482a0570.txt 三(四): 逐人建立电子台账): the ID
number decides birth date and sex, nothing is stored in clear, every bad input
is refused with a Chinese message naming its field and nothing is written."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import crypto
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder, ElderCategory, Status
from tanfang.registry.registration import register_elder
from tests.conftest import OTHER_VILLAGE, TOWNSHIP_A, VILLAGE_A, VILLAGE_B, aware

TODAY = aware(2026, 11, 23, 10, 0)
ID_1940 = make_id_number("350581", date(1940, 3, 8), 12, "女")


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(TODAY, tick=False)


def register(users, regions, **overrides):
    data = {
        "acting_user": users["liaison_a"],
        "id_number": ID_1940,
        "name": "林阿婆",
        "village": regions[VILLAGE_A],
        "phone": "138 1234 5678",
    }
    data.update(overrides)
    return register_elder(**data)


def errors_of(users, regions, **overrides):
    with pytest.raises(ValidationError) as raised:
        register(users, regions, **overrides)
    return raised.value.message_dict


def nothing_written():
    return not Elder.objects.exists() and not AuditEvent.objects.exists()


def test_it_registers_an_elder_with_birth_date_and_sex_from_the_id_number(users, regions):
    elder = register(users, regions, categories=["独居", "失能"], ability="moderate")

    elder.refresh_from_db()
    assert (elder.name, elder.sex, elder.birth_date) == ("林阿婆", "女", date(1940, 3, 8))
    assert elder.status == Status.ACTIVE
    assert elder.village_id == VILLAGE_A
    assert elder.registered_on == date(2026, 11, 23)
    assert elder.registered_by == users["liaison_a"]
    assert elder.id_last4_hash == crypto.lookup_hash(ID_1940[-4:], kind="id_last4")
    assert elder.phone_last4 == "5678"
    assert set(ElderCategory.objects.values_list("category", flat=True)) == {"独居", "失能"}
    event = AuditEvent.objects.get(action=Action.ELDER_REGISTERED)
    assert (event.actor, event.region_code, event.object_id) == (
        users["liaison_a"],
        VILLAGE_A,
        str(elder.pk),
    )


def test_it_stores_the_id_number_and_phone_only_encrypted(users, regions):
    elder = register(users, regions, residence_address="凤里街道南洋路 18 号")

    assert crypto.decrypt(elder.id_number_token) == ID_1940
    assert crypto.decrypt(elder.phone_token) == "13812345678"
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM registry_elder")
        names = [column[0] for column in cursor.description]
        values = dict(zip(names, cursor.fetchone(), strict=True))
    row = " ".join(str(value) for value in values.values())
    assert ID_1940 not in row
    assert "13812345678" not in row
    assert "南洋路" not in row
    # Nor the ID's last four in any clear column: with the birth date and the
    # county they would give the whole number back.
    clear = [str(v) for k, v in values.items() if not k.endswith(("_token", "_hash"))]
    assert not any(ID_1940[-4:] in value for value in clear)


def test_it_finds_the_elder_by_the_exact_id_number(users, regions):
    elder = register(users, regions)

    found = Elder.objects.get(id_number_hash=crypto.lookup_hash(ID_1940, kind="id"))

    assert found == elder


@pytest.mark.parametrize(
    ("id_number", "message_part"),
    [
        ("35058119400308001", "18 位"),
        (ID_1940[:-1] + ("0" if ID_1940[-1] != "0" else "1"), "校验位"),
    ],
)
def test_it_refuses_a_bad_id_number(users, regions, id_number, message_part):
    errors = errors_of(users, regions, id_number=id_number)

    assert list(errors) == ["id_number"]
    assert message_part in errors["id_number"][0]
    assert nothing_written()


def test_it_refuses_a_birth_date_that_disagrees_with_the_id_number(users, regions):
    errors = errors_of(users, regions, birth_date=date(1940, 3, 9))

    assert list(errors) == ["birth_date"]
    assert nothing_written()


def test_it_refuses_a_sex_that_disagrees_with_the_id_number(users, regions):
    errors = errors_of(users, regions, sex="男")

    assert list(errors) == ["sex"]
    assert nothing_written()


def test_it_refuses_an_elder_under_sixty(users, regions):
    # 60 on 2026-11-24: still 59 today.
    young = make_id_number("350581", date(1966, 11, 24), 7, "男")

    errors = errors_of(users, regions, id_number=young)

    assert "未满 60 周岁" in errors["id_number"][0]
    assert nothing_written()


def test_it_accepts_an_elder_on_the_sixtieth_birthday(users, regions):
    sixty = make_id_number("350581", date(1966, 11, 23), 7, "男")

    assert register(users, regions, id_number=sixty).age_on(date(2026, 11, 23)) == 60


def test_it_refuses_a_phone_that_is_not_chinese(users, regions):
    errors = errors_of(users, regions, phone="12345")

    assert list(errors) == ["phone"]
    assert nothing_written()


@pytest.mark.parametrize("village", [VILLAGE_B, OTHER_VILLAGE])
def test_it_refuses_a_village_outside_the_users_subtree(users, regions, village):
    errors = errors_of(users, regions, village=regions[village])

    assert errors == {"village": ["该村(社区)不在您的管辖范围内。"]}
    assert nothing_written()


def test_it_refuses_a_township_as_the_village(users, regions):
    errors = errors_of(users, regions, acting_user=users["township_a"], village=regions[TOWNSHIP_A])

    assert errors == {"village": ["请选择村(社区)一级的区划。"]}
    assert nothing_written()


def test_it_refuses_a_second_active_file_for_one_id_number(users, regions):
    register(users, regions)

    errors = errors_of(users, regions, acting_user=users["county"], village=regions[VILLAGE_B])

    assert errors == {"id_number": ["该身份证号码已有在册档案，请勿重复登记。"]}
    assert Elder.objects.count() == 1


def test_it_names_every_bad_field_at_once(users, regions):
    errors = errors_of(users, regions, name=" ", phone="x", sex="男", categories=["富裕"])

    assert set(errors) == {"name", "phone", "sex", "categories"}
    assert nothing_written()


def test_it_refuses_a_user_who_may_not_change_peoples_data(users, regions):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        register(users, regions, acting_user=users["supervisor"])

    assert nothing_written()

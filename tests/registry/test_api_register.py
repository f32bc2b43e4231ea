"""Registering an elder through the API (POST /api/v1/elders): the same action
as the page (000_4970ff49482a0570.txt 三(四): 逐人建立电子台账), so the same
checks; every bad input is a 422 naming its field in Chinese, and nothing is
stored."""

import inspect
from datetime import date

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import crypto, registration
from tanfang.registry.identity import (
    ID_BIRTH_DATE_MESSAGE,
    ID_CHECKSUM_MESSAGE,
    ID_FORMAT_MESSAGE,
    PHONE_MESSAGE,
    make_id_number,
)
from tanfang.registry.models import Elder, ElderCategory
from tanfang.registry.schemas import ElderIn
from tests.conftest import OTHER_VILLAGE, TOWNSHIP_A, VILLAGE_A, VILLAGE_B, aware, sign_in

TODAY = aware(2026, 11, 23, 10, 0)
URL = "/api/v1/elders"
ID_1940 = make_id_number("350581", date(1940, 3, 8), 12, "女")


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(TODAY, tick=False)


def body(**overrides):
    data = {
        "name": "林阿婆",
        "id_number": ID_1940,
        "village": VILLAGE_A,
        "phone": "138 1234 5678",
    }
    data.update(overrides)
    return data


def post(client, data):
    return client.post(URL, data, content_type="application/json")


@pytest.fixture
def liaison(client_for):
    return client_for("liaison_a")


@pytest.fixture
def stored():
    """What is in the database now; compare after a refused request."""

    def count():
        return Elder.objects.count(), ElderCategory.objects.count(), AuditEvent.objects.count()

    return count


def test_it_registers_an_elder_and_answers_201_with_the_file(liaison, users):
    response = post(
        liaison,
        body(
            categories=["独居", "失能"],
            ability="moderate",
            residence_address="凤里街道南洋路 18 号",
            pension_monthly="150.50",
            water_safe=True,
        ),
    )

    assert response.status_code == 201
    data = response.json()
    elder = Elder.objects.get()
    assert data["id"] == elder.pk
    assert (data["name"], data["sex"], data["birth_date"], data["age"]) == (
        "林阿婆",
        "女",
        "1940-03-08",
        86,
    )
    assert data["id_number"] == crypto.mask_id(ID_1940)
    assert data["phone"] == "138****5678"
    assert data["village"] == {"code": VILLAGE_A, "name": "村A"}
    assert data["categories"] == ["独居", "失能"]
    assert (data["ability"], data["pension_monthly"], data["water_safe"]) == (
        "moderate",
        "150.50",
        True,
    )
    assert ID_1940 not in response.content.decode()

    assert (elder.name, elder.village_id, elder.registered_by) == (
        "林阿婆",
        VILLAGE_A,
        users["liaison_a"],
    )
    assert crypto.decrypt(elder.id_number_token) == ID_1940
    assert crypto.decrypt(elder.phone_token) == "13812345678"
    assert crypto.decrypt(elder.residence_address_token) == "凤里街道南洋路 18 号"
    event = AuditEvent.objects.get(action=Action.ELDER_REGISTERED)
    assert (event.actor, event.region_code, event.object_id) == (
        users["liaison_a"],
        VILLAGE_A,
        str(elder.pk),
    )


def test_it_stores_the_id_number_phone_and_address_only_encrypted(liaison):
    post(liaison, body(residence_address="凤里街道南洋路 18 号"))

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM registry_elder")
        row = " ".join(str(value) for value in cursor.fetchone())
    assert ID_1940 not in row
    assert "13812345678" not in row
    assert "南洋路" not in row


def test_it_registers_with_only_the_required_fields(liaison):
    response = post(liaison, {"name": "林阿婆", "id_number": ID_1940, "village": VILLAGE_A})

    assert response.status_code == 201
    elder = Elder.objects.get()
    assert (elder.phone_token, elder.ability, elder.consents_to_visits) == ("", "", True)


@pytest.mark.parametrize("username", ["township_a", "county"])
def test_it_lets_every_role_that_registers_files_register_in_its_subtree(client_for, username):
    assert post(client_for(username), body()).status_code == 201


def test_it_refuses_a_visitor_a_new_file(client_for):
    # Visitors report what they find; the village registers (issue 16,
    # 000_4970ff49482a0570.txt 三(四)). tests/registry/test_permissions_refused.py
    # tries every such route as every lower role.
    response = post(client_for("visitor_a"), body())

    assert response.status_code == 403
    assert response.json() == {"detail": "您没有权限进行此操作。"}
    assert not Elder.objects.exists()


# Bad input: 422 with the field in `loc`, the Chinese message, nothing stored.


def refused(response) -> dict[str, list[str]]:
    """{field: [messages]} of a 422 about the body."""
    assert response.status_code == 422, response.content
    found: dict[str, list[str]] = {}
    for error in response.json()["detail"]:
        assert error["loc"][:2] == ["body", "payload"], error
        found.setdefault(error["loc"][2], []).append(error["msg"])
    return found


BAD_CHECKSUM = ID_1940[:-1] + ("0" if ID_1940[-1] != "0" else "1")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"id_number": BAD_CHECKSUM}, "id_number", ID_CHECKSUM_MESSAGE),
        ({"id_number": ID_1940[:-1]}, "id_number", ID_FORMAT_MESSAGE),
        # Born in the future, by the ID number.
        (
            {"id_number": make_id_number("350581", date(2027, 1, 5), 3, "男")},
            "id_number",
            ID_BIRTH_DATE_MESSAGE,
        ),
        # A typed birth date (here a future one) that is not the ID number's.
        (
            {"birth_date": "2027-03-08"},
            "birth_date",
            "出生日期与身份证号码不一致（身份证为 1940年3月8日）",
        ),
        ({"birth_date": "1940-03-09"}, "birth_date", "出生日期与身份证号码不一致"),
        ({"sex": "男"}, "sex", "性别与身份证号码不一致（身份证为女）"),
        # 60 on 2026-11-24: still 59 today.
        (
            {"id_number": make_id_number("350581", date(1966, 11, 24), 7, "男")},
            "id_number",
            "未满 60 周岁，不属于老年人探访关爱对象（59 周岁）",
        ),
        ({"phone": "12345"}, "phone", PHONE_MESSAGE),
        ({"village": VILLAGE_B}, "village", "该村(社区)不在您的管辖范围内。"),
        ({"village": OTHER_VILLAGE}, "village", "该村(社区)不在您的管辖范围内。"),
        ({"village": "350581999999"}, "village", "区划代码“350581999999”不存在。"),
        ({"registration_village": "1"}, "registration_village", "区划代码“1”不存在。"),
        ({"name": " "}, "name", "请填写姓名。"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(liaison, stored, overrides, field, message):
    before = stored()

    errors = refused(post(liaison, body(**overrides)))

    assert list(errors) == [field]
    assert errors[field][0].startswith(message)
    assert stored() == before


def test_it_refuses_a_township_as_the_village(client_for, stored):
    client = client_for("township_a")
    before = stored()

    errors = refused(post(client, body(village=TOWNSHIP_A)))

    assert errors == {"village": ["请选择村(社区)一级的区划。"]}
    assert stored() == before


def test_it_refuses_a_second_active_file_for_one_id_number(liaison, client_for, stored):
    assert post(liaison, body()).status_code == 201
    county = client_for("county")
    before = stored()

    errors = refused(post(county, body(village=VILLAGE_B, phone="")))

    assert errors == {"id_number": ["该身份证号码已有在册档案，请勿重复登记。"]}
    assert stored() == before


def test_it_names_every_bad_field_at_once(liaison, stored):
    before = stored()

    errors = refused(post(liaison, body(name=" ", phone="x", sex="男", birth_date="1941-01-01")))

    assert set(errors) == {"name", "phone", "sex", "birth_date"}
    assert stored() == before


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"id_number": None}, "id_number", "应为文本。"),
        ({"categories": ["富裕"]}, "categories", "应为以下之一：'孤寡', '独居'"),
        ({"sex": "M"}, "sex", "应为以下之一：'男', '女'"),
        ({"birth_date": "8/3/1940"}, "birth_date", "应为日期（YYYY-MM-DD）"),
        ({"dementia": "maybe"}, "dementia", "应为 true 或 false。"),
        ({"children_count": "two"}, "children_count", "应为整数。"),
        ({"pension_monthly": "lots"}, "pension_monthly", "应为数字。"),
        ({"nickname": "阿婆"}, "nickname", "不接受此字段。"),
    ],
)
def test_it_refuses_a_value_of_the_wrong_type_naming_the_field(
    liaison, stored, overrides, field, message
):
    before = stored()

    response = post(liaison, body(**overrides))

    errors = refused(response)
    assert list(errors) == [field]
    assert errors[field][0].startswith(message)
    assert stored() == before


def test_it_refuses_a_body_without_the_required_fields(liaison, stored):
    before = stored()

    errors = refused(post(liaison, {}))

    assert errors == {field: ["此项为必填项。"] for field in ("name", "id_number", "village")}
    assert stored() == before


def test_it_refuses_a_value_the_model_refuses_with_djangos_chinese_message(liaison, stored):
    before = stored()

    errors = refused(post(liaison, body(disability_grade=5)))

    assert list(errors) == ["disability_grade"]
    assert "5" in errors["disability_grade"][0]
    assert stored() == before


def test_it_refuses_a_body_that_is_not_json(liaison, stored):
    before = stored()

    response = liaison.post(URL, "{name:", content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "请求体不是有效的 JSON。"}
    assert stored() == before


# CSRF: the session is a cookie, so unsafe methods need the token.


def test_it_refuses_a_post_without_the_csrf_token(users, stored):
    client = sign_in(Client(enforce_csrf_checks=True), users["liaison_a"])
    before = stored()

    response = post(client, body())

    assert response.status_code == 403
    assert response.json() == {"detail": "CSRF 校验失败：请在 X-CSRFToken 请求头中带上 CSRF 令牌。"}
    assert stored() == before


def test_it_accepts_a_post_with_the_csrf_token_of_the_session(users):
    client = sign_in(Client(enforce_csrf_checks=True), users["liaison_a"])
    client.get("/api/v1/docs")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value

    response = client.post(URL, body(), content_type="application/json", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 201
    assert Elder.objects.count() == 1


# The schema follows the action.


def test_it_takes_every_argument_of_register_elder():
    parameters = set(inspect.signature(registration.register_elder).parameters)
    arguments = (parameters - {"acting_user", "request", "details"}) | registration.PLAIN_FIELDS

    assert set(ElderIn.model_fields) == arguments

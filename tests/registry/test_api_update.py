"""Changing a file through the API: PATCH /api/v1/elders/{id} (the fields
given, checked as at registration), POST …/status (moved away, in an
institution, deceased, with date, reason and who; nothing deleted) and POST
…/categories (the officer's set). The same actions as the pages; a refused
change is a 422 naming its field, and nothing is stored."""

from datetime import date

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import actions, crypto
from tanfang.registry.identity import PHONE_MESSAGE, make_id_number
from tanfang.registry.models import Elder, ElderCategory, StatusChange
from tanfang.registry.registration import register_elder
from tanfang.registry.schemas import ElderIn, ElderPatch
from tests.conftest import OTHER_VILLAGE, VILLAGE_A, VILLAGE_B, aware

TODAY = aware(2026, 11, 23, 10, 0)
ID_1940 = make_id_number("350581", date(1940, 3, 8), 12, "女")
BAD_CHECKSUM = ID_1940[:-1] + ("0" if ID_1940[-1] != "0" else "1")


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(TODAY, tick=False)


@pytest.fixture
def lin(users, regions):
    return register_elder(
        acting_user=users["liaison_a"],
        id_number=ID_1940,
        name="林阿婆",
        village=regions[VILLAGE_A],
        phone="13812345678",
        categories=["独居", "失能"],
    )


@pytest.fixture
def liaison(client_for):
    return client_for("liaison_a")


def url(elder: Elder, part: str = "") -> str:
    return f"/api/v1/elders/{elder.pk}{part}"


def patch(client, elder, data):
    return client.patch(url(elder), data, content_type="application/json")


def post(client, elder, part, data):
    return client.post(url(elder, part), data, content_type="application/json")


def refused(response) -> dict[str, list[str]]:
    assert response.status_code == 422, response.content
    found: dict[str, list[str]] = {}
    for error in response.json()["detail"]:
        assert error["loc"][:2] == ["body", "payload"], error
        found.setdefault(error["loc"][2], []).append(error["msg"])
    return found


@pytest.fixture
def unchanged(lin):
    """Asserts, when called, that neither the file nor the audit log changed."""
    events = AuditEvent.objects.count()
    before = {
        field.attname: getattr(lin, field.attname)
        for field in Elder._meta.concrete_fields
        if field.attname != "quality_warnings"
    }

    def check():
        after = Elder.objects.get(pk=lin.pk)
        assert {name: getattr(after, name) for name in before} == before
        assert AuditEvent.objects.count() == events

    return check


# PATCH -------------------------------------------------------------------------------


def test_it_changes_the_fields_given_and_answers_with_the_file(liaison, users, lin):
    response = patch(
        liaison,
        lin,
        {"phone": "0595-88881234", "ability": "severe", "residence_address": "南洋路 20 号"},
    )

    assert response.status_code == 200
    data = response.json()
    assert (data["phone"], data["ability"], data["name"]) == ("0595-****1234", "severe", "林阿婆")
    lin.refresh_from_db()
    assert crypto.decrypt(lin.phone_token) == "0595-88881234"
    assert crypto.decrypt(lin.residence_address_token) == "南洋路 20 号"
    assert lin.phone_hash == crypto.lookup_hash("0595-88881234", kind="phone")
    assert lin.ability == "severe"
    event = AuditEvent.objects.get(action=Action.ELDER_UPDATED)
    assert (event.actor, event.object_id) == (users["liaison_a"], str(lin.pk))
    assert set(event.detail["fields"]) == {"phone", "ability", "residence_address"}
    assert "88881234" not in str(event.detail)


def test_it_clears_a_choice_with_null_and_a_text_with_an_empty_string(liaison, lin):
    patch(liaison, lin, {"ability": "mild", "ethnicity": "汉族"})

    response = patch(liaison, lin, {"ability": None, "ethnicity": ""})

    assert response.status_code == 200
    lin.refresh_from_db()
    assert (lin.ability, lin.ethnicity) == ("", "")


def test_it_moves_the_file_to_another_village_of_the_subtree(client_for, lin):
    response = patch(client_for("county"), lin, {"village": VILLAGE_B})

    assert response.status_code == 200
    assert response.json()["village"] == {"code": VILLAGE_B, "name": "村B"}
    lin.refresh_from_db()
    assert lin.village_id == VILLAGE_B


def test_it_changes_nothing_for_an_empty_body(liaison, lin, unchanged):
    response = patch(liaison, lin, {})

    assert response.status_code == 200
    unchanged()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"phone": "12345"}, "phone", PHONE_MESSAGE),
        ({"id_number": BAD_CHECKSUM}, "id_number", "身份证号码校验位不正确"),
        (
            {"id_number": make_id_number("350581", date(1970, 1, 1), 4, "女")},
            "id_number",
            "未满 60 周岁",
        ),
        ({"name": "  "}, "name", "请填写姓名。"),
        ({"village": VILLAGE_B}, "village", "该村(社区)不在您的管辖范围内。"),
        ({"village": OTHER_VILLAGE}, "village", "该村(社区)不在您的管辖范围内。"),
        ({"village": "350581999999"}, "village", "区划代码“350581999999”不存在。"),
        ({"disability_grade": 7}, "disability_grade", "值 7 不是有效选项"),
        ({"sex": "男"}, "sex", "不接受此字段。"),
        ({"status": "deceased"}, "status", "不接受此字段。"),
        ({"id_number_token": "v1.x.y"}, "id_number_token", "不接受此字段。"),
        ({"dementia": None}, "dementia", "应为 true 或 false。"),
        ({"name": None}, "name", "应为文本。"),
        ({"village": None}, "village", "应为文本。"),
    ],
)
def test_it_refuses_a_bad_change_naming_the_field(liaison, lin, unchanged, change, field, message):
    errors = refused(patch(liaison, lin, change))

    assert list(errors) == [field]
    assert errors[field][0].startswith(message), errors
    unchanged()


def test_it_refuses_the_id_number_of_another_active_file(users, regions, liaison, lin):
    other_id = make_id_number("350581", date(1941, 1, 1), 5, "男")
    register_elder(
        acting_user=users["liaison_a"],
        id_number=other_id,
        name="陈阿公",
        village=regions[VILLAGE_A],
    )
    events = AuditEvent.objects.count()

    errors = refused(patch(liaison, lin, {"id_number": other_id}))

    assert errors == {"id_number": ["该身份证号码已有在册档案，请勿重复登记。"]}
    lin.refresh_from_db()
    assert crypto.decrypt(lin.id_number_token) == ID_1940
    assert AuditEvent.objects.count() == events


def test_it_refuses_every_bad_field_at_once_and_changes_none(liaison, lin, unchanged):
    errors = refused(patch(liaison, lin, {"phone": "1", "name": "", "ability": "severe"}))

    assert set(errors) == {"phone", "name"}
    unchanged()


def test_it_takes_exactly_the_fields_update_elder_may_change():
    assert set(ElderPatch.model_fields) == actions.EDITABLE_FIELDS


def test_it_types_each_field_as_at_registration():
    for name, field in ElderPatch.model_fields.items():
        registered = ElderIn.model_fields[name].annotation
        assert field.annotation == registered, name


# Status --------------------------------------------------------------------------------


def test_it_changes_the_status_with_date_reason_and_who(liaison, users, lin):
    response = post(
        liaison,
        lin,
        "/status",
        {
            "to_status": "moved_away",
            "effective_on": "2026-11-20",
            "reason": "随子女迁居",
            "destination": "厦门市思明区",
        },
    )

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "moved_away"
    [history] = data["status_changes"]
    assert history["changed_by"] == {"id": users["liaison_a"].pk, "full_name": "liaison_a"}
    assert (history["from_status"], history["to_status"], history["effective_on"]) == (
        "active",
        "moved_away",
        "2026-11-20",
    )
    change = StatusChange.objects.get()
    assert (change.elder, change.reason, change.destination, change.changed_by) == (
        lin,
        "随子女迁居",
        "厦门市思明区",
        users["liaison_a"],
    )
    lin.refresh_from_db()
    assert lin.status == "moved_away"
    event = AuditEvent.objects.get(action=Action.ELDER_STATUS_CHANGED)
    assert event.detail == {"from": "active", "to": "moved_away", "effective_on": "2026-11-20"}
    # Nothing deleted: the file is still there, out of the active list.
    assert Elder.objects.filter(pk=lin.pk).exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"effective_on": "2026-11-24"}, "effective_on", "生效日期不能晚于今天。"),
        ({"effective_on": "1939-01-01"}, "effective_on", "生效日期不能早于出生日期。"),
        ({"reason": " "}, "reason", "请填写变更原因。"),
        ({"to_status": "moved_away"}, "destination", "请填写迁往何处。"),
        ({"to_status": "active"}, "to_status", "档案已是“在册”状态。"),
        ({"to_status": "vanished"}, "to_status", "应为以下之一："),
        ({"effective_on": None}, "effective_on", "应为日期"),
    ],
)
def test_it_refuses_a_bad_status_change_naming_the_field(
    liaison, lin, unchanged, change, field, message
):
    data = {"to_status": "deceased", "effective_on": "2026-11-20", "reason": "病故", **change}

    errors = refused(post(liaison, lin, "/status", data))

    assert list(errors) == [field]
    assert errors[field][0].startswith(message), errors
    assert not StatusChange.objects.exists()
    unchanged()


# Categories ----------------------------------------------------------------------------


def test_it_confirms_the_officers_set_of_categories(liaison, users, lin):
    response = post(liaison, lin, "/categories", {"categories": ["失能", "空巢"]})

    assert response.status_code == 200
    assert response.json()["categories"] == ["空巢", "失能"]
    current = ElderCategory.objects.filter(elder=lin, withdrawn_at__isnull=True)
    assert set(current.values_list("category", flat=True)) == {"失能", "空巢"}
    # 独居 is withdrawn with who and when, not deleted.
    withdrawn = ElderCategory.objects.get(elder=lin, category="独居")
    assert (withdrawn.withdrawn_by, withdrawn.withdrawn_at) == (users["liaison_a"], TODAY)
    assert AuditEvent.objects.filter(action=Action.ELDER_CATEGORIES_CONFIRMED).count() == 1


def test_it_refuses_an_unknown_category(liaison, lin, unchanged):
    response = post(liaison, lin, "/categories", {"categories": ["独居", "富裕"]})

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "payload", "categories", 1]
    assert error["msg"].startswith("应为以下之一：'孤寡'")
    assert ElderCategory.objects.filter(elder=lin, withdrawn_at__isnull=True).count() == 2
    unchanged()

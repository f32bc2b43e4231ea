"""Registering an elder on /elders/new/: the form calls the action, its errors
come back next to the fields in Chinese, and nothing is stored on error."""

from datetime import date

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import crypto
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder, ElderCategory
from tanfang.registry.registration import register_elder
from tests.conftest import VILLAGE_A, VILLAGE_B, aware

TODAY = aware(2026, 11, 23, 10, 0)
URL = "/elders/new/"
ID_1940 = make_id_number("350581", date(1940, 3, 8), 12, "女")


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(TODAY, tick=False)


def form_data(**overrides):
    data = {
        "name": "林阿婆",
        "id_number": ID_1940,
        "phone": "138 1234 5678",
        "village": VILLAGE_A,
        "residence_address": "西区12号",
        "ability": "moderate",
        "disability_grade": "2",
        "minimum_living": "on",
        "water_safe": "true",
        "housing_safe": "false",
        "consents_to_visits": "on",
        "categories": ["独居", "失能"],
    }
    data.update(overrides)
    return data


def nothing_stored():
    return (
        not Elder.objects.exists()
        and not AuditEvent.objects.filter(action=Action.ELDER_REGISTERED).exists()
    )


def test_it_shows_the_form_with_the_villages_of_the_subtree(client_for):
    response = client_for("township_a").get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    # The only village of the subtree is chosen already.
    assert f'<option value="{VILLAGE_A}" selected>村A</option>' in html
    assert VILLAGE_B not in html
    assert 'value="独居"' in html


def test_it_registers_the_elder_and_opens_the_file(client_for, users):
    client = client_for("liaison_a")

    response = client.post(URL, form_data())

    elder = Elder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/elders/{elder.pk}/"
    assert (elder.name, elder.sex, elder.birth_date) == ("林阿婆", "女", date(1940, 3, 8))
    assert elder.village_id == VILLAGE_A
    assert crypto.decrypt(elder.phone_token) == "13812345678"
    assert (elder.ability, elder.disability_grade, elder.minimum_living) == ("moderate", 2, True)
    assert (elder.water_safe, elder.electricity_safe, elder.housing_safe) == (True, None, False)
    assert (elder.consents_to_visits, elder.consents_to_home_visits) == (True, False)
    assert elder.registered_by == users["liaison_a"]
    assert set(ElderCategory.objects.values_list("category", flat=True)) == {"独居", "失能"}
    event = AuditEvent.objects.get(action=Action.ELDER_REGISTERED)
    assert (event.actor, event.object_id) == (users["liaison_a"], str(elder.pk))
    page = client.get(response["Location"])
    assert "已为 林阿婆 建档。" in page.content.decode()


def test_it_accepts_a_birth_date_and_sex_that_agree_with_the_id(client_for):
    response = client_for("liaison_a").post(URL, form_data(sex="女", birth_date="1940-03-08"))

    assert response.status_code == 302
    assert Elder.objects.count() == 1


def post_refused(client_for, **overrides):
    response = client_for("liaison_a").post(URL, form_data(**overrides))
    assert response.status_code == 200
    return response.content.decode()


def test_it_refuses_a_bad_checksum_next_to_the_id_field(client_for):
    bad = ID_1940[:-1] + ("0" if ID_1940[-1] != "0" else "1")

    html = post_refused(client_for, id_number=bad)

    assert "身份证号码：身份证号码校验位不正确，请核对" in html
    assert nothing_stored()


def test_it_refuses_an_elder_under_sixty(client_for):
    young = make_id_number("350581", date(1966, 11, 24), 7, "男")

    html = post_refused(client_for, id_number=young)

    assert "身份证号码：未满 60 周岁" in html
    assert nothing_stored()


def test_it_refuses_a_bad_phone(client_for):
    html = post_refused(client_for, phone="12345")

    assert "联系电话：请输入正确的手机号码或固定电话（含区号）" in html
    assert nothing_stored()


def test_it_refuses_a_sex_that_disagrees_with_the_id(client_for):
    html = post_refused(client_for, sex="男")

    assert "性别：性别与身份证号码不一致（身份证为女）" in html
    assert nothing_stored()


def test_it_refuses_a_second_active_file_for_the_same_id(client_for, users, regions):
    register_elder(
        acting_user=users["liaison_b"], id_number=ID_1940, name="林阿婆", village=regions[VILLAGE_B]
    )
    html = post_refused(client_for, name="林某")

    assert "身份证号码：该身份证号码已有在册档案，请勿重复登记。" in html
    assert list(Elder.objects.values_list("name", flat=True)) == ["林阿婆"]
    assert AuditEvent.objects.filter(action=Action.ELDER_REGISTERED).count() == 1


def test_it_refuses_a_village_outside_the_subtree(client_for):
    html = post_refused(client_for, village=VILLAGE_B)

    assert "居住地村(社区)：请从列表中选择村(社区)。" in html
    assert nothing_stored()


def test_it_keeps_what_was_typed_after_an_error(client_for):
    html = post_refused(client_for, phone="12345")

    assert 'value="林阿婆"' in html
    assert 'value="独居" id="id_categories_1" checked' in html


def test_it_refuses_a_supervisor_with_403(client_for):
    client = client_for("supervisor")

    assert client.get(URL).status_code == 403
    assert client.post(URL, form_data()).status_code == 403
    assert nothing_stored()


def test_it_names_a_bad_id_and_phone_even_when_the_village_is_missing(client_for):
    data = form_data()
    data.update(village="", id_number="350581194003080000", phone="123")

    response = client_for("township_a").post(URL, data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"village", "id_number", "phone"}
    assert "校验位" in errors["id_number"][0]
    assert not Elder.objects.exists()

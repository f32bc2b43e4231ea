"""Revealing an encrypted value whole ("显示完整"): POST only, for the roles
holding Perm.PEOPLE_REVEAL inside their subtree, one audit event per reveal
naming the field but never the value (NONFUNCTIONAL.md "Masking")."""

import json
import logging
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import crypto, reveal
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import EmergencyContact, HelpReceived, HouseholdMember
from tanfang.registry.registration import register_elder
from tests.conftest import VILLAGE_A, VILLAGE_B, aware

TODAY = aware(2026, 11, 23, 10, 0)
ID_1940 = make_id_number("350581", date(1940, 3, 8), 12, "女")
SON_ID = make_id_number("350581", date(1968, 5, 2), 7, "男")
PHONE = "13812345678"
CONTACT_PHONE = "13955556666"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(TODAY, tick=False)


@pytest.fixture
def elder(users, regions):
    return register_elder(
        acting_user=users["liaison_a"],
        id_number=ID_1940,
        name="林阿婆",
        village=regions[VILLAGE_A],
        phone=PHONE,
        residence_address="凤里街道南洋路18号",
        disability_certificate=ID_1940 + "42",
        disability_type="physical",
        disability_grade=2,
    )


@pytest.fixture
def elder_without_phone(users, regions):
    return register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", date(1941, 1, 1), 3, "男"),
        name="陈阿公",
        village=regions[VILLAGE_A],
    )


@pytest.fixture
def contact(elder):
    return EmergencyContact.objects.create(
        elder=elder,
        name="林小明",
        phone_token=crypto.encrypt(CONTACT_PHONE),
        phone_hash=crypto.lookup_hash(CONTACT_PHONE, kind="phone"),
    )


@pytest.fixture
def son(elder):
    return HouseholdMember.objects.create(
        elder=elder,
        name="林大伟",
        relation="son",
        id_number_token=crypto.encrypt(SON_ID),
        id_number_hash=crypto.lookup_hash(SON_ID, kind="id"),
        phone_token=crypto.encrypt("13700001234"),
    )


def url(elder, field="id_number"):
    return f"/elders/{elder.pk}/reveal/{field}/"


def reveals():
    return AuditEvent.objects.filter(action=Action.ELDER_REVEALED)


# Who may reveal


@pytest.mark.parametrize("username", ["liaison_a", "township_a", "county"])
def test_it_reveals_the_id_number_to_the_officers_of_the_elders_subtree(
    username, client_for, users, elder
):
    response = client_for(username).post(url(elder), **HTMX)

    assert response.status_code == 200
    assert ID_1940 in response.content.decode()
    event = reveals().get()
    assert event.actor == users[username]
    assert event.object_type == "elder"
    assert event.object_id == str(elder.pk)
    assert event.region_code == VILLAGE_A
    assert event.detail == {"field": "id_number"}


@pytest.mark.parametrize("username", ["visitor_a", "supervisor"])
def test_it_refuses_the_roles_without_the_reveal_permission(username, client_for, elder):
    response = client_for(username).post(url(elder), **HTMX)

    assert response.status_code == 403
    assert ID_1940 not in response.content.decode()
    assert not reveals().exists()


@pytest.mark.parametrize("username", ["liaison_b", "township_b", "county_other"])
def test_it_answers_404_outside_the_users_subtree(username, client_for, elder):
    response = client_for(username).post(url(elder), **HTMX)

    assert response.status_code == 404
    assert ID_1940 not in response.content.decode()
    assert not reveals().exists()


def test_it_refuses_get_with_405(client_for, elder):
    response = client_for("liaison_a").get(url(elder))

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert not reveals().exists()


def test_it_answers_404_for_a_field_that_cannot_be_revealed(client_for, elder):
    response = client_for("liaison_a").post(url(elder, "birth_date"), **HTMX)

    assert response.status_code == 404
    assert not reveals().exists()


# What is revealed, and how


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", PHONE),
        ("residence_address", "凤里街道南洋路18号"),
        ("disability_certificate", ID_1940 + "42"),
    ],
)
def test_it_reveals_each_encrypted_field_of_the_file(field, value, client_for, elder):
    response = client_for("township_a").post(url(elder, field), **HTMX)

    assert value in response.content.decode()
    assert reveals().get().detail == {"field": field}


def test_it_answers_htmx_with_the_fragment_that_replaces_the_masked_value(client_for, elder):
    response = client_for("liaison_a").post(url(elder), **HTMX)

    html = response.content.decode()
    assert (
        html.strip()
        == f'<span class="reveal revealed"><span class="masked">{ID_1940}</span></span>'
    )
    assert "<html" not in html


def test_it_answers_a_plain_post_with_a_page_and_a_way_back(client_for, elder):
    response = client_for("liaison_a").post(url(elder))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert ID_1940 in html
    assert f'href="/elders/{elder.pk}/"' in html
    assert "已记入审计日志" in html
    assert reveals().count() == 1


def test_it_forbids_every_cache_to_keep_the_answer(client_for, elder):
    for headers in (HTMX, {}):
        response = client_for("liaison_a").post(url(elder), **headers)

        assert "no-store" in response["Cache-Control"]


def test_it_says_so_when_the_field_is_empty_and_audits_nothing(client_for, elder_without_phone):
    response = client_for("liaison_a").post(url(elder_without_phone, "phone"), **HTMX)

    assert response.status_code == 200
    assert "未填写" in response.content.decode()
    assert not reveals().exists()


def test_it_writes_the_field_but_never_the_value_to_the_audit_log_or_the_logs(
    client_for, elder, caplog
):
    caplog.set_level(logging.DEBUG)
    client = client_for("county")

    for field in reveal.ELDER_FIELDS:
        client.post(url(elder, field), **HTMX)

    assert sorted(e.detail["field"] for e in reveals()) == sorted(
        ["id_number", "phone", "residence_address", "disability_certificate"]
    )
    stored = json.dumps([e.detail for e in reveals()], ensure_ascii=False) + "".join(
        f"{e.object_id}{e.username}{e.user_agent}" for e in reveals()
    )
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records
    )
    for secret in (ID_1940, ID_1940[-8:], PHONE, "南洋路18号"):
        assert secret not in stored
        assert secret not in logged


# The buttons on the file page


def test_it_puts_a_reveal_button_next_to_each_masked_value(client_for, elder):
    html = client_for("liaison_a").get(f"/elders/{elder.pk}/").content.decode()

    for field in ("id_number", "phone", "residence_address", "disability_certificate"):
        assert f'hx-post="{url(elder, field)}"' in html
    assert "显示完整" in html
    assert ID_1940 not in html


@pytest.mark.parametrize("username", ["visitor_a", "supervisor"])
def test_it_shows_no_reveal_button_to_roles_that_may_not_reveal(username, client_for, elder, cover):
    cover(elder)  # the visitor's own elder: the file opens, masked
    html = client_for(username).get(f"/elders/{elder.pk}/").content.decode()

    assert ID_1940[:6] + "********" + ID_1940[-4:] in html
    assert "显示完整" not in html
    assert "/reveal/" not in html


# Emergency contacts and household members


def test_it_reveals_an_emergency_contacts_phone(client_for, elder, contact):
    response = client_for("liaison_a").post(
        f"/elders/{elder.pk}/contacts/{contact.pk}/reveal/", **HTMX
    )

    assert CONTACT_PHONE in response.content.decode()
    assert reveals().get().detail == {"field": "emergency_contact.phone", "row_id": contact.pk}


def test_it_answers_404_for_a_contact_of_another_elder(client_for, users, regions, contact):
    other = register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", date(1942, 2, 2), 5, "男"),
        name="王阿公",
        village=regions[VILLAGE_A],
    )

    response = client_for("liaison_a").post(
        f"/elders/{other.pk}/contacts/{contact.pk}/reveal/", **HTMX
    )

    assert response.status_code == 404
    assert not reveals().exists()


@pytest.mark.parametrize(
    ("field", "value", "audited"),
    [
        ("id_number", SON_ID, "household_member.id_number"),
        ("phone", "13700001234", "household_member.phone"),
    ],
)
def test_it_reveals_a_household_members_id_number_and_phone(
    field, value, audited, client_for, elder, son
):
    response = client_for("township_a").post(
        f"/elders/{elder.pk}/household/{son.pk}/reveal/{field}/", **HTMX
    )

    assert value in response.content.decode()
    assert reveals().get().detail == {"field": audited, "row_id": son.pk}


def test_it_answers_404_to_a_neighbour_for_a_household_member(client_for, elder, son):
    response = client_for("liaison_b").post(
        f"/elders/{elder.pk}/household/{son.pk}/reveal/id_number/", **HTMX
    )

    assert response.status_code == 404
    assert not reveals().exists()


# The action itself, as commands and the API will call it


def test_it_refuses_in_the_action_a_user_without_the_permission(users, elder):
    with pytest.raises(PermissionDenied):
        reveal.reveal(acting_user=users["visitor_a"], elder=elder, field="id_number")

    assert not reveals().exists()


def test_it_refuses_in_the_action_a_user_outside_the_subtree(users, elder):
    with pytest.raises(PermissionDenied):
        reveal.reveal(acting_user=users["liaison_b"], elder=elder, field="id_number")

    assert not reveals().exists()


def test_it_raises_a_validation_error_naming_the_empty_field(users, elder_without_phone):
    with pytest.raises(ValidationError) as raised:
        reveal.reveal(acting_user=users["liaison_a"], elder=elder_without_phone, field="phone")

    assert raised.value.message_dict == {"phone": [reveal.EMPTY_MESSAGE]}
    assert not reveals().exists()


def test_it_reveals_the_phone_of_a_helping_contact(users, elder):
    helper = HelpReceived.objects.create(
        elder=elder,
        helper_type="volunteer",
        responsible_person="志愿者小张",
        contact_phone_token=crypto.encrypt("13600009999"),
    )

    value = reveal.reveal_contact_phone(acting_user=users["county"], contact=helper)

    assert value == "13600009999"
    assert reveals().get().detail == {"field": "help_received.phone", "row_id": helper.pk}


def test_it_does_not_let_another_villages_liaison_reveal_a_contact(users, contact):
    with pytest.raises(PermissionDenied):
        reveal.reveal_contact_phone(acting_user=users["liaison_b"], contact=contact)

    assert not reveals().exists()


def test_it_keeps_a_village_b_elder_from_village_a(users, regions):
    elder_b = register_elder(
        acting_user=users["liaison_b"],
        id_number=make_id_number("350581", date(1939, 9, 9), 9, "女"),
        name="黄阿婆",
        village=regions[VILLAGE_B],
    )

    assert reveal.may_reveal(users["liaison_b"], elder_b)
    assert reveal.may_reveal(users["county"], elder_b)
    assert not reveal.may_reveal(users["liaison_a"], elder_b)
    assert not reveal.may_reveal(users["township_a"], elder_b)
    assert not reveal.may_reveal(users["visitor_a"], elder_b)

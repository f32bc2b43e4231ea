"""Editing the file section by section: the same checks as at registration,
every error at once, nothing stored on error, each change audited and kept in
the field history (DOMAIN.md "The elder's file")."""

from datetime import date

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import crypto, history
from tanfang.registry.actions import change_status, update_elder
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder, Status
from tanfang.registry.registration import register_elder
from tests.conftest import VILLAGE_A, VILLAGE_B, aware

ID_NUMBER = make_id_number("350581", date(1938, 5, 2), 21, "男")


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def elder(users, regions):
    return register_elder(
        acting_user=users["liaison_a"],
        id_number=ID_NUMBER,
        name="蔡阿伯",
        village=regions[VILLAGE_A],
        phone="13800001111",
    )


def test_it_changes_plain_fields_and_returns_their_names(users, elder):
    changed = update_elder(
        acting_user=users["liaison_a"],
        elder=elder,
        changes={"ability": "severe", "dementia": True, "ethnicity": "汉族", "name": "蔡阿伯"},
    )

    assert sorted(changed) == ["ability", "dementia", "ethnicity"]
    elder.refresh_from_db()
    assert (elder.ability, elder.dementia, elder.ethnicity) == ("severe", True, "汉族")
    event = AuditEvent.objects.get(action=Action.ELDER_UPDATED)
    assert sorted(event.detail["fields"]) == ["ability", "dementia", "ethnicity"]


def test_nothing_changed_writes_nothing(users, elder):
    assert (
        update_elder(acting_user=users["liaison_a"], elder=elder, changes={"name": "蔡阿伯"}) == []
    )
    assert not AuditEvent.objects.filter(action=Action.ELDER_UPDATED).exists()


def test_a_new_phone_is_stored_encrypted_with_its_hash_and_last_four(users, elder):
    changed = update_elder(
        acting_user=users["liaison_a"], elder=elder, changes={"phone": "139 0000 2222"}
    )

    assert changed == ["phone"]
    stored = Elder.objects.get(pk=elder.pk)
    assert "13900002222" not in stored.phone_token
    assert crypto.decrypt(stored.phone_token) == "13900002222"
    assert stored.phone_hash == crypto.lookup_hash("13900002222", kind="phone")
    assert stored.phone_last4 == "2222"


def test_the_same_phone_again_is_no_change(users, elder):
    assert (
        update_elder(acting_user=users["liaison_a"], elder=elder, changes={"phone": "13800001111"})
        == []
    )


def test_a_corrected_id_number_corrects_birth_date_and_sex(users, elder):
    corrected = make_id_number("350581", date(1940, 3, 9), 8, "女")

    update_elder(acting_user=users["liaison_a"], elder=elder, changes={"id_number": corrected})

    stored = Elder.objects.get(pk=elder.pk)
    assert (stored.birth_date, stored.sex) == (date(1940, 3, 9), "女")
    assert stored.id_number_hash == crypto.lookup_hash(corrected, kind="id")
    assert stored.id_last4_hash == crypto.lookup_hash(corrected[-4:], kind="id_last4")


def test_every_bad_field_is_reported_at_once_and_nothing_is_stored(users, regions, elder):
    other = register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", date(1941, 1, 1), 3, "女"),
        name="王阿婆",
        village=regions[VILLAGE_A],
    )
    before = Elder.objects.get(pk=elder.pk).__dict__.copy()

    with pytest.raises(ValidationError) as raised:
        update_elder(
            acting_user=users["liaison_a"],
            elder=elder,
            changes={
                "name": " ",
                "phone": "12345",
                "id_number": crypto.decrypt(other.id_number_token),
                "village": regions[VILLAGE_B],
                "disability_grade": 7,
            },
        )

    errors = raised.value.message_dict
    assert errors["name"] == ["请填写姓名。"]
    assert "phone" in errors
    assert errors["id_number"] == ["该身份证号码已有在册档案，请勿重复登记。"]
    assert errors["village"] == ["该村(社区)不在您的管辖范围内。"]
    after = Elder.objects.get(pk=elder.pk).__dict__
    assert {k: v for k, v in after.items() if k != "_state"} == {
        k: v for k, v in before.items() if k != "_state"
    }
    assert not AuditEvent.objects.filter(action=Action.ELDER_UPDATED).exists()


def test_a_bad_choice_is_reported_by_the_model_check(users, elder):
    with pytest.raises(ValidationError) as raised:
        update_elder(acting_user=users["liaison_a"], elder=elder, changes={"disability_grade": 7})

    assert "disability_grade" in raised.value.message_dict
    assert Elder.objects.get(pk=elder.pk).disability_grade is None


def test_an_under_60_id_number_is_refused(users, elder):
    young = make_id_number("350581", date(1970, 1, 1), 5, "男")

    with pytest.raises(ValidationError) as raised:
        update_elder(acting_user=users["liaison_a"], elder=elder, changes={"id_number": young})

    assert "id_number" in raised.value.message_dict


def test_unknown_and_derived_fields_cannot_be_changed(users, elder):
    with pytest.raises(ValidationError) as raised:
        update_elder(
            acting_user=users["liaison_a"],
            elder=elder,
            changes={"status": "deceased", "quality_warnings": [], "birth_date": date(1950, 1, 1)},
        )

    assert set(raised.value.message_dict) == {"status", "quality_warnings", "birth_date"}


def test_an_outsider_and_a_supervisor_cannot_change_the_file(users, elder):
    with pytest.raises(PermissionDenied):
        update_elder(acting_user=users["liaison_b"], elder=elder, changes={"name": "改名"})
    with pytest.raises(PermissionDenied):
        update_elder(acting_user=users["supervisor"], elder=elder, changes={"name": "改名"})
    assert Elder.objects.get(pk=elder.pk).name == "蔡阿伯"


def test_a_consent_change_records_who_and_when(users, elder, time_machine):
    time_machine.move_to(aware(2026, 11, 24, 9, 0), tick=False)

    update_elder(
        acting_user=users["township_a"], elder=elder, changes={"consents_to_home_visits": False}
    )

    stored = Elder.objects.get(pk=elder.pk)
    assert stored.consent_recorded_by == users["township_a"]
    assert stored.consent_recorded_at == aware(2026, 11, 24, 9, 0)


def test_the_history_says_who_changed_which_field_without_encrypted_values(users, elder):
    update_elder(
        acting_user=users["township_a"],
        elder=elder,
        changes={"ability": "severe", "phone": "13900002222"},
    )

    entries = history.entries_for(elder)
    latest = entries[0]
    assert latest.actor == users["township_a"].full_name
    assert {(c.field, c.old, c.new) for c in latest.changes} == {
        ("能力程度", "空", "重度失能"),
        ("联系电话", "", "已修改"),
    }
    stored = LogEntry.objects.filter(object_pk=str(elder.pk)).values_list("changes", flat=True)
    for changes in stored:
        for value in (changes or {}).get("phone_token", []):
            assert value in (None, "None", history.MASKED)
    assert "13900002222" not in str(list(LogEntry.objects.values_list("changes", flat=True)))
    assert "13800001111" not in str(list(LogEntry.objects.values_list("changes", flat=True)))


def test_a_status_change_is_in_the_history(users, elder):
    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status=Status.DECEASED,
        effective_on=date(2026, 11, 20),
        reason="病逝",
    )

    latest = history.entries_for(elder)[0]
    assert ("状态", "在册", "去世") in {(c.field, c.old, c.new) for c in latest.changes}

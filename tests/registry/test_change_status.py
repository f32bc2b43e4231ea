"""An elder leaves the active registry (moved away, in an institution, deceased)
or returns to it by a status change with date, reason and who; nothing is
deleted (DOMAIN.md "The elder's file")."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry.actions import change_status
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder, Status, StatusChange
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
    )


def change(users, elder, **overrides):
    data = {
        "acting_user": users["liaison_a"],
        "elder": elder,
        "to_status": Status.DECEASED,
        "effective_on": date(2026, 11, 20),
        "reason": "病逝",
    }
    data.update(overrides)
    return change_status(**data)


def test_it_records_the_change_with_date_reason_and_who(users, elder):
    change(users, elder)

    elder.refresh_from_db()
    assert elder.status == Status.DECEASED
    record = StatusChange.objects.get()
    assert (record.from_status, record.to_status) == (Status.ACTIVE, Status.DECEASED)
    assert (record.effective_on, record.reason, record.changed_by) == (
        date(2026, 11, 20),
        "病逝",
        users["liaison_a"],
    )
    event = AuditEvent.objects.get(action=Action.ELDER_STATUS_CHANGED)
    assert event.detail == {"from": "active", "to": "deceased", "effective_on": "2026-11-20"}
    assert event.region_code == VILLAGE_A


def test_it_keeps_the_file(users, elder):
    change(users, elder)

    assert Elder.objects.filter(pk=elder.pk).exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"reason": "  "}, "reason", "请填写变更原因。"),
        ({"effective_on": date(2026, 11, 24)}, "effective_on", "生效日期不能晚于今天。"),
        ({"effective_on": date(1930, 1, 1)}, "effective_on", "生效日期不能早于出生日期。"),
        ({"to_status": Status.ACTIVE}, "to_status", "档案已是“在册”状态。"),
        ({"to_status": Status.MOVED_AWAY}, "destination", "请填写迁往何处。"),
        ({"to_status": Status.IN_INSTITUTION}, "destination", "请填写入住机构名称。"),
    ],
)
def test_it_refuses_a_bad_change_and_writes_nothing(users, elder, overrides, field, message):
    with pytest.raises(ValidationError) as raised:
        change(users, elder, **overrides)

    assert raised.value.message_dict[field] == [message]
    elder.refresh_from_db()
    assert elder.status == Status.ACTIVE
    assert not StatusChange.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.ELDER_STATUS_CHANGED).exists()


def test_it_lets_a_registered_again_id_keep_its_old_file_inactive(users, regions, elder):
    change(users, elder, to_status=Status.MOVED_AWAY, destination="晋江市", reason="随子女迁居")
    again = register_elder(
        acting_user=users["county"], id_number=ID_NUMBER, name="蔡阿伯", village=regions[VILLAGE_B]
    )

    with pytest.raises(ValidationError) as raised:
        change(users, elder, acting_user=users["county"], to_status=Status.ACTIVE, reason="迁回")

    assert raised.value.message_dict["to_status"] == ["该身份证号码已有另一份在册档案，不能恢复。"]
    assert Elder.objects.filter(status=Status.ACTIVE).get() == again


def test_it_refuses_a_user_of_another_village(users, elder):
    with pytest.raises(PermissionDenied):
        change(users, elder, acting_user=users["liaison_b"])

    assert not StatusChange.objects.exists()


def test_it_changes_the_status_on_the_page(client_for, elder):
    client = client_for("liaison_a")
    data = {
        "to_status": "in_institution",
        "effective_on": "2026-11-21",
        "destination": "石狮市福利中心",
        "reason": "入住养老院",
    }

    response = client.post(f"/elders/{elder.pk}/status/", data)

    assert response.status_code == 302
    assert response["Location"] == f"/elders/{elder.pk}/"
    elder.refresh_from_db()
    assert elder.status == Status.IN_INSTITUTION
    page = client.get(f"/elders/{elder.pk}/").content.decode()
    assert "在册 → 入住机构（石狮市福利中心）：入住养老院" in page


def test_it_names_the_missing_destination_on_the_page(client_for, elder):
    data = {
        "to_status": "moved_away",
        "effective_on": "2026-11-21",
        "destination": "",
        "reason": "迁居",
    }

    response = client_for("liaison_a").post(f"/elders/{elder.pk}/status/", data)

    assert response.status_code == 200
    assert response.context["form"].errors == {"destination": ["请填写迁往何处。"]}
    assert not StatusChange.objects.exists()


def test_it_answers_404_to_a_liaison_of_another_village(client_for, elder):
    response = client_for("liaison_b").post(
        f"/elders/{elder.pk}/status/",
        {"to_status": "deceased", "effective_on": "2026-11-21", "reason": "x"},
    )

    assert response.status_code == 404
    assert not StatusChange.objects.exists()

"""Major life changes through the API: GET and POST /api/v1/elders/{id}/life-events
(201 for a new entry, 200 with the entry already there for a repeated
submission, 422 naming the field, 404 outside the user's area) and POST
…/life-events/{id}/withdraw. The same action as the page; nothing is stored
when it refuses."""

from datetime import date

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry.identity import make_id_number
from tanfang.registry.life_events import record_life_event, withdraw_life_event
from tanfang.registry.models import Elder, LifeEvent
from tanfang.registry.registration import register_elder
from tests.conftest import VILLAGE_A, aware

NOW = aware(2026, 11, 23, 10, 0)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def make_elder(users, regions, sequence=1):
    return register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", date(1940, 3, 8), sequence, "女"),
        name=f"林阿婆{sequence}",
        village=regions[VILLAGE_A],
    )


@pytest.fixture
def elder(users, regions):
    return make_elder(users, regions)


def url(elder, part=""):
    return f"/api/v1/elders/{elder.pk}/life-events{part}"


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


def body(**overrides):
    data = {
        "change": "fell",
        "occurred_at": "2026-11-23T08:30:00+08:00",
        "note": "在卫生间跌倒",
        "source": "visit",
    }
    data.update(overrides)
    return data


def refused(response) -> dict[str, list[str]]:
    assert response.status_code == 422, response.content
    found: dict[str, list[str]] = {}
    for error in response.json()["detail"]:
        assert error["loc"][:2] == ["body", "payload"], error
        found.setdefault(error["loc"][2], []).append(error["msg"])
    return found


def record(users, elder, user="liaison_a", **overrides):
    arguments = {
        "acting_user": users[user],
        "elder": elder,
        "change": "fell",
        "occurred_at": aware(2026, 11, 23, 8, 30),
    }
    arguments.update(overrides)
    return record_life_event(**arguments)


# --- Recording -------------------------------------------------------------------------


def test_it_records_an_entry_and_answers_201_with_it(client_for, users, elder, cover):
    cover(elder)  # a visitor records for the elders assigned to them
    response = post(client_for("visitor_a"), url(elder), body())

    assert response.status_code == 201
    event = LifeEvent.objects.get()
    assert response.json() == {
        "id": event.pk,
        "change": "fell",
        "change_label": "跌倒",
        "occurred_at": "2026-11-23T08:30:00+08:00",
        "note": "在卫生间跌倒",
        "source": "visit",
        "recorded_by": {"id": users["visitor_a"].pk, "full_name": "visitor_a"},
        "recorded_at": "2026-11-23T10:00:00+08:00",
        "withdrawn": False,
        "withdrawn_at": None,
        "withdrawn_by": None,
        "withdraw_reason": "",
    }
    assert (event.elder, event.occurred_at, event.recorded_by) == (
        elder,
        aware(2026, 11, 23, 8, 30),
        users["visitor_a"],
    )
    audit = AuditEvent.objects.get(action=Action.LIFE_EVENT_RECORDED)
    assert (audit.actor, audit.object_id) == (users["visitor_a"], str(event.pk))


def test_it_answers_200_with_the_first_entry_for_a_repeated_submission(client_for, elder):
    client = client_for("liaison_a")
    first = post(client, url(elder), body())

    again = post(client, url(elder), body(occurred_at="2026-11-23T08:30:59+08:00"))

    assert again.status_code == 200
    assert again.json() == first.json()
    assert LifeEvent.objects.count() == 1
    assert AuditEvent.objects.filter(action=Action.LIFE_EVENT_RECORDED).count() == 1


def test_it_reads_a_time_without_a_zone_as_beijing_time(client_for, elder):
    response = post(client_for("liaison_a"), url(elder), body(occurred_at="2026-11-23T08:30"))

    assert response.status_code == 201
    assert response.json()["occurred_at"] == "2026-11-23T08:30:00+08:00"
    assert LifeEvent.objects.get().occurred_at == aware(2026, 11, 23, 8, 30)


def test_it_reads_a_time_in_utc(client_for, elder):
    response = post(client_for("liaison_a"), url(elder), body(occurred_at="2026-11-23T00:30:00Z"))

    assert response.status_code == 201
    assert response.json()["occurred_at"] == "2026-11-23T08:30:00+08:00"


def test_it_takes_the_file_as_the_default_source(client_for, elder):
    response = post(
        client_for("liaison_a"),
        url(elder),
        {"change": "hospitalised", "occurred_at": "2026-11-22T15:00:00+08:00"},
    )

    assert response.status_code == 201
    assert (response.json()["source"], response.json()["note"]) == ("file", "")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"change": "stroke"},
            "change",
            "应为以下之一：'hospitalised', 'discharged', 'bereaved', 'fell', 'moved', "
            "'carer_lost', 'disaster'。",
        ),
        ({"occurred_at": "2026-11-23T10:06:00+08:00"}, "occurred_at", "发生时间不能晚于现在。"),
        ({"occurred_at": "1930-01-01T09:00:00+08:00"}, "occurred_at", "发生时间不能早于出生日期。"),
        ({"occurred_at": "昨天"}, "occurred_at", "应为时间（如 2026-12-01T09:30:00+08:00）。"),
        ({"note": "跌" * 201}, "note", "说明不能超过200字。"),
        ({"note": "跌倒\u0000"}, "note", "说明含有无法保存的控制字符，请删除后重新填写。"),
        ({"note": "跌倒\ud800"}, "note", "说明含有无法保存的控制字符，请删除后重新填写。"),
        ({"source": "phone"}, "source", "应为以下之一：'file', 'visit', 'device'。"),
        ({"recorded_by": 1}, "recorded_by", "不接受此字段。"),
    ],
)
def test_it_refuses_a_bad_entry_naming_the_field(client_for, elder, overrides, field, message):
    response = post(client_for("liaison_a"), url(elder), body(**overrides))

    assert refused(response) == {field: [message]}
    assert not LifeEvent.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.LIFE_EVENT_RECORDED).exists()


def test_it_asks_for_the_change_and_the_time(client_for, elder):
    response = post(client_for("liaison_a"), url(elder), {})

    assert refused(response) == {"change": ["此项为必填项。"], "occurred_at": ["此项为必填项。"]}


def test_it_refuses_a_file_no_longer_active(client_for, users, elder):
    Elder.objects.filter(pk=elder.pk).update(status="deceased")

    response = post(client_for("liaison_a"), url(elder), body())

    assert refused(response) == {"elder": ["该老人档案状态为“去世”，不能登记重大变故。"]}
    assert not LifeEvent.objects.exists()


# --- Who may -------------------------------------------------------------------------------


def test_it_answers_404_to_a_liaison_of_another_village(client_for, users, elder):
    record(users, elder)
    client = client_for("liaison_b")

    assert client.get(url(elder)).status_code == 404
    assert post(client, url(elder), body(change="moved")).status_code == 404
    # Whatever the body: the elder is looked for first.
    assert post(client, url(elder), {"nonsense": 1}).status_code == 404
    assert LifeEvent.objects.count() == 1


def test_it_lets_a_supervisor_read_but_not_record(client_for, users, elder):
    record(users, elder)
    client = client_for("supervisor")

    assert client.get(url(elder)).status_code == 200
    response = post(client, url(elder), {"nonsense": 1})
    assert response.status_code == 403
    assert response.json() == {"detail": "您没有权限进行此操作。"}
    assert LifeEvent.objects.count() == 1


# --- Reading --------------------------------------------------------------------------------


def test_it_lists_every_entry_newest_first_withdrawn_ones_too(client_for, users, elder, cover):
    cover(elder)
    fall = record(users, elder)
    hospital = record(users, elder, change="hospitalised", occurred_at=aware(2026, 11, 23, 9, 0))
    withdraw_life_event(acting_user=users["township_a"], event=fall, reason="登记错了")

    response = client_for("visitor_a").get(url(elder))

    assert response.status_code == 200
    data = response.json()
    assert [item["id"] for item in data] == [hospital.pk, fall.pk]
    assert (data[0]["change_label"], data[0]["withdrawn"]) == ("住院", False)
    assert data[1]["withdrawn"] is True
    assert data[1]["withdrawn_at"] == "2026-11-23T10:00:00+08:00"
    assert data[1]["withdrawn_by"] == {"id": users["township_a"].pk, "full_name": "township_a"}
    assert data[1]["withdraw_reason"] == "登记错了"


def test_it_lists_the_entries_with_a_fixed_number_of_queries(
    client_for, users, elder, django_assert_num_queries
):
    for hour in range(5):
        event = record(users, elder, occurred_at=aware(2026, 11, 22, hour, 0))
        withdraw_life_event(acting_user=users["township_a"], event=event, reason="登记错了")
    client = client_for("liaison_a")
    client.get(url(elder))

    # Session, user, OTP device, the user's region; the elder in the user's
    # subtree; the entries with who recorded and withdrew them; the session's
    # last-seen time saved (3).
    with django_assert_num_queries(9):
        assert client.get(url(elder)).status_code == 200


# --- Withdrawing ----------------------------------------------------------------------------


def test_it_withdraws_an_entry_with_the_reason(client_for, users, elder):
    event = record(users, elder)

    response = post(
        client_for("liaison_a"), url(elder, f"/{event.pk}/withdraw"), {"reason": "错了"}
    )

    assert response.status_code == 200
    assert response.json()["withdrawn"] is True
    assert response.json()["withdraw_reason"] == "错了"
    event.refresh_from_db()
    assert (event.withdrawn_by, event.withdraw_reason) == (users["liaison_a"], "错了")
    assert AuditEvent.objects.filter(action=Action.LIFE_EVENT_WITHDRAWN).count() == 1


def test_it_changes_nothing_when_withdrawn_again(client_for, users, elder):
    event = record(users, elder)
    client = client_for("liaison_a")
    post(client, url(elder, f"/{event.pk}/withdraw"), {"reason": "错了"})

    response = post(client, url(elder, f"/{event.pk}/withdraw"), {"reason": "另一个原因"})

    assert response.status_code == 200
    assert response.json()["withdraw_reason"] == "错了"
    assert AuditEvent.objects.filter(action=Action.LIFE_EVENT_WITHDRAWN).count() == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"reason": " "}, "请填写撤销原因。"),
        ({"reason": "错" * 201}, "撤销原因不能超过200字。"),
        ({}, "此项为必填项。"),
    ],
)
def test_it_refuses_a_withdrawal_without_a_good_reason(client_for, users, elder, payload, message):
    event = record(users, elder)

    response = post(client_for("liaison_a"), url(elder, f"/{event.pk}/withdraw"), payload)

    assert refused(response) == {"reason": [message]}
    event.refresh_from_db()
    assert event.withdrawn_at is None


def test_it_answers_404_for_an_entry_of_another_elder(client_for, users, regions, elder):
    other = make_elder(users, regions, 2)
    event = record(users, other)

    response = post(client_for("liaison_a"), url(elder, f"/{event.pk}/withdraw"), {"reason": "错"})

    assert response.status_code == 404
    event.refresh_from_db()
    assert event.withdrawn_at is None


def test_it_answers_404_to_a_liaison_of_another_village_withdrawing(client_for, users, elder):
    event = record(users, elder)

    response = post(client_for("liaison_b"), url(elder, f"/{event.pk}/withdraw"), {"reason": "错"})

    assert response.status_code == 404
    event.refresh_from_db()
    assert event.withdrawn_at is None


def test_it_refuses_a_withdrawal_by_a_supervisor(client_for, users, elder):
    event = record(users, elder)

    response = post(client_for("supervisor"), url(elder, f"/{event.pk}/withdraw"), {"reason": "错"})

    assert response.status_code == 403
    event.refresh_from_db()
    assert event.withdrawn_at is None


# --- The new health fact ------------------------------------------------------------------------


def test_it_reads_and_changes_the_life_threatening_illness(client_for, elder):
    client = client_for("liaison_a")
    path = f"/api/v1/elders/{elder.pk}"
    assert client.get(path).json()["life_threatening_illness"] is False

    response = client.patch(
        path, {"life_threatening_illness": True}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["life_threatening_illness"] is True
    assert Elder.objects.get(pk=elder.pk).life_threatening_illness is True

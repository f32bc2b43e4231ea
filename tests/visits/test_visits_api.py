"""POST/GET /api/v1/visits: 201 for a new record, 200 and nothing changed for the
same UUID and content, 409 for the same UUID with other content, 422 naming the
field for bad input, 404 outside the user's subtree; lists scoped and their
query count pinned."""

import uuid
from datetime import date

import pytest

from tanfang.visits.models import Visit, VisitTask
from tests.conftest import VILLAGE_B, aware
from tests.visits.factories import (
    GOOD,
    PNG,
    assign,
    follow_shishi,
    make_elder,
    make_task,
    make_visitor,
)

URL = "/api/v1/visits"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    # Before October's figures lock on 5 November (issue 16 "Closed months").
    time_machine.move_to(aware(2026, 11, 4, 10, 0), tick=False)


@pytest.fixture
def setting(users, regions):
    follow_shishi(users)
    elder = make_elder(users, regions, ability="severe")
    visitor = make_visitor(users, regions)
    assign(users, elder, visitor)
    task = make_task(elder, date(2026, 10, 1), date(2026, 10, 15), key="regular:10")
    return {"elder": elder, "visitor": visitor, "task": task}


def body(setting, **overrides):
    data = {
        "uuid": str(uuid.UUID(int=7)),
        "elder_id": setting["elder"].pk,
        "mode": "home",
        "visited_at": "2026-10-09T10:30:00+08:00",
        "answers": GOOD,
        "visitor_signature": PNG,
        "elder_signature": PNG,
    }
    data.update(overrides)
    return data


def post(client, data):
    return client.post(URL, data, content_type="application/json")


def test_it_records_a_visit_and_answers_201(client_for, setting):
    response = post(client_for("visitor_a"), body(setting))

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["sequence"] == 1
    assert data["counted"] is True
    assert data["tasks_done"] == [setting["task"].pk]
    assert data["visitors"] == [
        {"id": setting["visitor"].pk, "name": "林秀英", "kind": "grid_worker"}
    ]
    assert data["has_elder_signature"] is True
    assert "elder_signature" not in data
    stored = Visit.objects.get()
    assert str(stored.uuid) == data["uuid"]
    assert VisitTask.objects.get(pk=setting["task"].pk).done_by_visit == stored


def test_it_answers_200_with_the_first_record_for_the_same_uuid_and_content(client_for, setting):
    client = client_for("visitor_a")
    first = post(client, body(setting)).json()

    again = post(client, body(setting, visited_at="2026-10-09T02:30:00Z"))

    assert again.status_code == 200
    assert again.json() == first
    assert Visit.objects.count() == 1


def test_it_answers_409_for_the_same_uuid_with_other_content(client_for, setting):
    client = client_for("visitor_a")
    first = post(client, body(setting)).json()

    response = post(client, body(setting, mode="phone"))

    assert response.status_code == 409
    assert response.json() == {
        "detail": "同一编号的探访记录已存在且内容不同，未作任何修改。",
        "visit_id": first["id"],
    }
    assert Visit.objects.get().mode == "home"


def test_a_liaison_records_on_behalf_of_a_named_visitor(client_for, setting):
    response = post(client_for("liaison_a"), body(setting, visitor_ids=[setting["visitor"].pk]))

    assert response.status_code == 201
    assert Visit.objects.get().recorded_by.username == "liaison_a"


@pytest.mark.parametrize(
    ("overrides", "loc", "words"),
    [
        ({"visited_at": "2026-12-01T10:00:00+08:00"}, "visited_at", "不能晚于现在"),
        ({"visited_at": "2025-12-01T10:00:00+08:00"}, "visited_at", "建档日期"),
        ({"answers": {**GOOD, "gas_safety": "很好"}}, "answers.gas_safety", "燃气安全"),
        ({"elder_signature": ""}, "elder_signature", "签"),
        ({"photo": "data:image/jpeg;base64,/9j/4AAQ"}, "photo", "未同意拍照"),
        ({"needs_found": [{"type": "meals", "met": "maybe"}]}, "needs_found", "应为"),
        ({"mode": "fax"}, "mode", "应为"),
        ({"visitor_ids": [999999]}, "visitor_ids", "不存在"),
    ],
)
def test_it_refuses_bad_input_with_422_naming_the_field(client_for, setting, overrides, loc, words):
    response = post(client_for("visitor_a"), body(setting, **overrides))

    assert response.status_code == 422, response.content
    details = response.json()["detail"]
    assert any(loc in d["loc"] and words in d["msg"] for d in details), details
    assert Visit.objects.count() == 0
    assert VisitTask.objects.filter(done_at__isnull=False).count() == 0


def test_it_refuses_a_visit_to_a_deceased_elder_with_422(client_for, setting):
    type(setting["elder"]).objects.filter(pk=setting["elder"].pk).update(status="deceased")

    response = post(client_for("visitor_a"), body(setting))

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "elder"]
    assert Visit.objects.count() == 0


def test_it_answers_404_for_an_elder_outside_the_subtree(client_for, users, regions, setting):
    other = make_elder(users, regions, 2, village=VILLAGE_B)

    response = post(client_for("visitor_a"), body(setting, elder_id=other.pk))

    assert response.status_code == 404
    assert Visit.objects.count() == 0


def test_it_refuses_a_role_that_does_not_record_visits(client_for, setting):
    response = post(client_for("supervisor"), body(setting))

    assert response.status_code == 403
    assert Visit.objects.count() == 0


def test_it_lists_only_the_visits_of_the_users_subtree(client_for, users, regions, setting):
    post(client_for("visitor_a"), body(setting))

    assert client_for("liaison_a").get(URL).json()["count"] == 1
    assert client_for("county").get(URL).json()["count"] == 1
    assert client_for("liaison_b").get(URL).json()["count"] == 0
    assert client_for("county_other").get(URL).json()["count"] == 0


def test_it_reads_a_visit_in_the_subtree_and_404_outside(client_for, setting):
    visit_id = post(client_for("visitor_a"), body(setting)).json()["id"]

    assert client_for("township_a").get(f"{URL}/{visit_id}").json()["sequence"] == 1
    assert client_for("township_b").get(f"{URL}/{visit_id}").status_code == 404


def test_the_list_takes_a_fixed_number_of_queries(
    client_for, users, regions, setting, django_assert_num_queries
):
    client = client_for("visitor_a")
    for n in range(1, 4):
        elder = make_elder(users, regions, 10 + n, ability="severe")
        assign(users, elder, setting["visitor"])
        post(client, body(setting, uuid=str(uuid.UUID(int=100 + n)), elder_id=elder.pk))
    reader = client_for("county")

    # The session and the user's account, device and region (middleware and
    # scope), then count, page, visitors and completed tasks: not one per visit.
    with django_assert_num_queries(11):
        response = reader.get(URL)

    assert response.json()["count"] == 3


def test_it_gives_the_form_of_the_elders_county(client_for, setting):
    data = client_for("visitor_a").get(f"{URL}/form/{setting['elder'].pk}").json()

    # 000_4970ff49482a0570.txt 附件4: the Fujian form for 石狮.
    assert data["checklist"] == "fujian"
    assert [m["value"] for m in data["modes"]] == ["home", "phone", "video", "other"]
    assert data["signatures"] == ["elder", "visitor"]
    assert "gas_safety" in data["answers_schema"]["properties"]


def test_it_says_before_saving_that_a_phone_visit_will_not_count(client_for, setting):
    url = f"{URL}/check/{setting['elder'].pk}?mode=phone&day=2026-10-09"

    data = client_for("visitor_a").get(url).json()

    assert data["counts"] is False
    assert "电话探访不计入" in data["reasons"][0]


@pytest.mark.parametrize(
    ("overrides", "loc", "message"),
    [
        ({"uuid": "x"}, "uuid", "应为 UUID"),
        ({"visited_at": "yesterday"}, "visited_at", "应为时间"),
        ({"latitude": "north"}, "latitude", "应为数字"),
    ],
)
def test_it_says_in_chinese_what_a_value_of_the_wrong_shape_should_be(
    client_for, setting, overrides, loc, message
):
    response = post(client_for("visitor_a"), body(setting, **overrides))

    assert response.status_code == 422
    detail = next(d for d in response.json()["detail"] if d["loc"][-1] == loc)
    assert detail["msg"].startswith(message), detail

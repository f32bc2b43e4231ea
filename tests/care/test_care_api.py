"""/api/v1/needs, /hazards, /emergencies: the closed loop through the JSON API,
with the pages' scope (404 outside the subtree), permissions (403 before the
body is read), validation (422 in Chinese, nothing stored) and audit; list
query counts pinned whatever the number of rows."""

import base64

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.care.models import Emergency, EmergencyStep, Hazard, Need, NeedEvent
from tanfang.visits.models import Visitor, VisitTask
from tests.care.conftest import visit_of
from tests.conftest import VILLAGE_A, VILLAGE_B, aware
from tests.visits.factories import GOOD, assign, make_elder, make_visitor

API = "/api/v1"
JPEG = b"\xff\xd8\xff\xe0" + b"0" * 100
JPEG_URL = "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()
UNSAFE_GAS = {**GOOD, "gas_safety": "unsafe"}


def post(client, path, data=None):
    return client.post(API + path, data or {}, content_type="application/json")


def patch(client, path, data):
    return client.patch(API + path, data, content_type="application/json")


def snapshot():
    """Everything the closed loop stores, to show a refused request stored nothing."""
    return (
        list(Need.objects.values().order_by("pk")),
        NeedEvent.objects.count(),
        list(Hazard.objects.values().order_by("pk")),
        list(Emergency.objects.values().order_by("pk")),
        EmergencyStep.objects.count(),
        VisitTask.objects.count(),
        AuditEvent.objects.count(),
    )


def audited(action, target):
    return AuditEvent.objects.filter(action=action, object_id=str(target)).count()


def refused(response, field, words):
    assert response.status_code == 422, response.content
    details = response.json()["detail"]
    assert any(d["loc"][-1] == field and words in d["msg"] for d in details), details


@pytest.fixture
def need(client_for, elder):
    response = post(
        client_for("visitor_a"),
        "/needs",
        {"elder_id": elder.pk, "need_type": "meals", "source": "phone", "description": "要送餐"},
    )
    assert response.status_code == 201, response.content
    return response.json()


def measured(client, need_id, **overrides):
    body = {"measure": "联系助餐点每日送餐", "responsible_unit": "灵秀镇民政办"}
    body["due_on"] = "2026-12-10"
    body.update(overrides)
    return post(client, f"/needs/{need_id}/measure", body)


@pytest.fixture
def hazard(client_for, elder):
    response = post(
        client_for("visitor_a"),
        "/hazards",
        {"elder_id": elder.pk, "item": "housing", "severity": "major", "description": "后墙开裂"},
    )
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def emergency(client_for, elder):
    response = post(
        client_for("visitor_a"),
        "/emergencies",
        {
            "elder_id": elder.pk,
            "kind": "fall",
            "source": "phone",
            "description": "老人在家中跌倒，无法起身",
            "raised_at": "2026-11-23T08:30:00+08:00",
        },
    )
    assert response.status_code == 201, response.content
    return response.json()


# Needs ------------------------------------------------------------------------------


def test_it_raises_a_need_with_its_first_event_and_audit(need, elder, users):
    stored = Need.objects.get(pk=need["id"])
    assert (stored.elder, stored.need_type, stored.source, stored.status) == (
        elder,
        "meals",
        "phone",
        "open",
    )
    assert stored.created_by == users["visitor_a"]
    assert [(e["from_status"], e["to_status"]) for e in need["events"]] == [("", "open")]
    assert need["elder"] == {"id": elder.pk, "name": elder.name}
    assert need["village"]["code"] == VILLAGE_A
    assert need["created_at"] == "2026-11-23T10:00:00+08:00"
    assert audited(Action.NEED_RAISED, need["id"]) == 1


def test_a_need_goes_round_the_loop_with_its_measure(client_for, need):
    # 001_35a01bee4c628ebd.txt 二(二)5: 帮扶需求和帮扶措施要一一对应，形成闭环.
    client = client_for("liaison_a")
    url = f"/needs/{need['id']}"

    data = measured(client, need["id"], responsible_person="王主任").json()
    assert (data["measure"], data["responsible_person"], data["due_on"]) == (
        "联系助餐点每日送餐",
        "王主任",
        "2026-12-10",
    )
    assert post(client, f"{url}/status", {"status": "in_progress"}).status_code == 200
    data = post(client, f"{url}/status", {"status": "resolved", "note": "已送餐"}).json()

    assert data["status"] == "resolved"
    assert data["resolved_at"] == "2026-11-23T10:00:00+08:00"
    assert [e["to_status"] for e in data["events"]] == ["open", "in_progress", "resolved"]
    assert data["events"][-1]["note"] == "已送餐"
    # 000_4970ff49482a0570.txt 四(三)三是: the follow-up visit it now owes.
    task = data["follow_up_task"]
    assert (task["state"], task["label"], task["window_start"]) == (
        "open",
        "跟踪回访：助餐",
        "2026-11-24",
    )
    assert VisitTask.objects.get(pk=task["id"]).kind == "follow_up"
    assert audited(Action.NEED_MEASURE_SET, need["id"]) == 1
    assert audited(Action.NEED_STATUS_CHANGED, need["id"]) == 2


def test_a_follow_up_that_finds_the_need_unsolved_sends_it_back(
    client_for, users, elder, visitor, need
):
    manager = client_for("liaison_a")
    measured(manager, need["id"])
    resolved = post(manager, f"/needs/{need['id']}/status", {"status": "resolved"}).json()
    later = visit_of(users, elder, visitor, number=5, visited_at=aware(2026, 11, 23, 9, 30))

    response = post(
        client_for("visitor_a"),
        f"/needs/{need['id']}/not-resolved",
        {"note": "送餐只送了三天", "visit_id": later.pk},
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["status"], data["resolved_at"]) == ("in_progress", None)
    assert data["events"][-1]["visit_id"] == later.pk
    task = VisitTask.objects.get(pk=resolved["follow_up_task"]["id"])
    assert task.cancel_reason == "回访发现需求未解决"
    assert audited(Action.NEED_NOT_RESOLVED, need["id"]) == 1


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        ("/needs", {"need_type": "meals", "source": "phone"}, "elder_id", "必填"),
        ("/needs", {"need_type": "flying", "source": "phone"}, "need_type", "应为以下之一"),
        ("/needs", {"need_type": "meals", "source": "visit"}, "visit_id", "探访记录"),
        (
            "/needs",
            {"need_type": "meals", "source": "phone", "visit_id": 99999},
            "visit_id",
            "不存在",
        ),
        ("/needs", {"need_type": "meals", "source": "phone", "x": 1}, "x", "不接受"),
        ("/needs/{need}/measure", {"responsible_unit": "民政办"}, "measure", "请填写帮扶措施"),
        (
            "/needs/{need}/measure",
            {"measure": "送餐", "responsible_unit": "民政办", "due_on": "2026-11-01"},
            "due_on",
            "不能早于需求登记日期",
        ),
        ("/needs/{need}/measure", {"measure": "送餐", "due_on": "明天"}, "due_on", "应为日期"),
        # 001_35a01bee4c628ebd.txt 二(二)5: no move on without the measure.
        ("/needs/{need}/status", {"status": "resolved"}, "status", "一项需求对应一项帮扶措施"),
        ("/needs/{need}/status", {"status": "declined"}, "note", "请填写说明"),
        ("/needs/{need}/status", {"status": "done"}, "status", "应为以下之一"),
        ("/needs/{need}/not-resolved", {"note": "没有解决"}, "need", "只有已解决的需求"),
    ],
)
def test_it_refuses_bad_needs_with_422_in_chinese_and_stores_nothing(
    client_for, elder, need, path, body, field, words
):
    if path == "/needs":
        body = {"elder_id": elder.pk, **body} if field != "elder_id" else body
    client = client_for("liaison_a")
    before = snapshot()

    response = post(client, path.format(need=need["id"]), body)

    refused(response, field, words)
    assert snapshot() == before


def test_it_lists_needs_by_filter(client_for, users, regions, need, time_machine):
    measured(client_for("liaison_a"), need["id"], due_on="2026-11-25")
    other = make_elder(users, regions, 2)
    assign(users, other, Visitor.objects.get(user=users["visitor_a"]))  # the visitor's own
    time_machine.move_to(aware(2026, 11, 30, 10, 0), tick=False)
    newer = post(
        client_for("visitor_a"),
        "/needs",
        {"elder_id": other.pk, "need_type": "medical", "source": "family"},
    ).json()
    manager = client_for("liaison_a")

    def ids(query):
        response = manager.get(f"{API}/needs?{query}")
        assert response.status_code == 200, response.content
        return [n["id"] for n in response.json()["items"]]

    assert ids("") == [need["id"], newer["id"]]
    assert ids("need_type=medical") == [newer["id"]]
    assert ids("status=open_all") == [need["id"], newer["id"]]
    assert ids("status=resolved") == []
    assert ids("overdue=true") == [need["id"]]
    assert ids("min_age_days=7") == [need["id"]]
    assert ids(f"subtree={VILLAGE_A}") == [need["id"], newer["id"]]
    assert ids("page=2&page_size=1") == [newer["id"]]
    first = manager.get(f"{API}/needs").json()["items"][0]
    assert (first["overdue"], first["age_days"]) == (True, 7)


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("status=closed", "status", "应为以下之一"),
        ("need_type=flying", "need_type", "应为以下之一"),
        ("min_age_days=-1", "min_age_days", "不能小于 0"),
        (f"subtree={VILLAGE_B}", "subtree", "不在您的管辖范围内"),
    ],
)
def test_it_refuses_bad_list_filters_in_chinese(client_for, need, query, field, words):
    response = client_for("liaison_a").get(f"{API}/needs?{query}")

    refused(response, field, words)


# Hazards ----------------------------------------------------------------------------


def test_it_raises_a_hazard_graded_and_audited(hazard, users):
    stored = Hazard.objects.get(pk=hazard["id"])
    assert (stored.item, stored.severity, stored.status, stored.description) == (
        "housing",
        "major",
        "open",
        "后墙开裂",
    )
    assert stored.created_by == users["visitor_a"]
    assert (hazard["severity_label"], hazard["found_at"]) == ("重大", "2026-11-23T10:00:00+08:00")
    assert audited(Action.HAZARD_RAISED, hazard["id"]) == 1


def test_it_changes_only_the_fields_sent_and_audits(client_for, hazard):
    response = patch(client_for("visitor_a"), f"/hazards/{hazard['id']}", {"severity": "serious"})

    assert response.status_code == 200, response.content
    stored = Hazard.objects.get(pk=hazard["id"])
    assert (stored.severity, stored.description) == ("serious", "后墙开裂")
    assert audited(Action.HAZARD_CHANGED, hazard["id"]) == 1


def test_it_records_the_reminder(client_for, users, hazard):
    # 001_35a01bee4c628ebd.txt 二(二)2: 提醒其及时消除隐患.
    response = post(client_for("visitor_a"), f"/hazards/{hazard['id']}/remind", {"family": True})

    assert response.status_code == 200, response.content
    stored = Hazard.objects.get(pk=hazard["id"])
    assert (stored.reminded_elder, stored.reminded_family) == (False, True)
    assert stored.reminded_by == users["visitor_a"]
    assert audited(Action.HAZARD_REMINDED, hazard["id"]) == 1


def test_a_later_visit_confirms_the_removal_and_reopening_clears_it(
    client_for, users, elder, visitor
):
    found = visit_of(users, elder, visitor, number=1, answers=UNSAFE_GAS)
    hazard = Hazard.objects.get(visit=found)
    later = visit_of(users, elder, visitor, number=2, visited_at=aware(2026, 11, 23, 9, 40))
    visitor_client = client_for("visitor_a")
    offered = visitor_client.get(f"{API}/hazards/{hazard.pk}").json()["removal_candidates"]
    assert [v["id"] for v in offered] == [later.pk]

    response = post(visitor_client, f"/hazards/{hazard.pk}/removed", {"visit_id": later.pk})

    assert response.status_code == 200, response.content
    assert response.json()["removed_at"] == "2026-11-23T09:40:00+08:00"
    hazard.refresh_from_db()
    assert (hazard.status, hazard.removal_visit) == ("removed", later)
    assert audited(Action.HAZARD_REMOVED, hazard.pk) == 1

    response = post(client_for("liaison_a"), f"/hazards/{hazard.pk}/reopen", {"note": "又漏气"})

    assert response.status_code == 200, response.content
    hazard.refresh_from_db()
    assert (hazard.status, hazard.removal_visit) == ("open", None)
    assert audited(Action.HAZARD_REOPENED, hazard.pk) == 1


def test_a_photo_as_a_data_url_confirms_the_removal(client_for, hazard, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    response = post(
        client_for("visitor_a"),
        f"/hazards/{hazard['id']}/removed",
        {"photo": JPEG_URL, "note": "已加固"},
    )

    assert response.status_code == 200, response.content
    assert response.json()["has_removal_photo"] is True
    stored = Hazard.objects.get(pk=hazard["id"])
    assert stored.status == "removed"
    assert stored.removal_photo.read() == JPEG


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        ("/hazards", {"item": "ghosts"}, "item", "应为以下之一"),
        ("/hazards", {"item": "gas"}, "description", "请填写隐患说明"),
        ("/hazards/{hazard}/remind", {}, "elder", "请选择已提醒的对象"),
        ("/hazards/{hazard}/removed", {"note": "说是修好了"}, "visit_id", "上传隐患消除后的照片"),
        ("/hazards/{hazard}/removed", {"photo": "data:image/gif;base64,R0lG"}, "photo", "JPEG"),
        ("/hazards/{hazard}/removed", {"photo": "data:image/jpeg;base64,@@"}, "photo", "无法读取"),
        (
            "/hazards/{hazard}/removed",
            {"photo": "data:image/png;base64," + base64.b64encode(b"GIF89a").decode()},
            "photo",
            "JPEG 或 PNG",
        ),
        ("/hazards/{hazard}/removed", {"visit_id": 99999}, "visit_id", "不存在"),
        ("/hazards/{hazard}/reopen", {"note": "再看看"}, "hazard", "尚未消除"),
        ("/hazards/{hazard}/reopen", {"note": 5}, "note", "应为文本"),
    ],
)
def test_it_refuses_bad_hazards_with_422_in_chinese_and_stores_nothing(
    client_for, elder, hazard, path, body, field, words
):
    if path == "/hazards":
        body = {"elder_id": elder.pk, **body}
    client = client_for("liaison_a")
    before = snapshot()

    response = post(client, path.format(hazard=hazard["id"]), body)

    refused(response, field, words)
    assert snapshot() == before


def test_it_refuses_a_photo_when_the_elder_does_not_consent(client_for, users, regions):
    other = make_elder(users, regions, 2)
    assign(users, other, make_visitor(users, regions))  # the visitor's own
    made = post(
        client_for("visitor_a"),
        "/hazards",
        {"elder_id": other.pk, "item": "electricity", "description": "电线老化"},
    ).json()
    client = client_for("visitor_a")
    before = snapshot()

    response = post(client, f"/hazards/{made['id']}/removed", {"photo": JPEG_URL})

    refused(response, "photo", "老人未同意拍照")
    assert snapshot() == before


def test_it_lists_hazards_by_filter(client_for, users, elder, visitor, hazard):
    visit_of(users, elder, visitor, number=1, answers=UNSAFE_GAS)
    gas = Hazard.objects.get(item="gas")
    reader = client_for("township_a")

    def ids(query):
        response = reader.get(f"{API}/hazards?{query}")
        assert response.status_code == 200, response.content
        return [h["id"] for h in response.json()["items"]]

    assert ids("") == [hazard["id"], gas.pk]
    assert ids("item=housing") == [hazard["id"]]
    assert ids("severity=ordinary") == [gas.pk]
    assert ids("status=removed") == []
    assert ids("min_age_days=1") == []
    refused(reader.get(f"{API}/hazards?severity=huge"), "severity", "应为以下之一")


# Emergencies ------------------------------------------------------------------------


def step(client, emergency_id, **body):
    return post(client, f"/emergencies/{emergency_id}/steps", body)


def test_it_raises_an_emergency_at_the_time_given(emergency, users):
    stored = Emergency.objects.get(pk=emergency["id"])
    assert stored.raised_at == aware(2026, 11, 23, 8, 30)
    assert stored.raised_by == users["visitor_a"]
    assert (emergency["closed"], emergency["steps"]) == (False, [])
    assert audited(Action.EMERGENCY_RAISED, emergency["id"]) == 1


def test_it_records_the_steps_and_closes_with_the_follow_up(client_for, emergency):
    # 001_35a01bee4c628ebd.txt 二(五)1: 拨打紧急求助电话，联系家庭成员，报告村（社区）.
    visitor = client_for("visitor_a")
    pk = emergency["id"]
    assert (
        step(
            visitor, pk, kind="help_called", at="2026-11-23T08:32:00+08:00", number="120"
        ).status_code
        == 201
    )
    step(
        visitor,
        pk,
        kind="family_notified",
        at="2026-11-23T00:35:00Z",
        whom="儿子",
        how="phone",
        answered=False,
    )
    response = step(
        visitor, pk, kind="village_informed", at="2026-11-23T08:40:00+08:00", how="phone"
    )
    assert response.status_code == 201, response.content
    steps = response.json()["steps"]
    assert [s["kind"] for s in steps] == ["help_called", "family_notified", "village_informed"]
    assert steps[1]["at"] == "2026-11-23T08:35:00+08:00"
    assert audited(Action.EMERGENCY_STEP_RECORDED, pk) == 3

    response = post(
        client_for("liaison_a"),
        f"/emergencies/{pk}/close",
        {"outcome_kind": "hospital", "outcome": "送市医院，已无大碍"},
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["closed"], data["outcome_kind"]) == (True, "hospital")
    assert data["follow_up_task"]["state"] == "open"
    assert Emergency.objects.get(pk=pk).closed_at == aware(2026, 11, 23, 10, 0)
    assert audited(Action.EMERGENCY_CLOSED, pk) == 1
    # Archived: read-only (事后做好处置情况记录归档).
    refused(
        step(visitor, pk, kind="other", at="2026-11-23T09:00:00+08:00", note="补记"),
        "emergency",
        "已结案归档",
    )


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"raised_at": "今天早上"}, "raised_at", "应为时间"),
        ({"raised_at": "2026-11-24T08:30:00+08:00"}, "raised_at", "不能晚于现在"),
        ({"description": ""}, "description", "请填写情况描述"),
        ({"kind": "flood"}, "kind", "应为以下之一"),
        ({"source": "visit"}, "visit_id", "探访记录"),
    ],
)
def test_it_refuses_bad_emergencies_with_422_in_chinese_and_stores_nothing(
    client_for, elder, body, field, words
):
    data = {"elder_id": elder.pk, "kind": "fall", "source": "phone", "description": "跌倒"}
    client = client_for("visitor_a")
    before = snapshot()

    response = post(client, "/emergencies", {**data, **body})

    refused(response, field, words)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"kind": "help_called", "at": "8:40"}, "at", "应为时间"),
        ({"kind": "help_called", "at": "2026-11-23T08:40:00+08:00"}, "number", "120、119 或 110"),
        (
            {"kind": "help_called", "at": "2026-11-23T08:00:00+08:00", "number": "120"},
            "at",
            "不能早于",
        ),
        (
            {"kind": "family_notified", "at": "2026-11-23T08:40:00+08:00", "how": "phone"},
            "whom",
            "请填写联系对象",
        ),
        (
            {"kind": "family_notified", "at": "2026-11-23T08:40:00+08:00", "how": "fax"},
            "how",
            "应为以下之一",
        ),
        ({"kind": "other", "at": "2026-11-23T08:40:00+08:00"}, "note", "请填写说明"),
    ],
)
def test_it_refuses_bad_steps_with_422_in_chinese_and_stores_nothing(
    client_for, emergency, body, field, words
):
    client = client_for("visitor_a")
    before = snapshot()

    response = step(client, emergency["id"], **body)

    refused(response, field, words)
    assert snapshot() == before


def test_it_refuses_to_close_before_the_required_steps(client_for, emergency):
    # 001_35a01bee4c628ebd.txt 二(五)1, 004_1657df0ed1e05604.txt 二(三)7.
    client = client_for("liaison_a")
    before = snapshot()

    response = post(
        client,
        f"/emergencies/{emergency['id']}/close",
        {"outcome_kind": "hospital", "outcome": "送医"},
    )

    refused(response, "emergency", "尚未记录拨打紧急求助电话")
    refused(response, "emergency", "尚未记录报告老人居住所在村（社区）")
    assert snapshot() == before


def test_it_lists_emergencies_by_filter(client_for, emergency, elder):
    reader = client_for("county")

    def ids(query):
        response = reader.get(f"{API}/emergencies?{query}")
        assert response.status_code == 200, response.content
        return [e["id"] for e in response.json()["items"]]

    assert ids("") == [emergency["id"]]
    assert ids("state=open&kind=fall") == [emergency["id"]]
    assert ids("state=closed") == []
    assert ids("kind=fire") == []
    refused(reader.get(f"{API}/emergencies?state=done"), "state", "应为以下之一")


# Who may call, and where ------------------------------------------------------------

# (method, path, a body the schema accepts) for every write naming an object.
WRITES = [
    ("post", "/needs/{need}/measure", {"measure": "送餐", "responsible_unit": "民政办"}),
    ("post", "/needs/{need}/status", {"status": "declined", "note": "老人谢绝"}),
    ("post", "/needs/{need}/not-resolved", {"note": "没有解决"}),
    ("patch", "/hazards/{hazard}", {"severity": "serious"}),
    ("post", "/hazards/{hazard}/remind", {"elder": True}),
    ("post", "/hazards/{hazard}/removed", {"photo": JPEG_URL}),
    ("post", "/hazards/{hazard}/reopen", {"note": "又坏了"}),
    (
        "post",
        "/emergencies/{emergency}/steps",
        {"kind": "other", "at": "2026-11-23T09:00:00+08:00", "note": "x"},
    ),
    ("post", "/emergencies/{emergency}/close", {"outcome_kind": "cleared", "outcome": "无事"}),
]
READS = ["/needs/{need}", "/hazards/{hazard}", "/emergencies/{emergency}"]


@pytest.fixture
def objects(need, hazard, emergency):
    return {"need": need["id"], "hazard": hazard["id"], "emergency": emergency["id"]}


@pytest.mark.parametrize("username", ["township_b", "liaison_b", "county_other"])
def test_it_answers_404_for_the_objects_of_another_region_and_stores_nothing(
    client_for, objects, username
):
    client = client_for(username)
    before = snapshot()

    for path in READS:
        assert client.get(API + path.format(**objects)).status_code == 404, path
    for method, path, body in WRITES:
        response = getattr(client, method)(
            API + path.format(**objects), body, content_type="application/json"
        )
        assert response.status_code == 404, path
        assert response.json() == {"detail": "未找到"}
    assert snapshot() == before


# What each kind of record needs besides the elder and a description.
FIRST = {
    "/needs": {"need_type": "meals", "source": "phone"},
    "/hazards": {"item": "gas"},
    "/emergencies": {"kind": "fall", "source": "phone"},
}


@pytest.mark.parametrize("path", list(FIRST))
def test_it_answers_404_for_an_elder_of_another_region(client_for, users, regions, path):
    stranger = make_elder(users, regions, 3, village=VILLAGE_B)
    body = {"elder_id": stranger.pk, "description": "x", **FIRST[path]}
    client = client_for("visitor_a")
    before = snapshot()

    response = post(client, path, body)

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    ("username", "method", "path"),
    [
        # The supervisor reads only.
        *[("supervisor", m, p) for m, p, _ in WRITES],
        ("supervisor", "post", "/needs"),
        ("supervisor", "post", "/hazards"),
        ("supervisor", "post", "/emergencies"),
        # A visitor raises and records, but does not decide (Perm.CARE_MANAGE).
        ("visitor_a", "post", "/needs/{need}/measure"),
        ("visitor_a", "post", "/needs/{need}/status"),
        ("visitor_a", "post", "/hazards/{hazard}/reopen"),
        ("visitor_a", "post", "/emergencies/{emergency}/close"),
    ],
)
def test_it_refuses_a_role_without_the_permission_with_403_before_reading_the_body(
    client_for, objects, username, method, path
):
    client = client_for(username)
    before = snapshot()

    # A body the schema would refuse: the 403 comes first.
    response = getattr(client, method)(
        API + path.format(**objects), {"bogus": 1}, content_type="application/json"
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "您没有权限进行此操作。"}
    assert snapshot() == before


@pytest.mark.parametrize("path", ["/needs", "/hazards", "/emergencies", *READS])
def test_the_supervisor_reads_and_the_administrators_do_not(client_for, objects, path):
    url = API + path.format(**objects)

    assert client_for("supervisor").get(url).status_code == 200
    assert client_for("auditor").get(url).status_code == 403


def test_it_answers_401_to_an_anonymous_caller(client, objects):
    before = snapshot()

    response = post(client, "/needs/{need}/status".format(**objects), {"status": "declined"})

    assert response.status_code == 401
    assert snapshot() == before


# Query counts -----------------------------------------------------------------------


def _fill(client, users, regions, rows):
    """`rows` elders of 村A, each with a need (resolved, so with a follow-up task),
    a hazard and an emergency with a step."""
    manager = client
    for n in range(rows):
        elder = make_elder(users, regions, 20 + n)
        need = post(
            manager, "/needs", {"elder_id": elder.pk, "need_type": "meals", "source": "phone"}
        ).json()
        measured(manager, need["id"])
        post(manager, f"/needs/{need['id']}/status", {"status": "resolved"})
        post(manager, "/hazards", {"elder_id": elder.pk, "item": "gas", "description": "漏气"})
        made = post(
            manager,
            "/emergencies",
            {"elder_id": elder.pk, "kind": "fall", "source": "phone", "description": "跌倒"},
        ).json()
        step(manager, made["id"], kind="other", at="2026-11-23T10:00:00+08:00", note="到场")


@pytest.mark.parametrize("rows", [1, 4])
@pytest.mark.parametrize("path", ["/needs", "/hazards", "/emergencies"])
def test_the_lists_take_a_fixed_number_of_queries(
    client_for, users, regions, django_assert_num_queries, rows, path
):
    _fill(client_for("liaison_a"), users, regions, rows)
    reader = client_for("county")

    # The session and the user's account, device and region (middleware and
    # scope), the region filtered on, the count and the page, and the session's
    # last-seen time written back (three): not one per row.
    with django_assert_num_queries(10):
        response = reader.get(f"{API}{path}?subtree={VILLAGE_A}")

    assert response.json()["count"] == rows


def test_it_reads_a_time_without_its_zone_as_beijing_time(client_for, elder):
    """As `POST /visits` does: "08:30" is 08:30 in Asia/Shanghai."""
    response = post(
        client_for("visitor_a"),
        "/emergencies",
        {
            "elder_id": elder.pk,
            "kind": "fall",
            "source": "phone",
            "description": "老人在家中跌倒",
            "raised_at": "2026-11-23T08:30:00",
        },
    )

    assert response.status_code == 201, response.content
    assert Emergency.objects.get(pk=response.json()["id"]).raised_at == aware(2026, 11, 23, 8, 30)

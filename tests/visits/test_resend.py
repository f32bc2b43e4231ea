"""Resending a visit never makes a second one (issue 16): the phone's outbox
sends a record again after a lost answer, a reconnect or a second tab; the page
is posted twice by a double tap or a resubmission. The same UUID returns the
visit stored first, and the needs and hazards it found are entered once.

The outbox sends through the JSON API what the page would post
(tanfang/static/js/visit_form.js builds it): the same content, so a record the
page stored and the outbox sends again is the same visit (200), not a conflict.
The photo travels in the JSON body as a data URL, with the same checks as the
page's upload (tanfang/photos.py), in a body of up to 8 MB.

The clock stands on 2026-11-23 10:00; the key elder (石狮) owes a home visit in
16–30 November.
"""

import base64
import uuid
from datetime import date

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.care.models import Hazard, Need
from tanfang.registry.models import Elder
from tanfang.visits.actions import checklist_for, record_visit
from tanfang.visits.models import Visit, VisitTask
from tests.conftest import aware
from tests.visits.factories import (
    GOOD,
    PNG,
    assign,
    follow_shishi,
    make_elder,
    make_task,
    make_visitor,
)
from tests.visits.test_visit_form_page import FORM_UUID, posted, stored_answers

API = "/api/v1/visits"
NEEDS = [{"type": "meals", "met": False, "note": "腿脚不便，做饭困难"}]
# 不安全 on the gas: a hazard (000_4970ff49482a0570.txt 附件4 安全隐患).
UNSAFE_GAS = {**GOOD, "gas_safety": "unsafe"}
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def setting(users, regions):
    follow_shishi(users)
    elder = make_elder(users, regions, ability="severe")
    VisitTask.objects.filter(elder=elder).delete()
    visitor = make_visitor(users, regions)
    assign(users, elder, visitor)
    task = make_task(elder, date(2026, 11, 16), date(2026, 11, 30))
    return {"elder": elder, "visitor": visitor, "task": task}


def care_rows():
    return Need.objects.count(), Hazard.objects.count()


def data_url(raw: bytes, kind: str = "jpeg") -> str:
    return f"data:image/{kind};base64," + base64.b64encode(raw).decode()


def body(setting, **overrides):
    data = {
        "uuid": str(uuid.UUID(int=16)),
        "elder_id": setting["elder"].pk,
        "mode": "home",
        "visited_at": "2026-11-23T09:30",
        "visitor_ids": [setting["visitor"].pk],
        "answers": UNSAFE_GAS,
        "needs_found": NEEDS,
        "visitor_signature": PNG,
        "elder_signature": PNG,
    }
    data.update(overrides)
    return data


def send(client, data):
    return client.post(API, data, content_type="application/json")


# --- The action -------------------------------------------------------------------


def test_the_same_uuid_twice_with_needs_and_a_hazard_makes_one_visit_and_one_set_of_care_rows(
    users, setting
):
    def once():
        return record_visit(
            acting_user=users["visitor_a"],
            uuid=uuid.UUID(int=16),
            elder=setting["elder"],
            mode="home",
            visited_at=aware(2026, 11, 23, 9, 30),
            visitors=[setting["visitor"]],
            answers=UNSAFE_GAS,
            needs_found=NEEDS,
            visitor_signature=PNG,
            elder_signature=PNG,
        )

    first = once()
    again = once()

    assert (first.created, again.created) == (True, False)
    assert again.visit == first.visit
    assert Visit.objects.count() == 1
    assert care_rows() == (1, 1)
    assert Hazard.objects.get().visit == first.visit
    assert Need.objects.get().visit == first.visit
    assert VisitTask.objects.get(pk=setting["task"].pk).done_by_visit == first.visit
    assert AuditEvent.objects.filter(action=Action.VISIT_RECORDED).count() == 1


# --- The API, as the outbox sends -------------------------------------------------


def test_a_record_sent_twice_through_the_api_is_one_visit(client_for, setting):
    client = client_for("visitor_a")

    first = send(client, body(setting))
    again = send(client, body(setting))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Visit.objects.count() == 1
    assert care_rows() == (1, 1)


def test_a_record_the_page_stored_and_the_outbox_sends_again_is_the_same_visit(client_for, setting):
    """The page's post (multipart, as a browser sends it: text areas with CRLF)
    and the outbox's JSON for the same record (visit_form.js `payload()`)."""
    client = client_for("visitor_a")
    page = posted(
        setting,
        answer_gas_safety="unsafe",
        need_meals="on",
        need_meals_met="no",
        need_meals_note=" 腿脚不便，做饭困难 ",
        services_given="送去大米一袋。\r\n检查了燃气灶。",
        ended_at="2026-11-23T01:40:00.000Z",
    )
    stored = client.post(f"/visits/new/{setting['elder'].pk}/", page)
    assert stored.status_code == 302
    visit = Visit.objects.get()

    outbox = {
        "uuid": FORM_UUID,
        "elder_id": setting["elder"].pk,
        "mode": "home",
        "visited_at": "2026-11-23T09:30",
        "visitor_ids": [setting["visitor"].pk],
        "refused": False,
        # The answers as visit_form.js reads them from the page (VisitForm.answers).
        "answers": {**stored_answers(checklist_for(setting["elder"])), "gas_safety": "unsafe"},
        "needs_found": [{"type": "meals", "met": False, "note": "腿脚不便，做饭困难"}],
        "services_given": "送去大米一袋。\r\n检查了燃气灶。",
        "suggestions": "",
        "satisfaction": "",
        "notes": "",
        "visitor_signature": PNG,
        "elder_signature": PNG,
        "started_at": "2026-11-23T01:10:00.000Z",
        "ended_at": "2026-11-23T01:40:00.000Z",
        "latitude": "24.731234",
        "longitude": "118.654321",
        "location_accuracy": 12,
        "late_reason": "",
    }
    again = send(client, outbox)

    assert again.status_code == 200, again.json()
    assert again.json()["id"] == visit.pk
    assert Visit.objects.count() == 1
    assert care_rows() == (1, 1)


def test_a_resent_record_with_other_content_is_a_conflict_and_changes_nothing(client_for, setting):
    client = client_for("visitor_a")
    send(client, body(setting))

    other = send(client, body(setting, notes="另一次探访"))

    assert other.status_code == 409
    assert other.json()["visit_id"] == Visit.objects.get().pk
    assert "内容不同" in other.json()["detail"]
    assert care_rows() == (1, 1)


# --- The page, posted twice -----------------------------------------------------------


def test_a_page_refused_then_corrected_then_posted_twice_stores_one_visit(client_for, setting):
    client = client_for("visitor_a")
    url = f"/visits/new/{setting['elder'].pk}/"
    findings = {"answer_gas_safety": "unsafe", "need_meals": "on", "need_meals_met": "no"}

    refused = client.post(url, posted(setting, elder_signature="", **findings))
    assert refused.status_code == 200
    # The end time is taken again at the next tap; the UUID stays.
    assert refused.context["form"]["ended_at"].value() == ""
    assert refused.context["form"]["uuid"].value() == FORM_UUID
    assert not Visit.objects.exists()

    corrected = posted(setting, ended_at="2026-11-23T01:40:00.000Z", **findings)
    first = client.post(url, corrected)
    again = client.post(url, corrected)

    assert first.status_code == again.status_code == 302
    assert again["Location"] == first["Location"]
    assert Visit.objects.count() == 1
    assert care_rows() == (1, 1)


# --- The photo in the JSON body ----------------------------------------------------


@pytest.fixture
def consenting(setting):
    Elder.objects.filter(pk=setting["elder"].pk).update(consents_to_photos=True)
    setting["elder"].refresh_from_db()
    return setting


def test_it_takes_a_photo_of_nearly_5_mb_as_base64_and_once(client_for, consenting):
    client = client_for("visitor_a")
    photo = JPEG + b"\x01" * (4_900_000 - len(JPEG))

    first = send(client, body(consenting, photo=data_url(photo)))
    again = send(client, body(consenting, photo=data_url(photo)))

    assert (first.status_code, again.status_code) == (201, 200)
    visit = Visit.objects.get()
    assert visit.photo.name.endswith(".jpg")
    assert visit.photo.read() == photo
    assert first.json()["has_photo"] is True


@pytest.mark.parametrize(
    ("photo", "words"),
    [
        (data_url(JPEG + b"\x01" * 5_000_001), "照片不能超过 5 MB。"),
        (data_url(b"GIF89a" + b"\x00" * 16), "照片应为 JPEG 或 PNG 图片。"),
        ("data:image/gif;base64,R0lGODlh", "照片应为 JPEG 或 PNG 图片的 data URL。"),
        ("data:image/jpeg;base64,@@@", "照片数据无法读取。"),
    ],
    ids=["too-big", "not-an-image", "gif", "not-base64"],
)
def test_it_checks_the_photo_as_the_page_does(client_for, consenting, photo, words):
    response = send(client_for("visitor_a"), body(consenting, photo=photo))

    assert response.status_code == 422
    errors = response.json()["detail"]
    assert [e["msg"] for e in errors if e["loc"][-1] == "photo"] == [words]
    assert not Visit.objects.exists()
    assert care_rows() == (0, 0)


def test_after_a_conflict_the_page_asks_whether_this_is_another_visit(client_for, setting):
    """A second visit with the same findings only when the visitor says so:
    visit_form.js keeps 保存 back until the box is ticked."""
    client = client_for("visitor_a")
    url = f"/visits/new/{setting['elder'].pk}/"
    client.post(url, posted(setting, answer_gas_safety="unsafe"))

    conflict = client.post(
        url, posted(setting, answer_gas_safety="unsafe", services_given="又去了一次")
    )

    assert conflict.status_code == 409
    text = conflict.content.decode()
    assert 'id="confirm-new"' in text
    assert "这确是另一次探访，另存为新记录" in text
    assert Visit.objects.count() == 1
    assert care_rows() == (0, 1)

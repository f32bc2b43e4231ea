"""A visitor sees the elders assigned to them (包干, 000_4970ff49482a0570.txt
三(二): 落实包干责任人), not the whole village: their list, the files, the
visit records and tasks, the needs, hazards and emergencies, and the whole
phone numbers behind the call buttons (issue 16). Another elder of the village
they may still visit, saying why; the liaison sees the reason on the record
and on the board. The village liaison manages the village; the township its
villages."""

import uuid
from datetime import date

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.care.emergencies import raise_emergency
from tanfang.care.hazards import raise_hazard
from tanfang.care.models import Emergency, Hazard, Need
from tanfang.care.needs import raise_need
from tanfang.registry.actions import change_status
from tanfang.registry.crypto import encrypt, lookup_hash
from tanfang.registry.models import EmergencyContact, Status
from tanfang.visits.actions import record_visit
from tanfang.visits.models import Assignment, Visit, VisitTask
from tests.conftest import VILLAGE_B, aware
from tests.visits.factories import assign, follow_shishi, make_elder, make_visitor

PHONE = "13812345678"
CONTACT_PHONE = "13900001111"
TODAY = "2026-11-23"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def village(users, regions):
    """村A: 老人1 assigned to visitor_a, 老人2 to a colleague, 老人3 to nobody;
    老人4 lives in 村B."""
    follow_shishi(users)
    visitor = make_visitor(users, regions)
    colleague = make_visitor(users, regions, "陈建国", user=None)
    mine = make_elder(users, regions, 1, phone=PHONE)
    theirs = make_elder(users, regions, 2, phone=PHONE)
    nobodys = make_elder(users, regions, 3)
    elsewhere = make_elder(users, regions, 4, village=VILLAGE_B)
    assign(users, mine, visitor)
    assign(users, theirs, colleague)
    return {
        "visitor": visitor,
        "colleague": colleague,
        "mine": mine,
        "theirs": theirs,
        "nobodys": nobodys,
        "elsewhere": elsewhere,
    }


def visit_body(elder, **overrides):
    """A visit the elder refused at the door: nothing to answer or sign."""
    data = {
        "uuid": str(uuid.uuid4()),
        "elder_id": elder.pk,
        "mode": "home",
        "visited_at": f"{TODAY}T09:30:00+08:00",
        "refused": True,
    }
    data.update(overrides)
    return data


def post_json(client, url, data):
    return client.post(url, data, content_type="application/json")


# --- The list and the files -------------------------------------------------------------


def test_it_lists_only_the_elders_assigned_to_the_visitor(client_for, village):
    response = client_for("visitor_a").get("/elders/")

    assert [row.elder.name for row in response.context["rows"]] == ["老人1"]
    api = client_for("visitor_a").get("/api/v1/elders").json()
    assert [item["name"] for item in api["items"]] == ["老人1"]
    # The liaison still sees the whole village.
    names = [r.elder.name for r in client_for("liaison_a").get("/elders/").context["rows"]]
    assert names == ["老人1", "老人2", "老人3"]


@pytest.mark.parametrize("which", ["theirs", "nobodys", "elsewhere"])
def test_it_answers_404_for_the_file_of_an_elder_not_assigned_to_the_visitor(
    client_for, village, which
):
    client = client_for("visitor_a")
    elder = village[which]

    for url in (
        f"/elders/{elder.pk}/",
        f"/elders/{elder.pk}/history/",
        f"/elders/{elder.pk}/print/",
        f"/api/v1/elders/{elder.pk}",
        f"/visits/elders/{elder.pk}/recent/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/elders/{village['mine'].pk}/").status_code == 200


def test_it_closes_the_file_when_the_assignment_ends(client_for, users, village):
    client = client_for("visitor_a")
    url = f"/elders/{village['mine'].pk}/"
    assert client.get(url).status_code == 200

    Assignment.objects.filter(elder=village["mine"]).update(
        ended_at=aware(2026, 11, 23, 9, 0), ended_by=users["liaison_a"]
    )

    assert client.get(url).status_code == 404


# --- Visits, tasks, needs, hazards, emergencies ------------------------------------------


def test_it_shows_the_visitor_the_visits_of_their_elders_and_their_own(users, client_for, village):
    liaison = users["liaison_a"]
    for elder in (village["mine"], village["theirs"]):
        record_visit(
            acting_user=liaison,
            uuid=uuid.uuid4(),
            elder=elder,
            mode="phone",
            visited_at=aware(2026, 11, 23, 8, 0),
            visitors=[village["visitor"] if elder == village["mine"] else village["colleague"]],
            answers={},
            refused=True,
        )
    client = client_for("visitor_a")
    outside = post_json(
        client, "/api/v1/visits", visit_body(village["nobodys"], outside_reason="路遇老人")
    )
    assert outside.status_code == 201, outside.content

    listed = client.get("/api/v1/visits").json()

    assert sorted(item["elder_name"] for item in listed["items"]) == ["老人1", "老人3"]
    theirs = Visit.objects.get(elder=village["theirs"])
    assert client.get(f"/visits/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/visits/{theirs.pk}").status_code == 404


def test_it_shows_the_visitor_the_tasks_of_their_elders_only(users, village):
    visible = VisitTask.objects.visible_to(users["visitor_a"])

    assert visible.exists()
    assert set(visible.values_list("elder_id", flat=True)) == {village["mine"].pk}
    everyone = VisitTask.objects.visible_to(users["liaison_a"]).values_list("elder_id", flat=True)
    assert set(everyone) == {village[k].pk for k in ("mine", "theirs", "nobodys")}


@pytest.mark.parametrize(
    ("model", "url"),
    [(Need, "/api/v1/needs"), (Hazard, "/api/v1/hazards"), (Emergency, "/api/v1/emergencies")],
)
def test_it_lists_the_care_records_of_the_visitors_elders_only(
    users, client_for, village, model, url
):
    liaison = users["liaison_a"]
    for key in ("mine", "theirs"):
        elder = village[key]
        raise_need(acting_user=liaison, elder=elder, need_type="meals", source="phone")
        raise_hazard(acting_user=liaison, elder=elder, item="gas", description="燃气管老化")
        raise_emergency(
            acting_user=liaison, elder=elder, kind="fall", source="phone", description="跌倒"
        )

    items = client_for("visitor_a").get(url).json()["items"]

    assert len(items) == 1
    assert model.objects.visible_to(users["visitor_a"]).get().elder == village["mine"]
    assert model.objects.visible_to(users["liaison_a"]).count() == 2


def test_it_offers_a_visitor_no_form_to_raise_for_an_elder_not_theirs(client_for, village):
    client = client_for("visitor_a")
    for kind in ("needs", "hazards", "emergencies"):
        assert client.get(f"/care/elders/{village['theirs'].pk}/{kind}/new/").status_code == 404
        assert client.get(f"/care/elders/{village['mine'].pk}/{kind}/new/").status_code == 200


# --- The whole phone numbers behind the call buttons ------------------------------------


def test_it_dials_only_the_visitors_own_elders(client_for, village):
    client = client_for("visitor_a")

    assert client.get(f"/visits/call/{village['mine'].pk}/")["Location"] == f"tel:{PHONE}"
    assert client.get(f"/visits/call/{village['theirs'].pk}/").status_code == 404
    reveals = AuditEvent.objects.filter(action=Action.ELDER_REVEALED)
    assert [event.object_id for event in reveals] == [str(village["mine"].pk)]


def test_it_calls_the_emergency_contacts_of_the_visitors_own_elders_only(
    users, client_for, village
):
    calls = {}
    for key in ("mine", "theirs"):
        elder = village[key]
        contact = EmergencyContact.objects.create(
            elder=elder,
            name="林小明",
            phone_token=encrypt(CONTACT_PHONE),
            phone_hash=lookup_hash(CONTACT_PHONE, kind="phone"),
        )
        emergency = raise_emergency(
            acting_user=users["liaison_a"],
            elder=elder,
            kind="fall",
            source="phone",
            description="跌倒",
        )
        calls[key] = f"/care/emergencies/{emergency.pk}/call/{contact.pk}/"
    client = client_for("visitor_a")

    assert client.get(calls["mine"])["Location"] == f"tel:{CONTACT_PHONE}"
    response = client.get(calls["theirs"])

    assert response.status_code == 404
    assert CONTACT_PHONE not in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.ELDER_REVEALED).count() == 1


# --- A visit outside the assignment, saying why ------------------------------------------


def test_it_asks_a_visitor_why_they_visit_an_elder_not_assigned_to_them(client_for, village):
    response = post_json(client_for("visitor_a"), "/api/v1/visits", visit_body(village["theirs"]))

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][-1] == "outside_reason"
    assert "该老人未包干给您" in error["msg"]
    assert not Visit.objects.exists()


def test_it_records_the_outside_visit_with_its_reason(client_for, village):
    response = post_json(
        client_for("visitor_a"),
        "/api/v1/visits",
        visit_body(village["theirs"], outside_reason="陈建国生病，代为探访"),
    )

    assert response.status_code == 201
    visit = Visit.objects.get()
    assert (visit.elder, visit.outside_reason) == (village["theirs"], "陈建国生病，代为探访")
    assert response.json()["outside_reason"] == "陈建国生病，代为探访"


def test_it_needs_no_reason_for_the_visitors_own_elder(client_for, village):
    response = post_json(client_for("visitor_a"), "/api/v1/visits", visit_body(village["mine"]))

    assert response.status_code == 201
    assert Visit.objects.get().outside_reason == ""


def test_it_refuses_an_outside_visit_in_another_village(client_for, village):
    body = visit_body(village["elsewhere"], outside_reason="路过")

    assert post_json(client_for("visitor_a"), "/api/v1/visits", body).status_code == 404
    assert not Visit.objects.exists()


def test_the_visit_form_asks_for_the_reason_beside_its_field(client_for, village):
    client = client_for("visitor_a")
    url = f"/visits/new/{village['theirs'].pk}/"
    page = client.get(url).content.decode()
    assert 'name="outside_reason"' in page
    assert (
        'name="outside_reason"'
        not in client.get(f"/visits/new/{village['mine'].pk}/").content.decode()
    )
    data = {
        "uuid": str(uuid.UUID(int=42)),
        "mode": "home",
        "visited_at": f"{TODAY}T09:30",
        "visitors": [village["visitor"].pk],
        "refused": "on",
    }

    refused = client.post(url, data)

    assert refused.status_code == 200
    assert "该老人未包干给您" in refused.content.decode()
    assert not Visit.objects.exists()
    saved = client.post(url, {**data, "outside_reason": "路遇老人，顺便看望"})
    assert saved.status_code == 302
    assert Visit.objects.get().outside_reason == "路遇老人，顺便看望"


def test_the_liaison_sees_the_reason_on_the_record_and_the_board(client_for, village):
    post_json(
        client_for("visitor_a"),
        "/api/v1/visits",
        visit_body(village["theirs"], outside_reason="陈建国生病，代为探访"),
    )
    visit = Visit.objects.get()
    liaison = client_for("liaison_a")

    record = liaison.get(f"/visits/{visit.pk}/").content.decode()
    board = liaison.get("/visits/board/").content.decode()

    assert "非包干探访" in record and "陈建国生病，代为探访" in record
    assert 'id="outside-visits"' in board and "陈建国生病，代为探访" in board


# --- 其他老人: the visitor's way to another elder of the village --------------------------


def test_it_lists_the_other_elders_of_the_village_by_masked_name(client_for, village):
    response = client_for("visitor_a").get("/elders/others/")

    html = response.content.decode()
    assert [masked for _, masked in response.context["rows"]] == ["老*2", "老*3"]
    assert "老人2" not in html and "老人3" not in html and "老人4" not in html
    assert f"/visits/new/{village['theirs'].pk}/" in html
    assert f"/visits/new/{village['mine'].pk}/" not in html


def test_it_finds_another_elder_by_name(client_for, village):
    response = client_for("visitor_a").get("/elders/others/", {"q": "人3"})

    assert [elder.pk for elder, _ in response.context["rows"]] == [village["nobodys"].pk]


def test_it_leaves_out_an_elder_no_longer_in_the_registry(client_for, users, village):
    change_status(
        acting_user=users["liaison_a"],
        elder=village["nobodys"],
        to_status=Status.DECEASED,
        effective_on=date(2026, 11, 20),
        reason="病故",
    )

    rows = client_for("visitor_a").get("/elders/others/").context["rows"]

    assert [elder.pk for elder, _ in rows] == [village["theirs"].pk]


def test_it_pins_the_queries_of_the_other_elders_page(
    client_for, users, regions, village, django_assert_num_queries
):
    for n in range(5, 15):
        make_elder(users, regions, n)
    client = client_for("visitor_a")

    # Session, user, OTP device, region; the count, the page with the villages;
    # the session's last-seen time (savepoint, update, release).
    with django_assert_num_queries(9):
        response = client.get("/elders/others/")

    assert len(response.context["rows"]) == 12


def test_it_sends_those_who_see_the_village_to_the_list(client_for, village):
    response = client_for("liaison_a").get("/elders/others/")

    assert response.status_code == 302
    assert response["Location"] == "/elders/"


def test_it_links_the_other_elders_from_the_visitors_list_and_home(client_for, village):
    client = client_for("visitor_a")

    assert "/elders/others/" in client.get("/elders/").content.decode()
    assert 'href="/elders/others/"' in client.get("/visits/").content.decode()


# --- The liaison manages the village, the township its villages ---------------------------


@pytest.mark.parametrize(
    ("username", "status"),
    [("liaison_a", 302), ("liaison_b", 404), ("township_a", 302), ("township_b", 404)],
)
def test_it_lets_the_village_and_its_township_change_a_file_and_no_one_else(
    client_for, village, username, status
):
    elder = village["nobodys"]
    data = {
        "to_status": "moved_away",
        "effective_on": TODAY,
        "reason": "随子女",
        "destination": "厦门",
    }

    response = client_for(username).post(f"/elders/{elder.pk}/status/", data)

    assert response.status_code == status
    elder.refresh_from_db()
    assert elder.status == (Status.MOVED_AWAY if status == 302 else Status.ACTIVE)

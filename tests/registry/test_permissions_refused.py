"""Every change of the file a lower role may not make is refused, with 403 and a
Chinese message, and nothing in the database changes (issue 16 "Permissions as
the documents assign them").

Visitors record visits and raise needs, hazards and emergencies for the elders
assigned to them; they do not register (000_4970ff49482a0570.txt 三(四): the
village fills in the file), import, change tiers, categories or status, or edit
the file. Tier overrides (004_1657df0ed1e05604.txt 二(一): the county's
classification, adjusted as things change) and special periods belong to the
township and the county, not to the liaison. Each attempt is tried as each role
refused it, on the very elder assigned to the visitor (so the refusal is the
permission's, not the scope's), and then made by the lowest role allowed it,
which must change the database (so that the refusal could fail)."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tanfang.accounts.models import User
from tanfang.exchange.models import ImportJob
from tanfang.jurisdiction.actions import declare_event
from tanfang.jurisdiction.models import DeclaredEvent
from tanfang.registry.actions import change_status
from tanfang.registry.identity import make_id_number
from tanfang.registry.life_events import record_life_event
from tanfang.registry.models import (
    Elder,
    ElderCategory,
    EmergencyContact,
    LifeEvent,
    Review,
    StatusChange,
)
from tanfang.registry.registration import register_elder
from tanfang.visits.models import VisitTask
from tests.conftest import TOWNSHIP_A, VILLAGE_A, aware, sign_in
from tests.exchange.conftest import filled, row, template_of
from tests.visits.factories import follow_shishi

API = "/api/v1"
PAGE_REFUSAL = "无权访问"
JSON_REFUSAL = {"detail": "您没有权限进行此操作。"}
# 004_1657df0ed1e05604.txt 二(一), valid for the override form.
CITED = {"document": "004_1657df0ed1e05604.txt", "section": "二(一)"}


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@dataclass
class Place:
    """What the attempts name: 林阿婆 of 村A, assigned to visitor_a; 陈阿公, who
    died; a heat wave over 灵秀镇; a fall on 林阿婆's file; a filled ledger."""

    elder: Elder
    gone: Elder
    event: DeclaredEvent
    fall: LifeEvent
    ledger: bytes


@pytest.fixture
def place(users, regions, cover, client_for) -> Place:
    follow_shishi(users)
    elder = register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", date(1940, 3, 8), 1, "女"),
        name="林阿婆",
        village=regions[VILLAGE_A],
        categories=["独居"],
    )
    cover(elder)
    gone = register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", date(1938, 5, 1), 2, "男"),
        name="陈阿公",
        village=regions[VILLAGE_A],
    )
    change_status(
        acting_user=users["liaison_a"],
        elder=gone,
        to_status="deceased",
        effective_on=date(2026, 11, 20),
        reason="病故",
    )
    # Still shown to the visitor (as if the death ended no assignment), so that
    # bringing the file back is refused for the permission, not for the scope.
    cover(gone)
    event = declare_event(
        acting_user=users["township_a"],
        region=regions[TOWNSHIP_A],
        kind="heat",
        title="高温橙色预警",
        starts_on=date(2026, 11, 20),
        ends_on=date(2026, 11, 30),
    )
    fall = record_life_event(
        acting_user=users["liaison_a"],
        elder=elder,
        change="fell",
        occurred_at=aware(2026, 11, 22, 8, 0),
    )
    ledger = filled(template_of(client_for("liaison_a")), [row(7, "村A")])
    return Place(elder, gone, event, fall, ledger)


def snapshot() -> Any:
    """Everything an attempt could change."""
    return (
        list(
            Elder.objects.order_by("pk").values_list(
                "pk", "name", "phone_token", "status", "tier_override", "tier_override_reason"
            )
        ),
        sorted(ElderCategory.objects.filter(withdrawn_at=None).values_list("elder_id", "category")),
        StatusChange.objects.count(),
        Review.objects.count(),
        EmergencyContact.objects.count(),
        list(LifeEvent.objects.values_list("pk", "withdrawn_at")),
        list(DeclaredEvent.objects.order_by("pk").values_list("pk", "ends_on", "ended_at")),
        VisitTask.objects.filter(cancelled_at=None).count(),
        ImportJob.objects.count(),
    )


@dataclass(frozen=True)
class Attempt:
    name: str
    method: str
    url: Callable[[Place], str]
    # Form data (a page) or a JSON body (the API); None: no body.
    body: Callable[[Place], dict[str, Any]] | None
    # Refused to these users, with 403 …
    refused: tuple[str, ...]
    # … and allowed to this one, whose attempt changes the database.
    allowed: str

    @property
    def api(self) -> bool:
        return self.name.startswith("api ")

    def __str__(self) -> str:
        return self.name

    def send(self, client: Client, place: Place) -> Any:
        url = self.url(place)
        body = self.body(place) if self.body else None
        if self.api:
            return getattr(client, self.method)(
                url, json.dumps(body or {}), content_type="application/json"
            )
        return getattr(client, self.method)(url, body or {})


def _import_form(place: Place) -> dict[str, Any]:
    return {
        "file": SimpleUploadedFile("台账.xlsx", place.ledger),
        "mode": "whole_file",
    }


NEW_ELDER = {
    "name": "王阿婆",
    "id_number": make_id_number("350581", date(1941, 1, 1), 5, "女"),
    "village": VILLAGE_A,
}
VISITOR = ("visitor_a",)
VISITOR_AND_LIAISON = ("visitor_a", "liaison_a")

ATTEMPTS = [
    # A new file: the API, the page, an Excel import.
    Attempt(
        "api new file", "post", lambda p: f"{API}/elders", lambda p: NEW_ELDER, VISITOR, "liaison_a"
    ),
    Attempt(
        "registration page",
        "post",
        lambda p: "/elders/new/",
        lambda p: NEW_ELDER,
        VISITOR,
        "liaison_a",
    ),
    Attempt(
        "import template", "get", lambda p: "/exchange/elders/template/", None, VISITOR, "liaison_a"
    ),
    Attempt(
        "excel import",
        "post",
        lambda p: "/exchange/elders/imports/",
        _import_form,
        VISITOR,
        "liaison_a",
    ),
    # The tier: township and county only.
    Attempt(
        "tier override",
        "post",
        lambda p: f"/elders/{p.elder.pk}/tier/",
        lambda p: {"tier": "general", "reason": "子女已接回同住", **CITED},
        VISITOR_AND_LIAISON,
        "township_a",
    ),
    # The status, to 去世 and back.
    Attempt(
        "api status to deceased",
        "post",
        lambda p: f"{API}/elders/{p.elder.pk}/status",
        lambda p: {"to_status": "deceased", "effective_on": "2026-11-22", "reason": "病故"},
        VISITOR,
        "liaison_a",
    ),
    Attempt(
        "api status back to active",
        "post",
        lambda p: f"{API}/elders/{p.gone.pk}/status",
        lambda p: {"to_status": "active", "effective_on": "2026-11-22", "reason": "登记错误"},
        VISITOR,
        "liaison_a",
    ),
    Attempt(
        "status page",
        "post",
        lambda p: f"/elders/{p.elder.pk}/status/",
        lambda p: {
            "to_status": "moved_away",
            "effective_on": "2026-11-22",
            "reason": "随子女",
            "destination": "厦门",
        },
        VISITOR,
        "liaison_a",
    ),
    # Categories: withdrawing every one.
    Attempt(
        "api withdraw every category",
        "post",
        lambda p: f"{API}/elders/{p.elder.pk}/categories",
        lambda p: {"categories": []},
        VISITOR,
        "liaison_a",
    ),
    Attempt(
        "categories page",
        "post",
        lambda p: f"/elders/{p.elder.pk}/categories/",
        lambda p: {"categories": ["独居", "失能"]},
        VISITOR,
        "liaison_a",
    ),
    # Editing the file and its parts, the half-year review, withdrawing an entry.
    Attempt(
        "api edit the file",
        "patch",
        lambda p: f"{API}/elders/{p.elder.pk}",
        lambda p: {"phone": "13912345678"},
        VISITOR,
        "liaison_a",
    ),
    Attempt(
        "edit page",
        "post",
        lambda p: f"/elders/{p.elder.pk}/edit/basic/",
        lambda p: {"name": "林婆婆", "ethnicity": "", "id_number": "", "phone": "13912345678"},
        VISITOR,
        "liaison_a",
    ),
    Attempt(
        "add an emergency contact",
        "post",
        lambda p: f"/elders/{p.elder.pk}/contacts/new/",
        lambda p: {"name": "林小明", "relation": "儿子", "phone": "13900001111", "order": "0"},
        VISITOR,
        "liaison_a",
    ),
    Attempt(
        "half-year review",
        "post",
        lambda p: f"/elders/{p.elder.pk}/review/",
        lambda p: {"reviewed_on": "2026-11-23", "notes": "入户核实"},
        VISITOR,
        "liaison_a",
    ),
    Attempt(
        "withdraw a life event",
        "post",
        lambda p: f"/elders/{p.elder.pk}/life-events/{p.fall.pk}/withdraw/",
        lambda p: {"reason": "登记错了"},
        VISITOR,
        "liaison_a",
    ),
    # Special periods: township and county only.
    Attempt(
        "declare a special period",
        "post",
        lambda p: "/rules/events/",
        lambda p: {
            "kind": "cold",
            "title": "寒潮蓝色预警",
            "region": VILLAGE_A,
            "starts_on": "2026-11-23",
            "ends_on": "2026-11-26",
        },
        VISITOR_AND_LIAISON,
        "township_a",
    ),
    Attempt(
        "end a special period",
        "post",
        lambda p: f"/rules/events/{p.event.pk}/end/",
        None,
        VISITOR_AND_LIAISON,
        "township_a",
    ),
]
REFUSALS = [(attempt, name) for attempt in ATTEMPTS for name in attempt.refused]


def signed_in(users: dict[str, User], name: str) -> Client:
    return sign_in(Client(), users[name])


@pytest.mark.parametrize(("attempt", "username"), REFUSALS, ids=lambda v: str(v))
def test_it_refuses_a_lower_role_with_403_and_changes_nothing(attempt, username, users, place):
    client = signed_in(users, username)
    before = snapshot()

    response = attempt.send(client, place)

    assert response.status_code == 403, f"{username}: {attempt}"
    if attempt.api:
        assert response.json() == JSON_REFUSAL
    else:
        assert PAGE_REFUSAL in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=str)
def test_it_lets_the_role_that_may_do_it(attempt, users, place):
    client = signed_in(users, attempt.allowed)
    before = snapshot()

    response = attempt.send(client, place)

    assert response.status_code in {200, 201, 302}, (attempt.allowed, response.content[:500])
    if attempt.method != "get":
        assert snapshot() != before, f"{attempt.allowed}: {attempt} changed nothing"


def test_it_refuses_the_registration_page_itself_to_a_visitor(users, place):
    response = signed_in(users, "visitor_a").get("/elders/new/")

    assert response.status_code == 403
    assert "您的角色无权使用此功能" in response.content.decode()


@pytest.mark.parametrize("username", ["visitor_a", "liaison_a"])
def test_it_offers_no_tier_override_button_below_the_township(users, place, username):
    html = signed_in(users, username).get(f"/elders/{place.elder.pk}/").content.decode()

    assert f"/elders/{place.elder.pk}/tier/" not in html


def test_it_shows_a_visitor_no_button_that_changes_the_file(users, place):
    html = signed_in(users, "visitor_a").get(f"/elders/{place.elder.pk}/").content.decode()

    for url in ("/edit/", "/status/", "/categories/", "/review/", "/contacts/new/", "/tier/"):
        assert f"/elders/{place.elder.pk}{url}" not in html, url
    assert "/withdraw/" not in html
    # What they may do instead: report a death or a move, record a life event.
    assert f"/elders/{place.elder.pk}/report-change/" in html
    assert f"/elders/{place.elder.pk}/life-events/" in html


@pytest.mark.parametrize(
    ("username", "shown"), [("visitor_a", False), ("liaison_a", False), ("township_a", True)]
)
def test_it_offers_the_declaration_form_to_township_and_county_only(users, place, username, shown):
    html = signed_in(users, username).get("/rules/events/").content.decode()

    assert ('name="title"' in html) == shown
    assert (f"/rules/events/{place.event.pk}/end/" in html) == shown


def test_it_hides_new_file_and_import_from_a_visitors_list(users, place):
    html = signed_in(users, "visitor_a").get("/elders/").content.decode()

    assert "/elders/new/" not in html
    assert "/exchange/elders/" not in html

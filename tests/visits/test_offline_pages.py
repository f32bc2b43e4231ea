"""The installable phone app on the server's side (tanfang/visits/offline_views.py,
issue 16 "Offline-first phone pages"): the service worker at /sw.js with the
whole site as its scope and Workbox from the static files, the outbox page, the
session check the outbox sends with, the web app manifest, and the CSP that
lets the worker run. What the phone does with them is tested in a browser
(tests/browser/test_offline_visit.py)."""

import json
import re
import struct
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from tanfang.accounts.middleware import LAST_SEEN
from tanfang.visits.offline_views import WORKBOX_MODULES, workbox_version
from tests.conftest import aware, sign_in
from tests.visits.factories import GOOD, PNG, assign, follow_shishi, make_elder, make_visitor

ROOT = Path(settings.BASE_DIR)


def worker_config(response) -> dict:
    found = re.search(r"^const CONFIG = (\{.*\});$", response.content.decode(), re.MULTILINE)
    assert found, "the worker's configuration line"
    return json.loads(found.group(1))


# --- The service worker -----------------------------------------------------------


def test_it_serves_the_worker_at_the_root_with_the_whole_site_as_its_scope(client_for):
    response = client_for("visitor_a").get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Service-Worker-Allowed"] == "/"
    # A new worker is picked up at the next page, never a stale copy.
    assert "no-cache" in response["Cache-Control"]
    assert "importScripts(...CONFIG.workbox)" in response.content.decode()


def test_the_worker_imports_workbox_from_the_static_files_not_a_cdn(client_for):
    config = worker_config(client_for("liaison_a").get("/sw.js"))

    version = workbox_version()
    assert config["workbox"] == [
        f"/static/vendor/workbox-{version}/workbox-{module}.prod.js" for module in WORKBOX_MODULES
    ]
    for url in config["workbox"] + config["assets"]:
        assert url.startswith("/static/")
        assert finders.find(url.removeprefix("/static/")), (
            f"{url} is missing: the Makefile copies Workbox from node_modules (make pytest)"
        )


def test_package_json_and_its_lock_file_pin_one_workbox():
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())

    pinned = {name: version for name, version in package["dependencies"].items()}
    assert set(pinned) == {f"workbox-{module}" for module in WORKBOX_MODULES}
    assert set(pinned.values()) == {workbox_version()}
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", workbox_version()), "an exact version"
    for name, version in pinned.items():
        locked = lock["packages"][f"node_modules/{name}"]
        assert locked["version"] == version
        assert locked["integrity"].startswith("sha512-")


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("/", True),
        ("/visits/", True),
        ("/visits/board/", True),
        ("/visits/board/350581100201/", True),
        ("/visits/new/12/", True),
        ("/visits/outbox/", True),
        ("/visits/12/", False),
        ("/elders/3/", False),
        ("/reports/", False),
        ("/accounts/login/", False),
        ("/visits/new/12/extra/", False),
    ],
)
def test_it_keeps_only_the_pages_a_visitor_works_from(client_for, path, kept):
    config = worker_config(client_for("visitor_a").get("/sw.js"))

    assert any(re.search(pattern, path) for pattern in config["pages"]) is kept


def test_a_signed_out_browser_gets_no_worker(client, db):
    response = client.get("/sw.js")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_role_that_records_no_visits_gets_no_worker(client_for):
    assert client_for("auditor").get("/sw.js").status_code == 403


# --- The outbox page and the session check --------------------------------------------


@pytest.fixture
def setting(users, regions, time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)
    follow_shishi(users)
    elder = make_elder(users, regions, ability="severe")
    assign(users, elder, make_visitor(users, regions))
    return {"elder": elder}


def test_the_outbox_page_holds_no_record_and_takes_a_fixed_number_of_queries(
    client_for, django_assert_num_queries
):
    client = client_for("visitor_a")
    # The session, the user, their second factor, their region (the header) and
    # the session's last-seen time (a savepoint, an update, its release): none
    # of the page's own.
    with django_assert_num_queries(7):
        response = client.get("/visits/outbox/")

    assert response.status_code == 200
    text = response.content.decode()
    assert "待发送的探访记录" in text
    assert 'id="outbox-list"' in text
    # The records are the phone's: drawn by outbox.js from its store.
    assert "outbox-row" not in text


def test_the_session_check_names_the_user_and_gives_a_token_the_api_takes(users, setting):
    client = sign_in(Client(enforce_csrf_checks=True), users["visitor_a"])

    session = client.get("/visits/outbox/session/")

    assert session.status_code == 200
    assert session.json()["user"] == str(users["visitor_a"].pk)
    body = {
        "uuid": "5d1f0a3e-6b2c-4f1d-8a9e-0c1b2a3d4e5f",
        "elder_id": setting["elder"].pk,
        "mode": "home",
        "visited_at": "2026-11-23T09:30",
        "answers": GOOD,
        "visitor_signature": PNG,
        "elder_signature": PNG,
    }
    refused = client.post("/api/v1/visits", body, content_type="application/json")
    sent = client.post(
        "/api/v1/visits",
        body,
        content_type="application/json",
        headers={"X-CSRFToken": session.json()["csrf"]},
    )
    assert refused.status_code == 403
    assert sent.status_code == 201


def test_an_ended_session_is_answered_in_json_for_the_outbox(users):
    client = sign_in(Client(), users["visitor_a"])
    session = client.session
    session[LAST_SEEN] = (timezone.now() - timedelta(minutes=31)).isoformat()
    session.save()

    response = client.get("/visits/outbox/session/")

    assert response.status_code == 401
    assert response.json() == {"detail": "登录已超时，请重新登录。"}


def test_a_signed_out_browser_is_answered_401_in_json(client, db):
    response = client.get("/visits/outbox/session/")

    assert response.status_code == 401
    assert response.json() == {"detail": "请先登录。"}


# --- Every page: the manifest, the worker's user, the count, the CSP --------------------


def test_a_visitors_page_names_its_user_and_offers_the_app(client_for, users):
    response = client_for("visitor_a").get("/visits/outbox/")

    text = response.content.decode()
    assert f'data-user="{users["visitor_a"].pk}"' in text
    assert 'data-offline="1"' in text
    assert 'rel="manifest" href="/static/manifest.webmanifest"' in text
    assert 'src="/static/js/outbox.js"' in text
    assert 'id="outbox-link"' in text


def test_an_officers_page_registers_no_worker(client_for):
    text = client_for("county").get("/").content.decode()

    assert "data-offline" not in text


def test_the_login_page_names_no_user(client, db):
    text = client.get("/accounts/login/").content.decode()

    assert 'data-user=""' in text
    assert 'id="outbox-link"' not in text


def test_the_csp_lets_the_worker_and_the_manifest_load_from_this_site_only(client_for):
    policy = client_for("visitor_a").get("/visits/outbox/")["Content-Security-Policy"]

    assert "worker-src 'self'" in policy
    assert "manifest-src 'self'" in policy
    assert "script-src 'self'" in policy


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_the_manifest_makes_the_phone_pages_an_installable_app():
    manifest_path = Path(finders.find("manifest.webmanifest"))
    manifest = json.loads(manifest_path.read_text())

    assert manifest["start_url"] == "/visits/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["short_name"] == "探访关爱"
    sizes = set()
    for icon in manifest["icons"]:
        path = manifest_path.parent / icon["src"]
        width, height = png_size(path)
        assert icon["sizes"] == f"{width}x{height}"
        sizes.add(width)
    assert {192, 512} <= sizes
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])
    assert png_size(Path(finders.find("icons/apple-touch-icon.png"))) == (180, 180)

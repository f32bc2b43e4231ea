"""Session limits (NONFUNCTIONAL.md "Sessions"): idle 30 minutes, 15 for the
three administrators, absolute 8 hours; every expiry is audited."""

from datetime import datetime, timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from tanfang.accounts.middleware import LAST_SEEN, STARTED
from tanfang.audit.models import Action, AuditEvent
from tests.conftest import PASSWORD, aware

MORNING = aware(2026, 11, 23, 9, 0)
ADMINISTRATORS = ["sysadmin", "secadmin", "auditor"]


def signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def expiries(username: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.SESSION_EXPIRED, username=username))


def test_it_keeps_an_officer_signed_in_after_29_idle_minutes(client_for, time_machine):
    time_machine.move_to(MORNING, tick=False)
    client = client_for("township_a")
    time_machine.move_to(MORNING + timedelta(minutes=29), tick=False)

    response = client.get("/")

    assert response.status_code == 200
    assert signed_in(client)
    assert datetime.fromisoformat(client.session[LAST_SEEN]) == MORNING + timedelta(minutes=29)
    assert expiries("township_a") == []


def test_it_ends_an_officers_session_after_30_idle_minutes(client_for, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    client = client_for("township_a")
    time_machine.move_to(MORNING + timedelta(minutes=30), tick=False)

    response = client.get("/accounts/me/", REMOTE_ADDR="10.9.8.7")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Faccounts%2Fme%2F"
    assert not signed_in(client)
    [event] = expiries("township_a")
    assert event.actor == users["township_a"]
    assert event.detail == {"reason": "idle"}
    assert event.ip_address == "10.9.8.7"
    assert event.at == MORNING + timedelta(minutes=30)
    # An expiry is not a logout the user asked for.
    assert not AuditEvent.objects.filter(action=Action.LOGOUT).exists()


def test_it_tells_the_user_in_chinese_why_they_must_sign_in_again(client_for, time_machine):
    time_machine.move_to(MORNING, tick=False)
    client = client_for("liaison_a")
    time_machine.move_to(MORNING + timedelta(minutes=31), tick=False)

    response = client.get("/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "登录已超时，请重新登录。" in response.content.decode()


def test_it_counts_idle_time_from_the_last_request(client_for, time_machine):
    time_machine.move_to(MORNING, tick=False)
    client = client_for("township_a")
    for minutes in (20, 40, 60):
        time_machine.move_to(MORNING + timedelta(minutes=minutes), tick=False)
        assert client.get("/").status_code == 200

    assert signed_in(client)
    assert expiries("township_a") == []


@pytest.mark.parametrize("username", ADMINISTRATORS)
def test_it_keeps_an_administrator_signed_in_after_14_idle_minutes(
    client_for, username, time_machine
):
    time_machine.move_to(MORNING, tick=False)
    client = client_for(username)
    time_machine.move_to(MORNING + timedelta(minutes=14), tick=False)

    response = client.get("/")

    assert response.status_code == 200
    assert signed_in(client)
    assert expiries(username) == []


@pytest.mark.parametrize("username", ADMINISTRATORS)
def test_it_ends_an_administrators_session_after_15_idle_minutes(
    client_for, username, time_machine
):
    time_machine.move_to(MORNING, tick=False)
    client = client_for(username)
    time_machine.move_to(MORNING + timedelta(minutes=15), tick=False)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not signed_in(client)
    [event] = expiries(username)
    assert event.detail == {"reason": "idle"}


@pytest.mark.parametrize("username", ["county", "supervisor", "visitor_a"])
def test_it_gives_the_other_roles_30_idle_minutes(client_for, username, time_machine):
    time_machine.move_to(MORNING, tick=False)
    client = client_for(username)
    time_machine.move_to(MORNING + timedelta(minutes=20), tick=False)
    assert client.get("/").status_code == 200
    time_machine.move_to(MORNING + timedelta(minutes=50), tick=False)

    assert client.get("/").status_code == 302
    assert [event.detail for event in expiries(username)] == [{"reason": "idle"}]


def test_it_ends_a_session_after_8_hours_even_when_active(client_for, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    client = client_for("county")
    for step in range(1, 48):  # every 10 minutes until 16:50
        time_machine.move_to(MORNING + timedelta(minutes=10 * step), tick=False)
        assert client.get("/").status_code == 200, step
    assert expiries("county") == []
    time_machine.move_to(MORNING + timedelta(hours=8), tick=False)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not signed_in(client)
    [event] = expiries("county")
    assert event.actor == users["county"]
    assert event.detail == {"reason": "absolute"}
    assert event.at == MORNING + timedelta(hours=8)


def test_it_starts_the_clock_at_a_real_login(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)

    response = client.post("/accounts/login/", {"username": "liaison_a", "password": PASSWORD})

    assert response.status_code == 302
    assert datetime.fromisoformat(client.session[STARTED]) == MORNING
    assert datetime.fromisoformat(client.session[LAST_SEEN]) == MORNING
    time_machine.move_to(MORNING + timedelta(minutes=30), tick=False)
    assert client.get("/").status_code == 302
    assert [event.detail for event in expiries("liaison_a")] == [{"reason": "idle"}]


def test_it_ends_a_session_without_a_clock(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    # A session made without the login view (an old session from before the
    # limits existed, or one forged into the store) is not trusted.
    client.force_login(users["liaison_a"])

    response = client.get("/")

    assert response.status_code == 302
    assert not signed_in(client)
    assert [event.detail for event in expiries("liaison_a")] == [{"reason": "invalid"}]


def test_it_answers_an_expired_htmx_request_with_a_redirect_header(client_for, time_machine):
    time_machine.move_to(MORNING, tick=False)
    client = client_for("liaison_a")
    time_machine.move_to(MORNING + timedelta(minutes=45), tick=False)

    response = client.get("/", headers={"HX-Request": "true"})

    assert response.status_code == 401
    assert response["HX-Redirect"] == "/accounts/login/"
    assert len(expiries("liaison_a")) == 1


def test_it_leaves_anonymous_visitors_alone(client, db, time_machine):
    time_machine.move_to(MORNING, tick=False)

    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert not AuditEvent.objects.exists()


def test_it_logs_out_on_post(client_for, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    client = client_for("county")

    response = client.post("/accounts/logout/", REMOTE_ADDR="10.1.1.1")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert not signed_in(client)
    [event] = AuditEvent.objects.filter(action=Action.LOGOUT)
    assert event.actor == users["county"]
    assert event.ip_address == "10.1.1.1"
    assert event.at == MORNING
    assert not AuditEvent.objects.filter(action=Action.SESSION_EXPIRED).exists()
    follow = client.get("/")
    assert follow.status_code == 302


def test_it_refuses_to_log_out_on_get(client_for):
    client = client_for("county")

    response = client.get("/accounts/logout/")

    assert response.status_code == 405
    assert signed_in(client)
    assert not AuditEvent.objects.filter(action=Action.LOGOUT).exists()


def test_it_lets_a_user_log_out_before_giving_the_second_factor(client_for, users):
    client = client_for("county", verified=False)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert not signed_in(client)
    assert AuditEvent.objects.filter(action=Action.LOGOUT, actor=users["county"]).count() == 1

"""Lockout (NONFUNCTIONAL.md "Login"): 5 failures lock the account for 30
minutes; every attempt and the lockout are in the audit log.

django-axes works on the request, so every attempt goes through the real login
view with the test client and a client address."""

from datetime import timedelta

from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client

import tanfang.settings as production
from tanfang.audit.models import Action, AuditEvent
from tests.conftest import COUNTY, PASSWORD, aware

MORNING = aware(2026, 11, 23, 9, 0)
WRONG = "Wrong@2026"
LOGIN = "/accounts/login/"


def attempt(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail_five_times(client: Client, username: str, ip: str = "10.0.0.1") -> None:
    for _ in range(5):
        attempt(client, username, WRONG, ip)


def actions_of(username: str) -> list[str]:
    return list(
        AuditEvent.objects.filter(username=username)
        .order_by("at", "id")
        .values_list("action", flat=True)
    )


def assert_locked_page(response) -> None:
    assert response.status_code == 403
    assert "accounts/locked_out.html" in [t.name for t in response.templates]
    body = response.content.decode()
    assert 'name="password"' not in body
    assert "账号已锁定" in body
    assert "30 分钟" in body


def test_it_locks_for_30_minutes_after_5_failures_in_production():
    assert production.AXES_FAILURE_LIMIT == 5
    assert timedelta(minutes=30) == production.AXES_COOLOFF_TIME
    assert "username" in production.AXES_LOCKOUT_PARAMETERS
    # Attempts during the lockout must not extend it (and are not counted).
    assert production.AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT is False
    assert production.AXES_LOCKOUT_TEMPLATE == "accounts/locked_out.html"
    assert production.AXES_HTTP_RESPONSE_CODE == 403
    # The lockout check runs before the password is checked.
    assert production.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


def test_it_lets_four_failures_pass_with_a_warning(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)

    for _ in range(4):
        response = attempt(client, "county", WRONG)
        assert response.status_code == 200
        assert "连续 5 次错误，账号将被锁定 30 分钟" in response.content.decode()

    [row] = AccessAttempt.objects.filter(username="county")
    assert row.failures_since_start == 4
    assert actions_of("county") == [Action.LOGIN_FAILED] * 4
    failures = AuditEvent.objects.filter(username="county").order_by("id")
    assert [event.detail["failures"] for event in failures] == [1, 2, 3, 4]
    response = attempt(client, "county", PASSWORD)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(users["county"].pk)


def test_it_locks_the_account_at_the_fifth_failure(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    for _ in range(4):
        attempt(client, "county", WRONG)

    response = attempt(client, "county", WRONG, ip="10.0.0.9")

    assert_locked_page(response)
    # axes keeps one row per address; the lockout counts them together.
    rows = AccessAttempt.objects.filter(username="county")
    assert sorted((row.ip_address, row.failures_since_start) for row in rows) == [
        ("10.0.0.1", 4),
        ("10.0.0.9", 1),
    ]
    [lockout] = AuditEvent.objects.filter(action=Action.LOCKOUT)
    assert lockout.username == "county"
    assert lockout.region_code == COUNTY
    assert lockout.ip_address == "10.0.0.9"
    assert lockout.actor is None
    assert lockout.detail == {"minutes": 30}
    assert lockout.at == MORNING


def test_it_refuses_the_right_password_while_locked(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    fail_five_times(client, "county")
    time_machine.move_to(MORNING + timedelta(minutes=1), tick=False)

    response = attempt(client, "county", PASSWORD, ip="10.0.0.2")

    assert_locked_page(response)
    assert SESSION_KEY not in client.session
    assert not AuditEvent.objects.filter(action=Action.LOGIN).exists()
    # All six attempts are in the log, and the lockout once.
    events = list(AuditEvent.objects.filter(username="county").order_by("at", "id"))
    assert sorted(event.action for event in events) == sorted(
        [Action.LOGIN_FAILED] * 6 + [Action.LOCKOUT]
    )
    failures = [event for event in events if event.action == Action.LOGIN_FAILED]
    assert [event.detail["refused_while_locked"] for event in failures] == [False] * 5 + [True]
    assert [event.detail["failures"] for event in failures] == [1, 2, 3, 4, 5, None]
    assert failures[-1].ip_address == "10.0.0.2"
    assert failures[-1].at == MORNING + timedelta(minutes=1)
    assert AuditEvent.objects.filter(action=Action.LOCKOUT).count() == 1


def test_it_does_not_count_attempts_during_the_lockout(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    fail_five_times(client, "county")
    for minutes in (5, 10, 29):
        time_machine.move_to(MORNING + timedelta(minutes=minutes), tick=False)
        assert_locked_page(attempt(client, "county", WRONG))

    [row] = AccessAttempt.objects.filter(username="county")
    assert row.failures_since_start == 5
    assert row.attempt_time == MORNING
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED).count() == 8
    assert AuditEvent.objects.filter(action=Action.LOCKOUT).count() == 1


def test_it_still_refuses_just_before_30_minutes(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    fail_five_times(client, "county")
    time_machine.move_to(MORNING + timedelta(minutes=29, seconds=59), tick=False)

    response = attempt(client, "county", PASSWORD)

    assert_locked_page(response)
    assert SESSION_KEY not in client.session


def test_it_unlocks_after_30_minutes(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    fail_five_times(client, "county")
    # Attempts during the lockout do not push its end further away.
    time_machine.move_to(MORNING + timedelta(minutes=20), tick=False)
    assert_locked_page(attempt(client, "county", PASSWORD))
    time_machine.move_to(MORNING + timedelta(minutes=30, seconds=1), tick=False)

    response = attempt(client, "county", PASSWORD, ip="10.0.0.3")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/otp/"
    assert client.session[SESSION_KEY] == str(users["county"].pk)
    assert not AccessAttempt.objects.filter(username="county").exists()
    [login] = AuditEvent.objects.filter(action=Action.LOGIN)
    assert login.actor == users["county"]
    assert login.ip_address == "10.0.0.3"
    assert login.at == MORNING + timedelta(minutes=30, seconds=1)


def test_it_counts_five_fresh_failures_after_the_lockout_ends(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    fail_five_times(client, "county")
    time_machine.move_to(MORNING + timedelta(minutes=31), tick=False)

    response = attempt(client, "county", WRONG)

    assert response.status_code == 200
    [row] = AccessAttempt.objects.filter(username="county")
    assert row.failures_since_start == 1


def test_it_holds_the_lockout_from_another_address(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    fail_five_times(client, "county", ip="10.0.0.1")

    other = Client()
    response = attempt(other, "county", PASSWORD, ip="172.16.5.5")

    assert_locked_page(response)
    assert SESSION_KEY not in other.session
    last = AuditEvent.objects.filter(action=Action.LOGIN_FAILED).order_by("id").last()
    assert last.ip_address == "172.16.5.5"
    assert last.detail["refused_while_locked"] is True


def test_it_counts_failures_from_several_addresses_together(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    for number in range(5):
        response = attempt(Client(), "county", WRONG, ip=f"10.0.1.{number}")

    assert_locked_page(response)
    assert_locked_page(attempt(client, "county", PASSWORD, ip="10.0.2.1"))
    assert AuditEvent.objects.filter(action=Action.LOCKOUT).count() == 1


def test_it_does_not_lock_other_accounts_at_the_same_address(client, users, time_machine):
    # docs/DECISIONS.md "Lockout by username, not by client address".
    time_machine.move_to(MORNING, tick=False)
    fail_five_times(client, "township_a", ip="10.0.0.1")

    response = attempt(Client(), "township_b", PASSWORD, ip="10.0.0.1")

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_forgets_earlier_failures_after_a_success(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    for _ in range(4):
        attempt(client, "township_a", WRONG)
    assert attempt(client, "township_a", PASSWORD).status_code == 302
    client.post("/accounts/logout/")

    for _ in range(4):
        response = attempt(client, "township_a", WRONG)

    assert response.status_code == 200
    [row] = AccessAttempt.objects.filter(username="township_a")
    assert row.failures_since_start == 4
    assert not AuditEvent.objects.filter(action=Action.LOCKOUT).exists()


def test_it_lets_the_security_administrator_lift_a_lockout(client, client_for, users):
    fail_five_times(client, "township_a")
    secadmin = client_for("secadmin")

    response = secadmin.post(f"/accounts/users/{users['township_a'].pk}/unlock/")

    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="township_a").exists()
    [unlock] = AuditEvent.objects.filter(action=Action.ACCOUNT_UNLOCKED)
    assert unlock.actor == users["secadmin"]
    assert unlock.object_id == str(users["township_a"].pk)
    assert attempt(client, "township_a", PASSWORD).status_code == 302

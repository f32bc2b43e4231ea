"""Login with the password (NONFUNCTIONAL.md "Login"): every success and failure
is in the audit log with the client address; `next` only to this site."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from tanfang.audit.models import Action, AuditEvent
from tests.conftest import COUNTY, PASSWORD, VILLAGE_A, aware

MORNING = aware(2026, 11, 23, 9, 0)
LOGIN = "/accounts/login/"


def post_login(client: Client, username: str, password: str, **extra: str):
    data = {"username": username, "password": password}
    if "next" in extra:
        data["next"] = extra.pop("next")
    return client.post(LOGIN, data, REMOTE_ADDR=extra.pop("ip", "10.0.0.1"), **extra)


def test_it_shows_the_login_form_in_chinese(client, db):
    response = client.get(LOGIN)

    assert response.status_code == 200
    body = response.content.decode()
    assert "用户名" in body
    assert "密码" in body
    assert "登录" in body


def test_it_logs_in_with_the_password(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)

    response = client.post(
        LOGIN,
        {"username": "liaison_a", "password": PASSWORD},
        REMOTE_ADDR="10.20.30.40",
        headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) 测试"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(users["liaison_a"].pk)
    [event] = AuditEvent.objects.all()
    assert event.action == Action.LOGIN
    assert event.actor == users["liaison_a"]
    assert event.username == "liaison_a"
    assert event.region_code == VILLAGE_A
    assert event.ip_address == "10.20.30.40"
    assert event.user_agent == "Mozilla/5.0 (Linux; Android 14) 测试"
    assert event.at == MORNING


def test_it_refuses_a_wrong_password_with_a_chinese_message(client, users, time_machine):
    time_machine.move_to(MORNING, tick=False)

    response = post_login(client, "county", "Wrong@2026", ip="10.20.30.41")

    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    body = response.content.decode()
    assert "用户名或密码不正确。连续 5 次错误，账号将被锁定 30 分钟。" in body
    [event] = AuditEvent.objects.all()
    assert event.action == Action.LOGIN_FAILED
    assert event.actor is None
    assert event.username == "county"
    assert event.region_code == COUNTY
    assert event.ip_address == "10.20.30.41"
    assert event.at == MORNING
    assert event.detail == {"failures": 1, "refused_while_locked": False}
    # The password typed is never stored.
    assert "Wrong@2026" not in str(event.detail)


def test_it_records_a_failed_login_for_an_unknown_username(client, users):
    response = post_login(client, "nobody", PASSWORD, ip="10.20.30.42")

    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()
    [event] = AuditEvent.objects.all()
    assert event.action == Action.LOGIN_FAILED
    assert event.username == "nobody"
    assert event.region_code == ""
    assert event.ip_address == "10.20.30.42"


def test_it_names_the_missing_fields_in_chinese(client, users):
    response = client.post(LOGIN, {"username": "", "password": ""})

    assert response.status_code == 200
    body = response.content.decode()
    assert "用户名：这个字段是必填项。" in body
    assert "密码：这个字段是必填项。" in body
    assert SESSION_KEY not in client.session
    assert not AuditEvent.objects.exists()


def test_it_refuses_a_disabled_account(client, users):
    users["liaison_a"].is_active = False
    users["liaison_a"].save(update_fields=["is_active"])

    response = post_login(client, "liaison_a", PASSWORD)

    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    assert "用户名或密码不正确" in response.content.decode()
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [Action.LOGIN_FAILED]


def test_it_sends_a_signed_in_user_from_the_login_page_home(client_for):
    response = client_for("liaison_a").get(LOGIN)

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_carries_next_from_a_protected_page_to_the_login_form(client, users):
    first = client.get("/accounts/me/")
    assert first.status_code == 302
    assert first["Location"] == "/accounts/login/?next=%2Faccounts%2Fme%2F"

    page = client.get(first["Location"])
    assert '<input type="hidden" name="next" value="/accounts/me/">' in page.content.decode()

    response = post_login(client, "liaison_a", PASSWORD, next="/accounts/me/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/me/"


@pytest.mark.parametrize("target", ["/accounts/me/", "/regions/?page=2", "http://testserver/"])
def test_it_honours_a_next_on_this_site(client, users, target):
    response = post_login(client, "liaison_a", PASSWORD, next=target)

    assert response.status_code == 302
    assert response["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/accounts/me/",
        "http://evil.example/",
        "https:///evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
        "http://testserver.evil.example/",
    ],
)
def test_it_ignores_a_next_to_another_site(client, users, target):
    response = post_login(client, "liaison_a", PASSWORD, next=target)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert AuditEvent.objects.filter(action=Action.LOGIN).count() == 1


def test_it_does_not_put_a_foreign_next_into_the_form(client, db):
    response = client.get(LOGIN, {"next": "https://evil.example/"})

    assert response.status_code == 200
    body = response.content.decode()
    assert "evil.example" not in body
    assert 'name="next"' not in body


def test_it_keeps_next_through_the_second_factor(client, users):
    response = post_login(client, "county", PASSWORD, next="/accounts/me/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/otp/?next=%2Faccounts%2Fme%2F"


def test_it_drops_a_foreign_next_before_the_second_factor(client, users):
    response = post_login(client, "county", PASSWORD, next="https://evil.example/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/otp/"


def test_it_gives_a_new_session_key_at_login(client, users):
    client.get(LOGIN)
    client.session.save()
    before = client.session.session_key

    post_login(client, "liaison_a", PASSWORD)

    assert client.session.session_key != before
    assert client.session[SESSION_KEY] == str(users["liaison_a"].pk)


def test_it_requires_the_csrf_token(users):
    client = Client(enforce_csrf_checks=True)

    response = post_login(client, "liaison_a", PASSWORD)

    assert response.status_code == 403
    assert SESSION_KEY not in client.session
    assert not AuditEvent.objects.exists()

"""Second factor (NONFUNCTIONAL.md "Second factor"): county officers,
supervisors and the three administrators give a TOTP code after the password."""

from base64 import b32encode
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tanfang.accounts.models import User
from tanfang.audit.models import Action, AuditEvent
from tests.conftest import PASSWORD, aware

MORNING = aware(2026, 11, 23, 9, 0)
OTP = "/accounts/otp/"
SETUP = "/accounts/me/otp/"
ASKED = ["county", "supervisor", "sysadmin", "secadmin", "auditor"]
NOT_ASKED = ["liaison_a", "township_a", "visitor_a"]


def log_in(client: Client, username: str, **data: str):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": PASSWORD, **data},
        REMOTE_ADDR="10.3.3.3",
    )


def code_for(device: TOTPDevice) -> str:
    """What the phone shows now."""
    return f"{totp(device.bin_key):06d}"


def wrong_code_for(device: TOTPDevice) -> str:
    return f"{(int(code_for(device)) + 1) % 1_000_000:06d}"


def bind_device(user: User) -> TOTPDevice:
    device: TOTPDevice = TOTPDevice.objects.create(user=user, name="手机", confirmed=True)
    return device


def verified(client: Client) -> bool:
    return DEVICE_ID_SESSION_KEY in client.session


@pytest.fixture
def morning(time_machine):
    time_machine.move_to(MORNING, tick=False)
    return time_machine


# Who is asked ------------------------------------------------------------------------


@pytest.mark.parametrize("username", ASKED)
def test_it_asks_for_a_code_after_the_password(client, users, username, morning):
    bind_device(users[username])

    response = log_in(client, username)

    assert response.status_code == 302
    assert response["Location"] == OTP
    assert client.session[SESSION_KEY] == str(users[username].pk)
    assert not verified(client)
    for path in ["/", "/accounts/me/", "/regions/", "/accounts/users/", "/audit/"]:
        assert client.get(path)["Location"] == OTP, path
    assert AuditEvent.objects.filter(action=Action.LOGIN, username=username).count() == 1


@pytest.mark.parametrize("username", NOT_ASKED)
def test_it_does_not_ask_the_other_roles(client, users, username):
    response = log_in(client, username)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert not TOTPDevice.objects.filter(user=users[username]).exists()


@pytest.mark.parametrize("username", ASKED)
def test_it_asks_nobody_with_the_setting_off(client, users, username, settings):
    settings.TANFANG_REQUIRE_2FA = False

    response = log_in(client, username)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/accounts/me/").status_code == 200
    assert not TOTPDevice.objects.filter(user=users[username]).exists()


# Entering the code ---------------------------------------------------------------------


def test_it_accepts_the_current_code(client, users, morning):
    device = bind_device(users["county"])
    log_in(client, "county")

    page = client.get(OTP)
    assert page.status_code == 200
    assert "输入动态口令" in page.content.decode()

    response = client.post(OTP, {"token": code_for(device)}, REMOTE_ADDR="10.3.3.4")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/").status_code == 200
    [event] = AuditEvent.objects.filter(action=Action.OTP_VERIFIED)
    assert event.actor == users["county"]
    assert event.ip_address == "10.3.3.4"
    assert event.at == MORNING


def test_it_goes_on_to_next_after_the_code(client, users, morning):
    device = bind_device(users["county"])
    first = log_in(client, "county", next="/accounts/me/")
    assert first["Location"] == "/accounts/otp/?next=%2Faccounts%2Fme%2F"

    response = client.post(first["Location"], {"token": code_for(device)})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/me/"


def test_it_ignores_a_foreign_next_after_the_code(client, users, morning):
    device = bind_device(users["county"])
    log_in(client, "county")

    response = client.post(OTP, {"token": code_for(device), "next": "https://evil.example/"})

    assert response["Location"] == "/"


def test_it_refuses_a_wrong_code(client, users, morning):
    device = bind_device(users["county"])
    log_in(client, "county")

    response = client.post(OTP, {"token": wrong_code_for(device)}, REMOTE_ADDR="10.3.3.5")

    assert response.status_code == 200
    assert "动态口令不正确或已过期，请查看手机上的最新口令。" in response.content.decode()
    assert not verified(client)
    assert client.get("/")["Location"] == OTP
    [event] = AuditEvent.objects.filter(action=Action.OTP_FAILED)
    assert event.actor == users["county"]
    assert event.ip_address == "10.3.3.5"
    assert not AuditEvent.objects.filter(action=Action.OTP_VERIFIED).exists()


def test_it_names_a_malformed_code_in_chinese(client, users, morning):
    bind_device(users["county"])
    log_in(client, "county")

    for token in ["12345", "abcdef", ""]:
        response = client.post(OTP, {"token": token})
        assert response.status_code == 200
        assert "动态口令：" in response.content.decode()
        assert not verified(client)


def test_it_slows_down_guessing(client, users, morning):
    device = bind_device(users["county"])
    log_in(client, "county")
    client.post(OTP, {"token": wrong_code_for(device)})

    # Even the right code is refused while the device is throttled.
    response = client.post(OTP, {"token": code_for(device)})
    assert response.status_code == 200
    assert not verified(client)

    morning.shift(timedelta(seconds=2))
    response = client.post(OTP, {"token": code_for(device)})
    assert response.status_code == 302
    assert verified(client)
    assert AuditEvent.objects.filter(action=Action.OTP_FAILED).count() == 2


def test_it_refuses_a_code_used_once_already(users, morning):
    device = bind_device(users["county"])
    code = code_for(device)
    first, second = Client(), Client()
    log_in(first, "county")
    log_in(second, "county")

    assert first.post(OTP, {"token": code}).status_code == 302

    response = second.post(OTP, {"token": code})
    assert response.status_code == 200
    assert not verified(second)


# Binding a phone -------------------------------------------------------------------------


def test_it_sends_a_user_without_a_device_to_bind_one(client, users, morning):
    first = log_in(client, "supervisor", next="/accounts/me/")
    assert first["Location"] == "/accounts/otp/?next=%2Faccounts%2Fme%2F"

    response = client.get(first["Location"])

    assert response.status_code == 302
    assert response["Location"] == "/accounts/me/otp/?next=%2Faccounts%2Fme%2F"


def test_it_shows_the_qr_code_and_the_key(client, users, morning):
    log_in(client, "county")

    response = client.get(SETUP)

    assert response.status_code == 200
    [device] = TOTPDevice.objects.filter(user=users["county"])
    assert not device.confirmed
    body = response.content.decode()
    assert 'src="data:image/svg+xml' in body
    assert response.context["secret"].replace(" ", "") == b32encode(device.bin_key).decode()
    assert response.context["secret"] in body
    assert "no-store" in response["Cache-Control"]
    assert not verified(client)


def test_it_binds_a_phone_with_a_correct_code(client, users, morning):
    log_in(client, "county")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=users["county"])

    response = client.post(SETUP, {"token": code_for(device)}, REMOTE_ADDR="10.3.3.6")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/me/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/").status_code == 200
    [event] = AuditEvent.objects.filter(action=Action.OTP_DEVICE_ADDED)
    assert event.actor == users["county"]
    assert event.object_id == str(users["county"].pk)
    assert event.ip_address == "10.3.3.6"


def test_it_does_not_bind_with_a_wrong_code(client, users, morning):
    log_in(client, "county")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=users["county"])

    response = client.post(SETUP, {"token": wrong_code_for(device)})

    assert response.status_code == 200
    assert "动态口令不正确，请确认手机时间准确后重试。" in response.content.decode()
    # The same key is shown again, so that the phone already scanned still fits.
    assert response.context["secret"].replace(" ", "") == b32encode(device.bin_key).decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not verified(client)
    assert client.get("/")["Location"] == OTP
    [event] = AuditEvent.objects.filter(action=Action.OTP_FAILED)
    assert event.actor == users["county"]
    assert event.detail == {"setup": True}
    assert not AuditEvent.objects.filter(action=Action.OTP_DEVICE_ADDED).exists()

    morning.shift(timedelta(seconds=2))
    assert client.post(SETUP, {"token": code_for(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed


def test_it_refuses_to_rebind_before_the_code_is_given(client, users, morning):
    # Otherwise a stolen password alone could replace the second factor.
    device = bind_device(users["county"])
    log_in(client, "county")

    page = client.get(SETUP)
    attempt = client.post(SETUP, {"token": "123456"})

    assert page.status_code == 302
    assert page["Location"] == OTP
    assert attempt.status_code == 302
    assert attempt["Location"] == OTP
    assert list(TOTPDevice.objects.filter(user=users["county"])) == [device]
    assert not verified(client)
    assert not AuditEvent.objects.filter(action=Action.OTP_DEVICE_ADDED).exists()


def test_it_lets_a_verified_user_replace_the_phone(client, users, morning):
    old = bind_device(users["county"])
    log_in(client, "county")
    client.post(OTP, {"token": code_for(old)})

    assert client.get(SETUP).status_code == 200
    new = TOTPDevice.objects.get(user=users["county"], confirmed=False)
    morning.shift(timedelta(seconds=30))
    assert client.post(SETUP, {"token": code_for(new)}).status_code == 302

    assert list(TOTPDevice.objects.filter(user=users["county"])) == [new]
    new.refresh_from_db()
    assert new.confirmed
    assert client.session[DEVICE_ID_SESSION_KEY] == new.persistent_id


def test_it_asks_for_the_code_again_at_the_next_login(client, users, morning):
    device = bind_device(users["county"])
    log_in(client, "county")
    client.post(OTP, {"token": code_for(device)})
    client.post("/accounts/logout/")

    response = log_in(client, "county")

    assert response["Location"] == OTP
    assert not verified(client)
    assert client.get("/")["Location"] == OTP

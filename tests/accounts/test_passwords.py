"""Passwords (NONFUNCTIONAL.md "Passwords"): argon2, 8 characters with 3 of 4
classes, no common password, none of the last 5; officers' expire after 90 days."""

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, override_settings

import tanfang.settings as production
import tests.settings as test_settings
from tanfang.accounts import actions
from tanfang.accounts.models import PasswordHistory, User
from tanfang.audit.models import Action, AuditEvent
from tests.conftest import PASSWORD, aware

MORNING = aware(2026, 11, 23, 9, 0)
PAGE = "/accounts/me/password/"
NEW = "Xinmima#2027"
OFFICERS = ["liaison_a", "township_a", "county", "supervisor", "sysadmin", "secadmin", "auditor"]


def change(client: Client, new: str, old: str = PASSWORD, again: str | None = None):
    return client.post(
        PAGE,
        {
            "old_password": old,
            "new_password1": new,
            "new_password2": new if again is None else again,
        },
    )


def messages_of(password: str, user: User | None = None) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        validate_password(password, user)
    return raised.value.messages


def assert_unchanged(user: User) -> None:
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not PasswordHistory.objects.filter(user=user).exists()
    assert not AuditEvent.objects.filter(action=Action.PASSWORD_CHANGED).exists()


# Hashing -----------------------------------------------------------------------


def test_it_hashes_with_argon2_in_production():
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    # The others are there only to read hashes made before; none is weaker than PBKDF2.
    assert not any("MD5" in name or "SHA1" in name for name in production.PASSWORD_HASHERS)


def test_it_makes_an_argon2id_hash_with_the_production_hashers():
    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        encoded = make_password(NEW)

        assert encoded.startswith("argon2$argon2id$")
        assert check_password(NEW, encoded)
        assert not check_password(PASSWORD, encoded)


def test_it_tests_the_production_validators_and_limits():
    assert test_settings.AUTH_PASSWORD_VALIDATORS == production.AUTH_PASSWORD_VALIDATORS
    assert timedelta(days=90) == production.TANFANG_PASSWORD_MAX_AGE
    assert production.TANFANG_PASSWORD_HISTORY == 5


# The rules, through validate_password --------------------------------------------


def test_it_accepts_a_good_password(users):
    validate_password(NEW, users["county"])
    validate_password("abc-DEF-ghi", users["county"])  # lower, upper, symbols
    validate_password("甲乙丙丁abc12", users["county"])  # non-ASCII counts as symbols


def test_it_refuses_fewer_than_8_characters():
    assert messages_of("Ab1!xyz") == ["密码太短，至少需要 8 个字符。"]


def test_it_accepts_exactly_8_characters():
    validate_password("Ab1!xyzw")


@pytest.mark.parametrize(
    "password",
    ["qzxwvtkmbn", "qzxwvt4729", "QZXWV-TKMB", "4729-5813-06", "QZXWVT4729"],
)
def test_it_refuses_fewer_than_3_character_classes(password):
    assert "密码须包含大写字母、小写字母、数字、符号中的至少三类。" in messages_of(password)


@pytest.mark.parametrize("password", ["Password1", "Qwerty123", "P@ssw0rd", "Iloveyou1"])
def test_it_refuses_a_common_password(password):
    assert messages_of(password) == ["这个密码太常见了。"]


def test_it_refuses_a_password_like_the_username(users):
    assert messages_of("Liaison_a1", users["liaison_a"]) == ["密码跟 用户名 太相似了。"]


def test_it_refuses_each_of_the_last_five_passwords(users, time_machine):
    user = users["township_a"]
    history = [f"Mima#{number}xyzQ" for number in range(1, 7)]
    for number, password in enumerate(history):
        time_machine.move_to(MORNING + timedelta(days=number), tick=False)
        actions.change_password(acting_user=user, new_password=password)

    for password in history[1:]:
        assert messages_of(password, user) == ["不能使用最近 5 次用过的密码。"]
    # The sixth back, and the one before that, may be used again.
    validate_password(history[0], user)
    validate_password(PASSWORD, user)


def test_it_refuses_the_current_password_of_an_account_without_history(users):
    # Accounts made by create_user have no history row for their password.
    assert not PasswordHistory.objects.filter(user=users["county"]).exists()

    assert messages_of(PASSWORD, users["county"]) == ["不能使用最近 5 次用过的密码。"]


def test_it_lists_the_rules_on_the_page_in_chinese(client_for):
    response = client_for("county").get(PAGE)

    assert response.status_code == 200
    body = response.content.decode()
    for text in [
        "你的密码必须包含至少 8 个字符。",
        "须包含大写字母、小写字母、数字、符号中的至少三类。",
        "你的密码不能是一个常见密码。",
        "不能与最近 5 次用过的密码相同。",
    ]:
        assert text in body


# The rules, through the page -------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("Ab1!xyz", "密码太短，至少需要 8 个字符。"),
        ("qzxwvt4729", "密码须包含大写字母、小写字母、数字、符号中的至少三类。"),
        ("Password1", "这个密码太常见了。"),
        (PASSWORD, "不能使用最近 5 次用过的密码。"),
    ],
)
def test_it_refuses_a_weak_new_password_on_the_page(client_for, users, new, message):
    client = client_for("county")

    response = change(client, new)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert_unchanged(users["county"])


def test_it_refuses_a_wrong_old_password(client_for, users):
    response = change(client_for("county"), NEW, old="Wrong@2026")

    assert response.status_code == 200
    assert "你的旧密码不正确。请重新输入。" in response.content.decode()
    assert_unchanged(users["county"])


def test_it_refuses_two_different_new_passwords(client_for, users):
    response = change(client_for("county"), NEW, again="Xinmima#2028")

    assert response.status_code == 200
    assert "输入的两个密码不一致。" in response.content.decode()
    assert_unchanged(users["county"])


def test_it_changes_the_password(client_for, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    client = client_for("county")

    response = change(client, NEW)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/me/"
    user = users["county"]
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert user.password_changed_at == MORNING
    [history] = PasswordHistory.objects.filter(user=user)
    assert history.password == user.password
    assert history.created_at == MORNING
    [event] = AuditEvent.objects.filter(action=Action.PASSWORD_CHANGED)
    assert event.actor == user
    assert event.object_type == "user"
    assert event.object_id == str(user.pk)
    assert event.at == MORNING
    assert "Xinmima" not in str(event.detail)
    # The session survives the change; the second factor given stays given.
    assert client.get("/").status_code == 200


def test_it_refuses_the_last_five_passwords_on_the_page(client_for, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    client = client_for("township_a")
    passwords = [PASSWORD] + [f"Mima#{number}xyzQ" for number in range(1, 6)]
    for old, new in zip(passwords, passwords[1:], strict=False):
        assert change(client, new, old=old).status_code == 302

    current = passwords[-1]
    for earlier in passwords[1:]:
        response = change(client, earlier, old=current)
        assert response.status_code == 200
        assert "不能使用最近 5 次用过的密码。" in response.content.decode()
    assert PasswordHistory.objects.filter(user=users["township_a"]).count() == 5

    # The sixth back is allowed again.
    assert change(client, PASSWORD, old=current).status_code == 302
    assert PasswordHistory.objects.filter(user=users["township_a"]).count() == 6
    assert AuditEvent.objects.filter(action=Action.PASSWORD_CHANGED).count() == 6


# Expiry ------------------------------------------------------------------------------


def age_password(user: User, days: int) -> None:
    User.objects.filter(pk=user.pk).update(password_changed_at=MORNING - timedelta(days=days))


@pytest.mark.parametrize("username", OFFICERS)
def test_it_keeps_an_officers_password_for_89_days(client_for, users, username, time_machine):
    time_machine.move_to(MORNING, tick=False)
    age_password(users[username], 89)

    response = client_for(username).get("/")

    assert response.status_code == 200


@pytest.mark.parametrize("username", OFFICERS)
def test_it_expires_an_officers_password_at_90_days(client_for, users, username, time_machine):
    time_machine.move_to(MORNING, tick=False)
    age_password(users[username], 90)

    response = client_for(username).get("/")

    assert response.status_code == 302
    assert response["Location"] == PAGE


@pytest.mark.parametrize(
    "path", ["/", "/accounts/me/", "/regions/", f"/regions/{'350581000000'}/", "/audit/"]
)
def test_it_sends_every_page_to_the_password_page_once_expired(
    client_for, users, path, time_machine
):
    time_machine.move_to(MORNING, tick=False)
    username = "auditor" if path == "/audit/" else "county"
    age_password(users[username], 120)

    response = client_for(username).get(path)

    assert response.status_code == 302
    assert response["Location"] == PAGE


def test_it_lets_an_expired_officer_change_the_password_and_go_on(client_for, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    age_password(users["county"], 90)
    client = client_for("county")

    page = client.get(PAGE)
    assert page.status_code == 200
    assert "您的密码已过期或由管理员重置" in page.content.decode()

    assert change(client, NEW).status_code == 302

    user = users["county"]
    user.refresh_from_db()
    assert user.password_changed_at == MORNING
    assert user.password_expires_at() == MORNING + timedelta(days=90)
    assert client.get("/").status_code == 200
    assert client.get("/accounts/me/").status_code == 200
    assert PasswordHistory.objects.filter(user=user).count() == 1
    assert AuditEvent.objects.filter(action=Action.PASSWORD_CHANGED, actor=user).count() == 1


def test_it_lets_an_expired_officer_log_out(client_for, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    age_password(users["township_a"], 100)
    client = client_for("township_a")

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert SESSION_KEY not in client.session


def test_it_asks_for_the_second_factor_before_the_expired_password(client_for, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    age_password(users["county"], 100)
    client = client_for("county", verified=False)

    assert client.get("/")["Location"] == "/accounts/otp/"
    assert client.get(PAGE)["Location"] == "/accounts/otp/"
    assert change(client, NEW)["Location"] == "/accounts/otp/"
    users["county"].refresh_from_db()
    assert users["county"].check_password(PASSWORD)


def test_it_never_expires_a_visitors_password(client_for, users, time_machine):
    time_machine.move_to(MORNING, tick=False)
    age_password(users["visitor_a"], 1000)

    response = client_for("visitor_a").get("/")

    assert response.status_code == 200
    users["visitor_a"].refresh_from_db()
    assert users["visitor_a"].password_expires_at() is None


def test_it_forces_a_change_of_a_reset_password_even_for_a_visitor(client_for, users):
    User.objects.filter(pk=users["visitor_a"].pk).update(password_changed_at=None)
    client = client_for("visitor_a")

    assert client.get("/")["Location"] == PAGE
    assert client.get("/accounts/me/")["Location"] == PAGE
    page = client.get(PAGE)
    assert "您的密码已过期或由管理员重置" in page.content.decode()

    assert change(client, NEW).status_code == 302
    assert client.get("/").status_code == 200


def test_it_makes_the_user_replace_a_password_reset_by_the_security_administrator(
    client, client_for, users, time_machine
):
    time_machine.move_to(MORNING, tick=False)
    township = users["township_a"]
    secadmin = client_for("secadmin")
    first = AuditEvent.objects.order_by("id").last()

    shown = secadmin.post(f"/accounts/users/{township.pk}/reset-password/")
    temporary = shown.context["temporary"]
    township.refresh_from_db()
    assert township.password_changed_at is None

    login = client.post("/accounts/login/", {"username": "township_a", "password": temporary})
    assert login.status_code == 302
    assert client.get("/")["Location"] == PAGE
    # The temporary password is in the history: it cannot be kept.
    response = change(client, temporary, old=temporary)
    assert "不能使用最近 5 次用过的密码。" in response.content.decode()

    assert change(client, NEW, old=temporary).status_code == 302
    township.refresh_from_db()
    assert township.password_changed_at == MORNING
    assert township.check_password(NEW)
    assert client.get("/").status_code == 200
    assert list(
        AuditEvent.objects.filter(id__gt=first.id).order_by("id").values_list("action", "username")
    ) == [
        (Action.PASSWORD_RESET, "secadmin"),
        (Action.LOGIN, "township_a"),
        (Action.PASSWORD_CHANGED, "township_a"),
    ]

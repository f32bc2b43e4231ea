"""Account management by the security administrator: the list of the own subtree,
creating an account with a one-time password, editing it, resetting its
password, unlocking it and clearing its phone authenticator; each write audited."""

import re

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tanfang.accounts.models import PasswordHistory, User
from tanfang.accounts.permissions import Role
from tanfang.audit.models import Action, AuditEvent
from tests.conftest import (
    CITY,
    COUNTY,
    OTHER_COUNTY,
    OTHER_VILLAGE,
    PASSWORD,
    TOWNSHIP_A,
    TOWNSHIP_B,
    USERS,
    VILLAGE_A,
    VILLAGE_B,
    sign_in,
)

NEW_PASSWORD = "Xinmima#2027"

# The fixed users of 石狮市's subtree: what its security administrator manages.
SHISHI = {name for name, (_, code) in USERS.items() if code.startswith("350581")}


def make_accounts(regions, count, *, prefix="bulk", region=VILLAGE_A, role=Role.LIAISON):
    return [
        User.objects.create_user(
            f"{prefix}{i:03}", PASSWORD, full_name=f"批量{i}", role=role, region=regions[region]
        )
        for i in range(count)
    ]


def listed(response) -> list[str]:
    return [account.username for account in response.context["page"]]


def field_errors(response) -> list[str]:
    return re.findall(r'<p class="error">(.*?)</p>', response.content.decode())


def state():
    """Everything an account action may write."""
    return (
        list(User.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
        PasswordHistory.objects.count(),
        TOTPDevice.objects.count(),
    )


def new_account(**data):
    return {
        "username": "wang_xm",
        "full_name": "王小明",
        "role": Role.LIAISON,
        "region": VILLAGE_A,
        **data,
    }


def edit(account, **data):
    return {
        "full_name": account.full_name,
        "role": account.role,
        "region": account.region_id,
        "is_active": "on" if account.is_active else "",
        **data,
    }


def assert_audited(action, *, actor, region_code, target):
    event = AuditEvent.objects.filter(action=action).get()
    assert event.actor == actor
    assert event.username == actor.username
    assert event.region_code == region_code
    assert (event.object_type, event.object_id) == ("user", str(target.pk))
    assert event.ip_address == "127.0.0.1"
    return event


# The list ---------------------------------------------------------------------


def test_it_lists_the_accounts_of_the_own_subtree_only(client_for):
    response = client_for("secadmin").get("/accounts/users/")

    assert response.status_code == 200
    assert set(listed(response)) == SHISHI
    body = response.content.decode()
    assert "liaison_b" in body
    assert "county_other" not in body
    assert "secadmin_other" not in body
    assert ">supervisor</a>" not in body  # bound to 泉州市, above the county
    assert f"共 {len(SHISHI)} 个账号" in body


def test_it_lists_the_neighbouring_county_to_its_own_security_administrator(client_for):
    response = client_for("secadmin_other").get("/accounts/users/")

    assert set(listed(response)) == {
        name for name, (_, code) in USERS.items() if code.startswith("350582")
    }


def test_it_searches_by_username(client_for):
    response = client_for("secadmin").get("/accounts/users/", {"q": "LIAISON"})

    assert listed(response) == ["liaison_a", "liaison_b"]


def test_it_searches_by_full_name(client_for, regions):
    User.objects.create_user(
        "wxm", PASSWORD, full_name="王小明", role="liaison", region=regions[VILLAGE_B]
    )

    response = client_for("secadmin").get("/accounts/users/", {"q": "小明"})

    assert listed(response) == ["wxm"]
    assert "王小明" in response.content.decode()


def test_it_filters_by_role(client_for):
    response = client_for("secadmin").get("/accounts/users/", {"role": Role.TOWNSHIP})

    assert listed(response) == ["township_a", "township_b"]


def test_it_says_so_when_nothing_matches(client_for):
    response = client_for("secadmin").get("/accounts/users/", {"q": "county_other"})

    assert listed(response) == []
    assert "没有符合条件的账号。" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"role": "root"}, "角色：选择一个有效的选项。 root 不在可用的选项中。"),
        ({"q": "王" * 51}, "用户名或姓名：确保该变量包含不超过 50 字符 (目前字符数 51)。"),
    ],
)
def test_it_names_the_field_of_a_bad_filter_and_lists_nothing(client_for, query, error):
    response = client_for("secadmin").get("/accounts/users/", query)

    assert response.status_code == 200
    assert field_errors(response) == [error]
    assert listed(response) == []


def test_it_paginates_by_fifty(client_for, regions):
    make_accounts(regions, 60)
    client = client_for("secadmin")

    first = client.get("/accounts/users/")
    second = client.get("/accounts/users/", {"page": 2})

    assert len(listed(first)) == 50
    assert len(listed(second)) == len(SHISHI) + 60 - 50
    assert not set(listed(first)) & set(listed(second))
    assert "第 2 / 2 页" in second.content.decode()


def test_it_keeps_the_search_in_the_page_links(client_for, regions):
    make_accounts(regions, 60)

    response = client_for("secadmin").get("/accounts/users/", {"q": "bulk", "role": "liaison"})

    body = response.content.decode()
    assert "第 1 / 2 页" in body
    assert "?q=bulk&amp;role=liaison&amp;page=2" in body


def test_it_marks_locked_and_disabled_accounts(client_for, users):
    AccessAttempt.objects.create(
        username="liaison_a", ip_address="10.0.0.1", user_agent="", failures_since_start=5
    )
    User.objects.filter(username="township_b").update(is_active=False)

    body = client_for("secadmin").get("/accounts/users/").content.decode()

    assert re.search(r"liaison_a</a></td>.*?<td>已锁定</td>", body, re.S)
    assert re.search(r"township_b</a></td>.*?<td>已停用</td>", body, re.S)
    assert re.search(r"liaison_b</a></td>.*?<td>正常</td>", body, re.S)


@pytest.mark.parametrize("count", [5, 60])
def test_it_lists_with_a_fixed_number_of_queries(
    client_for, regions, django_assert_num_queries, count
):
    make_accounts(regions, count // 2, region=VILLAGE_A)
    make_accounts(regions, count - count // 2, prefix="more", region=TOWNSHIP_B, role="township")
    client = client_for("secadmin")

    # session, user, OTP device, the user's region, count, page, lockouts,
    # and the session's new last-seen time (three with its savepoint)
    with django_assert_num_queries(10):
        response = client.get("/accounts/users/")

    assert response.status_code == 200


# Creating ---------------------------------------------------------------------


def test_it_creates_an_account_with_a_one_time_password(client_for, users):
    client = client_for("secadmin")

    response = client.post("/accounts/users/new/", new_account())

    assert response.status_code == 200
    assert "账号已创建" in response.content.decode()
    temporary = response.context["temporary"]
    assert temporary in response.content.decode()
    account = User.objects.get(username="wang_xm")
    assert (account.full_name, account.role, account.region_id) == ("王小明", "liaison", VILLAGE_A)
    assert account.is_active
    assert account.check_password(temporary)
    assert account.password_changed_at is None
    assert account.password_history.count() == 1
    event = assert_audited(
        Action.ACCOUNT_CREATED, actor=users["secadmin"], region_code=VILLAGE_A, target=account
    )
    assert event.detail == {"username": "wang_xm", "role": "liaison", "region": VILLAGE_A}


def test_it_shows_the_one_time_password_only_once(client_for):
    client = client_for("secadmin")
    created = client.post("/accounts/users/new/", new_account())
    temporary = created.context["temporary"]
    account = User.objects.get(username="wang_xm")

    detail = client.get(f"/accounts/users/{account.pk}/")

    assert "no-store" in created["Cache-Control"]

    assert detail.status_code == 200
    assert temporary not in detail.content.decode()
    assert temporary not in account.password
    assert temporary not in str(list(AuditEvent.objects.values_list("detail", flat=True)))


def test_it_makes_a_generated_password_strong(client_for):
    temporary = (
        client_for("secadmin").post("/accounts/users/new/", new_account()).context["temporary"]
    )

    assert len(temporary) == 12
    assert re.search("[a-z]", temporary)
    assert re.search("[A-Z]", temporary)
    assert re.search("[0-9]", temporary)
    assert re.search("[^A-Za-z0-9]", temporary)


def test_it_makes_the_new_user_change_the_password_at_first_login(client_for):
    temporary = (
        client_for("secadmin").post("/accounts/users/new/", new_account()).context["temporary"]
    )
    client = Client()

    login = client.post("/accounts/login/", {"username": "wang_xm", "password": temporary})
    home = client.get("/")
    page = client.get("/accounts/me/password/")
    changed = client.post(
        "/accounts/me/password/",
        {"old_password": temporary, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert login.status_code == 302
    assert home.status_code == 302
    assert home["Location"] == "/accounts/me/password/"
    assert "请先设置新密码" in page.content.decode()
    assert changed.status_code == 302
    assert client.get("/").status_code == 200
    account = User.objects.get(username="wang_xm")
    assert account.check_password(NEW_PASSWORD)
    assert account.password_changed_at is not None
    assert AuditEvent.objects.filter(action=Action.PASSWORD_CHANGED, actor=account).count() == 1


@pytest.mark.parametrize(
    ("role", "region", "message"),
    [
        (Role.LIAISON, TOWNSHIP_A, "村(居)联络员只能设在以下层级：村(社区)。"),
        (Role.COUNTY, TOWNSHIP_A, "县级民政只能设在以下层级：县(区)。"),
        (Role.TOWNSHIP, VILLAGE_A, "乡镇(街道)指导员只能设在以下层级：乡镇(街道)。"),
        (Role.VISITOR, COUNTY, "探访人员只能设在以下层级：乡镇(街道)、村(社区)。"),
        (Role.AUDITOR, TOWNSHIP_B, "审计员只能设在以下层级：省、市、县(区)。"),
    ],
)
def test_it_refuses_a_role_that_does_not_fit_the_level(client_for, role, region, message):
    client = client_for("secadmin")
    before = state()

    response = client.post("/accounts/users/new/", new_account(role=role, region=region))

    assert response.status_code == 200
    assert field_errors(response) == [f"所属区划代码：{message}"]
    assert state() == before


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"username": "Liaison_A"}, "用户名：该用户名已被使用。"),
        ({"username": "a b"}, "用户名：用户名只能包含字母、数字和 _ . @ + -，至少 3 位。"),
        ({"username": "x" * 151}, "用户名：用户名只能包含字母、数字和 _ . @ + -，至少 3 位。"),
        ({"username": ""}, "用户名：这个字段是必填项。"),
        ({"full_name": ""}, "姓名：这个字段是必填项。"),
        ({"full_name": "王" * 51}, "姓名：确保该变量包含不超过 50 字符 (目前字符数 51)。"),
        ({"role": "root"}, "角色：选择一个有效的选项。 root 不在可用的选项中。"),
        ({"region": "350581999999"}, "所属区划代码：区划代码不存在或不在您的管辖范围内。"),
        ({"region": OTHER_VILLAGE}, "所属区划代码：区划代码不存在或不在您的管辖范围内。"),
        ({"region": "3505"}, "所属区划代码：确保该变量至少包含 12 字符(目前字符数 4)。"),
        ({"region": "3" * 13}, "所属区划代码：确保该变量包含不超过 12 字符 (目前字符数 13)。"),
    ],
)
def test_it_refuses_bad_input_naming_the_field_and_writes_nothing(client_for, data, error):
    client = client_for("secadmin")
    before = state()

    response = client.post("/accounts/users/new/", new_account(**data))

    assert response.status_code == 200
    assert field_errors(response) == [error]
    assert state() == before


# Editing ----------------------------------------------------------------------


def test_it_changes_the_name_role_region_and_status(client_for, users):
    account = users["liaison_a"]

    response = client_for("secadmin").post(
        f"/accounts/users/{account.pk}/",
        edit(account, full_name="李四", role=Role.VISITOR, region=TOWNSHIP_B, is_active=""),
    )

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/users/{account.pk}/"
    account.refresh_from_db()
    assert (account.full_name, account.role, account.region_id) == ("李四", "visitor", TOWNSHIP_B)
    assert not account.is_active
    event = assert_audited(
        Action.ACCOUNT_CHANGED, actor=users["secadmin"], region_code=TOWNSHIP_B, target=account
    )
    assert event.detail == {
        "changes": {
            "full_name": ["liaison_a", "李四"],
            "role": ["liaison", "visitor"],
            "region": [VILLAGE_A, TOWNSHIP_B],
            "is_active": [True, False],
        }
    }


def test_it_shows_the_account_in_the_form(client_for, users):
    account = users["liaison_a"]

    response = client_for("secadmin").get(f"/accounts/users/{account.pk}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert f'value="{VILLAGE_A}"' in body
    assert "动态口令：未绑定" in body
    assert "登录已锁定" not in body


def test_it_ends_the_sessions_of_a_disabled_account(client_for, users):
    account = users["liaison_a"]
    victim = client_for("liaison_a")
    client_for("secadmin").post(f"/accounts/users/{account.pk}/", edit(account, is_active=""))

    response = victim.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    login = Client().post("/accounts/login/", {"username": "liaison_a", "password": PASSWORD})
    assert login.status_code == 200
    assert "用户名或密码不正确" in login.content.decode()


@pytest.mark.parametrize(
    "change",
    [{"role": Role.SYSADMIN}, {"region": TOWNSHIP_A}, {"is_active": ""}],
    ids=["role", "region", "active"],
)
def test_it_refuses_a_change_of_the_own_role_region_or_status(client_for, users, change):
    secadmin = users["secadmin"]
    client = client_for("secadmin")
    before = state()

    response = client.post(f"/accounts/users/{secadmin.pk}/", edit(secadmin, **change))

    assert response.status_code == 200
    assert "不能修改自己的角色、所属区划或启用状态。" in response.content.decode()
    assert state() == before


ADMINS_FROM_ABOVE = "系统管理员、安全管理员、审计员的账号须由上级安全管理员管理。"


def test_it_leaves_the_administrators_own_account_to_the_level_above(client_for, users):
    secadmin = users["secadmin"]
    client = client_for("secadmin")
    before = state()

    response = client.post(
        f"/accounts/users/{secadmin.pk}/", edit(secadmin, full_name="安全管理员甲")
    )

    assert response.status_code == 200
    assert ADMINS_FROM_ABOVE in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("target", ["auditor", "sysadmin"])
def test_it_refuses_to_take_over_a_fellow_administrator_at_the_same_level(
    client_for, users, target
):
    # 三员分立: were this allowed, the security administrator could reset the
    # auditor's password, clear the second factor and read the log as the auditor.
    account = users[target]
    client = client_for("secadmin")
    before = state()

    reset = client.post(f"/accounts/users/{account.pk}/reset-password/", follow=True)
    clear = client.post(f"/accounts/users/{account.pk}/reset-otp/", follow=True)
    changed = client.post(f"/accounts/users/{account.pk}/", edit(account, full_name="改名"))

    assert ADMINS_FROM_ABOVE in reset.content.decode()
    assert ADMINS_FROM_ABOVE in clear.content.decode()
    assert ADMINS_FROM_ABOVE in changed.content.decode()
    assert state() == before


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.SECADMIN, Role.SYSADMIN])
def test_it_refuses_to_create_an_administrator_at_the_own_level(client_for, role):
    client = client_for("secadmin")
    before = state()

    response = client.post(
        "/accounts/users/new/", new_account(username="second", role=role, region=COUNTY)
    )

    assert response.status_code == 200
    assert ADMINS_FROM_ABOVE in response.content.decode()
    assert state() == before


def test_it_lets_the_city_manage_the_county_administrators(users, regions):
    city_secadmin = User.objects.create_user(
        "secadmin_city",
        PASSWORD,
        full_name="市安全管理员",
        role=Role.SECADMIN,
        region=regions[CITY],
    )
    client = sign_in(Client(), city_secadmin)
    auditor = users["auditor"]

    response = client.post(f"/accounts/users/{auditor.pk}/reset-password/")

    assert response.status_code == 200
    auditor.refresh_from_db()
    assert auditor.password_changed_at is None
    assert_audited(Action.PASSWORD_RESET, actor=city_secadmin, region_code=COUNTY, target=auditor)


@pytest.mark.parametrize("code", [OTHER_COUNTY, OTHER_VILLAGE, "350500000000"])
def test_it_refuses_to_move_an_account_out_of_the_subtree(client_for, users, code):
    account = users["liaison_a"]
    client = client_for("secadmin")
    before = state()

    response = client.post(f"/accounts/users/{account.pk}/", edit(account, region=code))

    assert response.status_code == 200
    assert field_errors(response) == ["所属区划代码：区划代码不存在或不在您的管辖范围内。"]
    assert state() == before


def test_it_refuses_a_role_that_does_not_fit_on_edit(client_for, users):
    account = users["liaison_a"]
    client = client_for("secadmin")
    before = state()

    response = client.post(f"/accounts/users/{account.pk}/", edit(account, role=Role.COUNTY))

    assert response.status_code == 200
    assert field_errors(response) == ["所属区划代码：县级民政只能设在以下层级：县(区)。"]
    assert state() == before


def test_it_refuses_a_too_long_name_on_edit(client_for, users):
    account = users["liaison_a"]
    client = client_for("secadmin")
    before = state()

    response = client.post(f"/accounts/users/{account.pk}/", edit(account, full_name="王" * 51))

    assert response.status_code == 200
    assert field_errors(response) == ["姓名：确保该变量包含不超过 50 字符 (目前字符数 51)。"]
    assert state() == before


# Resetting the password -------------------------------------------------------


def test_it_resets_a_password(client_for, users):
    account = users["liaison_a"]

    response = client_for("secadmin").post(f"/accounts/users/{account.pk}/reset-password/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "密码已重置" in body
    temporary = response.context["temporary"]
    assert temporary in body
    account.refresh_from_db()
    assert account.check_password(temporary)
    assert not account.check_password(PASSWORD)
    assert account.password_changed_at is None
    assert account.password_history.count() == 1
    assert_audited(
        Action.PASSWORD_RESET, actor=users["secadmin"], region_code=VILLAGE_A, target=account
    )


def test_it_ends_the_sessions_of_an_account_whose_password_is_reset(client_for, users):
    victim = client_for("liaison_a")

    client_for("secadmin").post(f"/accounts/users/{users['liaison_a'].pk}/reset-password/")

    response = victim.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_refuses_to_reset_the_own_password(client_for, users):
    secadmin = users["secadmin"]
    client = client_for("secadmin")
    before = state()

    response = client.post(f"/accounts/users/{secadmin.pk}/reset-password/", follow=True)

    assert response.redirect_chain == [(f"/accounts/users/{secadmin.pk}/", 302)]
    assert "不能重置自己的密码" in response.content.decode()
    assert state() == before


def test_it_resets_a_password_only_by_post(client_for, users):
    client = client_for("secadmin")
    before = state()

    response = client.get(f"/accounts/users/{users['liaison_a'].pk}/reset-password/")

    assert response.status_code == 405
    assert state() == before


# Unlocking --------------------------------------------------------------------


def lock_out(username):
    client = Client()
    for _ in range(5):
        client.post("/accounts/login/", {"username": username, "password": "wrong-Password1"})


def test_it_unlocks_a_locked_account(client_for, users):
    account = users["liaison_a"]
    lock_out("liaison_a")
    refused = Client().post("/accounts/login/", {"username": "liaison_a", "password": PASSWORD})
    assert refused.status_code == 403
    client = client_for("secadmin")
    assert "登录已锁定" in client.get(f"/accounts/users/{account.pk}/").content.decode()

    response = client.post(f"/accounts/users/{account.pk}/unlock/", follow=True)

    assert response.redirect_chain == [(f"/accounts/users/{account.pk}/", 302)]
    body = response.content.decode()
    assert "已解除 liaison_a 的登录锁定。" in body
    assert "登录已锁定" not in body
    assert not AccessAttempt.objects.filter(username="liaison_a").exists()
    event = assert_audited(
        Action.ACCOUNT_UNLOCKED, actor=users["secadmin"], region_code=VILLAGE_A, target=account
    )
    assert event.detail == {"attempts_cleared": 1}
    login = Client().post("/accounts/login/", {"username": "liaison_a", "password": PASSWORD})
    assert login.status_code == 302


def test_it_unlocks_only_the_account_asked_for(client_for, users):
    lock_out("liaison_a")
    lock_out("liaison_b")

    client_for("secadmin").post(f"/accounts/users/{users['liaison_a'].pk}/unlock/")

    assert AccessAttempt.objects.filter(username="liaison_b").exists()
    login = Client().post("/accounts/login/", {"username": "liaison_b", "password": PASSWORD})
    assert login.status_code == 403


def test_it_records_an_unlock_of_an_account_that_was_not_locked(client_for, users):
    account = users["liaison_a"]

    response = client_for("secadmin").post(f"/accounts/users/{account.pk}/unlock/")

    assert response.status_code == 302
    event = assert_audited(
        Action.ACCOUNT_UNLOCKED, actor=users["secadmin"], region_code=VILLAGE_A, target=account
    )
    assert event.detail == {"attempts_cleared": 0}


# Clearing the phone authenticator ---------------------------------------------


def test_it_clears_the_totp_device(client_for, users):
    account = users["county"]
    officer = client_for("county")  # binds a confirmed device and uses it
    client = client_for("secadmin")
    assert "动态口令：已绑定" in client.get(f"/accounts/users/{account.pk}/").content.decode()

    response = client.post(f"/accounts/users/{account.pk}/reset-otp/", follow=True)

    assert response.redirect_chain == [(f"/accounts/users/{account.pk}/", 302)]
    assert "已解绑 county 的动态口令" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=account).exists()
    assert TOTPDevice.objects.filter(user=users["secadmin"]).exists()
    event = assert_audited(
        Action.OTP_DEVICE_REMOVED, actor=users["secadmin"], region_code=COUNTY, target=account
    )
    assert event.detail == {"devices": 1}
    # The officer's session no longer counts as verified: bind a new phone first.
    again = officer.get("/")
    assert again.status_code == 302
    assert again["Location"] == "/accounts/otp/"

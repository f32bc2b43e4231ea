"""The permission table encodes 三员分立 (NONFUNCTIONAL.md "Separation of duties"):
the system administrator, the security administrator and the auditor each do
their own work and none of the others', and none of them reads people's data."""

import pytest

from tanfang.accounts.permissions import ROLES, Perm, Role
from tanfang.regions.models import Level
from tests.test_url_access import ROUTES, fill

ADMINS = [Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR]
PEOPLE = {Perm.PEOPLE_VIEW, Perm.PEOPLE_CHANGE}
# Each administrator's own work: the one role that holds it.
DUTIES = {
    Perm.REGIONS_MANAGE: Role.SYSADMIN,
    Perm.ACCOUNTS_MANAGE: Role.SECADMIN,
    Perm.AUDIT_VIEW: Role.AUDITOR,
}


def perms_of(role: Role) -> frozenset[Perm]:
    return ROLES[role].perms


def test_it_has_a_policy_for_every_role():
    assert set(ROLES) == set(Role)


def test_it_lets_the_system_administrator_run_regions_but_not_accounts_or_the_audit_log():
    perms = perms_of(Role.SYSADMIN)

    assert {Perm.REGIONS_VIEW, Perm.REGIONS_MANAGE} <= perms
    assert Perm.ACCOUNTS_MANAGE not in perms
    assert Perm.AUDIT_VIEW not in perms


def test_it_lets_the_security_administrator_run_accounts_only():
    perms = perms_of(Role.SECADMIN)

    assert Perm.ACCOUNTS_MANAGE in perms
    assert Perm.REGIONS_MANAGE not in perms
    assert Perm.AUDIT_VIEW not in perms
    assert not perms & PEOPLE


def test_it_lets_the_auditor_only_read_the_audit_log():
    assert perms_of(Role.AUDITOR) == {Perm.AUDIT_VIEW}


def test_it_gives_the_supervisor_no_right_to_change_or_manage():
    perms = perms_of(Role.SUPERVISOR)

    assert Perm.PEOPLE_VIEW in perms
    assert not [perm for perm in perms if perm.endswith((".change", ".manage"))]


@pytest.mark.parametrize("role", ADMINS)
def test_it_keeps_people_data_from_every_administrator(role):
    assert not perms_of(role) & PEOPLE
    assert Perm.REPORTS_VIEW not in perms_of(role)


@pytest.mark.parametrize("duty", DUTIES)
def test_it_gives_each_administrator_duty_to_exactly_one_role(duty):
    holders = {role for role, policy in ROLES.items() if duty in policy.perms}

    assert holders == {DUTIES[duty]}


def test_it_shares_no_duty_between_the_three_administrators():
    for role in ADMINS:
        for other in ADMINS:
            if role != other:
                assert perms_of(role) & perms_of(other) <= {Perm.REGIONS_VIEW}


@pytest.mark.parametrize("role", [*ADMINS, Role.SUPERVISOR, Role.COUNTY])
def test_it_requires_the_second_factor_of_officers_with_wide_powers(role):
    assert ROLES[role].second_factor


@pytest.mark.parametrize("role", ADMINS)
def test_it_binds_administrators_to_a_county_or_higher_with_a_short_idle_timeout(role):
    assert ROLES[role].levels <= {Level.PROVINCE, Level.CITY, Level.COUNTY}
    assert ROLES[role].idle_timeout.total_seconds() == 15 * 60
    assert ROLES[role].password_expires


# The same, on the pages --------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "url"),
    [
        ("sysadmin", "/accounts/users/"),
        ("sysadmin", "/accounts/users/new/"),
        ("sysadmin", "/audit/"),
        ("secadmin", "/audit/"),
        ("secadmin", "/regions/import/"),
        ("auditor", "/accounts/users/"),
        ("auditor", "/regions/"),
        ("auditor", "/regions/import/"),
    ],
)
def test_it_refuses_an_administrator_the_work_of_another(client_for, username, url):
    response = client_for(username).get(url)

    assert response.status_code == 403
    assert "无权访问" in response.content.decode()


@pytest.mark.parametrize(
    ("username", "url"),
    [
        ("sysadmin", "/regions/import/"),
        ("secadmin", "/accounts/users/"),
        ("secadmin", "/accounts/users/new/"),
        ("auditor", "/audit/"),
    ],
)
def test_it_lets_each_administrator_do_their_own_work(client_for, username, url):
    assert client_for(username).get(url).status_code == 200


def test_it_refuses_the_security_administrator_a_rename(client_for, regions):
    response = client_for("secadmin").post("/regions/350581100000/rename/", {"name": "新名"})

    assert response.status_code == 403
    assert regions["350581100000"].name == "灵秀镇"


# Pages every signed-in user reaches, whatever the role: the home page and their own account.
OWN_PAGES = {
    "home",
    "accounts:login",
    "accounts:logout",
    "accounts:otp",
    "accounts:me",
    "accounts:password",
    "accounts:otp_setup",
}


def test_it_opens_no_page_to_every_role_but_home_and_the_own_account():
    open_to_all = {route.name for route in ROUTES if not route.rule.perms}

    assert open_to_all == OWN_PAGES


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name not in OWN_PAGES], ids=str)
def test_it_refuses_the_auditor_everything_but_the_audit_log(route, client_for, users):
    auditor = users["auditor"]
    client = client_for("auditor")
    url = route.url(fill(route, auditor.region))

    for method in (client.get, client.post):
        response = method(url)
        if route.name == "audit:list":
            assert response.status_code == 200
        else:
            assert response.status_code == 403, f"{method.__name__.upper()} {url}"


def test_it_shows_the_auditor_only_the_audit_log_in_the_navigation(client_for):
    body = client_for("auditor").get("/").content.decode()

    assert "审计日志" in body
    for label in ("行政区划", "区划导入", "账号管理"):
        assert label not in body


def test_it_shows_each_administrator_only_their_own_work_in_the_navigation(client_for):
    sysadmin = client_for("sysadmin").get("/").content.decode()
    secadmin = client_for("secadmin").get("/").content.decode()

    assert "区划导入" in sysadmin
    assert "账号管理" not in sysadmin
    assert "审计日志" not in sysadmin
    assert "账号管理" in secadmin
    assert "区划导入" not in secadmin
    assert "审计日志" not in secadmin

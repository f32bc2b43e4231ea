"""`manage.py seed_demo [--seed N]`: the demo county and one account per role."""

import re
from collections import Counter
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from tanfang.accounts.models import PasswordHistory, User
from tanfang.accounts.permissions import Role
from tanfang.audit.models import Action, AuditEvent
from tanfang.regions.models import Kind, Level, Region
from tests.conftest import aware

NOW = aware(2026, 11, 23, 9, 0)
COUNTY = "350581000000"
LINGXIU = "350581100000"  # 灵秀镇, a town
HUBIN = "350581001000"  # 湖滨街道, a street
USERNAMES = [
    "auditor",
    "county",
    "liaison",
    "secadmin",
    "supervisor",
    "sysadmin",
    "township",
    "visitor",
]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def villages() -> dict[str, str]:
    return dict(Region.objects.filter(level=Level.VILLAGE).values_list("code", "name"))


def test_it_loads_the_county_with_ten_townships_of_ten_villages(db):
    seed()

    assert Region.objects.count() == 113
    county = Region.objects.get(code=COUNTY)
    assert county.name == "石狮市"
    townships = list(county.children.all())
    assert len(townships) == 10
    assert {township.level for township in townships} == {Level.TOWNSHIP}
    for township in townships:
        children = list(township.children.all())
        assert len(children) == 10, township.name
        assert {child.level for child in children} == {Level.VILLAGE}
        assert len({child.name for child in children}) == 10, township.name


def test_it_gives_a_town_communities_at_the_seat_and_villages_around_it(db):
    seed()

    children = Region.objects.get(code=LINGXIU).children.all()
    assert Counter(child.kind for child in children) == {Kind.URBAN: 2, Kind.RURAL: 8}
    for child in children:
        assert child.name.endswith("社区" if child.kind == Kind.URBAN else "村")
        # The code says the same as the kind (居委会 001–199, 村委会 from 200).
        assert (int(child.code[9:]) < 200) == (child.kind == Kind.URBAN)


def test_it_gives_a_street_communities_only(db):
    seed()

    children = Region.objects.get(code=HUBIN).children.all()
    assert {child.kind for child in children} == {Kind.URBAN}
    assert all(child.name.endswith("社区") for child in children)


def test_it_creates_one_demo_account_per_role(db):
    seed()

    accounts = {user.username: user for user in User.objects.select_related("region")}
    assert sorted(accounts) == USERNAMES
    assert sorted(user.role for user in accounts.values()) == sorted(Role.values)
    assert accounts["county"].region_id == COUNTY
    assert accounts["supervisor"].region_id == "350500000000"
    assert accounts["township"].region_id == LINGXIU
    assert accounts["liaison"].region.parent_id == LINGXIU
    assert accounts["liaison"].region.level == Level.VILLAGE
    assert accounts["visitor"].region_id == accounts["liaison"].region_id
    for username in ["sysadmin", "secadmin", "auditor"]:
        assert accounts[username].region_id == COUNTY


def test_it_prints_a_password_the_demo_accounts_log_in_with(db):
    out = seed()

    password = re.search(r"密码均为 (\S+?)）", out).group(1)
    for user in User.objects.all():
        assert user.check_password(password), user.username
    for username in USERNAMES:
        assert re.search(rf"^  {username} ", out, re.MULTILINE), username


def test_it_lets_the_demo_liaison_sign_in(client, db):
    out = seed()
    password = re.search(r"密码均为 (\S+?)）", out).group(1)

    response = client.post("/accounts/login/", {"username": "liaison", "password": password})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_dates_the_passwords_now_and_keeps_them_in_the_history(db):
    with time_machine.travel(NOW, tick=False):
        seed()

    assert set(User.objects.values_list("password_changed_at", flat=True)) == {NOW}
    assert PasswordHistory.objects.count() == 8
    for user in User.objects.all():
        assert PasswordHistory.objects.get(user=user).password == user.password


def test_it_can_run_again_without_change(db):
    seed()
    regions = list(Region.objects.values_list("code", "name", "level", "kind", "parent_id"))
    passwords = dict(User.objects.values_list("username", "password"))

    out = seed()

    assert "演示账号：新增 0 个。" in out
    assert not out.startswith("行政区划")
    assert list(Region.objects.values_list("code", "name", "level", "kind", "parent_id")) == regions
    assert dict(User.objects.values_list("username", "password")) == passwords
    assert PasswordHistory.objects.count() == 8
    # Nothing was imported the second time, so nothing was logged.
    assert AuditEvent.objects.filter(action=Action.REGIONS_IMPORTED).count() == 1


def test_it_makes_the_same_names_from_the_same_seed(db):
    seed("--seed", "7")
    first = villages()
    seed("--seed", "8")

    seed("--seed", "7")

    assert villages() == first


def test_it_renames_the_villages_for_another_seed_without_duplicating_them(db):
    seed("--seed", "7")
    before = villages()
    townships = dict(Region.objects.filter(level=Level.TOWNSHIP).values_list("code", "name"))

    out = seed("--seed", "8")

    after = villages()
    assert sorted(after) == sorted(before)
    assert after != before
    assert Region.objects.count() == 113
    assert User.objects.count() == 8
    assert dict(Region.objects.filter(level=Level.TOWNSHIP).values_list("code", "name")) == (
        townships
    )
    event = AuditEvent.objects.filter(action=Action.REGIONS_IMPORTED).first()
    renamed = {code: (old, new) for code, old, new in event.detail["renames"]}
    assert renamed == {
        code: (before[code], after[code]) for code in before if before[code] != after[code]
    }
    assert f"更新 {len(renamed)}" in out


@pytest.mark.parametrize("seed_value", ["1", "2026", "99999"])
def test_it_keeps_village_names_unique_within_a_township(db, seed_value):
    seed("--seed", seed_value)

    for township in Region.objects.filter(level=Level.TOWNSHIP):
        names = list(township.children.values_list("name", flat=True))
        assert len(set(names)) == len(names), township.name

"""Fixed regions and users shared by every test.

The tree: 福建省 > 泉州市 > 石狮市 (the demo county) with two townships, 灵秀镇
(村A) and 宝盖镇 (村B), and a neighbouring county 晋江市 with one township and
one village, for outsiders at every level.
"""

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from tanfang.accounts.middleware import LAST_SEEN, STARTED
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Role
from tanfang.audit import guard
from tanfang.regions.models import Kind, Level, Region

PASSWORD = "Tanfang@2026"

PROVINCE = "350000000000"
CITY = "350500000000"
COUNTY = "350581000000"
TOWNSHIP_A = "350581100000"
VILLAGE_A = "350581100201"
TOWNSHIP_B = "350581101000"
VILLAGE_B = "350581101201"
OTHER_COUNTY = "350582000000"
OTHER_TOWNSHIP = "350582100000"
OTHER_VILLAGE = "350582100201"

TREE = [
    (PROVINCE, "福建省", Level.PROVINCE, "", None),
    (CITY, "泉州市", Level.CITY, "", PROVINCE),
    (COUNTY, "石狮市", Level.COUNTY, "", CITY),
    (TOWNSHIP_A, "灵秀镇", Level.TOWNSHIP, "", COUNTY),
    (VILLAGE_A, "村A", Level.VILLAGE, Kind.RURAL, TOWNSHIP_A),
    (TOWNSHIP_B, "宝盖镇", Level.TOWNSHIP, "", COUNTY),
    (VILLAGE_B, "村B", Level.VILLAGE, Kind.RURAL, TOWNSHIP_B),
    (OTHER_COUNTY, "晋江市", Level.COUNTY, "", CITY),
    (OTHER_TOWNSHIP, "安海镇", Level.TOWNSHIP, "", OTHER_COUNTY),
    (OTHER_VILLAGE, "村C", Level.VILLAGE, Kind.RURAL, OTHER_TOWNSHIP),
]

# name -> (role, region code): the fixed users of STYLE.md, and an outsider of
# each administrator role in the neighbouring county.
USERS = {
    "visitor_a": (Role.VISITOR, VILLAGE_A),
    "liaison_a": (Role.LIAISON, VILLAGE_A),
    "liaison_b": (Role.LIAISON, VILLAGE_B),
    "township_a": (Role.TOWNSHIP, TOWNSHIP_A),
    "township_b": (Role.TOWNSHIP, TOWNSHIP_B),
    "county": (Role.COUNTY, COUNTY),
    "county_other": (Role.COUNTY, OTHER_COUNTY),
    "supervisor": (Role.SUPERVISOR, CITY),
    "sysadmin": (Role.SYSADMIN, COUNTY),
    "secadmin": (Role.SECADMIN, COUNTY),
    "auditor": (Role.AUDITOR, COUNTY),
    "sysadmin_other": (Role.SYSADMIN, OTHER_COUNTY),
    "secadmin_other": (Role.SECADMIN, OTHER_COUNTY),
    "auditor_other": (Role.AUDITOR, OTHER_COUNTY),
}


@pytest.fixture
def regions(db: None) -> dict[str, Region]:
    made: dict[str, Region] = {}
    for code, name, level, kind, parent in TREE:
        made[code] = Region.objects.create(
            code=code, name=name, level=level, kind=kind, parent_id=parent
        )
    return made


@pytest.fixture
def users(regions: dict[str, Region]) -> dict[str, User]:
    return {
        username: User.objects.create_user(
            username, PASSWORD, full_name=username, role=role, region=regions[code]
        )
        for username, (role, code) in USERS.items()
    }


def sign_in(client: Client, user: User, *, verified: bool = True) -> Client:
    """A signed-in session as after a real login, with the second factor given."""
    client.force_login(user)
    session = client.session
    now = timezone.now().isoformat()
    session[STARTED] = now
    session[LAST_SEEN] = now
    if verified:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, confirmed=True, defaults={"name": "test"}
        )
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def client_for(users: dict[str, User]) -> Callable[[str], Client]:
    """`client_for("county")`: a fresh client signed in as that fixed user."""

    def make(username: str, verified: bool = True) -> Client:
        return sign_in(Client(), users[username], verified=verified)

    return make


def aware(*args: int) -> datetime:
    """A moment in Asia/Shanghai: aware(2026, 11, 23, 9, 0)."""
    return timezone.make_aware(datetime(*args))  # noqa: DTZ001


# The audit table refuses DELETE (tanfang/audit/guard.py), but a test that
# commits (live_server, transaction=True) is cleaned up by deleting every row of
# every table. For those tests only, the guard is lifted just before the clean-up
# and put back right after it; every other test runs inside the guard.
_guard_lifted = {"lifted": False}


@pytest.fixture
def _audit_guard_back(django_db_blocker: Any) -> Iterator[None]:
    yield
    if _guard_lifted["lifted"]:
        with django_db_blocker.unblock():
            guard.install(connection)
        _guard_lifted["lifted"] = False


@pytest.fixture
def _django_db_helper(_audit_guard_back: None, _django_db_helper: None) -> Iterator[None]:
    yield
    if not connection.in_atomic_block:
        guard.remove(connection)
        _guard_lifted["lifted"] = True

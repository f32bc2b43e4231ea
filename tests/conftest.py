"""Fixed regions and users shared by every test.

The tree: 福建省 > 泉州市 > 石狮市 (the demo county) with two townships, 灵秀镇
(村A) and 宝盖镇 (村B), and a neighbouring county 晋江市 with one township and
one village, for outsiders at every level.

The tree and the users are written once per test database (once per xdist
worker), committed, right after the migrations; each test then runs inside a
transaction that rolls back to them, so `regions` and `users` only read them
(two queries) instead of writing 24 rows and hashing 14 passwords per test.
Tests that ask for neither find them deleted inside their own transaction, so
they still start from an empty table; a test that commits (live_server,
transaction=True) is cleaned up by emptying every table, after which they are
written again.
"""

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from django.db import OperationalError, connection
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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-only",
        action="store_true",
        help="run only the tests that use the database (CI's second database: "
        "the other tests do not depend on which database is configured).",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--database-only"):
        kept, dropped = [], []
        for item in items:
            (kept if _uses_database(item) else dropped).append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept
    # The tests that commit (a live server, a browser, the retry storm) are the
    # slowest by far; run first, they no longer leave one xdist worker busy
    # alone at the end of the run while the other has nothing left to do.
    items.sort(key=lambda item: not _commits(item))


def _uses_database(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return "_django_db_helper" in names or item.get_closest_marker("django_db") is not None


def _commits(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    marker = item.get_closest_marker("django_db")
    return (
        "transactional_db" in names
        or "live_server" in names
        or (marker is not None and bool(marker.kwargs.get("transaction")))
    )


def _write_shared_rows() -> None:
    """The fixed tree and users, those not there yet; see the module's docstring.

    Only the missing ones: a database kept by --reuse-db still has them, and a
    test that asked for `users` late (request.getfixturevalue) had them deleted."""
    Region.objects.bulk_create(
        [
            Region(code=code, name=name, level=level, kind=kind, parent_id=parent)
            for code, name, level, kind, parent in TREE
        ],
        ignore_conflicts=True,
    )
    there = set(User.objects.filter(username__in=USERS).values_list("username", flat=True))
    for username, (role, code) in USERS.items():
        if username not in there:
            User.objects.create_user(
                username, PASSWORD, full_name=username, role=role, region_id=code
            )


def _delete_shared_rows(*, regions_too: bool) -> None:
    """Empty the users (and the tree) for a test that did not ask for them.

    Nothing else references them yet, so one plain DELETE per table does
    (foreign keys are checked at commit); inside the test's transaction it is
    rolled back with the rest of the test."""
    tables = [User._meta.db_table] + ([Region._meta.db_table] if regions_too else [])
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")  # noqa: S608


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        _write_shared_rows()


@pytest.fixture
def regions(db: None) -> dict[str, Region]:
    codes = [code for code, *_ in TREE]
    made = Region.objects.in_bulk(codes)
    if len(made) < len(codes):
        _write_shared_rows()
        made = Region.objects.in_bulk(codes)
    return {code: made[code] for code in codes}


@pytest.fixture
def users(regions: dict[str, Region]) -> dict[str, User]:
    # As if created now: the clock may be frozen by the test (request `now`
    # or `frozen` before `users`), and password age counts from this moment.
    now = timezone.now()
    if User.objects.filter(username__in=USERS).update(
        date_joined=now, password_changed_at=now
    ) < len(USERS):
        _write_shared_rows()
    made = User.objects.in_bulk(list(USERS), field_name="username")
    for username, (_, code) in USERS.items():
        made[username].region = regions[code]
    return {username: made[username] for username in USERS}


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
# and put back right after it, with the shared tree and users written again;
# every other test runs inside the guard.
_guard_lifted = {"lifted": False}


@pytest.fixture
def _audit_guard_back(django_db_blocker: Any) -> Iterator[None]:
    yield
    if _guard_lifted["lifted"]:
        with django_db_blocker.unblock():
            guard.install(connection)
            _write_shared_rows()
        _guard_lifted["lifted"] = False


@pytest.fixture
def _django_db_helper(
    request: pytest.FixtureRequest, _audit_guard_back: None, _django_db_helper: None
) -> Iterator[None]:
    wanted = request.fixturenames
    if "users" not in wanted:
        _delete_shared_rows(regions_too="regions" not in wanted)
    yield
    if not connection.in_atomic_block:
        _remove_guard_when_free()
        _guard_lifted["lifted"] = True


def _remove_guard_when_free() -> None:
    """After a browser test, the live server's thread may still be answering a
    request the page's service worker made as the page closed; SQLite then
    says the table is locked for a moment. Wait for it (at most 10 s)."""
    for _ in range(50):
        try:
            guard.remove(connection)
            return
        except OperationalError as error:
            if "locked" not in str(error):
                raise
            time.sleep(0.2)
    guard.remove(connection)

"""The retry storm (issue 5 item 7, NONFUNCTIONAL.md "Reliability"): 1,000 visits,
each sent 3 times at once to a live server on PostgreSQL, leave exactly 1,000
records and 1,000 completed tasks. A phone on a village network resends what
it is not sure was received; the server must store each visit once.

PostgreSQL only: SQLite takes one writer at a time, so the race this test
is about cannot happen there (CI runs the suite on both).
"""

import http.client
import json
import random
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from tanfang.registry.models import Elder
from tanfang.visits.models import Assignment, TaskKind, Visit, VisitTask
from tests.conftest import VILLAGE_A, sign_in
from tests.visits.factories import GOOD, PNG, follow_shishi, make_visitor

VISITS = 1000
COPIES = 3
THREADS = 12


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the race needs concurrent writers: PostgreSQL")


def many_elders(users, count):
    """Elders made in bulk: the storm is about visits, not about registration."""
    today = timezone.localdate()
    Elder.objects.bulk_create(
        Elder(
            name=f"老人{n}",
            sex="女",
            birth_date=date(1940, 1, 1),
            id_number_token="-",
            id_number_hash=f"storm-{n}",
            id_last4_hash=f"storm-{n}",
            village_id=VILLAGE_A,
            registered_by=users["liaison_a"],
            registered_on=today - timedelta(days=100),
            tier="key",
            tier_label="重点对象",
        )
        for n in range(count)
    )
    return list(Elder.objects.order_by("pk"))


def test_a_retry_storm_stores_each_visit_once(postgresql, live_server, users, regions):
    follow_shishi(users)
    elders = many_elders(users, VISITS)
    visitor = make_visitor(users, regions)
    Assignment.objects.bulk_create(
        Assignment(elder=e, visitor=visitor, started_by=users["liaison_a"]) for e in elders
    )
    today = timezone.localdate()
    VisitTask.objects.bulk_create(
        VisitTask(
            elder=e,
            kind=TaskKind.REGULAR,
            key="storm",
            label="上门探访",
            window_start=today - timedelta(days=1),
            deadline=today + timedelta(days=1),
            window_end=today + timedelta(days=1),
            month=(today + timedelta(days=1)).replace(day=1),
            modes=["home"],
        )
        for e in elders
    )
    session = sign_in(Client(), users["visitor_a"]).cookies[settings.SESSION_COOKIE_NAME].value
    token = "a" * 32
    headers = {
        "Content-Type": "application/json",
        "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={token}",
        "X-CSRFToken": token,
        "Referer": live_server.url + "/",
    }
    visited_at = (timezone.now() - timedelta(minutes=1)).isoformat()
    bodies = [
        json.dumps(
            {
                "uuid": str(uuid.uuid4()),
                "elder_id": elder.pk,
                "mode": "home",
                "visited_at": visited_at,
                "answers": GOOD,
                "visitor_signature": PNG,
                "elder_signature": PNG,
            }
        )
        for elder in elders
    ]
    sends = [body for body in bodies for _ in range(COPIES)]
    random.Random(5).shuffle(sends)  # noqa: S311 - an order, not a secret
    address = urlparse(live_server.url)

    def send(body):
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        try:
            conn.request("POST", "/api/v1/visits", body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(send, sends))

    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {200, 201}, [r for r in results if r[0] not in {200, 201}][:3]
    assert statuses[201] == VISITS
    assert statuses[200] == VISITS * (COPIES - 1)
    assert Visit.objects.count() == VISITS
    assert VisitTask.objects.filter(key="storm", done_at__isnull=False).count() == VISITS
    assert set(Visit.objects.values_list("sequence", flat=True)) == {1}
    # Every copy answered with the one record of its UUID.
    by_uuid = {}
    for _, body in results:
        stored = json.loads(body)
        assert by_uuid.setdefault(stored["uuid"], stored["id"]) == stored["id"]
    assert len(by_uuid) == VISITS

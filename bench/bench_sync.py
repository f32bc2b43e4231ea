"""The phones' outboxes after a reconnect (issue 16, "Show"): PHONES simulated
phones, each with QUEUED visits kept offline, get their network back at the
same moment and drain their queues as tanfang/static/js/outbox.js does: one
session check (GET /visits/outbox/session/, for the CSRF token), then the
records one after another to POST /api/v1/visits.

Some phones resend: LOST_ANSWERS phones lose the answer to every fourth record
and send it again at once, and TWO_TABS phones have a second tab sending the
same queue at the same time. The server must store every record exactly once:
one 201 per UUID, 200 for every resend, no 409, no error; as many hazards and
needs as the records found, no more.

The server is gunicorn from the venv (WORKERS sync workers, as docs/OPERATIONS.md
suggests: 2 per core) on a free port of 127.0.0.1, over the benchmark's database
(a fresh SQLite file, or DATABASE_URL), with the demo's plain-HTTP settings. The
phones are threads of this process on the same machine. Printed: the time to
drain every queue, and the time per request (p50, p95, p99, max).
"""

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

PHONES = int(os.environ.get("BENCH_SYNC_PHONES", "100"))
QUEUED = int(os.environ.get("BENCH_SYNC_QUEUED", "20"))
ELDERS_PER_PHONE = 5
LOST_ANSWERS = PHONES // 5  # these phones resend every fourth record
TWO_TABS = PHONES // 10  # these phones send their queue from two tabs at once
WORKERS = int(os.environ.get("BENCH_SYNC_WORKERS", "4"))
# Every fifth record found a hazard (the gas) and a need (meals).
FINDS_EVERY = 5
PROFILE = "fujian-shishi"
COUNTY = "980101000000"
TOWNSHIP = "980101101000"
VILLAGES = [f"980101101{200 + v:03d}" for v in range(1, 11)]
# A 1-pixel PNG, as a signature drawn on the screen arrives.
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Phone:
    number: int
    session_key: str
    queue: list[dict[str, Any]]
    port: int
    csrf: str = ""
    results: list[tuple[str, str, int, float]] = field(default_factory=list)

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes, float]:
        cookies = f"sessionid={self.session_key}"
        headers = {"Accept": "application/json"}
        if self.csrf:
            cookies += f"; csrftoken={self.csrf}"
            headers["X-CSRFToken"] = self.csrf
        if body is not None:
            headers["Content-Type"] = "application/json"
        headers["Cookie"] = cookies
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            status = response.status
            if not self.csrf:
                for header in response.headers.get_all("Set-Cookie") or []:
                    if header.startswith("csrftoken="):
                        self.csrf = header.split(";", 1)[0].split("=", 1)[1]
        finally:
            connection.close()
        return status, data, time.perf_counter() - started

    def check_session(self) -> None:
        status, data, took = self.call("GET", "/visits/outbox/session/")
        self.results.append(("session", "", status, took))
        if status == 200:
            self.csrf = json.loads(data)["csrf"]

    def send(self, record: dict[str, Any], kind: str) -> None:
        status, _, took = self.call("POST", "/api/v1/visits", json.dumps(record).encode())
        self.results.append((kind, record["uuid"], status, took))

    def drain(self, *, lose_every: int = 0) -> None:
        self.check_session()
        for index, record in enumerate(self.queue):
            self.send(record, "visit")
            if lose_every and index % lose_every == 0:
                self.send(record, "resend")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    # The demo's plain HTTP; the static files are not collected here (no page is).
    env = {
        **os.environ,
        "TANFANG_DEMO": "1",
        "DJANGO_SETTINGS_MODULE": "tanfang.settings",
        "TANFANG_STATIC_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(  # noqa: S603 - our own server, on loopback
        [
            str(gunicorn),
            "tanfang.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/visits/outbox/session/")
            if connection.getresponse().status == 401:  # up, and nobody signed in
                connection.close()
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("bench_sync: gunicorn did not answer within 60 s")


def setup() -> tuple[list[Any], list[list[Any]], Any]:
    """A county of 10 villages following 石狮's rules, PHONES visitors each with
    an account, a session and ELDERS_PER_PHONE assigned elders."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from bench.province import DUMMY_TOKEN, ELDER_COLUMNS, copy_rows
    from tanfang.accounts.middleware import LAST_SEEN, STARTED
    from tanfang.accounts.models import User
    from tanfang.accounts.permissions import Role
    from tanfang.jurisdiction.models import PolicyChoice
    from tanfang.policy import engine
    from tanfang.regions.actions import import_regions
    from tanfang.registry.models import Elder
    from tanfang.visits.models import Assignment, Visitor

    csv = "code,name,kind\n980000000000,同步省,\n980100000000,同步市,\n"
    csv += f"{COUNTY},同步县,\n{TOWNSHIP},同步镇,\n"
    csv += "".join(f"{code},同步村{i},村\n" for i, code in enumerate(VILLAGES, start=1))
    import_regions(acting_user=None, text=csv, source="bench_sync")
    now = timezone.now()
    officer = User.objects.create(
        username="sync_county", full_name="县级民政", role=Role.COUNTY, region_id=COUNTY
    )
    PolicyChoice.objects.create(
        region_id=COUNTY, since=date(2023, 1, 1), profile=PROFILE, changed_by=officer
    )
    accounts = []
    for number in range(PHONES):
        account = User(
            username=f"sync_visitor_{number}",
            full_name=f"探访员{number}",
            role=Role.VISITOR,
            region_id=VILLAGES[number % len(VILLAGES)],
            password_changed_at=now,
        )
        account.set_unusable_password()
        accounts.append(account)
    User.objects.bulk_create(accounts)
    accounts = list(User.objects.filter(username__startswith="sync_visitor_").order_by("pk"))
    visitors = Visitor.objects.bulk_create(
        [
            Visitor(
                township_id=TOWNSHIP,
                name=a.full_name,
                kind="grid_worker",
                user=a,
                created_by=officer,
            )
            for a in accounts
        ]
    )
    visitors = list(Visitor.objects.filter(user__in=accounts).order_by("user_id"))
    Visitor.villages.through.objects.bulk_create(
        [
            Visitor.villages.through(visitor_id=v.pk, region_id=VILLAGES[i % len(VILLAGES)])
            for i, v in enumerate(visitors)
        ]
    )
    key, label = engine.load(PROFILE).tier_keys()[-1]
    registered = timezone.localdate() - timedelta(days=60)
    first = (Elder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    rows = []
    for number in range(PHONES * ELDERS_PER_PHONE):
        village = VILLAGES[(number // ELDERS_PER_PHONE) % len(VILLAGES)]
        rows.append(
            (
                "同步老人", "女男"[number % 2], date(1940, 1, 1) + timedelta(days=number),
                DUMMY_TOKEN, f"sync{first + number:060x}", f"sync{number:060x}", village,
                "intact", "good", False, True, registered, None, key, label, PROFILE,
                officer.pk, "active",
            )
        )  # fmt: skip
    copy_rows(Elder, ELDER_COLUMNS, rows)
    elders = list(Elder.objects.filter(village_id__in=VILLAGES).order_by("pk"))
    caseloads = [elders[n * ELDERS_PER_PHONE : (n + 1) * ELDERS_PER_PHONE] for n in range(PHONES)]
    Assignment.objects.bulk_create(
        [
            Assignment(elder=elder, visitor=visitors[n], started_by=officer)
            for n in range(PHONES)
            for elder in caseloads[n]
        ]
    )
    sessions = []
    for account in accounts:
        session = SessionStore()
        session[SESSION_KEY] = str(account.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = account.get_session_auth_hash()
        session[STARTED] = session[LAST_SEEN] = now.isoformat()
        session.create()
        sessions.append(session.session_key)
    return list(zip(visitors, sessions, strict=True)), caseloads, officer


def good_answers(elder: Any) -> tuple[dict[str, Any], str]:
    """Every item of the elder's form answered with its first good option, and
    the key of an item whose bad answer is a hazard (the gas, on Fujian's form)."""
    from tanfang.visits.actions import checklist_for
    from tanfang.visits.checklist_schema import Kind

    definition = checklist_for(elder)
    answers: dict[str, Any] = {}
    for item in definition.items():
        if item.kind == Kind.TEXT:
            answers[item.key] = "无"
        elif item.kind == Kind.NEED:
            answers[item.key] = {"needed": False, "met": None}
        else:
            value = next(
                o.value for o in item.options if not o.bad and o.value not in item.detail_options
            )
            if item.kind == Kind.CHOICE_TEXT:
                answers[item.key] = {"value": value, "detail": None}
            elif item.kind == Kind.CHOICE_COUNT:
                answers[item.key] = {"value": value, "count": None}
            else:
                answers[item.key] = value
    return answers, "gas_safety"


def queues(people: list[Any], caseloads: list[list[Any]]) -> tuple[list[list[dict[str, Any]]], int]:
    """QUEUED records per phone, visited in the last hours, oldest first; every
    FINDS_EVERY-th with an unsafe gas stove and an unmet need for meals."""
    from django.utils import timezone

    answers, hazard_item = good_answers(caseloads[0][0])
    # Within the last hour and a half: never ahead of the server's clock.
    first = timezone.localtime().replace(second=0, microsecond=0) - timedelta(minutes=90)
    made: list[list[dict[str, Any]]] = []
    finding = 0
    for n, (visitor, _) in enumerate(people):
        queue = []
        for i in range(QUEUED):
            elder = caseloads[n][i % ELDERS_PER_PHONE]
            finds = (n * QUEUED + i) % FINDS_EVERY == 0
            finding += finds
            visited = first + timedelta(minutes=i)
            queue.append(
                {
                    "uuid": str(uuid.uuid4()),
                    "elder_id": elder.pk,
                    "mode": "home",
                    "visited_at": visited.strftime("%Y-%m-%dT%H:%M"),
                    "visitor_ids": [visitor.pk],
                    "answers": {**answers, hazard_item: "unsafe"} if finds else answers,
                    "needs_found": [{"type": "meals", "met": False, "note": "做饭困难"}]
                    if finds
                    else [],
                    "visitor_signature": PNG,
                    "elder_signature": PNG,
                    "started_at": visited.isoformat(),
                    "ended_at": (visited + timedelta(seconds=50)).isoformat(),
                    "latitude": "24.731234",
                    "longitude": "118.654321",
                    "location_accuracy": 15,
                }
            )
        made.append(queue)
    return made, finding


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def spread(seconds: list[float]) -> str:
    """p50, p95, p99 and the longest, in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return (
        f"p50 {statistics.median(ms):6.0f} ms  p95 {percentile(ms, 0.95):6.0f} ms"
        f"  p99 {percentile(ms, 0.99):6.0f} ms  max {max(ms):6.0f} ms"
    )


def run() -> None:
    from django.db import connection

    from tanfang.care.models import Hazard, Need
    from tanfang.visits.models import Visit

    print(
        f"\n## bench_sync: {PHONES} phones × {QUEUED} queued visits sent at once after "
        f"reconnecting; gunicorn, {WORKERS} workers, {connection.vendor}"
    )
    people, caseloads = setup()[:2]
    queued, findings = queues(people, caseloads)
    connection.close()  # the server's workers write now

    port = free_port()
    server = start_server(port)
    try:
        phones = [Phone(n, session, queued[n], port) for n, (_, session) in enumerate(people)]
        tabs = [Phone(n, phones[n].session_key, queued[n], port) for n in range(TWO_TABS)]
        threads = len(phones) + len(tabs)
        gate = threading.Barrier(threads + 1)

        def drain(phone: Phone, lose_every: int) -> None:
            gate.wait()
            phone.drain(lose_every=lose_every)

        workers = [
            threading.Thread(target=drain, args=(p, 4 if p.number < LOST_ANSWERS else 0))
            for p in phones
        ]
        workers += [threading.Thread(target=drain, args=(t, 0)) for t in tabs]
        for worker in workers:
            worker.start()
        gate.wait()
        started = time.perf_counter()
        for worker in workers:
            worker.join()
        drained = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)

    results = [r for phone in phones + tabs for r in phone.results]
    statuses = Counter(status for kind, _, status, _ in results if kind != "session")
    created = Counter(uuid_ for kind, uuid_, status, _ in results if status == 201)
    uuids = [record["uuid"] for queue in queued for record in queue]
    posts = [took for kind, _, _, took in results if kind != "session"]
    sessions = [took for kind, _, _, took in results if kind == "session"]
    resent = sum(1 for kind, *_ in results if kind == "resend") + sum(len(t.queue) for t in tabs)
    stored = Visit.objects.filter(uuid__in=uuids)
    found = {
        "visits": stored.count(),
        "hazards": Hazard.objects.filter(visit__in=stored).count(),
        "needs": Need.objects.filter(visit__in=stored).count(),
    }

    def line(label: str, value: str) -> None:
        print(f"{label:<60} {value}")

    line("time to drain every queue", f"{drained:9.1f} s")
    line(
        "requests",
        f"{len(results):9,d}  ({len(sessions)} session checks, {len(uuids):,} records, "
        f"{resent} resent)",
    )
    line("records stored per second", f"{len(uuids) / drained:9.1f}")
    line("POST /api/v1/visits per request", spread(posts))
    line("GET /visits/outbox/session/ per request", spread(sessions))
    line("answers", ", ".join(f"{s}: {n:,}" for s, n in sorted(statuses.items())))
    line(
        "stored",
        f"{found['visits']:,} visits, {found['hazards']} hazards, {found['needs']} needs",
    )
    checks = [
        ("every answer 200 or 201", set(statuses) <= {200, 201}),
        ("every record stored exactly once", found["visits"] == len(uuids) == len(set(uuids))),
        ("one 201 per record", set(created) == set(uuids) and set(created.values()) == {1}),
        ("a 200 for every resend", statuses[200] == resent),
        ("each finding entered once", found["hazards"] == found["needs"] == findings),
    ]
    for label, ok in checks:
        print(f"  {'ok    ' if ok else 'FAILED'} {label}")
    failed = [label for label, ok in checks if not ok]
    if failed:
        raise SystemExit("bench_sync: failed checks: " + "; ".join(failed))

# The hand-written query is assembled from fixed fragments of this module only;
# every value goes as a query parameter.
# ruff: noqa: S608
"""Monthly visit rate and compliance at province scale (issue 6; NONFUNCTIONAL.md:
the province report < 0.5 s on PostgreSQL, identical to and at least 10× faster
than one hand-written SQL query over the raw visits in the same run; a full
month's recompute for 3,000,000 elders < 60 s; a visit recorded a second
earlier is counted).

BENCH_RATES_ELDERS files (default 20,000: a smoke run of a few seconds; 1,000,000
or 3,000,000 for the figures of docs/BENCHMARKS.md) are copied into the
synthetic province of bench_regions (bench/province.py: 30,000 villages, 100
counties following the five profiles in turn), with a year of history, December
2025 to November 2026 (bench/history.py): the visit tasks the real planner gives
each elder each month, the visits drawn for them (on time, late, missed,
excused, refused, extra phone calls; BENCH_RATES_EXTRA_VISITS extra calls per
elder and month, default 0.1), tasks completed as `record_visit` completes
them, some deaths, categories, visitors and their assignments. On PostgreSQL
the two big tables are loaded by COPY without their secondary indexes and
foreign keys, which are built afterwards (same schema as the migrations).

Then, for October 2026 (a month with 重阳 and an epidemic in one county):
`recompute_month` of that month (the other months once each, for the trend), the
province's report by city and by county (`children_table`), a county's
drill-down to townships and to villages, a township's villages, a village's
missed list, the 12-month trend, one hand-written SQL query over the raw
visits and files giving the same numbers by county (asserted identical; the
ratio printed), and `refresh_elder_month` after one visit recorded now.
"""

import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from hashlib import sha256
from typing import Any
from uuid import uuid4

from bench.common import timed
from bench.history import TASK_COLUMNS, VISIT_COLUMNS, Elders, History, months_of
from bench.province import (
    ELDER_COLUMNS,
    copy_rows,
    count_from_env,
    elder_rows,
    load_elders,
    setup_province,
)

FIRST_MONTH = date(2025, 12, 1)
MONTHS = months_of(FIRST_MONTH, 12)
REPORT_MONTH = date(2026, 10, 1)
COUNTY = "990101000000"
TOWNSHIP = "990101101000"
# Files registered from here on, the last ones during the year of history.
REGISTERED_FROM, REGISTERED_DAYS = date(2023, 1, 1), 1200
DEATHS = 0.015  # of the elders die during the year
ELDERS_PER_VISITOR = 10
CATEGORIES = ["独居", "空巢", "留守", "孤寡", "失能", "重残", "计划生育特殊家庭"]
CATEGORY_WEIGHTS = [30, 35, 12, 8, 8, 4, 3]


def say(label: str, value: str) -> None:
    print(f"{label:<60} {value}")


@contextmanager
def step(label: str, rows: Callable[[], int] | None = None) -> Iterator[None]:
    """Print how long the block took (and its rows a second)."""
    started = time.perf_counter()
    yield
    seconds = time.perf_counter() - started
    extra = f"  ({rows() / seconds:,.0f} rows/s)" if rows is not None and seconds > 0 else ""
    say(label, f"{seconds:9.1f} s{extra}")


def machine() -> None:
    """The machine, the database's settings and the load at the start."""
    from django.db import connection

    load = os.getloadavg()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    say("machine", f"{os.cpu_count()} cores, {memory:.1f} GiB, load {load[0]:.2f} {load[1]:.2f}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
            settings = []
            for name in (
                "shared_buffers",
                "work_mem",
                "maintenance_work_mem",
                "effective_cache_size",
                "max_wal_size",
                "max_parallel_workers_per_gather",
                "synchronous_commit",
                "jit",
            ):
                cursor.execute(f"SHOW {name}")
                settings.append(f"{name}={cursor.fetchone()[0]}")
        say("PostgreSQL", version)
        say("  settings", ", ".join(settings))
    else:
        import sqlite3

        say("SQLite", sqlite3.sqlite_version)


# --- Loading -------------------------------------------------------------------------


@contextmanager
def without_secondary_indexes(tables: list[str]) -> Iterator[None]:
    """On PostgreSQL, drop the tables' foreign keys, unique constraints and
    indexes other than the primary key for the block, and build them again
    after it from their own definitions (a bulk load's usual order)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    saved: list[tuple[str, list[tuple[str, str, str]], list[tuple[str, str]]]] = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint"
                " WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY contype DESC",
                [table],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
                " AND indexname NOT IN (SELECT conname FROM pg_constraint"
                " WHERE conrelid = %s::regclass)",
                [table, table],
            )
            indexes = cursor.fetchall()
            for name, _, _ in constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            saved.append((table, constraints, indexes))
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for table, constraints, indexes in saved:
            with step(f"  {table}: {len(indexes)} indexes built"):
                for _, definition in indexes:
                    cursor.execute(definition)
            unique = [(n, d) for n, d, kind in constraints if kind == "u"]
            foreign = [(n, d) for n, d, kind in constraints if kind == "f"]
            with step(f"  {table}: {len(unique)} unique constraints built"):
                for name, definition in unique:
                    cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            with step(f"  {table}: {len(foreign)} foreign keys added and checked"):
                for name, definition in foreign:
                    cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("RESET maintenance_work_mem")


def load(count: int, extra_visits: float, scope: str) -> dict[str, Any]:
    """The province, its files and a year of history; returns what the
    scenarios need (the officer, the first elder id, the load's figures)."""
    from django.db import connection, connections

    from tanfang.registry.models import Elder, ElderCategory, StatusChange
    from tanfang.visits.models import Assignment, Visit, Visitor, VisitTask
    from tanfang.visits.planning import Planner

    vendor = connection.vendor
    with step("the province: 31,611 regions, profiles, events"):
        province = setup_province()
    officer = province.officer
    villages = province.villages
    if scope == "county":
        villages = [v for v in villages if v.startswith(COUNTY[:6])]
    last_day = months_of(MONTHS[-1], 2)[1] - timedelta(days=1)
    with step("elder rows made in Python"):
        columns, rows = elder_rows(
            count,
            villages,
            province.profiles,
            officer.pk,
            first_day=REGISTERED_FROM,
            days=REGISTERED_DAYS,
            today=last_day,
        )
    with step(f"{count:,} elders copied into registry_elder", lambda: count):
        load_elders(columns, rows)
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id), count(*) FROM registry_elder")
        first_id, last_id, loaded = cursor.fetchone()
    assert loaded == count and last_id - first_id + 1 == count, (first_id, last_id, loaded)
    at = {name: ELDER_COLUMNS.index(name) for name in ELDER_COLUMNS}
    elders = Elders(
        first_id=first_id,
        villages=[row[at["village_id"]] for row in rows],
        consents=[row[at["consents_to_visits"]] for row in rows],
        registered=[row[at["registered_on"]].toordinal() for row in rows],
        tiers=[row[at["tier"]] for row in rows],
        abilities=[row[at["ability"]] for row in rows],
        healths=[row[at["health"]] for row in rows],
        dementia=[row[at["dementia"]] for row in rows],
    )
    del rows
    rng = random.Random(7)
    start, days = MONTHS[0].toordinal(), (last_day - MONTHS[0]).days + 1
    for n in rng.sample(range(count), int(count * DEATHS)):
        death = max(start + rng.randrange(days), elders.registered[n] + 1)
        if death <= last_day.toordinal():
            elders.deaths[n] = death

    with step("categories (1 or 2 an elder)"):
        categories = []
        for n in range(count):
            picked = set(rng.choices(CATEGORIES, CATEGORY_WEIGHTS, k=1 + (rng.random() < 0.3)))
            categories += [(first_id + n, category, officer.pk) for category in sorted(picked)]
        copy_rows(ElderCategory, ["elder_id", "category", "confirmed_by_id"], categories)
    say("  categories", f"{len(categories):9,d}")
    del categories

    with step("visitors (one for 10 elders of a township) and assignments"):
        townships = sorted({v[:9] for v in villages})
        per_township = max(1, count // len(townships) // ELDERS_PER_VISITOR)
        copy_rows(
            Visitor,
            ["township_id", "name", "kind", "created_by_id"],
            [
                (t + "000", f"探访员{i + 1}", "grid_worker", officer.pk)
                for t in townships
                for i in range(per_township)
            ],
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT min(id) FROM visits_visitor")
            first_visitor = cursor.fetchone()[0]
        number = {t: i for i, t in enumerate(townships)}
        copy_rows(
            Assignment,
            ["elder_id", "visitor_id", "started_at", "started_by_id"],
            (
                (
                    first_id + n,
                    first_visitor
                    + number[elders.villages[n][:9]] * per_township
                    + (n // len(villages)) % per_township,
                    f"{date.fromordinal(elders.registered[n])} 02:00:00",
                    officer.pk,
                )
                for n in range(count)
                if elders.consents[n]
            ),
        )
    say("  visitors", f"{len(townships) * per_township:9,d}")

    with step(f"deaths during the year: {len(elders.deaths):,} (status changes)"):
        copy_rows(
            StatusChange,
            [
                "elder_id",
                "from_status",
                "to_status",
                "effective_on",
                "reason",
                "changed_by_id",
                "changed_at",
            ],
            [
                (
                    first_id + n,
                    "active",
                    "deceased",
                    date.fromordinal(day),
                    "去世",
                    officer.pk,
                    f"{date.fromordinal(day)} 04:00:00",
                )
                for n, day in sorted(elders.deaths.items())
            ],
        )
        Elder.objects.filter(pk__in=[first_id + n for n in elders.deaths]).update(status="deceased")

    history = History(
        elders,
        officer.pk,
        vendor,
        extra_visits=extra_visits,
        first_month=MONTHS[0],
        last_month=MONTHS[-1],
    )
    # On PostgreSQL a second connection copies one month while the next is made:
    # the server's work and Python's overlap on the two cores.
    threads = ThreadPoolExecutor(1) if vendor == "postgresql" else None
    waiting = 0.0
    sent = [0, 0]

    def send(visit_rows: list[tuple[Any, ...]], task_rows: list[tuple[Any, ...]]) -> None:
        sent[0] += copy_rows(Visit, VISIT_COLUMNS, visit_rows, ready=True)
        sent[1] += copy_rows(VisitTask, TASK_COLUMNS, task_rows, ready=True)

    started = time.perf_counter()
    with without_secondary_indexes(["visits_visit", "visits_visittask"]):
        pending: Future[None] | None = None
        for month in MONTHS:
            month_started = time.perf_counter()
            visit_rows, task_rows = history.month(month, lambda m: Planner(m, 1))
            made = time.perf_counter()  # wait for the month before to be copied
            if pending is not None:
                pending.result()
            if threads is None:
                send(visit_rows, task_rows)
            else:
                pending = threads.submit(send, visit_rows, task_rows)
            del visit_rows, task_rows
            waiting += time.perf_counter() - made
            say(
                f"  {month:%Y-%m}: visits and tasks made so far",
                f"{history.counts.visits:12,d} {history.counts.tasks:12,d}"
                f"  ({time.perf_counter() - month_started:.1f} s)",
            )
        if pending is not None:
            pending.result()
        if threads is not None:
            threads.submit(connections.close_all).result()
            threads.shutdown()
        copied = time.perf_counter() - started
        assert sent == [history.counts.visits, history.counts.tasks], sent
        how = "COPY, a second connection" if threads else "executemany"
        say(
            f"visits and tasks made and copied ({how})",
            f"{copied:9.1f} s  ({sum(sent) / copied:,.0f} rows/s)",
        )
        say("  of which waiting for the database", f"{waiting:9.1f} s")
        say("indexes and constraints of the two tables, built again:", "")
    say("visits and tasks, the whole step", f"{time.perf_counter() - started:9.1f} s")
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('visits_visit', 'id'), max(id))"
                " FROM visits_visit"
            )
            with step("VACUUM ANALYZE of the loaded tables"):
                for table in (
                    "registry_elder",
                    "registry_eldercategory",
                    "visits_assignment",
                    "visits_visit",
                    "visits_visittask",
                ):
                    cursor.execute(f"VACUUM ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")
    c = history.counts
    say("visits", f"{c.visits:12,d}  ({c.visits / count / len(MONTHS):.2f} an elder a month)")
    say("  counted towards a task / refused", f"{c.counted_visits:12,d} / {c.refused_visits:,d}")
    say("visit tasks", f"{c.tasks:12,d}")
    say(
        "  done / excused / cancelled (deaths) / left open",
        f"{c.done:12,d} / {c.excused:,d} / {c.cancelled:,d} / "
        f"{c.tasks - c.done - c.excused - c.cancelled:,d}",
    )
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            say("database size", cursor.fetchone()[0])
            for table in ("visits_visit", "visits_visittask", "registry_elder"):
                cursor.execute(
                    "SELECT pg_size_pretty(pg_table_size(%s)), pg_size_pretty(pg_indexes_size(%s))",
                    [table, table],
                )
                size, indexes = cursor.fetchone()
                say(f"  {table}: table, indexes", f"{size}, {indexes}")
    return {"officer": officer, "first_id": first_id, "count": count, "visits": c.visits}


def run() -> None:
    from django.db import connection

    from tanfang.registry.models import Elder
    from tanfang.visits.models import Visit

    count = count_from_env("BENCH_RATES_ELDERS", 5_000)
    extra_visits = float(os.environ.get("BENCH_RATES_EXTRA_VISITS", "0.1"))
    scope = os.environ.get("BENCH_RATES_SCOPE", "province")
    if scope not in ("province", "county"):
        raise SystemExit("BENCH_RATES_SCOPE: province or county")
    where = "the province" if scope == "province" else f"one county ({COUNTY})"
    print(
        f"\n## bench_rates: {count:,} elders in {where}, 12 months of history, {connection.vendor}"
    )
    machine()
    if os.environ.get("BENCH_RATES_REUSE") and Visit.objects.exists():
        # A database loaded by an earlier run (and not dropped): the scenarios only.
        say("reusing the database loaded by an earlier run", "")
        first_id = Elder.objects.order_by("pk").values_list("pk", flat=True)[0]
        count = Elder.objects.count()
        loaded = {"first_id": first_id, "count": count, "visits": Visit.objects.count()}
    else:
        loaded = load(count, extra_visits, scope)
    scenarios(loaded)


# --- The floor: one hand-written query over the raw files, visits and tasks ---------------


def floor_sql(vendor: str, with_compliance: bool) -> str:
    """By county: elders counted (registered by the month's end, active at its
    end by their status changes, consenting), those with at least one visit in
    the month that was not refused, and, `with_compliance`, those whose
    required tasks counting in the month (regular, trigger, festival or event
    not extra; not cancelled) were all excused or done by their deadline day
    (a trigger's by its moment), or, with none, who had a required task in
    progress (counting later, its window begun) or a visit (docs/统计口径.md §5).
    Correlated EXISTS probes on the indexes: on PostgreSQL at 1,000,000 elders
    about three times faster than joining aggregated subqueries (DISTINCT
    visits, tasks grouped by elder), so the floor is the fastest form found."""
    done_at = "COALESCE(d.visited_at, t.done_at)"
    if vendor == "postgresql":
        local_day = f"CAST(({done_at} AT TIME ZONE 'Asia/Shanghai') AS date)"
    else:
        local_day = f"date({done_at}, '+480 minutes')"
    required = """(t.kind IN ('regular', 'trigger')
                OR (t.kind IN ('festival', 'event') AND NOT t.extra))"""
    of_month = f"""t.elder_id = e.id AND t.month = %(first)s AND {required}
            AND t.cancelled_at IS NULL"""
    timed = "(t.kind = 'trigger' AND t.due_at IS NOT NULL)"
    compliance = f""",
        CASE WHEN EXISTS (SELECT 1 FROM visits_visittask t WHERE {of_month})
            THEN 1 ELSE 0 END AS owed,
        CASE WHEN EXISTS (SELECT 1 FROM visits_visittask t
            LEFT JOIN visits_visit d ON d.id = t.done_by_visit_id
            WHERE {of_month} AND t.excused_at IS NULL AND (t.done_at IS NULL
                OR ({timed} AND {done_at} > t.due_at)
                OR (NOT {timed} AND t.deadline < t.window_end AND {local_day} > t.deadline)))
            THEN 1 ELSE 0 END AS unmet,
        CASE WHEN EXISTS (SELECT 1 FROM visits_visittask t WHERE t.elder_id = e.id
            AND t.window_end >= %(first)s AND t.window_start <= %(last)s
            AND t.month > %(first)s AND {required} AND t.cancelled_at IS NULL)
            THEN 1 ELSE 0 END AS ongoing"""
    compliant = (
        ", SUM(CASE WHEN x.owed = 1 THEN 1 - x.unmet"
        " WHEN x.visited = 1 OR x.ongoing = 1 THEN 1 ELSE 0 END)"
    )
    return f"""
SELECT substr(x.village_id, 1, 6) AS county, COUNT(*) AS counted, SUM(x.visited) AS visited
    {compliant if with_compliance else ""}
FROM (
    SELECT e.village_id,
        CASE WHEN EXISTS (SELECT 1 FROM visits_visit v WHERE v.elder_id = e.id
            AND v.visited_at >= %(start)s AND v.visited_at < %(end)s AND NOT v.refused)
            THEN 1 ELSE 0 END AS visited{compliance if with_compliance else ""}
    FROM registry_elder e
    WHERE e.registered_on <= %(last)s AND e.consents_to_visits
        AND COALESCE((SELECT s.from_status FROM registry_statuschange s
            WHERE s.elder_id = e.id AND s.effective_on > %(last)s
            ORDER BY s.effective_on, s.changed_at, s.id LIMIT 1), e.status) = 'active'
) AS x
GROUP BY substr(x.village_id, 1, 6)
ORDER BY 1"""


def floor(month: date, with_compliance: bool) -> dict[str, tuple[int, ...]]:
    from django.db import connection

    from tanfang.months import bounds, last_day

    ops = connection.ops
    start, end = (ops.adapt_datetimefield_value(moment) for moment in bounds(month))
    first, last = (ops.adapt_datefield_value(day) for day in (month, last_day(month)))
    params = {"start": start, "end": end, "first": first, "last": last}
    with connection.cursor() as cursor:
        cursor.execute(floor_sql(connection.vendor, with_compliance), params)
        return {row[0]: tuple(int(n) for n in row[1:]) for row in cursor.fetchall()}


def explain(label: str, sql: str, params: Any) -> None:
    """EXPLAIN ANALYZE of a statement (PostgreSQL, BENCH_RATES_EXPLAIN set)."""
    from django.db import connection

    if connection.vendor != "postgresql" or not os.environ.get("BENCH_RATES_EXPLAIN"):
        return
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        print(f"\n### EXPLAIN ANALYZE: {label}")
        for (line,) in cursor.fetchall():
            print(f"    {line}")
        print()


def explain_slow_statements(action: Callable[[], object], label: str, seconds: float) -> None:
    """Run `action` with PostgreSQL's auto_explain on this connection and print
    the plan (EXPLAIN ANALYZE) of every statement slower than `seconds`."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        cursor.execute(f"SET auto_explain.log_min_duration = {int(seconds * 1000)}")
        cursor.execute("SET auto_explain.log_analyze = on")
        cursor.execute("SET auto_explain.log_buffers = on")
        cursor.execute("SET auto_explain.log_level = notice")
    notices: list[str] = []
    raw = connection.connection

    def keep(diagnostic: Any) -> None:
        notices.append(diagnostic.message_primary or "")

    raw.add_notice_handler(keep)
    try:
        action()
    finally:
        raw.remove_notice_handler(keep)
        with connection.cursor() as cursor:
            cursor.execute("SET auto_explain.log_min_duration = -1")
    print(f"\n### EXPLAIN ANALYZE (auto_explain): the statements of {label} over {seconds} s")
    for notice in notices:
        for line in notice.splitlines():
            if line.startswith("Query Text:"):
                line = line[:300] + (" …" if len(line) > 300 else "")
            print(f"    {line[:220]}")
        print()


# --- The scenarios ----------------------------------------------------------------------

TODAY = date(2026, 11, 30)  # the history's last day: November open, October over


def median_of(label: str, action: Callable[[], object], repeat: int) -> float:
    """`timed`, in seconds."""
    return timed(label, action, repeat) / 1000


def scenarios(loaded: dict[str, Any]) -> None:
    from django.db import connection, transaction

    from tanfang import months
    from tanfang.regions.models import Level
    from tanfang.reports import people, queries, rebuild, rollups, sql
    from tanfang.reports import rows as row_rules
    from tanfang.reports.models import ElderMonth, VillageMonth
    from tanfang.visits.models import Visit

    vendor = connection.vendor
    month = REPORT_MONTH
    start, end = months.bounds(month)
    in_month = Visit.objects.filter(visited_at__gte=start, visited_at__lt=end).count()
    print(f"\n### the rollups (today = {TODAY}; {month:%Y-%m}: {in_month:,} visits)")
    for module in (row_rules, sql, rebuild, rollups, queries):
        with open(module.__file__ or "", "rb") as source:
            text = source.read()
        say(
            f"  {module.__name__} (sha256, size)",
            f"{sha256(text).hexdigest()[:12]}, {len(text):,} bytes",
        )

    # Every month once, from an empty table, oldest first (the trend needs them);
    # BENCH_RATES_ROLLUP_MONTHS=5 only the last five (July to November: the
    # quarter, the report's month and the current one), to spare the disk.
    wanted = count_from_env("BENCH_RATES_ROLLUP_MONTHS", len(MONTHS))
    firsts = []
    for each in MONTHS[-wanted:]:
        began = time.perf_counter()
        result = rebuild.recompute_month(each, TODAY)
        firsts.append(time.perf_counter() - began)
        say(
            f"recompute_month {each:%Y-%m}, no rows yet",
            f"{firsts[-1]:9.1f} s  ({result.rows:,} rows, {result.counters:,} counters)",
        )
    say(f"  median of the {len(firsts)} months", f"{statistics.median(firsts):9.1f} s")

    def from_scratch() -> None:
        with connection.cursor() as cursor:
            for table in ("reports_eldermonth", "reports_villagemonth"):
                cursor.execute(f"DELETE FROM {table} WHERE month = %s", [month])
            if vendor == "postgresql":
                cursor.execute("VACUUM reports_eldermonth, reports_villagemonth")

    samples = []
    for _ in range(3):
        from_scratch()  # not timed
        began = time.perf_counter()
        rebuild.recompute_month(month, TODAY)
        samples.append(time.perf_counter() - began)
    scratch = statistics.median(samples)
    say(
        f"recompute_month {month:%Y-%m} from scratch (median of 3)",
        f"{scratch:9.1f} s  (min {min(samples):.1f})",
    )
    again = median_of(
        f"recompute_month {month:%Y-%m}, every row in place",
        lambda: rebuild.recompute_month(month, TODAY),
        3,
    )
    if os.environ.get("BENCH_RATES_EXPLAIN") and vendor == "postgresql":
        explain_slow_statements(
            lambda: rebuild.recompute_month(month, TODAY),
            "recompute_month",
            float(os.environ["BENCH_RATES_EXPLAIN"]),
        )
    rows = ElderMonth.objects.filter(month=month).count()
    say(
        "  rows of the month / counters",
        f"{rows:,} / {VillageMonth.objects.filter(month=month).count():,}",
    )

    if vendor == "postgresql":
        # What autovacuum does after such writes: the statistics, and the
        # visibility map that lets the counters be read from their index alone.
        with step("VACUUM ANALYZE of the rollup tables"), connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE reports_eldermonth, reports_villagemonth")

    print(f"\n### the reports of {month:%Y-%m}")
    province = "990000000000"
    by_city = median_of(
        "province report by city (children_table)",
        lambda: queries.children_table(province, month),
        20,
    )
    by_county = median_of(
        "province report by county (children_table, level=county)",
        lambda: queries.children_table(province, month, level=Level.COUNTY),
        20,
    )
    median_of(
        "province by tier and category (by_dimension)",
        lambda: queries.by_dimension(province, month),
        20,
    )
    median_of(f"county {COUNTY} by township", lambda: queries.children_table(COUNTY, month), 20)
    median_of(
        f"county {COUNTY} by village (level=village)",
        lambda: queries.children_table(COUNTY, month, level=Level.VILLAGE),
        20,
    )
    median_of(
        f"township {TOWNSHIP} by village", lambda: queries.children_table(TOWNSHIP, month), 20
    )
    worst = (
        ElderMonth.objects.filter(month=month, counted=True, visited=False)
        .values("village_id")
        .annotate(n=models_count())
        .order_by("-n", "village_id")
        .first()
    )
    village = worst["village_id"] if worst else f"{TOWNSHIP[:9]}201"
    missed: list[Any] = []
    median_of(
        f"village {village}: missed list (missed_elders)",
        lambda: missed.append(people.missed_elders(village, month)),
        20,
    )
    say("  elders listed", f"{len(missed[-1]):9,d}")
    median_of(
        f"province: 12-month trend ({wanted} months with rows)",
        lambda: queries.trend(province, MONTHS[-1]),
        20,
    )
    median_of(
        "province: quarter summary (2026 Q3)",
        lambda: queries.quarter_summary(province, 2026, 3),
        20,
    )

    print("\n### the same numbers by one hand-written query over the raw rows")
    report = {
        row.code[:6]: (row.counts.counted, row.counts.visited, row.counts.compliant)
        for row in queries.children_table(province, month, level=Level.COUNTY).rows
    }
    results: dict[bool, dict[str, tuple[int, ...]]] = {}
    figures = {}
    for with_compliance, label in (
        (False, "visit rate by county (raw visits)"),
        (True, "visit rate and compliance by county (raw visits and tasks)"),
    ):
        figures[with_compliance] = median_of(
            label,
            lambda w=with_compliance: results.__setitem__(w, floor(month, w)),
            3,
        )
        width = 3 if with_compliance else 2
        mine = {county: counts[:width] for county, counts in report.items() if counts[0]}
        assert results[with_compliance] == mine, "the report and the raw rows disagree"
    total = [sum(c[n] for c in results[True].values()) for n in range(3)]
    say(
        "  identical, every county: counted, visited, compliant",
        f"{total[0]:,}, {total[1]:,}, {total[2]:,}",
    )
    say(
        "  ratio: raw query / province report by county",
        f"{figures[False] / by_county:9.1f}× (visit rate), "
        f"{figures[True] / by_county:.1f}× (with compliance)",
    )
    start_at, end_at = months.bounds(month)
    explain(
        "the floor, visit rate and compliance",
        floor_sql(vendor, True),
        {"start": start_at, "end": end_at, "first": month, "last": months.last_day(month)},
    )

    print("\n### a visit recorded now is counted at once")
    current = MONTHS[-1]
    visited_at = months.bounds(current)[0] + timedelta(days=TODAY.day - 1, hours=10)
    unvisited = list(
        ElderMonth.objects.filter(month=current, counted=True, visited=False)
        .order_by("elder_id")
        .values_list("elder_id", "village_id")[:20]
    )
    before = queries.children_table(province, current).total.visited
    recorder = Visit.objects.values_list("recorded_by_id", flat=True).first()
    sequences = dict(
        Visit.objects.filter(elder_id__in=[e for e, _ in unvisited])
        .values_list("elder_id")
        .annotate(n=models_max("sequence"))
    )
    queue = list(unvisited)

    def record_one() -> None:
        """What record_visit does for the rates: the visit stored, and the
        elder's month refreshed in the same transaction."""
        elder_id, village_id = queue.pop(0)
        with transaction.atomic():
            Visit.objects.create(
                uuid=uuid4(),
                content_hash="bench",
                elder_id=elder_id,
                village_id=village_id,
                sequence=sequences.get(elder_id, 0) + 1,
                mode="home",
                visited_at=visited_at,
                recorded_by_id=recorder,
                checklist="bench",
            )
            rollups.refresh_elder_month(elder_id, current, TODAY)

    median_of(
        f"a visit stored and refresh_elder_month ({current:%Y-%m})",
        record_one,
        len(unvisited),
    )
    after = queries.children_table(province, current).total.visited
    assert after == before + len(unvisited), (before, after, len(unvisited))
    report = {
        row.code[:6]: (row.counts.counted, row.counts.visited)
        for row in queries.children_table(province, current, level=Level.COUNTY).rows
        if row.counts.counted
    }
    assert floor(current, False) == report, "the report and the raw rows disagree"
    say(
        f"  province, {current:%Y-%m}: visited before → after",
        f"{before:,} → {after:,} (+{len(unvisited)}; by county identical to the raw query)",
    )
    median_of(
        "refresh_elder_month, nothing changed",
        lambda: rollups.refresh_elder_month(unvisited[0][0], current, TODAY),
        20,
    )
    say("  (recompute_month with every row in place, above)", f"{again:9.1f} s")
    say("  (province report by city, above)", f"{by_city * 1000:9.1f} ms")
    if os.environ.get("BENCH_RATES_EXPLAIN") and vendor == "postgresql":
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            queries.children_table(province, month, level=Level.COUNTY)
        for number, query in enumerate(captured.captured_queries, 1):
            explain(f"province report by county, query {number}", query["sql"], None)


def models_count() -> Any:
    from django.db.models import Count

    return Count("pk")


def models_max(field_name: str) -> Any:
    from django.db.models import Max

    return Max(field_name)

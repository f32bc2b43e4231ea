"""Generating a month of visit tasks for a province (NONFUNCTIONAL.md: 3,000,000
elders on PostgreSQL in under 5 minutes).

BENCH_TASK_ELDERS synthetic active elders (default 3,000,000 on PostgreSQL,
20,000 on SQLite) are loaded straight into registry_elder (COPY on PostgreSQL;
the encrypted columns hold a fixed dummy token, as nothing here decrypts) in the
synthetic province of bench_regions (30,000 villages in 100 counties, each
county following one of the five profiles), with stored tiers, facts that change
the modes, consents and review dates spread over a year, and two declared
events. Then `generate_tasks` for September 2026 (a month with 中秋's window) is
timed on an empty task table, and again with every task in place (it must
create nothing); the daily run of two months with September in place (it makes
October's); and `refresh_tasks` of one elder, the cost a file edit adds.
"""

import time
from datetime import date

from bench.common import timed
from bench.province import count_from_env, elder_rows, load_elders, setup_province

TODAY = date(2026, 9, 1)


def elders_wanted(vendor: str) -> int:
    return count_from_env("BENCH_TASK_ELDERS", 3_000_000 if vendor == "postgresql" else 20_000)


def run() -> None:
    from django.db import connection

    from tanfang.registry.models import Elder
    from tanfang.visits.generation import generate_tasks, refresh_tasks
    from tanfang.visits.models import VisitTask

    count = elders_wanted(connection.vendor)
    print(f"\n## bench_visit_tasks: {count:,} active elders, {connection.vendor}")
    province = setup_province()
    villages, profiles, officer = province.villages, province.profiles, province.officer

    started = time.perf_counter()
    columns, rows = elder_rows(count, villages, profiles, officer.pk)
    made = time.perf_counter()
    load_elders(columns, rows)
    del rows
    loaded = time.perf_counter()
    how = "COPY" if connection.vendor == "postgresql" else "executemany"
    print(
        f"{'make the rows in Python':<60} {made - started:9.1f} s\n"
        f"{f'load them ({how})':<60} {loaded - made:9.1f} s"
        f"  ({count / (loaded - made):,.0f} rows/s)"
    )

    def empty() -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("TRUNCATE visits_visittask")
            else:
                cursor.execute("DELETE FROM visits_visittask")

    created: list[int] = []

    def first() -> None:
        empty()
        created.append(generate_tasks(today=TODAY, months=1))

    # The emptying is inside the timing; on PostgreSQL TRUNCATE takes milliseconds.
    first_ms = timed(f"generate_tasks, September 2026, {count:,} elders, empty table", first, 3)
    tasks = VisitTask.objects.count()
    assert created == [tasks] * 3, (created, tasks)
    print(
        f"{'  tasks made':<60} {tasks:9,d}  ({tasks / (first_ms / 1000):,.0f} tasks/s,"
        f" {tasks / count:.2f} per elder)"
    )
    again: list[int] = []
    timed(
        "generate_tasks again: every task in place",
        lambda: again.append(generate_tasks(today=TODAY, months=1)),
        3,
    )
    assert again == [0, 0, 0], again
    assert VisitTask.objects.count() == tasks
    # The daily run (two months): this month in place, next month's tasks made.
    daily: list[int] = []
    timed(
        "generate_tasks, daily run: September in place, October made",
        lambda: daily.append(generate_tasks(today=TODAY)),
        1,
    )
    print(f"{'  tasks made':<60} {daily[0]:9,d}")
    elder = Elder.objects.filter(consents_to_visits=True).order_by("pk").first()
    timed(
        "refresh_tasks of one elder (a file edit's share)", lambda: refresh_tasks(elder, TODAY), 20
    )
    verdict = "met" if first_ms < 300_000 else "MISSED"
    print(f"{'  target: a month for 3,000,000 elders in < 5 min':<60} {verdict} at {count:,}")

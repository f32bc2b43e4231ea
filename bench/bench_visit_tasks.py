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

import io
import os
import random
import time
from datetime import date, timedelta

from bench.common import timed

TODAY = date(2026, 9, 1)
PROFILES = ["fujian-shishi", "sichuan", "linzi", "jining", "national"]
ABILITIES = ["intact", "intact", "intact", "mild", "moderate", "severe", ""]
HEALTH = ["good", "good", "fair", "poor", ""]
# A file stands for a token here: nothing in the bench decrypts.
DUMMY_TOKEN = "bench:AAAA"  # noqa: S105 - stands for a ciphertext, not a secret


def elders_wanted(vendor: str) -> int:
    default = "3000000" if vendor == "postgresql" else "20000"
    return int(os.environ.get("BENCH_TASK_ELDERS", default).replace(",", "").replace("_", ""))


def _constant(field) -> str | None:
    """The value of a column the bench leaves at its default, in COPY text."""
    if field.null:
        return None
    internal = field.get_internal_type()
    if internal == "BooleanField":
        return "t" if field.get_default() else "f"
    if internal == "JSONField":
        return "[]"
    return ""


def elder_rows(count: int, villages: list[str], profiles: dict[str, str], user_id: int):
    """(column names, rows) of `count` valid active files."""
    from tanfang.policy import engine

    tiers = {name: engine.load(name).tier_keys() for name in PROFILES}
    rng = random.Random(2026)
    columns = [
        "name",
        "sex",
        "birth_date",
        "id_number_token",
        "id_number_hash",
        "id_last4_hash",
        "village_id",
        "ability",
        "health",
        "dementia",
        "consents_to_visits",
        "registered_on",
        "last_reviewed_on",
        "tier",
        "tier_label",
        "tier_profile",
        "registered_by_id",
        "status",
    ]
    first_day = date(2025, 9, 1)
    rows = []
    for number in range(count):
        village = villages[number % len(villages)]
        profile = profiles[village[:6]]
        keys = tiers[profile]
        # About a third are key objects; Jining's middle tier a tenth.
        pick = rng.random()
        key, label = keys[0] if pick < 0.33 or len(keys) == 1 else keys[-1]
        if len(keys) == 3 and 0.33 <= pick < 0.43:
            key, label = keys[1]
        registered = first_day + timedelta(days=rng.randrange(360))
        reviewed = registered + timedelta(days=rng.randrange(1, 120)) if pick > 0.5 else None
        if reviewed is not None and reviewed >= TODAY:
            reviewed = None
        rows.append(
            (
                "老人",
                "女男"[number % 2],
                date(1930, 1, 1) + timedelta(days=number % 12_000),
                DUMMY_TOKEN,
                f"{number:064x}",
                f"{number % 10_000:064x}",
                village,
                rng.choice(ABILITIES),
                rng.choice(HEALTH),
                rng.random() < 0.05,
                rng.random() < 0.97,
                registered,
                reviewed,
                key,
                label,
                profile,
                user_id,
                "active",
            )
        )
    return columns, rows


def load_elders(columns: list[str], rows: list[tuple]) -> None:
    from django.db import connection

    from tanfang.registry.models import Elder

    rest = [
        f
        for f in Elder._meta.concrete_fields
        if not f.primary_key and f.column not in columns and f.name not in columns
    ]
    names = columns + [f.column for f in rest]
    if connection.vendor == "postgresql":
        tail = "\t".join("\\N" if (v := _constant(f)) is None else v for f in rest)

        def text(value) -> str:
            if value is None:
                return "\\N"
            if value is True or value is False:
                return "t" if value else "f"
            return str(value)

        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY registry_elder ({', '.join(names)}) FROM STDIN") as copy:
                buffer = io.StringIO()
                for index, row in enumerate(rows, 1):
                    buffer.write("\t".join(map(text, row)))
                    buffer.write("\t" + tail + "\n" if tail else "\n")
                    if index % 100_000 == 0:
                        copy.write(buffer.getvalue())
                        buffer = io.StringIO()
                copy.write(buffer.getvalue())
            cursor.execute("ANALYZE registry_elder")
        return
    constants = [
        None if (v := _constant(f)) is None else {"t": True, "f": False}.get(v, v) for f in rest
    ]
    marks = ", ".join(["%s"] * len(names))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO registry_elder ({', '.join(names)}) VALUES ({marks})",  # noqa: S608
            [(*row, *constants) for row in rows],
        )


def run() -> None:
    from django.db import connection

    from bench.bench_regions import province_csv
    from tanfang.accounts.models import User
    from tanfang.accounts.permissions import Role
    from tanfang.jurisdiction.models import DeclaredEvent, PolicyChoice
    from tanfang.regions.actions import import_regions
    from tanfang.regions.models import Level, Region, in_subtree
    from tanfang.registry.models import Elder
    from tanfang.visits.generation import generate_tasks, refresh_tasks
    from tanfang.visits.models import VisitTask

    count = elders_wanted(connection.vendor)
    print(f"\n## bench_visit_tasks: {count:,} active elders, {connection.vendor}")
    if not Region.objects.filter(code="990000000000").exists():
        import_regions(acting_user=None, text=province_csv(), source="bench")
    province = Region.objects.get(code="990000000000")
    officer, _ = User.objects.get_or_create(
        username="bench_province",
        defaults={"full_name": "省级民政", "role": Role.COUNTY, "region": province},
    )
    villages = list(
        Region.objects.filter(in_subtree("code", "99"), level=Level.VILLAGE)
        .order_by("code")
        .values_list("code", flat=True)
    )
    counties = sorted({v[:6] for v in villages})
    profiles = {county: PROFILES[i % len(PROFILES)] for i, county in enumerate(counties)}
    PolicyChoice.objects.bulk_create(
        [
            PolicyChoice(
                region_id=county.ljust(12, "0"),
                since=date(2023, 1, 1),
                profile=profile,
                changed_by=officer,
            )
            for county, profile in profiles.items()
        ],
        ignore_conflicts=True,
    )
    DeclaredEvent.objects.bulk_create(
        [
            DeclaredEvent(
                region_id="990100000000",
                kind="heat",
                title="高温",
                starts_on=date(2026, 9, 5),
                ends_on=date(2026, 9, 12),
                declared_by=officer,
            ),
            DeclaredEvent(
                region_id="990203000000",
                kind="epidemic",
                title="流感",
                starts_on=date(2026, 8, 20),
                ends_on=date(2026, 10, 20),
                declared_by=officer,
            ),
        ]
    )

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

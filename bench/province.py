"""A synthetic province in the database, loaded fast, for the benchmarks that
need millions of rows (bench_visit_tasks, bench_rates).

- `setup_province`: the administrative tree of bench_regions (10 cities × 10
  counties × 15 townships × 20 villages), a province officer, each county's
  profile (the five profiles in turn, in force since 2023) and two declared
  events (a heat wave on one city, an epidemic on one county).
- `elder_rows` / `load_elders`: valid active files straight into
  registry_elder (the encrypted columns hold a fixed dummy token: nothing in the
  benchmarks decrypts).
- `copy_rows`: any table from Python tuples, by COPY on PostgreSQL and
  `executemany` on SQLite; the columns not given get their model default.
"""

import io
import json
import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

PROFILES = ["fujian-shishi", "sichuan", "linzi", "jining", "national"]
ABILITIES = ["intact", "intact", "intact", "mild", "moderate", "severe", ""]
HEALTH = ["good", "good", "fair", "poor", ""]
# A file stands for a token here: nothing in the bench decrypts.
DUMMY_TOKEN = "bench:AAAA"  # noqa: S105 - stands for a ciphertext, not a secret
PROVINCE = "990000000000"
# Rows sent to the database at a time.
BATCH = 100_000


def count_from_env(name: str, default: int) -> int:
    """A size from the environment: "3,000,000", "3_000_000" or "3000000"."""
    raw = os.environ.get(name, "")
    return int(raw.replace(",", "").replace("_", "")) if raw else default


def _constant(field: Any) -> str | None:
    """The value of a column the bench leaves at its default, in COPY text."""
    if field.null:
        return None
    if not field.has_default():
        return ""
    value = field.get_default()
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        # The moment of the load, as timezone.now would give it.
        return _LOADED_AT
    return "" if value is None else str(value)


# In UTC, the form both databases read (Django runs PostgreSQL sessions in UTC).
_LOADED_AT = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def boolean_values(vendor: str) -> tuple[Any, Any, Any]:
    """(true, false, null) as rows for `copy_rows` may carry them ready-made:
    text on PostgreSQL (no conversion per value), Python values on SQLite."""
    return ("t", "f", "\\N") if vendor == "postgresql" else (True, False, None)


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    return str(value)


def copy_rows(
    model: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, ready: bool = False
) -> int:
    """Insert `rows` (tuples of `columns`) into `model`'s table; every other
    column gets its default. On PostgreSQL by COPY, in batches of BATCH rows;
    `ready` says the values are already COPY text (strings and numbers, with
    `boolean_values`), which saves a conversion per value. Returns the count."""
    from django.db import connection

    rest = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and f.column not in columns and f.attname not in columns
    ]
    names = [*columns, *(f.column for f in rest)]
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tail = "".join("\t" + ("\\N" if (v := _constant(f)) is None else v) for f in rest)
            tail += "\n"
            sql = f"COPY {model._meta.db_table} ({', '.join(names)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                buffer = io.StringIO()
                for row in rows:
                    buffer.write("\t".join(map(str if ready else _text, row)))
                    buffer.write(tail)
                    count += 1
                    if count % BATCH == 0:
                        copy.write(buffer.getvalue())
                        buffer = io.StringIO()
                copy.write(buffer.getvalue())
            return count
        constants = [
            None if (v := _constant(f)) is None else {"t": True, "f": False}.get(v, v) for f in rest
        ]
        marks = ", ".join(["%s"] * len(names))
        sql = f"INSERT INTO {model._meta.db_table} ({', '.join(names)}) VALUES ({marks})"  # noqa: S608
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append((*row, *constants))
            if len(batch) == BATCH:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


@dataclass(frozen=True)
class Province:
    officer: Any  # tanfang.accounts.models.User
    villages: list[str]  # the 30,000 village codes, in order
    profiles: dict[str, str]  # county prefix (6 digits) -> profile name


def setup_province() -> Province:
    """The synthetic province, its officer, the counties' profiles and two events."""
    from bench.bench_regions import province_csv
    from tanfang.accounts.models import User
    from tanfang.accounts.permissions import Role
    from tanfang.jurisdiction.models import DeclaredEvent, PolicyChoice
    from tanfang.regions.actions import import_regions
    from tanfang.regions.models import Level, Region, in_subtree

    if not Region.objects.filter(code=PROVINCE).exists():
        import_regions(acting_user=None, text=province_csv(), source="bench")
    province = Region.objects.get(code=PROVINCE)
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
    if not DeclaredEvent.objects.filter(region_id__in=["990100000000", "990203000000"]).exists():
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
    return Province(officer, villages, profiles)


ELDER_COLUMNS = [
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


def elder_rows(
    count: int,
    villages: list[str],
    profiles: dict[str, str],
    user_id: int,
    *,
    first_day: date = date(2025, 9, 1),
    days: int = 360,
    today: date = date(2026, 9, 1),
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(column names, rows) of `count` valid active files, the elder number n in
    village n mod len(villages), registered between `first_day` and `days` later
    (file reviews only before `today`): about a third key objects (Jining's
    middle tier a tenth), 97% consenting to visits, 5% with dementia."""
    from tanfang.policy import engine

    tiers = {name: engine.load(name).tier_keys() for name in PROFILES}
    rng = random.Random(2026)
    rows = []
    for number in range(count):
        village = villages[number % len(villages)]
        profile = profiles[village[:6]]
        keys = tiers[profile]
        pick = rng.random()
        key, label = keys[0] if pick < 0.33 or len(keys) == 1 else keys[-1]
        if len(keys) == 3 and 0.33 <= pick < 0.43:
            key, label = keys[1]
        registered = first_day + timedelta(days=rng.randrange(days))
        reviewed = registered + timedelta(days=rng.randrange(1, 120)) if pick > 0.5 else None
        if reviewed is not None and reviewed >= today:
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
    return list(ELDER_COLUMNS), rows


def load_elders(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Copy the files of `elder_rows` into registry_elder and ANALYZE it."""
    from django.db import connection

    from tanfang.registry.models import Elder

    copy_rows(Elder, columns, rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE registry_elder")

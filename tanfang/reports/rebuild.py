# The statements below are assembled from table and column names and SQL
# fragments of tanfang.reports.sql and of this module only; every value goes as
# a query parameter.
# ruff: noqa: S608
"""The monthly rollups rebuilt set-based (docs/统计口径.md): every
`ElderMonth` row and `VillageMonth` counter of a month, or the rows of the
elders of a pick and the counters they move.

`recompute_month` rebuilds a month from scratch: one SELECT over the files
joined to per-elder aggregates of the status changes, visits, tasks and
categories (tanfang.reports.sql; a temporary table holds the tasks not met,
to put them in words, another the rules version of each village), written by
INSERT … SELECT, or, when the month has rows, by UPDATE of the rows that
differ; no per-elder Python. `manage.py recompute_rates` runs it, month after
month (`months_to_recompute`). `Rebuild.picked_elders` runs the same
statements for many elders at once, for the incremental writer
(tanfang.reports.rollups.refresh_elders).

A month's row reads the stored rows of the earlier months of its quarter, so a
quarter's months are rebuilt oldest first and through to its end (or today's
month).

Concurrency (PostgreSQL): `recompute_month` takes an EXCLUSIVE lock on the two
tables: incremental writers wait for it, readers do not. A pick locks its
elders' rows (their empty placeholders made first) and then the counters it
moves, in (village, dimension) order by code point, as the incremental path
does.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from tanfang.months import later_in_quarter, month_of, months_between
from tanfang.reports.rows import COUNTERS, Rules, local_today, task_words
from tanfang.reports.sql import COLUMNS, INSERT, NOT_EMPTY, PREFIX, SHORT, MonthSql, Sql
from tanfang.visits.models import TaskKind


@dataclass(frozen=True)
class Recomputed:
    month: date
    rows: int  # rows of the month after the recompute (empty ones kept included)
    inserted: int
    updated: int
    deleted: int
    counters: int


def recompute_month(month: date, today: date | None = None) -> Recomputed:
    """Rebuild every `ElderMonth` row and `VillageMonth` counter of `month`
    from the files, status changes, visits and tasks, set-based; rows that do
    not change are not written. A month once over keeps the village, tier,
    categories, consent and rules of its stored rows (docs/统计口径.md).

    Its quarter compliance reads the stored rows of the earlier months of its
    quarter, and the later months' read its own: rebuild a quarter's months
    oldest first and through to its end (or today's month),
    `months_to_recompute`."""
    today = local_today(today)
    month = month_of(month)
    if month > month_of(today):
        raise ValueError("不能统计尚未开始的月份。")
    with transaction.atomic():
        return Rebuild(month, today, None).whole_month()


def months_to_recompute(first: date, last: date, today: date | None = None) -> list[date]:
    """The months from `first` to `last`, and the later months of `last`'s
    quarter up to today's: what a rebuild of `first`…`last` has to rebuild,
    oldest first."""
    months = months_between(first, last)
    return [*months, *later_in_quarter(months[-1], local_today(today))] if months else []


def _moment(value: Any) -> datetime | None:
    """A stored instant read back raw (SQLite: UTC text without a zone)."""
    if value is None:
        return None
    found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


class Rebuild:
    """The statements of one month, for every elder (`pick` None: the whole
    month, the two tables locked) or for the elders of `pick` (their rows
    locked), built by `MonthSql`; only the tasks not met are first put in a
    temporary table, to give them their words (`task_words`, once per distinct
    requirement), and the rules version of each village in another
    (`tiers.rules_version`, once per county)."""

    def __init__(self, month: date, today: date, pick: Sequence[int] | QuerySet[Any] | None):
        self.month = month
        self.today = today
        self.pick = pick
        self.sql = MonthSql(month, today, picked=pick is not None)
        self.pg = self.sql.pg
        self.tables: list[str] = []

    # --- Running statements ------------------------------------------------------------------

    def execute(self, sql: str | Sql, params: Sequence[Any] = ()) -> int:
        statement = sql if isinstance(sql, Sql) else Sql(sql, params)
        with connection.cursor() as cursor:
            cursor.execute(statement.text, statement.params)
            count: int = cursor.rowcount
        return max(count, 0)

    def fetch(self, sql: str | Sql, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        statement = sql if isinstance(sql, Sql) else Sql(sql, params)
        with connection.cursor() as cursor:
            cursor.execute(statement.text, statement.params)
            return list(cursor.fetchall())

    def create(self, name: str, select: Sql, key: str = "") -> None:
        """A temporary table holding the rows of `select`, indexed on `key` for
        SQLite (whose automatic indexes serve joins, not the correlated
        subqueries of a DELETE); PostgreSQL is told its size by ANALYZE."""
        table = PREFIX + name
        self.execute(Sql(f"CREATE TEMPORARY TABLE {table} AS ").embed(select))
        self.tables.append(table)
        if self.pg:
            self.execute(f"ANALYZE {table}")
        elif key:
            self.execute(f"CREATE INDEX {table}_key ON {table} ({key})")

    def drop(self) -> None:
        if self.pg:
            self.execute(f"DROP TABLE {', '.join(self.tables)}")
        else:
            for table in self.tables:
                self.execute(f"DROP TABLE {table}")
        self.tables = []

    def no_jit(self) -> None:
        """PostgreSQL's JIT compiler off for the rest of the transaction: the
        probes of the tasks in progress (`MonthSql.rows`) make the planner's estimate
        of the month's SELECT large enough to compile and optimise it, which
        took the month's SELECT from 1.4 s to 4.6 s at 100,000 elders
        (bench/bench_rates.py)."""
        if self.pg:
            self.execute("SET LOCAL jit = off")

    # --- The whole month -------------------------------------------------------------------

    def whole_month(self) -> Recomputed:
        month, now = self.sql.day(self.month), self.sql.moment(timezone.now())
        if self.pg:
            self.execute("SET LOCAL work_mem = '256MB'")
            self.no_jit()
            # Incremental writers wait for the rebuild; readers do not.
            self.execute("LOCK TABLE reports_eldermonth, reports_villagemonth IN EXCLUSIVE MODE")
        self.unmet()
        self.rules()
        stored = self.fetch("SELECT 1 FROM reports_eldermonth WHERE month = %s LIMIT 1", [month])
        if not stored:
            # Nothing to compare with: the rows go in as they are computed, in
            # the order of the elders, so that the (elder, month) index, which
            # holds every month, is written from one end to the other rather
            # than at random.
            rows = inserted = self.execute(
                Sql(f"{INSERT} SELECT n.elder_id, %s, %s, ", [month, now])
                .add(", ".join(f"n.{c}" for c in COLUMNS))
                .add(" FROM (")
                .embed(self.sql.rows())
                .add(f") AS n WHERE {NOT_EMPTY} ORDER BY n.elder_id")
            )
            updated = deleted = 0
            source = Sql("(SELECT * FROM reports_eldermonth WHERE month = %s)", [month])
        else:
            self.create("new", self.sql.rows(), "elder_id")
            deleted = self.execute(
                "DELETE FROM reports_eldermonth WHERE month = %s AND NOT EXISTS"
                " (SELECT 1 FROM tanfang_rm_new n WHERE n.elder_id = reports_eldermonth.elder_id)",
                [month],
            )
            updated = self.execute(self.sql.update_rows(month, now))
            inserted = self.execute(
                Sql(f"{INSERT} SELECT n.elder_id, %s, %s, ", [month, now])
                .add(", ".join(f"n.{c}" for c in COLUMNS))
                .add(f" FROM tanfang_rm_new n WHERE {NOT_EMPTY} AND NOT EXISTS")
                .add(" (SELECT 1 FROM reports_eldermonth o WHERE o.month = %s", month)
                .add(" AND o.elder_id = n.elder_id)")
            )
            rows = self.fetch("SELECT COUNT(*) FROM reports_eldermonth WHERE month = %s", [month])[
                0
            ][0]
            source = Sql("tanfang_rm_new")
        counters = self.counters(month, source)
        self.drop()
        return Recomputed(self.month, int(rows), inserted, updated, deleted, counters)

    def counters(self, month: Any, source: Sql) -> int:
        """The month's counters summed from `source`, written where they differ
        from the stored ones (a delete and insert of every counter would
        leave the unique index a dead entry to check for each); returns how
        many there are."""
        sums = ", ".join(f"SUM(x.{c}) AS {c}" for c in SHORT)
        self.create(
            "counts",
            Sql(f"SELECT x.village_id, x.dim, {sums} FROM (")
            .embed(self.sql.contributions(source, 1))
            .add(") AS x GROUP BY x.village_id, x.dim"),
            "village_id, dim",
        )
        match = (
            "n.village_id = reports_villagemonth.village_id"
            " AND n.dim = reports_villagemonth.dimension"
        )
        self.execute(
            "DELETE FROM reports_villagemonth WHERE month = %s AND NOT EXISTS"
            f" (SELECT 1 FROM tanfang_rm_counts n WHERE {match})",
            [month],
        )
        distinct = "IS DISTINCT FROM" if self.pg else "IS NOT"
        pairs = list(zip(COUNTERS, SHORT, strict=True))
        self.execute(
            "UPDATE reports_villagemonth SET "
            + ", ".join(f"{name} = n.{short}" for name, short in pairs)
            + f" FROM tanfang_rm_counts n WHERE reports_villagemonth.month = %s AND {match} AND ("
            + " OR ".join(
                f"reports_villagemonth.{name} {distinct} n.{short}" for name, short in pairs
            )
            + ")",
            [month],
        )
        self.execute(
            "INSERT INTO reports_villagemonth (village_id, month, dimension, "
            + ", ".join(COUNTERS)
            + ") SELECT n.village_id, %s, n.dim, "
            + ", ".join(f"n.{short}" for short in SHORT)
            + " FROM tanfang_rm_counts n WHERE NOT EXISTS (SELECT 1 FROM reports_villagemonth o"
            " WHERE o.month = %s AND o.village_id = n.village_id AND o.dimension = n.dim)",
            [month, month],
        )
        count: int = self.fetch("SELECT COUNT(*) FROM tanfang_rm_counts")[0][0]
        return count

    # --- The elders of a pick ----------------------------------------------------------------

    def picked_elders(self) -> None:
        month, now = self.sql.day(self.month), self.sql.moment(timezone.now())
        self.no_jit()
        self.make_pick()
        self.lock_rows()
        self.create(
            "had",
            Sql(
                "SELECT o.elder_id FROM reports_eldermonth o JOIN tanfang_rm_pick p"
                " ON p.elder_id = o.elder_id WHERE o.month = %s",
                [month],
            ),
            "elder_id",
        )
        self.placeholders()
        self.lock_rows()
        self.unmet()
        self.rules()
        self.create("new", self.sql.rows(), "elder_id")
        self.create(
            "old",
            Sql(
                "SELECT o.elder_id, o.village_id, o.tier, o.categories, o.surges, o.counted,"
                " o.visited, o.compliant, o.declined, o.quarter_compliant"
                " FROM reports_eldermonth o JOIN tanfang_rm_pick p"
                " ON p.elder_id = o.elder_id WHERE o.month = %s",
                [month],
            ),
        )
        sums = ", ".join(f"SUM(x.{c}) AS {c}" for c in SHORT)
        self.create(
            "delta",
            Sql(f"SELECT x.village_id, x.dim, {sums} FROM (")
            .embed(self.sql.contributions(Sql("tanfang_rm_new"), 1))
            .add(" UNION ALL ")
            .embed(self.sql.contributions(Sql("tanfang_rm_old"), -1))
            .add(") AS x GROUP BY x.village_id, x.dim HAVING ")
            .add(" OR ".join(f"SUM(x.{c}) <> 0" for c in SHORT)),
        )
        self.execute(
            "INSERT INTO reports_villagemonth (village_id, month, dimension, "
            + ", ".join(COUNTERS)
            + ") SELECT d.village_id, %s, d.dim, "
            + ", ".join("0" for _ in COUNTERS)
            + " FROM tanfang_rm_delta d WHERE 1 = 1"
            " ON CONFLICT (month, village_id, dimension) DO NOTHING",
            [month],
        )
        if self.pg:
            self.execute(
                "SELECT vm.id FROM reports_villagemonth vm JOIN tanfang_rm_delta d"
                " ON d.village_id = vm.village_id AND d.dim = vm.dimension WHERE vm.month = %s"
                ' ORDER BY vm.village_id COLLATE "C", vm.dimension COLLATE "C" FOR UPDATE OF vm',
                [month],
            )
        self.execute(
            "UPDATE reports_villagemonth SET "
            + ", ".join(
                f"{name} = reports_villagemonth.{name} + d.{short}"
                for name, short in zip(COUNTERS, SHORT, strict=True)
            )
            + " FROM tanfang_rm_delta d WHERE reports_villagemonth.month = %s"
            " AND reports_villagemonth.village_id = d.village_id"
            " AND reports_villagemonth.dimension = d.dim",
            [month],
        )
        # Rows of elders not registered by the month's end go; empty rows made
        # just now (placeholders) go; empty rows stored before stay.
        self.execute(
            "DELETE FROM reports_eldermonth WHERE month = %s AND elder_id IN"
            " (SELECT elder_id FROM tanfang_rm_pick) AND (NOT EXISTS"
            " (SELECT 1 FROM tanfang_rm_new n WHERE n.elder_id = reports_eldermonth.elder_id)"
            f" OR (elder_id NOT IN (SELECT elder_id FROM tanfang_rm_had) AND EXISTS"
            " (SELECT 1 FROM tanfang_rm_new n WHERE n.elder_id = reports_eldermonth.elder_id"
            f" AND NOT {NOT_EMPTY})))",
            [month],
        )
        self.execute(self.sql.update_rows(month, now))
        self.drop()

    def make_pick(self) -> None:
        table = PREFIX + "pick"
        self.execute(f"CREATE TEMPORARY TABLE {table} (elder_id bigint PRIMARY KEY)")
        self.tables.append(table)
        if isinstance(self.pick, QuerySet):
            sql, params = self.pick.query.sql_with_params()
            self.execute(
                f"INSERT INTO {table} (elder_id) SELECT DISTINCT picked.* FROM ({sql}) AS picked",
                params,
            )
        else:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} (elder_id) VALUES (%s)",
                    [[pk] for pk in sorted(set(self.pick or ()))],
                )
        if self.pg:
            self.execute(f"ANALYZE {table}")

    def lock_rows(self) -> None:
        if self.pg:
            self.execute(
                "SELECT o.id FROM reports_eldermonth o JOIN tanfang_rm_pick p"
                " ON p.elder_id = o.elder_id WHERE o.month = %s"
                " ORDER BY o.elder_id FOR UPDATE OF o",
                [self.sql.day(self.month)],
            )

    def placeholders(self) -> None:
        """Empty rows for the picked elders registered by the month's end who
        have none, with the file's village, tier, categories and consent."""
        empty = self.sql.json([])
        self.execute(
            Sql(f"{INSERT} SELECT e.id, %s, %s, e.village_id, {self.sql.tier_sql('e')}, COALESCE(")
            .add("", self.sql.day(self.month), self.sql.moment(timezone.now()))
            .add("c.items, ")
            .embed(empty)
            .add("), e.consents_to_visits, FALSE, FALSE, 0, FALSE, FALSE, FALSE, ")
            .embed(empty)
            .add(", ")
            .embed(self.sql.json({}))
            .add(", ''")
            .add(" FROM registry_elder e JOIN tanfang_rm_pick p ON p.elder_id = e.id LEFT JOIN (")
            .embed(self.sql.categories())
            .add(
                ") AS c ON c.elder_id = e.id WHERE e.registered_on <= %s",
                self.sql.day(self.sql.last),
            )
            .add(" ON CONFLICT (elder_id, month) DO NOTHING")
        )

    # --- The computation -----------------------------------------------------------------------

    def unmet(self) -> None:
        """The month's required tasks not met (docs/统计口径.md §5), and the
        words of each distinct requirement among them."""
        done_at = (
            "COALESCE((SELECT d.visited_at FROM visits_visit d WHERE d.id = t.done_by_visit_id),"
            " t.done_at)"
        )
        trigger = str(TaskKind.TRIGGER)
        timed = "(t.kind = %s AND t.due_at IS NOT NULL)"
        self.create(
            "unmet",
            Sql(
                "SELECT t.id, t.elder_id, t.label, CAST(t.modes AS text) AS modes, t.deadline,"
                " t.window_start, CASE WHEN t.kind = %s THEN t.due_at END AS due_at,"
                " CASE WHEN t.done_at IS NULL THEN 0 ELSE 1 END AS late"
                f" FROM visits_visittask t {self.sql.picked('t.elder_id')} WHERE t.month = %s AND ",
                [trigger, self.sql.day(self.month)],
            )
            .embed(self.sql.required("t"))
            .add(" AND t.cancelled_at IS NULL AND t.excused_at IS NULL AND (t.done_at IS NULL")
            # A trigger is met by a visit at or before its moment; the others
            # by a visit on or before their deadline day.
            .add(f" OR ({timed} AND {done_at} > t.due_at)", trigger)
            .add(f" OR (NOT {timed} AND t.deadline < t.window_end", trigger)
            .add(f" AND {self.sql.local_date(done_at)} > t.deadline))"),
        )
        table = PREFIX + "words"
        self.execute(
            f"CREATE TEMPORARY TABLE {table} AS SELECT DISTINCT label, modes, deadline, due_at,"
            f" late, CAST(label AS text) AS words FROM {PREFIX}unmet WHERE 1 = 0"
        )
        self.tables.append(table)
        rows = self.fetch(
            f"SELECT DISTINCT label, modes, deadline, due_at, late FROM {PREFIX}unmet"
        )
        if rows:
            made = []
            for label, modes, deadline, due_at, late in rows:
                day = deadline if isinstance(deadline, date) else date.fromisoformat(str(deadline))
                names = json.loads(modes) if modes else []
                words = task_words(label, names, day, bool(late), _moment(due_at))
                made.append([label, modes, deadline, due_at, late, words])
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} (label, modes, deadline, due_at, late, words)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    made,
                )

    def rules(self) -> None:
        """The rules version of the month of each county a row may be counted
        in (`tiers.rules_version`: a village follows its county's, city's or
        province's choice, so its code's first six digits say which)."""
        table = PREFIX + "rules"
        self.execute(
            f"CREATE TEMPORARY TABLE {table} (county varchar(6) PRIMARY KEY, rules varchar(60))"
        )
        self.tables.append(table)
        villages = Sql(
            f"SELECT DISTINCT substr(e.village_id, 1, 6) FROM registry_elder e"
            f" {self.sql.picked('e.id')} WHERE e.registered_on <= %s",
            [self.sql.day(self.sql.last)],
        )
        if self.sql.closed:
            # Rows stored before the rules were recorded get them now.
            villages.add(
                " UNION SELECT DISTINCT substr(o.village_id, 1, 6) FROM reports_eldermonth o"
                f" {self.sql.picked('o.elder_id')} WHERE o.month = %s AND o.rules = ''",
                self.sql.day(self.month),
            )
        found = Rules()
        made = [
            [county, found.of(county.ljust(12, "0"), self.month)]
            for (county,) in self.fetch(villages)
        ]
        if made:
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} (county, rules) VALUES (%s, %s)", made)
        if self.pg:
            self.execute(f"ANALYZE {table}")

# The statements below are assembled from table and column names and SQL
# fragments of this module only; every value goes as a query parameter.
# ruff: noqa: S608
"""The SQL of a month's rollup, set-based (docs/统计口径.md, word for word as
tanfang.reports.rows computes one elder's row): the SELECT of the month's
`ElderMonth` rows as they should be, and of what they add to the
`VillageMonth` counters. It builds statements and runs none:
tanfang.reports.rebuild runs them, for a whole month or for the elders of a
pick.

The month's rows are computed by one SELECT over the files, joined to the
per-elder aggregates of the status changes, visits, tasks, surges,
categories and the stored rows of the quarter's earlier months. It reads
three temporary tables the rebuild fills first: the required tasks not met
(tanfang_rm_unmet) with their words (tanfang_rm_words), and the rules
version of each county (tanfang_rm_rules); and, for a pick, its elders
(tanfang_rm_pick).
"""

import json
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

from django.db import connection

from tanfang.months import bounds, last_day, month_of, quarter_start, zone
from tanfang.registry.models import Status
from tanfang.reports.rows import CATEGORY, MUST, SURGE, TIER, UNCOUNTED_LATE, no_task_words
from tanfang.visits.models import ALWAYS_REQUIRED, SURGE_KINDS

# The temporary tables of a rebuild are named with this prefix.
PREFIX = "tanfang_rm_"
# The values of an `ElderMonth` row that the month's SELECT computes.
COLUMNS = (
    "village_id",
    "tier",
    "categories",
    "consents",
    "counted",
    "declined",
    "visits",
    "visited",
    "compliant",
    "quarter_compliant",
    "missing",
    "surges",
    "rules",
)
INSERT = "INSERT INTO reports_eldermonth (elder_id, month, computed_at, " + ", ".join(COLUMNS) + ")"
# A row adding nothing (`rows.Row.empty`) is not made; one stored is kept.
NOT_EMPTY = "(n.counted OR n.declined OR n.visits > 0)"
# The counters' columns in the temporary tables, in the order of `rows.COUNTERS`.
SHORT = ("c", "v", "k", "d", "q")


class Sql:
    """A statement assembled from pieces, its parameters kept in order."""

    def __init__(self, text: str = "", params: Sequence[Any] = ()) -> None:
        self.text, self.params = text, list(params)

    def add(self, text: str, *params: Any) -> "Sql":
        self.text += text
        self.params.extend(params)
        return self

    def embed(self, other: "Sql") -> "Sql":
        return self.add(other.text, *other.params)


class MonthSql:
    """The statements of one month, for every elder or (`picked`) for the
    elders of the temporary table tanfang_rm_pick. Built for the database of
    the default connection (PostgreSQL or SQLite)."""

    def __init__(self, month: date, today: date, picked: bool) -> None:
        self.month = month
        self.last = last_day(month)
        self.closed = month < month_of(today)
        self.quarter = quarter_start(month)
        self.picking = picked
        self.pg = connection.vendor == "postgresql"
        self.ops = connection.ops

    # --- Helpers -------------------------------------------------------------------------

    def day(self, value: date) -> Any:
        return self.ops.adapt_datefield_value(value)

    def moment(self, value: datetime) -> Any:
        return self.ops.adapt_datetimefield_value(value)

    def json(self, value: Sequence[str] | dict[str, Any]) -> Sql:
        text = json.dumps(value if isinstance(value, dict) else list(value), ensure_ascii=False)
        return Sql("CAST(%s AS jsonb)" if self.pg else "%s", [text])

    def local_date(self, expression: str) -> str:
        """The day in Asia/Shanghai of a stored UTC instant."""
        if self.pg:
            name = zone().key.replace("'", "")
            return f"CAST(({expression} AT TIME ZONE '{name}') AS date)"
        # SQLite stores UTC text; the zone's offset that month (no daylight
        # saving in China since 1991, so one offset serves the whole month).
        offset = datetime.combine(self.month, time(12), tzinfo=zone()).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        return f"date({expression}, '{minutes:+d} minutes')"

    def sorted_array(self, group: str, value: str, order: str, source: str) -> str:
        """SELECT elder_id, items: a JSON array of `value` in `order`, per `group`."""
        if self.pg:
            return (
                f"SELECT {group} AS elder_id, jsonb_agg({value} ORDER BY {order}) AS items"
                f" FROM {source} GROUP BY {group}"
            )
        # SQLite 3.40 has no ORDER BY inside an aggregate; as a window it does.
        return (
            f"SELECT elder_id, MAX(items) AS items FROM (SELECT {group} AS elder_id, "
            f"json_group_array({value}) OVER (PARTITION BY {group} ORDER BY {order} "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS items "
            f"FROM {source}) AS windowed GROUP BY elder_id"
        )

    def surge_key(self, column: str) -> str:
        """`rows.surge_key` of a task key column: up to its second colon."""
        if self.pg:
            return f"split_part({column}, ':', 1) || ':' || split_part({column}, ':', 2)"
        rest = f"substr({column}, instr({column}, ':') + 1)"
        return (
            f"CASE WHEN instr({rest}, ':') > 0 THEN substr({column}, 1,"
            f" instr({column}, ':') + instr({rest}, ':') - 1) ELSE {column} END"
        )

    @staticmethod
    def required(alias: str) -> Sql:
        """`rows.is_required` of the task `alias`."""
        return Sql(
            f"({alias}.kind IN (%s, %s) OR ({alias}.kind IN (%s, %s) AND {alias}.extra = FALSE))",
            [*ALWAYS_REQUIRED, *SURGE_KINDS],
        )

    def picked(self, column: str) -> str:
        """A join limiting a table to the elders of the pick."""
        if not self.picking:
            return ""
        return f"JOIN {PREFIX}pick p ON p.elder_id = {column}"

    @staticmethod
    def tier_sql(alias: str) -> str:
        override = f"{alias}.tier_override"
        return f"CASE WHEN {override} <> '' THEN {override} ELSE {alias}.tier END"

    # --- The month's rows and their counters --------------------------------------------------

    def categories(self) -> Sql:
        """SELECT elder_id, items: the file's confirmed categories as a JSON array
        in code point order (for a month over, only of the elders without a
        stored row: the others keep theirs)."""
        collate = ' COLLATE "C"' if self.pg else ""
        source = (
            f"registry_eldercategory c {self.picked('c.elder_id')} WHERE c.withdrawn_at IS NULL"
        )
        params: list[Any] = []
        if self.closed and not self.picking:
            source += (
                " AND NOT EXISTS (SELECT 1 FROM reports_eldermonth o"
                " WHERE o.month = %s AND o.elder_id = c.elder_id)"
            )
            params.append(self.day(self.month))
        return Sql(
            self.sorted_array("c.elder_id", "c.category", f"c.category{collate}", source), params
        )

    def surges(self) -> Sql:
        """SELECT elder_id, items: per elder, the surges (festivals, events) of
        the month's tasks not excused as a JSON object by surge key, each
        covered when all its tasks are done and mandatory when none is extra
        (as `rows.compute_row` reads them)."""
        key = self.surge_key("t.key")
        each = (
            f"SELECT t.elder_id, {key} AS skey,"
            " MIN(CASE WHEN t.done_at IS NULL THEN 0 ELSE 1 END) AS covered,"
            " MIN(CASE WHEN t.extra THEN 0 ELSE 1 END) AS mandatory"
            f" FROM visits_visittask t {self.picked('t.elder_id')} WHERE t.month = %s"
            " AND t.kind IN (%s, %s) AND t.cancelled_at IS NULL AND t.excused_at IS NULL"
            " GROUP BY 1, 2"
        )
        if self.pg:
            value = (
                "jsonb_object_agg(s.skey, jsonb_build_object('covered', s.covered = 1,"
                " 'mandatory', s.mandatory = 1))"
            )
        else:
            value = (
                "json_group_object(s.skey, json_object("
                "'covered', json(CASE WHEN s.covered = 1 THEN 'true' ELSE 'false' END),"
                " 'mandatory', json(CASE WHEN s.mandatory = 1 THEN 'true' ELSE 'false' END)))"
            )
        return Sql(
            f"SELECT s.elder_id, {value} AS items FROM ({each}) AS s GROUP BY s.elder_id",
            [self.day(self.month), *SURGE_KINDS],
        )

    def rows(self) -> Sql:
        """SELECT the month's rows as they should be (docs/统计口径.md), one for
        every elder registered by its end, empty ones (`rows.Row.empty`) included."""
        first, last = self.day(self.month), self.day(self.last)
        start, end = (self.moment(m) for m in bounds(self.month))
        empty = self.json([])
        broken = "(q.elder_id IS NOT NULL)" if self.quarter < self.month else "FALSE"

        def kept(column: str, fallback: str) -> str:
            # A month over keeps what its stored rows say.
            if not self.closed:
                return fallback
            return f"CASE WHEN o.id IS NULL THEN {fallback} ELSE o.{column} END"

        # y: the facts of each elder registered by the month's end.
        facts = (
            Sql("SELECT e.id AS elder_id, ")
            .add(kept("village_id", "e.village_id") + " AS village_id, ")
            .add(kept("tier", self.tier_sql("e")) + " AS tier, ")
        )
        categories = Sql("COALESCE(c.items, ").embed(empty).add(")")
        if self.closed:
            categories = (
                Sql("CASE WHEN o.id IS NULL THEN ").embed(categories).add(" ELSE o.categories END")
            )
        facts.embed(categories).add(" AS categories, ")
        facts.add(kept("consents", "e.consents_to_visits") + " AS consents,")
        # The status at the month's end (`rows.status_on`): of the changes in effect
        # by then, the one recorded last; failing those, the one recorded
        # first, whose starting status it is.
        facts.add(" (COALESCE(s.status, e.status) = %s) AS active,", str(Status.ACTIVE))
        facts.add(" COALESCE(a.visits, 0) AS visits, COALESCE(a.n_tasks, 0) AS n_tasks,")
        facts.add(f" m.items AS unmet, g.items AS surges, {broken} AS broken, ")
        facts.add(("COALESCE(o.rules, '')" if self.closed else "''") + " AS stored_rules")
        facts.add(f" FROM registry_elder e {self.picked('e.id')}")
        facts.add(
            " LEFT JOIN (SELECT elder_id, status FROM (SELECT s.elder_id,"
            " CASE WHEN s.effective_on <= %s THEN s.to_status ELSE s.from_status END AS status,"
            " ROW_NUMBER() OVER (PARTITION BY s.elder_id ORDER BY"
            " CASE WHEN s.effective_on <= %s THEN 0 ELSE 1 END,"
            " CASE WHEN s.effective_on <= %s THEN s.changed_at END DESC,"
            " CASE WHEN s.effective_on <= %s THEN s.id END DESC, s.changed_at, s.id) AS n"
            f" FROM registry_statuschange s {self.picked('s.elder_id')}) AS ordered"
            " WHERE n = 1) AS s ON s.elder_id = e.id",
            last,
            last,
            last,
            last,
        )
        # Valid visits and required tasks counted in one pass: one aggregate, one join.
        facts.add(
            " LEFT JOIN (SELECT u.elder_id, SUM(u.visit) AS visits, SUM(u.task) AS n_tasks"
            f" FROM (SELECT v.elder_id, 1 AS visit, 0 AS task FROM visits_visit v"
            f" {self.picked('v.elder_id')} WHERE v.visited_at >= %s AND v.visited_at < %s"
            " AND v.refused = FALSE AND v.late_state NOT IN (%s, %s)"
            " UNION ALL SELECT t.elder_id, 0, 1 FROM visits_visittask t"
            f" {self.picked('t.elder_id')} WHERE t.month = %s AND ",
            start,
            end,
            *UNCOUNTED_LATE,
            first,
        )
        facts.embed(self.required("t"))
        facts.add(
            " AND t.cancelled_at IS NULL) AS u GROUP BY u.elder_id) AS a ON a.elder_id = e.id"
        )
        facts.add(" LEFT JOIN (")
        same_due = "IS NOT DISTINCT FROM" if self.pg else "IS"
        facts.add(
            self.sorted_array(
                "u.elder_id",
                "w.words",
                "u.deadline, u.window_start, u.id",
                "tanfang_rm_unmet u JOIN tanfang_rm_words w ON w.label = u.label"
                " AND w.modes = u.modes AND w.deadline = u.deadline AND w.late = u.late"
                f" AND w.due_at {same_due} u.due_at",
            )
        )
        facts.add(") AS m ON m.elder_id = e.id LEFT JOIN (")
        facts.embed(self.categories())
        facts.add(") AS c ON c.elder_id = e.id LEFT JOIN (")
        facts.embed(self.surges())
        facts.add(") AS g ON g.elder_id = e.id")
        if self.quarter < self.month:
            # The earlier months of the quarter in which the elder was counted
            # and not compliant, by their stored rows.
            facts.add(
                " LEFT JOIN (SELECT b.elder_id FROM reports_eldermonth b"
                f" {self.picked('b.elder_id')} WHERE b.month >= %s AND b.month < %s"
                " AND b.counted AND NOT b.compliant GROUP BY b.elder_id) AS q"
                " ON q.elder_id = e.id",
                self.day(self.quarter),
                first,
            )
        if self.closed:
            facts.add(
                " LEFT JOIN reports_eldermonth o ON o.elder_id = e.id AND o.month = %s", first
            )
        facts.add(" WHERE e.registered_on <= %s", last)

        # z: whether an elder counted, owed no task counting in the month and
        # not visited has a required task in progress (its window begun, due
        # in a later month): probed only for those.
        ongoing = (
            Sql(
                "SELECT y.*, (y.active AND y.consents) AS counted, CASE WHEN y.active"
                " AND y.consents AND y.n_tasks = 0 AND y.visits = 0 THEN EXISTS (SELECT 1"
                " FROM visits_visittask t WHERE t.elder_id = y.elder_id AND t.window_end >= %s"
                " AND t.window_start <= %s AND t.month > %s AND ",
                [first, last, first],
            )
            .embed(self.required("t"))
            .add(" AND t.cancelled_at IS NULL) ELSE FALSE END AS ongoing FROM (")
            .embed(facts)
            # PostgreSQL: kept a subquery (not pulled up into the SELECT above,
            # which reads `ongoing` three times), so that it probes once.
            .add(") AS y OFFSET 0" if self.pg else ") AS y")
        )

        compliant = (
            "(z.counted AND ((z.n_tasks > 0 AND z.unmet IS NULL)"
            " OR (z.n_tasks = 0 AND (z.visits > 0 OR z.ongoing))))"
        )
        return (
            Sql(
                "SELECT z.elder_id, z.village_id, z.tier, z.categories, z.consents, z.counted,"
                " (z.active AND NOT z.consents) AS declined, z.visits, (z.visits > 0) AS visited,"
                f" {compliant} AS compliant, ({compliant} AND NOT z.broken) AS quarter_compliant,"
                " CASE WHEN NOT z.counted THEN "
            )
            .embed(empty)
            .add(" WHEN z.unmet IS NOT NULL THEN z.unmet")
            .add(" WHEN z.n_tasks = 0 AND z.visits = 0 AND NOT z.ongoing THEN ")
            .embed(self.json([no_task_words(self.month)]))
            .add(" ELSE ")
            .embed(empty)
            .add(
                " END AS missing, CASE WHEN z.counted AND z.surges IS NOT NULL THEN z.surges ELSE "
            )
            .embed(self.json({}))
            .add(" END AS surges, CASE WHEN z.stored_rules <> '' THEN z.stored_rules")
            .add(" ELSE COALESCE(r.rules, '') END AS rules FROM (")
            .embed(ongoing)
            .add(") AS z LEFT JOIN tanfang_rm_rules r ON r.county = substr(z.village_id, 1, 6)")
        )

    def contributions(self, source: Sql, sign: int) -> Sql:
        """SELECT village_id, dim, c, v, k, d, q: what each row of `source` adds
        to the counters of each of its dimensions (`rows.contributions`)."""
        each = {
            "c": f"CASE WHEN s.counted THEN {sign} ELSE 0 END",
            "v": f"CASE WHEN s.counted AND s.visited THEN {sign} ELSE 0 END",
            "k": f"CASE WHEN s.counted AND s.compliant THEN {sign} ELSE 0 END",
            "d": f"CASE WHEN s.declined THEN {sign} ELSE 0 END",
            "q": f"CASE WHEN s.counted AND s.quarter_compliant THEN {sign} ELSE 0 END",
        }
        values = ", ".join(f"{expression} AS {name}" for name, expression in each.items())
        counted = "(s.counted OR s.declined)"
        if self.pg:
            # The rows summed by village, tier and categories first (a few per
            # village), then each sum expanded to its dimensions; the surges
            # summed by village and surges apart (only counted rows have any).
            sums = ", ".join(f"SUM({expression}) AS {name}" for name, expression in each.items())
            whole = "g.c, g.v, g.k, g.d, g.q"
            covered = "CASE WHEN (x.value ->> 'covered') = 'true' THEN h.c ELSE 0 END"
            return (
                Sql("SELECT g.village_id, d.dim, d.c, d.v, d.k, d.d, d.q FROM (SELECT")
                .add(f" s.village_id, s.tier, s.categories, {sums} FROM ")
                .embed(source)
                .add(
                    f" AS s WHERE {counted} GROUP BY s.village_id, s.tier, s.categories) AS g"
                    " CROSS JOIN LATERAL (SELECT CAST('' AS varchar(40)) AS dim,"
                    " g.c AS c, g.v AS v, g.k AS k, g.d AS d, g.q AS q"
                    f" UNION ALL SELECT CAST('{TIER}' || g.tier AS varchar(40)), {whole}"
                    " WHERE g.tier <> ''"
                    f" UNION ALL SELECT CAST('{CATEGORY}' || y.name AS varchar(40)), {whole}"
                    " FROM jsonb_array_elements_text(g.categories) AS y(name)) AS d"
                    " UNION ALL SELECT h.village_id, CASE WHEN x.must THEN"
                    f" CAST('{MUST}' || x.key AS varchar(40)) ELSE"
                    f" CAST('{SURGE}' || x.key AS varchar(40)) END, h.c, {covered}, {covered},"
                    f" 0, 0 FROM (SELECT s.village_id, s.surges, SUM({each['c']}) AS c FROM "
                )
                .embed(source)
                .add(
                    " AS s WHERE s.counted AND s.surges <> CAST('{}' AS jsonb)"
                    " GROUP BY s.village_id, s.surges) AS h CROSS JOIN LATERAL"
                    " (SELECT FALSE AS must, e.key, e.value FROM jsonb_each(h.surges) AS e"
                    " UNION ALL SELECT TRUE, e.key, e.value FROM jsonb_each(h.surges) AS e"
                    " WHERE (e.value ->> 'mandatory') = 'true') AS x"
                )
            )
        in_scope = f"CASE WHEN s.counted THEN {sign} ELSE 0 END"
        covered = (
            f"CASE WHEN s.counted AND json_extract(x.value, '$.covered') THEN {sign} ELSE 0 END"
        )
        surge = f"{in_scope} AS c, {covered} AS v, {covered} AS k, 0 AS d, 0 AS q"
        return (
            Sql(f"SELECT s.village_id, '' AS dim, {values} FROM ")
            .embed(source)
            .add(f" AS s WHERE {counted} UNION ALL SELECT s.village_id, '{TIER}' || s.tier,")
            .add(f" {values} FROM ")
            .embed(source)
            .add(f" AS s WHERE s.tier <> '' AND {counted} UNION ALL SELECT s.village_id,")
            .add(f" '{CATEGORY}' || x.value, {values} FROM ")
            .embed(source)
            .add(f" AS s JOIN json_each(s.categories) AS x WHERE {counted}")
            .add(f" UNION ALL SELECT s.village_id, '{SURGE}' || x.key, {surge} FROM ")
            .embed(source)
            .add(" AS s JOIN json_each(s.surges) AS x WHERE s.counted")
            .add(f" UNION ALL SELECT s.village_id, '{MUST}' || x.key, {surge} FROM ")
            .embed(source)
            .add(" AS s JOIN json_each(s.surges) AS x WHERE s.counted")
            .add(" AND json_extract(x.value, '$.mandatory')")
        )

    def update_rows(self, month: Any, now: Any) -> Sql:
        """UPDATE the stored rows that differ from those of tanfang_rm_new."""
        distinct = "IS DISTINCT FROM" if self.pg else "IS NOT"
        changed = " OR ".join(f"reports_eldermonth.{c} {distinct} n.{c}" for c in COLUMNS)
        assignments = ", ".join(f"{c} = n.{c}" for c in COLUMNS)
        return Sql(
            f"UPDATE reports_eldermonth SET {assignments}, computed_at = %s"
            " FROM tanfang_rm_new n WHERE reports_eldermonth.month = %s"
            f" AND reports_eldermonth.elder_id = n.elder_id AND ({changed})",
            [now, month],
        )

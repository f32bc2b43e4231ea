# The statements below are assembled from table and column names and SQL
# fragments of this module only; every value goes as a query parameter.
# ruff: noqa: S608
"""Keeping the monthly rollups current: `ElderMonth` rows and `VillageMonth`
counters (DOMAIN.md "Supervision and reports"; the definitions are written in
docs/统计口径.md, which this module implements word for word).

Two ways to the same numbers:

- Incremental, as things happen: `refresh_elder_month` recomputes one elder's
  row of one month from that elder's own file, status changes, visits and
  tasks, and adds the difference between the old row's contribution and the
  new one to the village's counters (`UPDATE … SET n = n + delta`), in the
  caller's transaction. `refresh_elders` does the same for many elders, with
  set-based SQL when they are many. The actions call them: a visit recorded,
  a task excused, the tasks refreshed (tier, consent, village, categories,
  rules, events), a status change, the daily task run.
- From scratch: `recompute_month` rebuilds every row and counter of a month
  set-based: one SELECT over the files joined to per-elder aggregates of the
  status changes, visits, tasks and categories (a temporary table holds the
  tasks not met, to put them in words), written by INSERT … SELECT, or, when
  the month has rows, by UPDATE of the rows that differ; no per-elder Python.
  `manage.py recompute_rates` runs it.

tests/reports/test_recompute.py checks that both give identical tables after
random histories.

Concurrency (PostgreSQL): an elder's row is locked (SELECT … FOR UPDATE; a
missing row is first inserted as an empty placeholder with ON CONFLICT DO
NOTHING, so that two writers meet on it) before its facts are read, so the
second of two writers recomputes from what the first committed. Counters are
changed only by relative updates, each row locked in one order (village, then
dimension, by code point), so two visits to two elders of one village never
lose an increment and never deadlock on the counters. `recompute_month` takes
an EXCLUSIVE lock on the two tables: incremental writers wait for it, readers
do not.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from tanfang.policy.engine import Mode
from tanfang.registry.models import Elder, ElderCategory, Status, StatusChange
from tanfang.reports.models import ElderMonth, VillageMonth
from tanfang.visits.models import TaskKind, Visit, VisitTask

# The tasks that make up compliance: visits, not the file's half-year review.
VISIT_KINDS = (str(TaskKind.REGULAR), str(TaskKind.FESTIVAL), str(TaskKind.EVENT))

# Dimensions of the counters: every elder, by tier (override wins), by category.
ALL = ""
TIER = "tier:"
CATEGORY = "category:"

# Up to this many (elder, month) pairs are refreshed one by one in Python (a few
# queries each, the cheapest for a visit); more go through the set-based SQL.
PYTHON_LIMIT = 20

# What a task's modes are called in the words of `missing`.
MODE_WORDS = {
    str(Mode.HOME): "上门探访",
    str(Mode.PHONE): "电话探访",
    str(Mode.VIDEO): "视频探访",
    str(Mode.STREET): "路遇探访",
    str(Mode.MONITORING): "远程监测",
}

Counts = tuple[int, int, int, int]  # counted, visited, compliant, declined
CounterKey = tuple[str, str]  # village code, dimension


# --- Months ------------------------------------------------------------------------------


def zone() -> ZoneInfo:
    """Asia/Shanghai: a month is a calendar month there (ARCHITECTURE.md)."""
    return ZoneInfo(settings.TIME_ZONE)


def month_of(day: date) -> date:
    return date(day.year, day.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def last_day(month: date) -> date:
    return next_month(month) - timedelta(days=1)


def bounds(month: date) -> tuple[datetime, datetime]:
    """The instants at which the month starts and the next one starts, at
    midnight in Asia/Shanghai."""
    first = month_of(month)
    return (
        datetime.combine(first, time.min, tzinfo=zone()),
        datetime.combine(next_month(first), time.min, tzinfo=zone()),
    )


def months_between(first: date, last: date) -> list[date]:
    found, month = [], month_of(first)
    while month <= month_of(last):
        found.append(month)
        month = next_month(month)
    return found


def _today(today: date | None) -> date:
    return today if today is not None else timezone.localdate()


# --- What is missing, in words -----------------------------------------------------------


def task_words(label: str, modes: Sequence[str], deadline: date, late: bool) -> str:
    """One task not met, in words: "12月上半月例行探访未完成（须上门探访，截止12月15日）",
    or, done after its deadline day (003_fe235aaa23e67560.txt 五(二): 每月20日前完成),
    "12月例行探访逾期完成（截止12月20日）"."""
    when = f"截止{deadline.month}月{deadline.day}日"
    if late:
        return f"{label}逾期完成（{when}）"
    wanted = [MODE_WORDS[m] for m in MODE_WORDS if m in modes]
    if not wanted or len(wanted) == len(MODE_WORDS):
        return f"{label}未完成（{when}）"
    return f"{label}未完成（须{'或'.join(wanted)}，{when}）"


def no_task_words(month: date) -> str:
    """An elder owed no task that month, and not visited."""
    return f"{month.month}月未探访"


# --- One row, as computed -----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """The values of an `ElderMonth` row (docs/统计口径.md)."""

    village_id: str
    tier: str
    categories: tuple[str, ...]
    consents: bool
    counted: bool
    declined: bool
    visits: int
    visited: bool
    compliant: bool
    missing: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        """Neither counted nor declining nor visited: a row adding nothing. One
        once stored is kept, with its village, tier and categories; none is
        made for it."""
        return not (self.counted or self.declined or self.visits)

    def contributions(self) -> dict[CounterKey, Counts]:
        return contributions(
            self.village_id,
            self.tier,
            self.categories,
            counted=self.counted,
            visited=self.visited,
            compliant=self.compliant,
            declined=self.declined,
        )

    @classmethod
    def of(cls, stored: ElderMonth) -> "Row":
        return cls(
            village_id=stored.village_id,
            tier=stored.tier,
            categories=tuple(stored.categories or ()),
            consents=stored.consents,
            counted=stored.counted,
            declined=stored.declined,
            visits=stored.visits,
            visited=stored.visited,
            compliant=stored.compliant,
            missing=tuple(stored.missing or ()),
        )


def contributions(
    village_id: str,
    tier: str,
    categories: Iterable[str],
    *,
    counted: bool,
    visited: bool,
    compliant: bool,
    declined: bool,
) -> dict[CounterKey, Counts]:
    """What one elder adds to the counters of each dimension: visited and
    compliant only inside the denominator; nothing for an elder neither counted
    nor declining."""
    if not (counted or declined):
        return {}
    counts = (int(counted), int(counted and visited), int(counted and compliant), int(declined))
    dimensions = [ALL, *([TIER + tier] if tier else []), *(CATEGORY + c for c in categories)]
    return {(village_id, dimension): counts for dimension in dimensions}


# --- The incremental path, one elder at a time -------------------------------------------------


def refresh_elder_month(elder_id: int, month: date, today: date | None = None) -> None:
    """Recompute `elder_id`'s row of `month` and move the counters by the
    difference, in the caller's transaction. A month after `today`'s is left
    alone: its rows are made when it begins."""
    _refresh_pairs([(elder_id, month_of(month))], _today(today))


def refresh_elders(
    elders: Sequence[int] | QuerySet[Any],
    months: Iterable[date],
    today: date | None = None,
) -> None:
    """`refresh_elder_month` for every elder of `elders` (primary keys, or a
    queryset of one column of them) and every month of `months` up to today's.
    Up to PYTHON_LIMIT pairs one by one; more with the set-based statements of
    `recompute_month`, limited to these elders."""
    today = _today(today)
    wanted = sorted({month_of(m) for m in months if month_of(m) <= month_of(today)})
    if not wanted:
        return
    if isinstance(elders, QuerySet):
        # A few elders are read out and go the Python way: no temporary tables,
        # whose locks a long transaction calling this often (the demo's history,
        # day by day) would pile up past PostgreSQL's max_locks_per_transaction.
        head = [_one_value(row) for row in elders.order_by().distinct()[: PYTHON_LIMIT + 1]]
        if len(head) <= PYTHON_LIMIT:
            elders = head
    if not isinstance(elders, QuerySet):
        ids = sorted(set(elders))
        if not ids:
            return
        if len(ids) * len(wanted) <= PYTHON_LIMIT:
            _refresh_pairs([(pk, m) for m in wanted for pk in ids], today)
            return
    with transaction.atomic():
        for month in wanted:
            _Rebuild(month, today, elders).picked_elders()


def _one_value(row: Any) -> int:
    """The primary key of a row of a one-column queryset (values or values_list)."""
    if isinstance(row, dict):
        return int(next(iter(row.values())))
    if isinstance(row, tuple):
        return int(row[0])
    return int(row)


def refresh_open_months(elders: Sequence[int] | QuerySet[Any], today: date | None = None) -> None:
    """After `elders`' tasks were made or cancelled from `today` on
    (tanfang.visits.generation): today's month, and the earlier months whose
    tasks of these elders are still open, a festival's window running into
    this month — the only tasks such a refresh touches."""
    today = _today(today)
    current = month_of(today)
    tasks = VisitTask.objects.filter(
        elder_id__in=elders if isinstance(elders, QuerySet) else list(elders),
        window_end__gte=today,
        window_start__lt=current,
        kind__in=VISIT_KINDS,
    ).order_by()
    starts = tasks.values_list("window_start", flat=True).distinct()
    for month in sorted({month_of(day) for day in starts}):
        of_month = tasks.filter(window_start__gte=month, window_start__lte=last_day(month))
        if isinstance(elders, QuerySet):
            refresh_elders(of_month.values("elder_id"), [month], today)
        else:
            refresh_elders(list(of_month.values_list("elder_id", flat=True)), [month], today)
    refresh_elders(elders, [current], today)


def refresh_after_generation(
    today: date, after_id: int, elders: QuerySet[Any] | None = None
) -> None:
    """After `generate_tasks` (its tasks have ids above `after_id`): the rows
    of today's month of the elders who have none yet — every elder when the
    daily run opens a month, which is then computed whole — and the rows of
    the months of the tasks it made."""
    current = month_of(today)
    if elders is None and not ElderMonth.objects.filter(month=current).exists():
        recompute_month(current, today)  # with every task made so far
        return
    lacking = (
        Elder.objects.filter(status=Status.ACTIVE, registered_on__lte=last_day(current))
        .exclude(pk__in=ElderMonth.objects.filter(month=current).values("elder_id"))
        .order_by()
    )
    if elders is not None:
        lacking = lacking.filter(pk__in=elders)
    refresh_elders(lacking.values("pk"), [current], today)
    made = VisitTask.objects.filter(
        pk__gt=after_id, window_start__lte=last_day(current), kind__in=VISIT_KINDS
    ).order_by()
    starts = made.values_list("window_start", flat=True).distinct()
    for month in sorted({month_of(day) for day in starts}):
        of_month = made.filter(window_start__gte=month, window_start__lte=last_day(month))
        refresh_elders(of_month.values("elder_id"), [month], today)


def _refresh_pairs(pairs: list[tuple[int, date]], today: date) -> None:
    pairs = sorted({(e, m) for e, m in pairs if m <= month_of(today)}, key=lambda p: (p[1], p[0]))
    if not pairs:
        return
    with transaction.atomic():
        stored, created = _locked_rows(pairs)
        deltas: dict[date, dict[CounterKey, list[int]]] = {}
        for elder_id, month in pairs:
            old = stored.get((elder_id, month))
            new = compute_row(elder_id, month, today, old)
            if new is not None and new.empty and (elder_id, month) in created:
                new = None  # an empty row is kept, not made
            by_key = deltas.setdefault(month, {})
            _add(by_key, Row.of(old).contributions() if old is not None else {}, -1)
            _add(by_key, new.contributions() if new is not None else {}, +1)
            _store(old, new)
        for month, by_key in sorted(deltas.items()):
            add_to_counters(month, by_key)


def _add(into: dict[CounterKey, list[int]], counts: dict[CounterKey, Counts], sign: int) -> None:
    for key, values in counts.items():
        total = into.setdefault(key, [0, 0, 0, 0])
        for index, value in enumerate(values):
            total[index] += sign * value


Key = tuple[int, date]  # elder, month


def _locked_rows(pairs: list[Key]) -> tuple[dict[Key, ElderMonth], set[Key]]:
    """The stored rows of `pairs`, locked; an elder registered by the month's
    end and without a row gets an empty one first (the file's village, tier,
    categories and consent), so that a concurrent writer waits on it. And the
    pairs that had no row before."""

    def select(keys: list[Key]) -> dict[Key, ElderMonth]:
        condition = Q()
        for elder_id, month in keys:
            condition |= Q(elder_id=elder_id, month=month)
        rows = (
            ElderMonth.objects.select_for_update().filter(condition).order_by("month", "elder_id")
        )
        return {(row.elder_id, row.month): row for row in rows}

    found = select(pairs)
    lacking = [pair for pair in pairs if pair not in found]
    if lacking:
        files = {row["pk"]: row for row in _files({e for e, _ in lacking})}
        categories = _categories({e for e, _ in lacking})
        placeholders = [
            ElderMonth(
                elder_id=elder_id,
                month=month,
                village_id=files[elder_id]["village_id"],
                tier=_tier(files[elder_id]),
                categories=categories.get(elder_id, []),
                consents=files[elder_id]["consents_to_visits"],
                missing=[],
            )
            for elder_id, month in lacking
            if elder_id in files and files[elder_id]["registered_on"] <= last_day(month)
        ]
        if placeholders:
            ElderMonth.objects.bulk_create(placeholders, ignore_conflicts=True)
            found.update(select([(p.elder_id, p.month) for p in placeholders]))
    return found, set(lacking)


_FILE_FIELDS = (
    "pk",
    "village_id",
    "status",
    "tier",
    "tier_override",
    "consents_to_visits",
    "registered_on",
)


def _files(elder_ids: Iterable[int]) -> list[dict[str, Any]]:
    return list(Elder.objects.filter(pk__in=list(elder_ids)).values(*_FILE_FIELDS))


def _tier(file: dict[str, Any]) -> str:
    """The tier the elder is visited under: an officer's override wins."""
    return str(file["tier_override"] or file["tier"])


def _categories(elder_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each elder's confirmed categories, in code point order."""
    found: dict[int, list[str]] = {}
    rows = ElderCategory.objects.filter(elder_id__in=list(elder_ids), withdrawn_at__isnull=True)
    for elder_id, category in rows.values_list("elder_id", "category"):
        found.setdefault(elder_id, []).append(category)
    return {elder_id: sorted(names) for elder_id, names in found.items()}


def compute_row(elder_id: int, month: date, today: date, old: ElderMonth | None) -> Row | None:
    """The row of `elder_id` in `month` as docs/统计口径.md defines it, read from
    the file, its status changes, its visits and its tasks; `empty` when the
    elder was neither active at the month's end nor visited during it, None
    when not registered by its end. `old`: the stored row, whose village, tier,
    categories and consent a month keeps once it is over."""
    month = month_of(month)
    last = last_day(month)
    file = next(iter(_files([elder_id])), None)
    if file is None or file["registered_on"] > last:
        return None
    active = status_on(elder_id, last, file["status"]) == Status.ACTIVE
    start, end = bounds(month)
    visits = Visit.objects.filter(
        elder_id=elder_id, visited_at__gte=start, visited_at__lt=end, refused=False
    ).count()
    if old is not None and month < month_of(today):
        village, tier = old.village_id, old.tier
        categories, consents = tuple(old.categories or ()), old.consents
    else:
        village, tier = file["village_id"], _tier(file)
        categories = tuple(_categories([elder_id]).get(elder_id, []))
        consents = bool(file["consents_to_visits"])
    counted = active and consents
    # Outside the denominator, neither compliant nor missing anything.
    compliant, missing = _compliance(elder_id, month, visits) if counted else (False, ())
    return Row(
        village_id=village,
        tier=tier,
        categories=categories,
        consents=consents,
        counted=counted,
        declined=active and not consents,
        visits=visits,
        visited=visits > 0,
        compliant=compliant,
        missing=missing,
    )


def status_on(elder_id: int, day: date, now: str) -> str:
    """The elder's status on `day` (docs/统计口径.md "Status at a month's end"):
    that of the change recorded last among those in effect by then; before any
    change in effect, the status the first change recorded started from; with
    no change at all, the status `now`."""
    changes = list(
        StatusChange.objects.filter(elder_id=elder_id).values(
            "effective_on", "changed_at", "id", "from_status", "to_status"
        )
    )
    if not changes:
        return now
    in_effect = [c for c in changes if c["effective_on"] <= day]
    if in_effect:
        return str(max(in_effect, key=lambda c: (c["changed_at"], c["id"]))["to_status"])
    return str(min(changes, key=lambda c: (c["changed_at"], c["id"]))["from_status"])


Compliance = tuple[bool, tuple[str, ...]]


def _compliance(elder_id: int, month: date, visits: int) -> Compliance:
    """Every visit task of the month met (done by its deadline day, or
    excused); with no task, one valid visit. And what is missing, in words."""
    rows = VisitTask.objects.filter(
        elder_id=elder_id,
        window_start__gte=month,
        window_start__lte=last_day(month),
        kind__in=VISIT_KINDS,
        cancelled_at__isnull=True,
    ).values(
        "id",
        "label",
        "modes",
        "deadline",
        "window_start",
        "window_end",
        "done_at",
        "excused_at",
        "done_by_visit__visited_at",
    )
    tasks = list(rows)
    if not tasks:
        return (True, ()) if visits > 0 else (False, (no_task_words(month),))
    unmet = []
    for task in tasks:
        if task["excused_at"] is not None:
            continue
        late = task["done_at"] is not None
        if late:
            # Only a deadline before the window's end can be missed by a visit
            # that still completed the task (003_fe235aaa23e67560.txt 五(二)).
            if task["deadline"] >= task["window_end"]:
                continue
            moment = task["done_by_visit__visited_at"] or task["done_at"]
            if timezone.localtime(moment, zone()).date() <= task["deadline"]:
                continue
        unmet.append((task["deadline"], task["window_start"], task["id"], task, late))
    if not unmet:
        return True, ()
    unmet.sort(key=lambda item: item[:3])
    return False, tuple(
        task_words(task["label"], task["modes"] or [], task["deadline"], late)
        for *_, task, late in unmet
    )


_ROW_FIELDS = [
    "village_id",
    "tier",
    "categories",
    "consents",
    "counted",
    "declined",
    "visits",
    "visited",
    "compliant",
    "missing",
]


def _store(old: ElderMonth | None, new: Row | None) -> None:
    if new is None:
        if old is not None:
            ElderMonth.objects.filter(pk=old.pk).delete()
        return
    if old is None:  # not reached: _locked_rows made one; kept for a caller without it
        raise ValueError("refresh without a locked row")
    values = {
        "village_id": new.village_id,
        "tier": new.tier,
        "categories": list(new.categories),
        "consents": new.consents,
        "counted": new.counted,
        "declined": new.declined,
        "visits": new.visits,
        "visited": new.visited,
        "compliant": new.compliant,
        "missing": list(new.missing),
    }
    changed = [name for name in _ROW_FIELDS if getattr(old, name) != values[name]]
    if not changed:
        return
    for name in changed:
        setattr(old, name, values[name])
    old.computed_at = timezone.now()
    old.save(update_fields=[*changed, "computed_at"])


def add_to_counters(month: date, deltas: dict[CounterKey, list[int]]) -> None:
    """Add `deltas` to the counters of `month`: relative updates, one row at a
    time in (village, dimension) order; a missing row is made first (INSERT …
    ON CONFLICT DO NOTHING), so that two writers both add."""
    for (village, dimension), (counted, visited, compliant, declined) in sorted(deltas.items()):
        if not (counted or visited or compliant or declined):
            continue
        target = VillageMonth.objects.filter(month=month, village_id=village, dimension=dimension)
        changes = {
            "counted": F("counted") + counted,
            "visited": F("visited") + visited,
            "compliant": F("compliant") + compliant,
            "declined": F("declined") + declined,
        }
        if target.update(**changes):
            continue
        VillageMonth.objects.bulk_create(
            [VillageMonth(month=month, village_id=village, dimension=dimension)],
            ignore_conflicts=True,
        )
        target.update(**changes)


# --- The set-based path ---------------------------------------------------------------------


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
    categories and consent of its stored rows (docs/统计口径.md)."""
    today = _today(today)
    month = month_of(month)
    if month > month_of(today):
        raise ValueError("不能统计尚未开始的月份。")
    with transaction.atomic():
        return _Rebuild(month, today, None).whole_month()


_PREFIX = "tanfang_rm_"
_COLUMNS = (
    "village_id",
    "tier",
    "categories",
    "consents",
    "counted",
    "declined",
    "visits",
    "visited",
    "compliant",
    "missing",
)
_INSERT = (
    "INSERT INTO reports_eldermonth (elder_id, month, computed_at, " + ", ".join(_COLUMNS) + ")"
)
# A row adding nothing (`Row.empty`) is not made; one stored is kept.
_NOT_EMPTY = "(n.counted OR n.declined OR n.visits > 0)"


class _Sql:
    """A statement assembled from pieces, its parameters kept in order."""

    def __init__(self, text: str = "", params: Sequence[Any] = ()) -> None:
        self.text, self.params = text, list(params)

    def add(self, text: str, *params: Any) -> "_Sql":
        self.text += text
        self.params.extend(params)
        return self

    def embed(self, other: "_Sql") -> "_Sql":
        return self.add(other.text, *other.params)


class _Rebuild:
    """The statements of one month, for every elder (`pick` None: the whole
    month, the two tables locked) or for the elders of `pick` (their rows
    locked).

    The month's rows are computed by one SELECT over the files, joined to the
    per-elder aggregates of the status changes, visits, tasks and categories;
    only the tasks not met are first put in a temporary table, to give them
    their words (`task_words`, once per distinct requirement)."""

    def __init__(self, month: date, today: date, pick: Sequence[int] | QuerySet[Any] | None):
        self.month = month
        self.last = last_day(month)
        self.today = today
        self.closed = month < month_of(today)
        self.pick = pick
        self.pg = connection.vendor == "postgresql"
        self.tables: list[str] = []
        self.ops = connection.ops

    # --- Helpers -------------------------------------------------------------------------

    def day(self, value: date) -> Any:
        return self.ops.adapt_datefield_value(value)

    def moment(self, value: datetime) -> Any:
        return self.ops.adapt_datetimefield_value(value)

    def json(self, value: Sequence[str]) -> _Sql:
        text = json.dumps(list(value), ensure_ascii=False)
        return _Sql("CAST(%s AS jsonb)" if self.pg else "%s", [text])

    def local_date(self, expression: str) -> str:
        """The day in Asia/Shanghai of a stored UTC instant."""
        if self.pg:
            name = settings.TIME_ZONE.replace("'", "")
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

    def execute(self, sql: str | _Sql, params: Sequence[Any] = ()) -> int:
        statement = sql if isinstance(sql, _Sql) else _Sql(sql, params)
        with connection.cursor() as cursor:
            cursor.execute(statement.text, statement.params)
            count: int = cursor.rowcount
        return max(count, 0)

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return list(cursor.fetchall())

    def create(self, name: str, select: _Sql, key: str = "") -> None:
        """A temporary table holding the rows of `select`, indexed on `key` for
        SQLite (whose automatic indexes serve joins, not the correlated
        subqueries of a DELETE); PostgreSQL is told its size by ANALYZE."""
        table = _PREFIX + name
        self.execute(_Sql(f"CREATE TEMPORARY TABLE {table} AS ").embed(select))
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

    def picked(self, column: str) -> str:
        """A join limiting a table to the elders of the pick."""
        if self.pick is None:
            return ""
        return f"JOIN {_PREFIX}pick p ON p.elder_id = {column}"

    @staticmethod
    def tier_sql(alias: str) -> str:
        override = f"{alias}.tier_override"
        return f"CASE WHEN {override} <> '' THEN {override} ELSE {alias}.tier END"

    # --- The whole month -------------------------------------------------------------------

    def whole_month(self) -> Recomputed:
        month, now = self.day(self.month), self.moment(timezone.now())
        if self.pg:
            self.execute("SET LOCAL work_mem = '256MB'")
            # Incremental writers wait for the rebuild; readers do not.
            self.execute("LOCK TABLE reports_eldermonth, reports_villagemonth IN EXCLUSIVE MODE")
        self.unmet()
        stored = self.fetch("SELECT 1 FROM reports_eldermonth WHERE month = %s LIMIT 1", [month])
        if not stored:
            # Nothing to compare with: the rows go in as they are computed, in
            # the order of the elders, so that the (elder, month) index, which
            # holds every month, is written from one end to the other rather
            # than at random.
            rows = inserted = self.execute(
                _Sql(f"{_INSERT} SELECT n.elder_id, %s, %s, ", [month, now])
                .add(", ".join(f"n.{c}" for c in _COLUMNS))
                .add(" FROM (")
                .embed(self.rows())
                .add(f") AS n WHERE {_NOT_EMPTY} ORDER BY n.elder_id")
            )
            updated = deleted = 0
            source = _Sql("(SELECT * FROM reports_eldermonth WHERE month = %s)", [month])
        else:
            self.create("new", self.rows(), "elder_id")
            deleted = self.execute(
                "DELETE FROM reports_eldermonth WHERE month = %s AND NOT EXISTS"
                " (SELECT 1 FROM tanfang_rm_new n WHERE n.elder_id = reports_eldermonth.elder_id)",
                [month],
            )
            updated = self.update_rows(month, now)
            inserted = self.execute(
                _Sql(f"{_INSERT} SELECT n.elder_id, %s, %s, ", [month, now])
                .add(", ".join(f"n.{c}" for c in _COLUMNS))
                .add(f" FROM tanfang_rm_new n WHERE {_NOT_EMPTY} AND NOT EXISTS")
                .add(" (SELECT 1 FROM reports_eldermonth o WHERE o.month = %s", month)
                .add(" AND o.elder_id = n.elder_id)")
            )
            rows = self.fetch("SELECT COUNT(*) FROM reports_eldermonth WHERE month = %s", [month])[
                0
            ][0]
            source = _Sql("tanfang_rm_new")
        counters = self.counters(month, source)
        self.drop()
        return Recomputed(self.month, int(rows), inserted, updated, deleted, counters)

    def counters(self, month: Any, source: _Sql) -> int:
        """The month's counters summed from `source`, written where they differ
        from the stored ones (a delete and insert of every counter would
        leave the unique index a dead entry to check for each); returns how
        many there are."""
        self.create(
            "counts",
            _Sql("SELECT x.village_id, x.dim, SUM(x.c) AS c, SUM(x.v) AS v, SUM(x.k) AS k,")
            .add(" SUM(x.d) AS d FROM (")
            .embed(self.contributions(source, 1))
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
        self.execute(
            "UPDATE reports_villagemonth SET counted = n.c, visited = n.v, compliant = n.k,"
            " declined = n.d FROM tanfang_rm_counts n WHERE reports_villagemonth.month = %s"
            f" AND {match} AND (reports_villagemonth.counted {distinct} n.c"
            f" OR reports_villagemonth.visited {distinct} n.v"
            f" OR reports_villagemonth.compliant {distinct} n.k"
            f" OR reports_villagemonth.declined {distinct} n.d)",
            [month],
        )
        self.execute(
            "INSERT INTO reports_villagemonth (village_id, month, dimension, counted, visited,"
            " compliant, declined) SELECT n.village_id, %s, n.dim, n.c, n.v, n.k, n.d"
            " FROM tanfang_rm_counts n WHERE NOT EXISTS (SELECT 1 FROM reports_villagemonth o"
            " WHERE o.month = %s AND o.village_id = n.village_id AND o.dimension = n.dim)",
            [month, month],
        )
        count: int = self.fetch("SELECT COUNT(*) FROM tanfang_rm_counts")[0][0]
        return count

    # --- The elders of a pick ----------------------------------------------------------------

    def picked_elders(self) -> None:
        month, now = self.day(self.month), self.moment(timezone.now())
        self.make_pick()
        self.lock_rows()
        self.create(
            "had",
            _Sql(
                "SELECT o.elder_id FROM reports_eldermonth o JOIN tanfang_rm_pick p"
                " ON p.elder_id = o.elder_id WHERE o.month = %s",
                [month],
            ),
            "elder_id",
        )
        self.placeholders()
        self.lock_rows()
        self.unmet()
        self.create("new", self.rows(), "elder_id")
        self.create(
            "old",
            _Sql(
                "SELECT o.elder_id, o.village_id, o.tier, o.categories, o.counted, o.visited,"
                " o.compliant, o.declined FROM reports_eldermonth o JOIN tanfang_rm_pick p"
                " ON p.elder_id = o.elder_id WHERE o.month = %s",
                [month],
            ),
        )
        self.create(
            "delta",
            _Sql("SELECT x.village_id, x.dim, SUM(x.c) AS c, SUM(x.v) AS v, SUM(x.k) AS k,")
            .add(" SUM(x.d) AS d FROM (")
            .embed(self.contributions(_Sql("tanfang_rm_new"), 1))
            .add(" UNION ALL ")
            .embed(self.contributions(_Sql("tanfang_rm_old"), -1))
            .add(") AS x GROUP BY x.village_id, x.dim")
            .add(" HAVING SUM(x.c) <> 0 OR SUM(x.v) <> 0 OR SUM(x.k) <> 0 OR SUM(x.d) <> 0"),
        )
        self.execute(
            "INSERT INTO reports_villagemonth (village_id, month, dimension, counted, visited,"
            " compliant, declined) SELECT d.village_id, %s, d.dim, 0, 0, 0, 0"
            " FROM tanfang_rm_delta d WHERE 1 = 1"
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
            "UPDATE reports_villagemonth SET counted = reports_villagemonth.counted + d.c,"
            " visited = reports_villagemonth.visited + d.v,"
            " compliant = reports_villagemonth.compliant + d.k,"
            " declined = reports_villagemonth.declined + d.d"
            " FROM tanfang_rm_delta d WHERE reports_villagemonth.month = %s"
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
            f" AND NOT {_NOT_EMPTY})))",
            [month],
        )
        self.update_rows(month, now)
        self.drop()

    def make_pick(self) -> None:
        table = _PREFIX + "pick"
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
                [self.day(self.month)],
            )

    def placeholders(self) -> None:
        """Empty rows for the picked elders registered by the month's end who
        have none, with the file's village, tier, categories and consent."""
        empty = self.json([])
        self.execute(
            _Sql(f"{_INSERT} SELECT e.id, %s, %s, e.village_id, {self.tier_sql('e')}, COALESCE(")
            .add("", self.day(self.month), self.moment(timezone.now()))
            .add("c.items, ")
            .embed(empty)
            .add("), e.consents_to_visits, FALSE, FALSE, 0, FALSE, FALSE, ")
            .embed(empty)
            .add(" FROM registry_elder e JOIN tanfang_rm_pick p ON p.elder_id = e.id LEFT JOIN (")
            .embed(self.categories())
            .add(") AS c ON c.elder_id = e.id WHERE e.registered_on <= %s", self.day(self.last))
            .add(" ON CONFLICT (elder_id, month) DO NOTHING")
        )

    # --- The computation -----------------------------------------------------------------------

    def unmet(self) -> None:
        """The month's visit tasks not met (docs/统计口径.md §5), and the words
        of each distinct requirement among them."""
        kinds = ", ".join(["%s"] * len(VISIT_KINDS))
        done_on = self.local_date(
            "COALESCE((SELECT d.visited_at FROM visits_visit d WHERE d.id = t.done_by_visit_id),"
            " t.done_at)"
        )
        self.create(
            "unmet",
            _Sql(
                "SELECT t.id, t.elder_id, t.label, CAST(t.modes AS text) AS modes, t.deadline,"
                " t.window_start, CASE WHEN t.done_at IS NULL THEN 0 ELSE 1 END AS late"
                f" FROM visits_visittask t {self.picked('t.elder_id')}"
                " WHERE t.window_start >= %s AND t.window_start <= %s"
                f" AND t.kind IN ({kinds}) AND t.cancelled_at IS NULL AND t.excused_at IS NULL"
                " AND (t.done_at IS NULL"
                f" OR (t.deadline < t.window_end AND {done_on} > t.deadline))",
                [self.day(self.month), self.day(self.last), *VISIT_KINDS],
            ),
        )
        table = _PREFIX + "words"
        self.execute(
            f"CREATE TEMPORARY TABLE {table} AS SELECT DISTINCT label, modes, deadline, late,"
            f" CAST(label AS text) AS words FROM {_PREFIX}unmet WHERE 1 = 0"
        )
        self.tables.append(table)
        rows = self.fetch(f"SELECT DISTINCT label, modes, deadline, late FROM {_PREFIX}unmet")
        if rows:
            made = []
            for label, modes, deadline, late in rows:
                day = deadline if isinstance(deadline, date) else date.fromisoformat(str(deadline))
                names = json.loads(modes) if modes else []
                made.append(
                    [label, modes, deadline, late, task_words(label, names, day, bool(late))]
                )
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} (label, modes, deadline, late, words)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    made,
                )

    def categories(self) -> _Sql:
        """SELECT elder_id, items: the file's confirmed categories as a JSON array
        in code point order (for a month over, only of the elders without a
        stored row: the others keep theirs)."""
        collate = ' COLLATE "C"' if self.pg else ""
        source = (
            f"registry_eldercategory c {self.picked('c.elder_id')} WHERE c.withdrawn_at IS NULL"
        )
        params: list[Any] = []
        if self.closed and self.pick is None:
            source += (
                " AND NOT EXISTS (SELECT 1 FROM reports_eldermonth o"
                " WHERE o.month = %s AND o.elder_id = c.elder_id)"
            )
            params.append(self.day(self.month))
        return _Sql(
            self.sorted_array("c.elder_id", "c.category", f"c.category{collate}", source), params
        )

    def rows(self) -> _Sql:
        """SELECT the month's rows as they should be (docs/统计口径.md), one for
        every elder registered by its end, empty ones (`Row.empty`) included."""
        first, last = self.day(self.month), self.day(self.last)
        start, end = (self.moment(m) for m in bounds(self.month))
        kinds = ", ".join(["%s"] * len(VISIT_KINDS))
        empty = self.json([])

        def kept(column: str, fallback: str) -> str:
            # A month over keeps what its stored rows say.
            if not self.closed:
                return fallback
            return f"CASE WHEN o.id IS NULL THEN {fallback} ELSE o.{column} END"

        sql = (
            _Sql(
                "SELECT y.elder_id, y.village_id, y.tier, y.categories, y.consents,"
                " (y.active AND y.consents) AS counted,"
                " (y.active AND NOT y.consents) AS declined,"
                " y.visits, (y.visits > 0) AS visited,"
                " (y.active AND y.consents AND ((y.n_tasks > 0 AND y.unmet IS NULL)"
                " OR (y.n_tasks = 0 AND y.visits > 0))) AS compliant,"
                " CASE WHEN NOT (y.active AND y.consents) THEN "
            )
            .embed(empty)
            .add(" WHEN y.unmet IS NOT NULL THEN y.unmet WHEN y.n_tasks = 0 AND y.visits = 0 THEN ")
            .embed(self.json([no_task_words(self.month)]))
            .add(" ELSE ")
            .embed(empty)
            .add(" END AS missing FROM (SELECT e.id AS elder_id, ")
            .add(kept("village_id", "e.village_id") + " AS village_id, ")
            .add(kept("tier", self.tier_sql("e")) + " AS tier, ")
        )
        categories = _Sql("COALESCE(c.items, ").embed(empty).add(")")
        if self.closed:
            categories = (
                _Sql("CASE WHEN o.id IS NULL THEN ").embed(categories).add(" ELSE o.categories END")
            )
        sql.embed(categories).add(" AS categories, ")
        sql.add(kept("consents", "e.consents_to_visits") + " AS consents,")
        # The status at the month's end (`status_on`): of the changes in effect
        # by then, the one recorded last; failing those, the one recorded
        # first, whose starting status it is.
        sql.add(" (COALESCE(s.status, e.status) = %s) AS active,", str(Status.ACTIVE))
        sql.add(" COALESCE(a.visits, 0) AS visits, COALESCE(a.n_tasks, 0) AS n_tasks,")
        sql.add(" m.items AS unmet")
        sql.add(f" FROM registry_elder e {self.picked('e.id')}")
        sql.add(
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
        # Valid visits and tasks counted in one pass: one aggregate, one join.
        sql.add(
            " LEFT JOIN (SELECT u.elder_id, SUM(u.visit) AS visits, SUM(u.task) AS n_tasks"
            f" FROM (SELECT v.elder_id, 1 AS visit, 0 AS task FROM visits_visit v"
            f" {self.picked('v.elder_id')} WHERE v.visited_at >= %s AND v.visited_at < %s"
            " AND v.refused = FALSE UNION ALL SELECT t.elder_id, 0, 1 FROM visits_visittask t"
            f" {self.picked('t.elder_id')} WHERE t.window_start >= %s AND t.window_start <= %s"
            f" AND t.kind IN ({kinds}) AND t.cancelled_at IS NULL) AS u"
            " GROUP BY u.elder_id) AS a ON a.elder_id = e.id",
            start,
            end,
            first,
            last,
            *VISIT_KINDS,
        )
        sql.add(" LEFT JOIN (")
        sql.add(
            self.sorted_array(
                "u.elder_id",
                "w.words",
                "u.deadline, u.window_start, u.id",
                "tanfang_rm_unmet u JOIN tanfang_rm_words w ON w.label = u.label"
                " AND w.modes = u.modes AND w.deadline = u.deadline AND w.late = u.late",
            )
        )
        sql.add(") AS m ON m.elder_id = e.id LEFT JOIN (")
        sql.embed(self.categories())
        sql.add(") AS c ON c.elder_id = e.id")
        if self.closed:
            sql.add(" LEFT JOIN reports_eldermonth o ON o.elder_id = e.id AND o.month = %s", first)
        sql.add(" WHERE e.registered_on <= %s) AS y", last)
        return sql

    def contributions(self, source: _Sql, sign: int) -> _Sql:
        """SELECT village_id, dim, c, v, k, d: what each row of `source` adds to
        the counters of each of its dimensions (`contributions`)."""
        each = {
            "c": f"CASE WHEN s.counted THEN {sign} ELSE 0 END",
            "v": f"CASE WHEN s.counted AND s.visited THEN {sign} ELSE 0 END",
            "k": f"CASE WHEN s.counted AND s.compliant THEN {sign} ELSE 0 END",
            "d": f"CASE WHEN s.declined THEN {sign} ELSE 0 END",
        }
        values = ", ".join(f"{expression} AS {name}" for name, expression in each.items())
        counted = "(s.counted OR s.declined)"
        if self.pg:
            # The rows summed by village, tier and categories first (a few per
            # village), then each sum expanded to its dimensions.
            sums = ", ".join(f"SUM({expression}) AS {name}" for name, expression in each.items())
            return (
                _Sql("SELECT g.village_id, d.dim, g.c, g.v, g.k, g.d FROM (SELECT s.village_id,")
                .add(f" s.tier, s.categories, {sums} FROM ")
                .embed(source)
                .add(
                    f" AS s WHERE {counted} GROUP BY s.village_id, s.tier, s.categories) AS g"
                    " CROSS JOIN LATERAL (SELECT CAST('' AS varchar(40)) AS dim"
                    f" UNION ALL SELECT CAST('{TIER}' || g.tier AS varchar(40)) WHERE g.tier <> ''"
                    f" UNION ALL SELECT CAST('{CATEGORY}' || y.name AS varchar(40))"
                    " FROM jsonb_array_elements_text(g.categories) AS y(name)) AS d"
                )
            )
        return (
            _Sql(f"SELECT s.village_id, '' AS dim, {values} FROM ")
            .embed(source)
            .add(f" AS s WHERE {counted} UNION ALL SELECT s.village_id, '{TIER}' || s.tier,")
            .add(f" {values} FROM ")
            .embed(source)
            .add(f" AS s WHERE s.tier <> '' AND {counted} UNION ALL SELECT s.village_id,")
            .add(f" '{CATEGORY}' || x.value, {values} FROM ")
            .embed(source)
            .add(f" AS s JOIN json_each(s.categories) AS x WHERE {counted}")
        )

    def update_rows(self, month: Any, now: Any) -> int:
        """Write the rows of tanfang_rm_new that differ from the stored ones."""
        distinct = "IS DISTINCT FROM" if self.pg else "IS NOT"
        changed = " OR ".join(f"reports_eldermonth.{c} {distinct} n.{c}" for c in _COLUMNS)
        assignments = ", ".join(f"{c} = n.{c}" for c in _COLUMNS)
        return self.execute(
            f"UPDATE reports_eldermonth SET {assignments}, computed_at = %s"
            " FROM tanfang_rm_new n WHERE reports_eldermonth.month = %s"
            f" AND reports_eldermonth.elder_id = n.elder_id AND ({changed})",
            [now, month],
        )

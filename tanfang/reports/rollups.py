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
  tasks not met, to put them in words, another the rules version of each
  village), written by INSERT … SELECT, or, when the month has rows, by UPDATE
  of the rows that differ; no per-elder Python. `manage.py recompute_rates`
  runs it, month after month (`months_to_recompute`).

A month's row reads the stored rows of the earlier months of its quarter (the
quarter's compliance, `quarter_compliant`), so a month is refreshed before the
later months of its quarter, and refreshing one refreshes those too, up to
today's month.

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from tanfang.jurisdiction import tiers
from tanfang.policy.engine import Mode
from tanfang.registry.models import Elder, ElderCategory, Status, StatusChange
from tanfang.reports.models import ElderMonth, VillageMonth
from tanfang.visits.models import TaskKind, Visit, VisitTask

# The tasks whose month's figures they count in: the rules' visits, not the
# file's half-year review nor a follow-up (跟踪回访).
VISIT_KINDS = (
    str(TaskKind.REGULAR),
    str(TaskKind.TRIGGER),
    str(TaskKind.FESTIVAL),
    str(TaskKind.EVENT),
)
# Always part of compliance.
ALWAYS_REQUIRED = (str(TaskKind.REGULAR), str(TaskKind.TRIGGER))
# Surges of visits (节日/天气): part of compliance only when mandatory (not
# `extra`, 001_35a01bee4c628ebd.txt 二(五)2 "必须开展"); each has its coverage.
SURGE_KINDS = (str(TaskKind.FESTIVAL), str(TaskKind.EVENT))

# Dimensions of the counters: every elder, by tier (override wins), by
# category, and the elders in scope of a surge (of whom those for whom it is
# mandatory again under MUST).
ALL = ""
TIER = "tier:"
CATEGORY = "category:"
SURGE = "surge:"
MUST = "must:"

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

# counted, visited, compliant, declined, quarter_compliant
Counts = tuple[int, int, int, int, int]
CounterKey = tuple[str, str]  # village code, dimension
# A surge the elder is in scope of: (key, covered, mandatory).
Surge = tuple[str, bool, bool]


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


def quarter_start(month: date) -> date:
    """The first month of `month`'s calendar quarter."""
    return date(month.year, (month.month - 1) // 3 * 3 + 1, 1)


def later_in_quarter(month: date, today: date) -> list[date]:
    """The months after `month` in its quarter, up to `today`'s: those whose
    quarter compliance reads `month`'s rows."""
    found, later = [], next_month(month_of(month))
    while quarter_start(later) == quarter_start(month) and later <= month_of(today):
        found.append(later)
        later = next_month(later)
    return found


def surge_key(task_key: str) -> str:
    """The surge a festival or event task belongs to: its key without the
    ":n" of a second visit ("festival:重阳:2" → "festival:重阳")."""
    return ":".join(task_key.split(":")[:2])


def _today(today: date | None) -> date:
    return today if today is not None else timezone.localdate()


# --- What is missing, in words -----------------------------------------------------------


def task_words(
    label: str, modes: Sequence[str], deadline: date, late: bool, due_at: datetime | None = None
) -> str:
    """One task not met, in words: "12月上半月例行探访未完成（须上门探访，截止12月15日）",
    or, done after its deadline day (003_fe235aaa23e67560.txt 五(二): 每月20日前完成),
    "12月例行探访逾期完成（截止12月20日）". A trigger's deadline is its moment:
    "跌倒后24小时内探访未完成（须上门探访，截止12月3日14:00）"."""
    if due_at is not None:
        local = timezone.localtime(due_at, zone())
        when = f"截止{local.month}月{local.day}日{local.hour}:{local.minute:02d}"
    else:
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
    quarter_compliant: bool = False
    # In key order.
    surges: tuple[Surge, ...] = field(default=())
    rules: str = ""

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
            self.surges,
            counted=self.counted,
            visited=self.visited,
            compliant=self.compliant,
            declined=self.declined,
            quarter_compliant=self.quarter_compliant,
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
            quarter_compliant=stored.quarter_compliant,
            surges=surges_of(stored.surges),
            rules=stored.rules,
        )


def surges_of(stored: dict[str, Any] | None) -> tuple[Surge, ...]:
    """The surges of a stored row, in key order."""
    return tuple(
        (key, bool(value["covered"]), bool(value["mandatory"]))
        for key, value in sorted((stored or {}).items())
    )


def surges_json(surges: Iterable[Surge]) -> dict[str, dict[str, bool]]:
    return {key: {"covered": covered, "mandatory": must} for key, covered, must in surges}


def contributions(
    village_id: str,
    tier: str,
    categories: Iterable[str],
    surges: Iterable[Surge] = (),
    *,
    counted: bool,
    visited: bool,
    compliant: bool,
    declined: bool,
    quarter_compliant: bool = False,
) -> dict[CounterKey, Counts]:
    """What one elder adds to the counters of each dimension: visited and
    compliant only inside the denominator; nothing for an elder neither counted
    nor declining. A surge adds the elder in scope, and covered or not, to
    SURGE + its key, and when mandatory to MUST + its key too."""
    if not (counted or declined):
        return {}
    counts = (
        int(counted),
        int(counted and visited),
        int(counted and compliant),
        int(declined),
        int(counted and quarter_compliant),
    )
    dimensions = [ALL, *([TIER + tier] if tier else []), *(CATEGORY + c for c in categories)]
    found = {(village_id, dimension): counts for dimension in dimensions}
    if counted:
        for key, covered, mandatory in surges:
            scope = (1, int(covered), int(covered), 0, 0)
            found[(village_id, SURGE + key)] = scope
            if mandatory:
                found[(village_id, MUST + key)] = scope
    return found


# --- The incremental path, one elder at a time -------------------------------------------------


def refresh_elder_month(elder_id: int, month: date, today: date | None = None) -> None:
    """Recompute `elder_id`'s row of `month`, and of the later months of its
    quarter (whose quarter compliance reads it), and move the counters by the
    difference, in the caller's transaction. A month after `today`'s is left
    alone: its rows are made when it begins."""
    _refresh_pairs([(elder_id, month_of(month))], _today(today))


def refresh_elders(
    elders: Sequence[int] | QuerySet[Any],
    months: Iterable[date],
    today: date | None = None,
) -> None:
    """`refresh_elder_month` for every elder of `elders` (primary keys, or a
    queryset of one column of them) and every month of `months` up to today's,
    with the later months of their quarters. Up to PYTHON_LIMIT pairs one by
    one; more with the set-based statements of `recompute_month`, limited to
    these elders, month after month."""
    today = _today(today)
    wanted = _with_rest_of_quarter(months, today)
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


def _with_rest_of_quarter(months: Iterable[date], today: date) -> list[date]:
    """`months` up to today's, and the later months of their quarters, in order."""
    found = {month_of(m) for m in months if month_of(m) <= month_of(today)}
    for month in list(found):
        found.update(later_in_quarter(month, today))
    return sorted(found)


def _one_value(row: Any) -> int:
    """The primary key of a row of a one-column queryset (values or values_list)."""
    if isinstance(row, dict):
        return int(next(iter(row.values())))
    if isinstance(row, tuple):
        return int(row[0])
    return int(row)


def task_months(window_start: date, month: date, today: date) -> list[date]:
    """The months whose rows a task's existence touches, up to today's: those
    its window overlaps up to the month it counts in (in progress in the ones
    before, docs/统计口径.md §5), and that month."""
    return months_between(min(month_of(window_start), month), min(month, month_of(today)))


def _refresh_tasks_months(tasks: QuerySet[VisitTask], today: date) -> None:
    """Refresh, for each month some of `tasks` touch (`task_months`), the
    elders of those tasks."""
    spans = tasks.values_list("window_start", "month").distinct()
    months = sorted({m for start, month in spans for m in task_months(start, month, today)})
    for month in months:
        touching = tasks.filter(month__gte=month, window_start__lte=last_day(month))
        refresh_elders(touching.values("elder_id"), [month], today)


def refresh_open_months(elders: Sequence[int] | QuerySet[Any], today: date | None = None) -> None:
    """After `elders`' tasks were made or cancelled from `today` on
    (tanfang.visits.generation): today's month, and the earlier months those
    of their tasks still open touch (a festival's window running into this
    month counts in the month of its festival day; a period's task is in
    progress in the months before its own) — the only tasks such a refresh
    touches."""
    today = _today(today)
    current = month_of(today)
    tasks = VisitTask.objects.filter(
        elder_id__in=elders if isinstance(elders, QuerySet) else list(elders),
        window_end__gte=today,
        window_start__lt=current,
        kind__in=VISIT_KINDS,
    ).order_by()
    _refresh_tasks_months(tasks, today)
    refresh_elders(elders, [current], today)


def refresh_after_generation(
    today: date, after_id: int, elders: QuerySet[Any] | None = None
) -> None:
    """After `generate_tasks` (its tasks have ids above `after_id`): the rows
    of today's month of the elders who have none yet — every elder when the
    daily run opens a month, which is then computed whole — and the rows of
    the months the tasks it made touch (`task_months`)."""
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
    _refresh_tasks_months(made, today)


def _refresh_pairs(pairs: list[tuple[int, date]], today: date) -> None:
    wanted = {(e, later) for e, m in pairs for later in _with_rest_of_quarter([m], today)}
    pairs = sorted(wanted, key=lambda p: (p[1], p[0]))
    if not pairs:
        return
    with transaction.atomic():
        stored, created = _locked_rows(pairs)
        deltas: dict[date, dict[CounterKey, list[int]]] = {}
        rules = _Rules()
        # Month after month: a month's quarter compliance reads the rows of
        # the months before it, stored just now.
        for elder_id, month in pairs:
            old = stored.get((elder_id, month))
            new = compute_row(elder_id, month, today, old, rules)
            if new is not None and new.empty and (elder_id, month) in created:
                new = None  # an empty row is kept, not made
            by_key = deltas.setdefault(month, {})
            _add(by_key, Row.of(old).contributions() if old is not None else {}, -1)
            _add(by_key, new.contributions() if new is not None else {}, +1)
            _store(old, new)
        for month, by_key in sorted(deltas.items()):
            add_to_counters(month, by_key)


class _Rules:
    """The rules a village's month is computed with: `tiers.rules_version` on
    the month's last day — the county's choice the month's tasks were made
    under, made during the month included (docs/统计口径.md §9) — the policy
    choices read once."""

    def __init__(self) -> None:
        self.choices: tiers.Choices | None = None
        self.found: dict[tuple[str, date], str] = {}

    def of(self, village: str, month: date) -> str:
        # A node's rules are its county's, city's or province's choice.
        key = (village[:6], month)
        if key not in self.found:
            if self.choices is None:
                self.choices = tiers.all_choices()
            self.found[key] = tiers.rules_version(village, last_day(month), self.choices)
        return self.found[key]


def _add(into: dict[CounterKey, list[int]], counts: dict[CounterKey, Counts], sign: int) -> None:
    for key, values in counts.items():
        total = into.setdefault(key, [0] * len(_COUNTERS))
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


def compute_row(
    elder_id: int,
    month: date,
    today: date,
    old: ElderMonth | None,
    rules: "_Rules | None" = None,
) -> Row | None:
    """The row of `elder_id` in `month` as docs/统计口径.md defines it, read from
    the file, its status changes, its visits and its tasks, and from its stored
    rows of the earlier months of the quarter; `empty` when the elder was
    neither active at the month's end nor visited during it, None when not
    registered by its end. `old`: the stored row, whose village, tier,
    categories, consent and rules a month keeps once it is over."""
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
    closed = old is not None and month < month_of(today)
    if old is not None and closed:
        village, tier = old.village_id, old.tier
        categories, consents = tuple(old.categories or ()), old.consents
    else:
        village, tier = file["village_id"], _tier(file)
        categories = tuple(_categories([elder_id]).get(elder_id, []))
        consents = bool(file["consents_to_visits"])
    # Rows stored before the rules were recorded ("") get them now.
    if old is not None and closed and old.rules:
        version = old.rules
    else:
        version = (rules or _Rules()).of(village, month)
    counted = active and consents
    # Outside the denominator, neither compliant nor missing anything nor in
    # scope of a surge.
    compliant, missing, surges = (
        _compliance(elder_id, month, visits) if counted else (False, (), ())
    )
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
        quarter_compliant=compliant and _compliant_so_far(elder_id, month),
        surges=surges,
        rules=version,
    )


def _compliant_so_far(elder_id: int, month: date) -> bool:
    """No earlier month of the quarter in which the elder was counted and not
    compliant, by the stored rows."""
    first = quarter_start(month)
    if first == month:
        return True
    return not ElderMonth.objects.filter(
        elder_id=elder_id, month__gte=first, month__lt=month, counted=True, compliant=False
    ).exists()


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


Compliance = tuple[bool, tuple[str, ...], tuple[Surge, ...]]


def is_required(kind: str, extra: bool) -> bool:
    """Part of the month's compliance: a regular or trigger task, or a
    festival's or event's that is mandatory (not extra)."""
    return kind in ALWAYS_REQUIRED or (kind in SURGE_KINDS and not extra)


def _compliance(elder_id: int, month: date, visits: int) -> Compliance:
    """Every required task counting in the month met (excused, or done by its
    deadline day, a trigger's by its moment); with none, a required task in
    progress (counting in a later month, its window begun) or one valid
    visit. What is missing, in words. And the surges of the month the elder is
    in scope of, covered or not."""
    rows = VisitTask.objects.filter(
        elder_id=elder_id, month=month, kind__in=VISIT_KINDS, cancelled_at__isnull=True
    ).values(
        "id",
        "kind",
        "key",
        "extra",
        "label",
        "modes",
        "deadline",
        "window_start",
        "window_end",
        "due_at",
        "done_at",
        "excused_at",
        "done_by_visit__visited_at",
    )
    tasks = list(rows)
    required = [t for t in tasks if is_required(t["kind"], t["extra"])]
    surges = _surges(t for t in tasks if t["kind"] in SURGE_KINDS)
    if not required:
        if visits > 0 or _in_progress(elder_id, month):
            return True, (), surges
        return False, (no_task_words(month),), surges
    unmet = []
    for task in required:
        if task["excused_at"] is not None:
            continue
        late = task["done_at"] is not None
        if late and _met(task):
            continue
        unmet.append((task["deadline"], task["window_start"], task["id"], task, late))
    if not unmet:
        return True, (), surges
    unmet.sort(key=lambda item: item[:3])
    return (
        False,
        tuple(
            task_words(task["label"], task["modes"] or [], task["deadline"], late, _due(task))
            for *_, task, late in unmet
        ),
        surges,
    )


def _due(task: Mapping[str, Any]) -> datetime | None:
    """A trigger's due moment (other tasks are due by a day)."""
    return task["due_at"] if task["kind"] == TaskKind.TRIGGER else None


def _met(task: Mapping[str, Any]) -> bool:
    """A task done: by its moment for a trigger; by its deadline day for the
    others — only a deadline before the window's end can be missed by a visit
    that still completed the task (003_fe235aaa23e67560.txt 五(二))."""
    moment = task["done_by_visit__visited_at"] or task["done_at"]
    due = _due(task)
    if due is not None:
        return bool(moment <= due)
    if task["deadline"] >= task["window_end"]:
        return True
    return bool(timezone.localtime(moment, zone()).date() <= task["deadline"])


def _surges(tasks: Iterable[Mapping[str, Any]]) -> tuple[Surge, ...]:
    """Per surge (festival or event) of the elder's tasks not excused: covered
    when each is done, mandatory when none is extra."""
    found: dict[str, tuple[bool, bool]] = {}
    for task in tasks:
        if task["excused_at"] is not None:
            continue
        key = surge_key(task["key"])
        covered, mandatory = found.get(key, (True, True))
        found[key] = (covered and task["done_at"] is not None, mandatory and not task["extra"])
    return tuple((key, *found[key]) for key in sorted(found))


def _in_progress(elder_id: int, month: date) -> bool:
    """A required task counting in a later month whose window has begun by
    the month's end (a quarter's visit in its first months)."""
    return any(
        is_required(kind, extra)
        for kind, extra in VisitTask.objects.filter(
            elder_id=elder_id,
            window_end__gte=month,
            window_start__lte=last_day(month),
            month__gt=month,
            kind__in=VISIT_KINDS,
            cancelled_at__isnull=True,
        ).values_list("kind", "extra")
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
    "quarter_compliant",
    "missing",
    "surges",
    "rules",
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
        "quarter_compliant": new.quarter_compliant,
        "missing": list(new.missing),
        "surges": surges_json(new.surges),
        "rules": new.rules,
    }
    changed = [name for name in _ROW_FIELDS if getattr(old, name) != values[name]]
    if not changed:
        return
    for name in changed:
        setattr(old, name, values[name])
    old.computed_at = timezone.now()
    old.save(update_fields=[*changed, "computed_at"])


_COUNTERS = ("counted", "visited", "compliant", "declined", "quarter_compliant")


def add_to_counters(month: date, deltas: dict[CounterKey, list[int]]) -> None:
    """Add `deltas` to the counters of `month`: relative updates, one row at a
    time in (village, dimension) order; a missing row is made first (INSERT …
    ON CONFLICT DO NOTHING), so that two writers both add."""
    for (village, dimension), values in sorted(deltas.items()):
        if not any(values):
            continue
        target = VillageMonth.objects.filter(month=month, village_id=village, dimension=dimension)
        changes = {name: F(name) + value for name, value in zip(_COUNTERS, values, strict=True)}
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
    categories, consent and rules of its stored rows (docs/统计口径.md).

    Its quarter compliance reads the stored rows of the earlier months of its
    quarter, and the later months' read its own: rebuild a quarter's months
    oldest first and through to its end (or today's month),
    `months_to_recompute`."""
    today = _today(today)
    month = month_of(month)
    if month > month_of(today):
        raise ValueError("不能统计尚未开始的月份。")
    with transaction.atomic():
        return _Rebuild(month, today, None).whole_month()


def months_to_recompute(first: date, last: date, today: date | None = None) -> list[date]:
    """The months from `first` to `last`, and the later months of `last`'s
    quarter up to today's: what a rebuild of `first`…`last` has to rebuild,
    oldest first."""
    months = months_between(first, last)
    return [*months, *later_in_quarter(months[-1], _today(today))] if months else []


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
    "quarter_compliant",
    "missing",
    "surges",
    "rules",
)
_INSERT = (
    "INSERT INTO reports_eldermonth (elder_id, month, computed_at, " + ", ".join(_COLUMNS) + ")"
)
# A row adding nothing (`Row.empty`) is not made; one stored is kept.
_NOT_EMPTY = "(n.counted OR n.declined OR n.visits > 0)"
# The counters' columns in the temporary tables, in the order of _COUNTERS.
_SHORT = ("c", "v", "k", "d", "q")


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


def _moment(value: Any) -> datetime | None:
    """A stored instant read back raw (SQLite: UTC text without a zone)."""
    if value is None:
        return None
    found = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


class _Rebuild:
    """The statements of one month, for every elder (`pick` None: the whole
    month, the two tables locked) or for the elders of `pick` (their rows
    locked).

    The month's rows are computed by one SELECT over the files, joined to the
    per-elder aggregates of the status changes, visits, tasks, surges,
    categories and the stored rows of the quarter's earlier months; only the
    tasks not met are first put in a temporary table, to give them their
    words (`task_words`, once per distinct requirement), and the rules version
    of each village in another (`tiers.rules_version`, once per county)."""

    def __init__(self, month: date, today: date, pick: Sequence[int] | QuerySet[Any] | None):
        self.month = month
        self.last = last_day(month)
        self.today = today
        self.closed = month < month_of(today)
        self.quarter = quarter_start(month)
        self.pick = pick
        self.pg = connection.vendor == "postgresql"
        self.tables: list[str] = []
        self.ops = connection.ops

    # --- Helpers -------------------------------------------------------------------------

    def day(self, value: date) -> Any:
        return self.ops.adapt_datefield_value(value)

    def moment(self, value: datetime) -> Any:
        return self.ops.adapt_datetimefield_value(value)

    def json(self, value: Sequence[str] | dict[str, Any]) -> _Sql:
        text = json.dumps(value if isinstance(value, dict) else list(value), ensure_ascii=False)
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

    def surge_key(self, column: str) -> str:
        """`surge_key` of a task key column: up to its second colon."""
        if self.pg:
            return f"split_part({column}, ':', 1) || ':' || split_part({column}, ':', 2)"
        rest = f"substr({column}, instr({column}, ':') + 1)"
        return (
            f"CASE WHEN instr({rest}, ':') > 0 THEN substr({column}, 1,"
            f" instr({column}, ':') + instr({rest}, ':') - 1) ELSE {column} END"
        )

    @staticmethod
    def required(alias: str) -> _Sql:
        """`is_required` of the task `alias`."""
        return _Sql(
            f"({alias}.kind IN (%s, %s) OR ({alias}.kind IN (%s, %s) AND {alias}.extra = FALSE))",
            [*ALWAYS_REQUIRED, *SURGE_KINDS],
        )

    def execute(self, sql: str | _Sql, params: Sequence[Any] = ()) -> int:
        statement = sql if isinstance(sql, _Sql) else _Sql(sql, params)
        with connection.cursor() as cursor:
            cursor.execute(statement.text, statement.params)
            count: int = cursor.rowcount
        return max(count, 0)

    def fetch(self, sql: str | _Sql, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        statement = sql if isinstance(sql, _Sql) else _Sql(sql, params)
        with connection.cursor() as cursor:
            cursor.execute(statement.text, statement.params)
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

    def no_jit(self) -> None:
        """PostgreSQL's JIT compiler off for the rest of the transaction: the
        probes of the tasks in progress (`rows`) make the planner's estimate
        of the month's SELECT large enough to compile and optimise it, which
        took the month's SELECT from 1.4 s to 4.6 s at 100,000 elders
        (bench/bench_rates.py)."""
        if self.pg:
            self.execute("SET LOCAL jit = off")

    @staticmethod
    def tier_sql(alias: str) -> str:
        override = f"{alias}.tier_override"
        return f"CASE WHEN {override} <> '' THEN {override} ELSE {alias}.tier END"

    # --- The whole month -------------------------------------------------------------------

    def whole_month(self) -> Recomputed:
        month, now = self.day(self.month), self.moment(timezone.now())
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
        sums = ", ".join(f"SUM(x.{c}) AS {c}" for c in _SHORT)
        self.create(
            "counts",
            _Sql(f"SELECT x.village_id, x.dim, {sums} FROM (")
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
        pairs = list(zip(_COUNTERS, _SHORT, strict=True))
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
            + ", ".join(_COUNTERS)
            + ") SELECT n.village_id, %s, n.dim, "
            + ", ".join(f"n.{short}" for short in _SHORT)
            + " FROM tanfang_rm_counts n WHERE NOT EXISTS (SELECT 1 FROM reports_villagemonth o"
            " WHERE o.month = %s AND o.village_id = n.village_id AND o.dimension = n.dim)",
            [month, month],
        )
        count: int = self.fetch("SELECT COUNT(*) FROM tanfang_rm_counts")[0][0]
        return count

    # --- The elders of a pick ----------------------------------------------------------------

    def picked_elders(self) -> None:
        month, now = self.day(self.month), self.moment(timezone.now())
        self.no_jit()
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
        self.rules()
        self.create("new", self.rows(), "elder_id")
        self.create(
            "old",
            _Sql(
                "SELECT o.elder_id, o.village_id, o.tier, o.categories, o.surges, o.counted,"
                " o.visited, o.compliant, o.declined, o.quarter_compliant"
                " FROM reports_eldermonth o JOIN tanfang_rm_pick p"
                " ON p.elder_id = o.elder_id WHERE o.month = %s",
                [month],
            ),
        )
        sums = ", ".join(f"SUM(x.{c}) AS {c}" for c in _SHORT)
        self.create(
            "delta",
            _Sql(f"SELECT x.village_id, x.dim, {sums} FROM (")
            .embed(self.contributions(_Sql("tanfang_rm_new"), 1))
            .add(" UNION ALL ")
            .embed(self.contributions(_Sql("tanfang_rm_old"), -1))
            .add(") AS x GROUP BY x.village_id, x.dim HAVING ")
            .add(" OR ".join(f"SUM(x.{c}) <> 0" for c in _SHORT)),
        )
        self.execute(
            "INSERT INTO reports_villagemonth (village_id, month, dimension, "
            + ", ".join(_COUNTERS)
            + ") SELECT d.village_id, %s, d.dim, "
            + ", ".join("0" for _ in _COUNTERS)
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
                for name, short in zip(_COUNTERS, _SHORT, strict=True)
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
            .add("), e.consents_to_visits, FALSE, FALSE, 0, FALSE, FALSE, FALSE, ")
            .embed(empty)
            .add(", ")
            .embed(self.json({}))
            .add(", ''")
            .add(" FROM registry_elder e JOIN tanfang_rm_pick p ON p.elder_id = e.id LEFT JOIN (")
            .embed(self.categories())
            .add(") AS c ON c.elder_id = e.id WHERE e.registered_on <= %s", self.day(self.last))
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
            _Sql(
                "SELECT t.id, t.elder_id, t.label, CAST(t.modes AS text) AS modes, t.deadline,"
                " t.window_start, CASE WHEN t.kind = %s THEN t.due_at END AS due_at,"
                " CASE WHEN t.done_at IS NULL THEN 0 ELSE 1 END AS late"
                f" FROM visits_visittask t {self.picked('t.elder_id')} WHERE t.month = %s AND ",
                [trigger, self.day(self.month)],
            )
            .embed(self.required("t"))
            .add(" AND t.cancelled_at IS NULL AND t.excused_at IS NULL AND (t.done_at IS NULL")
            # A trigger is met by a visit at or before its moment; the others
            # by a visit on or before their deadline day.
            .add(f" OR ({timed} AND {done_at} > t.due_at)", trigger)
            .add(f" OR (NOT {timed} AND t.deadline < t.window_end", trigger)
            .add(f" AND {self.local_date(done_at)} > t.deadline))"),
        )
        table = _PREFIX + "words"
        self.execute(
            f"CREATE TEMPORARY TABLE {table} AS SELECT DISTINCT label, modes, deadline, due_at,"
            f" late, CAST(label AS text) AS words FROM {_PREFIX}unmet WHERE 1 = 0"
        )
        self.tables.append(table)
        rows = self.fetch(
            f"SELECT DISTINCT label, modes, deadline, due_at, late FROM {_PREFIX}unmet"
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
        table = _PREFIX + "rules"
        self.execute(
            f"CREATE TEMPORARY TABLE {table} (county varchar(6) PRIMARY KEY, rules varchar(60))"
        )
        self.tables.append(table)
        villages = _Sql(
            f"SELECT DISTINCT substr(e.village_id, 1, 6) FROM registry_elder e"
            f" {self.picked('e.id')} WHERE e.registered_on <= %s",
            [self.day(self.last)],
        )
        if self.closed:
            # Rows stored before the rules were recorded get them now.
            villages.add(
                " UNION SELECT DISTINCT substr(o.village_id, 1, 6) FROM reports_eldermonth o"
                f" {self.picked('o.elder_id')} WHERE o.month = %s AND o.rules = ''",
                self.day(self.month),
            )
        found = _Rules()
        made = [
            [county, found.of(county.ljust(12, "0"), self.month)]
            for (county,) in self.fetch(villages)
        ]
        if made:
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} (county, rules) VALUES (%s, %s)", made)
        if self.pg:
            self.execute(f"ANALYZE {table}")

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

    def surges(self) -> _Sql:
        """SELECT elder_id, items: per elder, the surges (festivals, events) of
        the month's tasks not excused as a JSON object by surge key, each
        covered when all its tasks are done and mandatory when none is extra
        (`_surges`)."""
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
        return _Sql(
            f"SELECT s.elder_id, {value} AS items FROM ({each}) AS s GROUP BY s.elder_id",
            [self.day(self.month), *SURGE_KINDS],
        )

    def rows(self) -> _Sql:
        """SELECT the month's rows as they should be (docs/统计口径.md), one for
        every elder registered by its end, empty ones (`Row.empty`) included."""
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
            _Sql("SELECT e.id AS elder_id, ")
            .add(kept("village_id", "e.village_id") + " AS village_id, ")
            .add(kept("tier", self.tier_sql("e")) + " AS tier, ")
        )
        categories = _Sql("COALESCE(c.items, ").embed(empty).add(")")
        if self.closed:
            categories = (
                _Sql("CASE WHEN o.id IS NULL THEN ").embed(categories).add(" ELSE o.categories END")
            )
        facts.embed(categories).add(" AS categories, ")
        facts.add(kept("consents", "e.consents_to_visits") + " AS consents,")
        # The status at the month's end (`status_on`): of the changes in effect
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
            " AND v.refused = FALSE UNION ALL SELECT t.elder_id, 0, 1 FROM visits_visittask t"
            f" {self.picked('t.elder_id')} WHERE t.month = %s AND ",
            start,
            end,
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
            _Sql(
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
            _Sql(
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

    def contributions(self, source: _Sql, sign: int) -> _Sql:
        """SELECT village_id, dim, c, v, k, d, q: what each row of `source` adds
        to the counters of each of its dimensions (`contributions`)."""
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
                _Sql("SELECT g.village_id, d.dim, d.c, d.v, d.k, d.d, d.q FROM (SELECT")
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
            _Sql(f"SELECT s.village_id, '' AS dim, {values} FROM ")
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

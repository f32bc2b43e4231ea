"""Keeping the monthly rollups current as things happen: `ElderMonth` rows
and `VillageMonth` counters (DOMAIN.md "Supervision and reports"; the
definitions are written in docs/统计口径.md, which tanfang.reports.rows
implements word for word).

`refresh_elder_month` recomputes one elder's row of one month from that
elder's own file, status changes, visits and tasks (`rows.compute_row`), and
adds the difference between the old row's contribution and the new one to the
village's counters (`UPDATE … SET n = n + delta`), in the caller's
transaction. `refresh_elders` does the same for many elders, with the
set-based statements of tanfang.reports.rebuild when they are many. The
actions call them: a visit recorded, a task excused, the tasks refreshed
(tier, consent, village, categories, rules, events), a status change, the
daily task run. The same numbers come from scratch with
`rebuild.recompute_month`; tests/reports/test_recompute.py checks that both
give identical tables after random histories.

A month's row reads the stored rows of the earlier months of its quarter (the
quarter's compliance, `quarter_compliant`), so a month is refreshed before the
later months of its quarter, and refreshing one refreshes those too, up to
today's month.

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

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from tanfang.months import last_day, later_in_quarter, month_of, months_between
from tanfang.registry.models import Elder, Status
from tanfang.reports.models import ElderMonth, VillageMonth
from tanfang.reports.rebuild import Rebuild, recompute_month
from tanfang.reports.rows import (
    COUNTERS,
    CounterKey,
    Counts,
    Row,
    Rules,
    categories_of,
    compute_row,
    files_of,
    local_today,
    surges_json,
    visited_tier,
)
from tanfang.reports.sql import COLUMNS
from tanfang.visits.models import VISIT_KINDS, VisitTask

# Up to this many (elder, month) pairs are refreshed one by one in Python (a few
# queries each, the cheapest for a visit); more go through the set-based SQL.
PYTHON_LIMIT = 20


# --- The incremental path, one elder at a time -------------------------------------------------


def refresh_elder_month(elder_id: int, month: date, today: date | None = None) -> None:
    """Recompute `elder_id`'s row of `month`, and of the later months of its
    quarter (whose quarter compliance reads it), and move the counters by the
    difference, in the caller's transaction. A month after `today`'s is left
    alone: its rows are made when it begins."""
    _refresh_pairs([(elder_id, month_of(month))], local_today(today))


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
    today = local_today(today)
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
            Rebuild(month, today, elders).picked_elders()


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
    today = local_today(today)
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
        rules = Rules()
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


def _add(into: dict[CounterKey, list[int]], counts: dict[CounterKey, Counts], sign: int) -> None:
    for key, values in counts.items():
        total = into.setdefault(key, [0] * len(COUNTERS))
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
        files = {row["pk"]: row for row in files_of({e for e, _ in lacking})}
        categories = categories_of({e for e, _ in lacking})
        placeholders = [
            ElderMonth(
                elder_id=elder_id,
                month=month,
                village_id=files[elder_id]["village_id"],
                tier=visited_tier(files[elder_id]),
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


# The values of a row, as the rebuild computes them.
_ROW_FIELDS = list(COLUMNS)


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


def add_to_counters(month: date, deltas: dict[CounterKey, list[int]]) -> None:
    """Add `deltas` to the counters of `month`: relative updates, one row at a
    time in (village, dimension) order; a missing row is made first (INSERT …
    ON CONFLICT DO NOTHING), so that two writers both add."""
    for (village, dimension), values in sorted(deltas.items()):
        if not any(values):
            continue
        target = VillageMonth.objects.filter(month=month, village_id=village, dimension=dimension)
        changes = {name: F(name) + value for name, value in zip(COUNTERS, values, strict=True)}
        if target.update(**changes):
            continue
        VillageMonth.objects.bulk_create(
            [VillageMonth(month=month, village_id=village, dimension=dimension)],
            ignore_conflicts=True,
        )
        target.update(**changes)

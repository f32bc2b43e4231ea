"""One elder's row of a month's rollup as docs/统计口径.md defines it, and what
it adds to the village's counters (DOMAIN.md "Supervision and reports").

Reads only: `compute_row` reads the elder's file, status changes, visits and
tasks, and the stored rows of the earlier months of the quarter; the writers
(tanfang.reports.rollups one elder at a time, tanfang.reports.rebuild
set-based) store what it computes, and the set-based SQL
(tanfang.reports.sql) computes the same row for many elders at once
(tests/reports/test_recompute.py checks that both agree).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from tanfang.jurisdiction import tiers
from tanfang.months import bounds, last_day, month_of, quarter_start, zone
from tanfang.policy.engine import Mode
from tanfang.registry.models import Elder, ElderCategory, Status, StatusChange
from tanfang.reports.models import ElderMonth
from tanfang.visits.models import (
    ALWAYS_REQUIRED,
    SURGE_KINDS,
    VISIT_KINDS,
    LateState,
    TaskKind,
    Visit,
    VisitTask,
)

# Dimensions of the counters: every elder, by tier (override wins), by
# category, and the elders in scope of a surge (of whom those for whom it is
# mandatory again under MUST).
ALL = ""
TIER = "tier:"
CATEGORY = "category:"
SURGE = "surge:"
MUST = "must:"

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

# Late entries (补录) waiting for an officer or refused: no valid visit of their
# month (docs/统计口径.md §4, issue 16 "Closed months").
UNCOUNTED_LATE = (str(LateState.PENDING), str(LateState.REFUSED))

# The counters of a `VillageMonth` row, in the order of `Counts`.
COUNTERS = ("counted", "visited", "compliant", "declined", "quarter_compliant")


def surge_key(task_key: str) -> str:
    """The surge a festival or event task belongs to: its key without the
    ":n" of a second visit ("festival:重阳:2" → "festival:重阳")."""
    return ":".join(task_key.split(":")[:2])


def local_today(today: date | None) -> date:
    """`today`, or today in Asia/Shanghai when not given."""
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


class Rules:
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


# --- Reading one elder ------------------------------------------------------------------


_FILE_FIELDS = (
    "pk",
    "village_id",
    "status",
    "tier",
    "tier_override",
    "consents_to_visits",
    "registered_on",
)


def files_of(elder_ids: Iterable[int]) -> list[dict[str, Any]]:
    return list(Elder.objects.filter(pk__in=list(elder_ids)).values(*_FILE_FIELDS))


def visited_tier(file: dict[str, Any]) -> str:
    """The tier the elder is visited under: an officer's override wins."""
    return str(file["tier_override"] or file["tier"])


def categories_of(elder_ids: Iterable[int]) -> dict[int, list[str]]:
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
    rules: "Rules | None" = None,
) -> Row | None:
    """The row of `elder_id` in `month` as docs/统计口径.md defines it, read from
    the file, its status changes, its visits and its tasks, and from its stored
    rows of the earlier months of the quarter; `empty` when the elder was
    neither active at the month's end nor visited during it, None when not
    registered by its end. `old`: the stored row, whose village, tier,
    categories, consent and rules a month keeps once it is over."""
    month = month_of(month)
    last = last_day(month)
    file = next(iter(files_of([elder_id])), None)
    if file is None or file["registered_on"] > last:
        return None
    active = status_on(elder_id, last, file["status"]) == Status.ACTIVE
    start, end = bounds(month)
    visits = (
        Visit.objects.filter(
            elder_id=elder_id, visited_at__gte=start, visited_at__lt=end, refused=False
        )
        .exclude(late_state__in=UNCOUNTED_LATE)
        .count()
    )
    closed = old is not None and month < month_of(today)
    if old is not None and closed:
        village, tier = old.village_id, old.tier
        categories, consents = tuple(old.categories or ()), old.consents
    else:
        village, tier = file["village_id"], visited_tier(file)
        categories = tuple(categories_of([elder_id]).get(elder_id, []))
        consents = bool(file["consents_to_visits"])
    # Rows stored before the rules were recorded ("") get them now.
    if old is not None and closed and old.rules:
        version = old.rules
    else:
        version = (rules or Rules()).of(village, month)
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

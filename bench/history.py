"""A year of visits and visit tasks for the synthetic province (bench_rates).

For every month, every elder active that month is owed the tasks the real
`tanfang.visits.planning.Planner` gives their county's profile, tier and
facts (half-month or monthly regular visits, the festivals whose window opens
in the month, the declared events), and the visits are drawn for those tasks:
most on time, some late inside the window, some missed, some tasks excused, a
few refused visits and some extra phone calls. Which tasks each visit completes
is then decided as `tanfang.visits.counting.decide` does (in time order, the
regular task due first and, among those, the one of the fewest modes; one task
of each festival or event open that day; every other task it satisfies), so
that `done_by_visit`,
`done_at` and `Visit.counted` agree with what `record_visit` would have stored.
Elders registered during the year are owed nothing before, elders who die
have their open tasks cancelled on the day (with a `StatusChange`).

Rows are made month by month, and each month's visits are numbered in time
order, as they are stored in life (recorded when made): the visits table is
ordered by time, not by elder, which is what the queries by month meet. The
ids are given here so that the tasks can point at their visits. Nothing is
read back from the database.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bench.province import boolean_values

# Where a profile's visits are recorded (tanfang/visits/checklists/).
CHECKLISTS = {"fujian-shishi": "fujian", "linzi": "linzi", "sichuan": "sichuan"}
VISIT_MODES = ("home", "phone", "video", "street", "other")
REMOTE = frozenset({"phone", "video", "street", "monitoring"})
REFUSED_REASON = "老人拒绝探访：本次记录不计入探访要求。"
NO_TASK_REASON = "该老人在此日期没有待完成的探访任务：本次记录将保存，但不计入探访要求。"
MODE_REASON = "探访方式不计入该老人的探访要求。"
DEATH_REASON = "老人去世"

VISIT_COLUMNS = [
    "id",
    "uuid",
    "content_hash",
    "elder_id",
    "village_id",
    "sequence",
    "mode",
    "refused",
    "visited_at",
    "recorded_by_id",
    "recorded_at",
    "checklist",
    "counted",
    "not_counted_reason",
]
TASK_COLUMNS = [
    "elder_id",
    "kind",
    "key",
    "label",
    "window_start",
    "deadline",
    "window_end",
    "month",
    "modes",
    "extra",
    "remote_counts_as_home",
    "tier",
    "profile",
    "cite",
    "created_at",
    "done_at",
    "done_by_visit_id",
    "excused_at",
    "excused_by_id",
    "excuse_reason",
    "excuse_note",
    "cancelled_at",
    "cancel_reason",
]


def months_of(first: date, count: int) -> list[date]:
    index = first.year * 12 + first.month - 1
    return [date((index + n) // 12, (index + n) % 12 + 1, 1) for n in range(count)]


def month_last(month: date) -> date:
    following = months_of(month, 2)[1]
    return following - timedelta(days=1)


@dataclass
class Elders:
    """What the history needs of the files loaded (elder n has id first_id + n)."""

    first_id: int
    villages: list[str]
    consents: list[bool]
    registered: list[int]  # date ordinals
    tiers: list[str]
    abilities: list[str]
    healths: list[str]
    dementia: list[bool]
    # Ordinal of the day of death, for the elders who die during the year.
    deaths: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Template:
    """One task of a plan, with what the drawing needs and the row's fixed part."""

    kind: str
    regular: bool
    extra: bool
    remote_as_home: bool
    start: int  # ordinals
    deadline: int
    end: int
    modes: frozenset[str]
    visit_modes: tuple[str, ...]  # the modes a visit for it is drawn from
    row: tuple[Any, ...]  # kind … created_at of TASK_COLUMNS


class Task:
    __slots__ = ("template", "order", "done_by", "done_at", "excused", "cancelled")

    def __init__(self, template: Template, order: int) -> None:
        self.template = template
        self.order = order
        self.done_by: list[int] | None = None  # the cell of the visit's number
        self.done_at = ""
        self.excused = False
        self.cancelled = 0  # the ordinal of the day it was cancelled

    def open_on(self, day: int) -> bool:
        t = self.template
        return (
            self.done_by is None
            and not self.excused
            and not self.cancelled
            and t.start <= day <= t.end
        )


@dataclass
class Counts:
    visits: int = 0
    counted_visits: int = 0
    refused_visits: int = 0
    tasks: int = 0
    done: int = 0
    excused: int = 0
    cancelled: int = 0


class History:
    """Draws the year month by month; `month` gives the rows of the visits and
    tasks, ready for `copy_rows(..., ready=True)`."""

    def __init__(
        self,
        elders: Elders,
        officer_id: int,
        vendor: str,
        *,
        extra_visits: float,
        first_month: date,
        last_month: date,
        seed: int = 2026,
    ) -> None:
        self.elders = elders
        self.first_month, self.last_month = first_month, last_month
        self.officer_id = officer_id
        self.true, self.false, self.null = boolean_values(vendor)
        self.extra_visits = extra_visits
        self.rng = random.Random(seed)
        self.next_visit_id = 1
        self.sequences = [0] * len(elders.villages)
        # Open tasks whose window runs into the next month, by elder number.
        self.carried: dict[int, list[Task]] = {}
        self.counts = Counts()
        self._days: dict[int, str] = {}
        # How well each village keeps up: most miss 2%, a few a quarter.
        quality = random.Random(seed + 1)
        self.miss = {v: 0.02 + 0.25 * quality.random() ** 6 for v in sorted(set(elders.villages))}
        self.created_at = ""

    # --- text of days and moments -----------------------------------------------------

    def day(self, ordinal: int) -> str:
        text = self._days.get(ordinal)
        if text is None:
            text = self._days[ordinal] = date.fromordinal(ordinal).isoformat()
        return text

    def moment(self, ordinal: int, minute: int) -> str:
        """`minute` minutes after 08:00 in Asia/Shanghai, in UTC (00:00 + minute)."""
        return f"{self.day(ordinal)} {minute // 60:02d}:{minute % 60:02d}:00"

    # --- plans -----------------------------------------------------------------------

    def templates(
        self, planned: tuple[Any, ...], cache: dict[int, list[Template]]
    ) -> list[Template]:
        found = cache.get(id(planned))
        if found is not None:
            return found
        import json

        found = []
        for p in planned:
            spec = p.spec
            modes = frozenset(spec.modes)
            usable = tuple(m for m in VISIT_MODES if m in modes) or ("home",)
            # Home first where it counts: most visits are at the door.
            weighted = usable if "home" not in usable else ("home",) * 4 + usable
            found.append(
                Template(
                    kind=str(spec.kind),
                    regular=str(spec.kind) == "regular",
                    extra=spec.extra,
                    remote_as_home=spec.remote_counts_as_home,
                    start=spec.window_start.toordinal(),
                    deadline=spec.deadline.toordinal(),
                    end=spec.window_end.toordinal(),
                    modes=modes,
                    visit_modes=weighted,
                    row=(
                        str(spec.kind),
                        spec.key,
                        spec.label,
                        spec.window_start.isoformat(),
                        spec.deadline.isoformat(),
                        spec.window_end.isoformat(),
                        spec.month.isoformat(),
                        json.dumps(list(spec.modes)),
                        self.true if spec.extra else self.false,
                        self.true if spec.remote_counts_as_home else self.false,
                        p.tier,
                        p.profile,
                        spec.cite[:200],
                        self.created_at,
                    ),
                )
            )
        cache[id(planned)] = found
        return found

    # --- one month -------------------------------------------------------------------

    def month(
        self, month: date, planner_for: Callable[[date], Any]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The rows of the visits and the tasks of `month`. The visits are in
        time order and numbered in it, as they are stored in life (a visit is
        recorded when it is made), so that the table is ordered by time, not
        by elder; the tasks of the month whose window is over or which are
        settled come with them, the others when they are."""
        planner = planner_for(month)
        first, last = month.toordinal(), month_last(month).toordinal()
        # Tasks are made by the daily run on the month's first day.
        self.created_at = f"{self.day(first - 1)} 16:05:00"
        cache: dict[int, list[Template]] = {}
        contexts: dict[str, Any] = {}
        e = self.elders
        final = month == self.last_month
        opening = month == self.first_month
        visits: list[list[Any]] = []
        settled: list[tuple[int, Task]] = []
        for n in range(len(e.villages)):
            registered = e.registered[n]
            death = e.deaths.get(n)
            carried = self.carried.pop(n, None)
            if registered > last or (death is not None and death < first):
                continue
            village = e.villages[n]
            month_tasks: list[Task] = []
            if e.consents[n]:
                context = contexts.get(village)
                if context is None:
                    context = contexts[village] = planner.context(village)
                planned = (
                    planner.plan(
                        context, e.tiers[n], "", e.abilities[n], e.healths[n], e.dementia[n]
                    )
                    or ()
                )
                for order, template in enumerate(self.templates(planned, cache)):
                    # Made on the day of registration: nothing whose window is over.
                    if template.end < registered:
                        continue
                    # An event's month-long span that began last month was made
                    # then (the daily run makes it once: ON CONFLICT DO NOTHING).
                    if template.start < first and registered < first and not opening:
                        continue
                    month_tasks.append(Task(template, order))
            self.elder_month(
                n,
                village,
                (first, last),
                registered,
                death,
                carried,
                month_tasks,
                visits,
                consents=e.consents[n],
            )
            for task in (carried or []) + month_tasks:
                if (
                    task.template.end > last
                    and not final
                    and task.done_by is None
                    and not task.excused
                    and not task.cancelled
                ):
                    self.carried.setdefault(n, []).append(task)
                else:
                    settled.append((e.first_id + n, task))
        # Numbered in time order; the tasks read their visit's number from the cell.
        visits.sort(key=lambda visit: (visit[0], visit[2]))
        rows = []
        for visit in visits:
            visit_id = visit[1][0] = self.next_visit_id
            self.next_visit_id += 1
            at = visit[0]
            rows.append(
                (
                    visit_id,
                    f"00000000-0000-4000-8000-{visit_id:012x}",
                    "bench",
                    *visit[2:7],
                    at,
                    self.officer_id,
                    at,
                    "bench",
                    *visit[7:],
                )
            )
        del visits
        return rows, [self.task_row(elder_id, task) for elder_id, task in settled]

    def elder_month(
        self,
        n: int,
        village: str,
        bounds: tuple[int, int],
        registered: int,
        death: int | None,
        carried: list[Task] | None,
        month_tasks: list[Task],
        visits: list[list[Any]],
        *,
        consents: bool,
    ) -> None:
        random_ = self.rng.random
        first, last = bounds
        earliest = max(first, registered)
        latest = last if death is None else min(last, death - 1)
        planned: list[tuple[int, int, str, bool]] = []  # day, minute, mode, refused
        regular: list[tuple[int, Template]] = []  # the visits planned for regular tasks
        if latest >= earliest and not consents:
            # Declining visits: now and then a visitor is turned away at the door.
            if random_() < 0.05:
                day = earliest + int(random_() * (latest - earliest + 1))
                planned.append((day, int(random_() * 600), "home", True))
        elif latest >= earliest:
            miss = self.miss[village]
            for task in month_tasks:
                t = task.template
                if not t.regular:
                    continue
                r = random_()
                if r < miss:
                    continue
                if r < miss + 0.02:
                    task.excused = True
                    self.counts.excused += 1
                    continue
                low, high = max(t.start, earliest), min(t.deadline, latest)
                if r > 0.97 and t.deadline < t.end:  # late, still inside the window
                    low, high = max(t.deadline + 1, earliest), min(t.end, latest)
                if low > high:
                    continue
                day = low + int(random_() * (high - low + 1))
                mode = t.visit_modes[int(random_() * len(t.visit_modes))]
                regular.append((len(planned), t))
                planned.append((day, int(random_() * 600), mode, False))
            for task in month_tasks:
                t = task.template
                if t.regular:
                    continue
                low, high = max(t.start, earliest), min(t.end, latest)
                if low > high:
                    continue
                if not t.extra and any(
                    t.start <= day <= t.end
                    and (
                        mode in t.modes
                        or (t.remote_as_home and mode in REMOTE and "home" in t.modes)
                    )
                    for day, _, mode, _ in planned
                ):
                    continue  # the regular visit inside the window will do
                if random_() < 0.9:
                    day = low + int(random_() * (high - low + 1))
                    mode = t.visit_modes[int(random_() * len(t.visit_modes))]
                    if t.extra:
                        # One more visit: the visitor makes the regular visit that
                        # day first, or the extra one would count as the regular.
                        for index, owed in regular:
                            when = planned[index]
                            if when[0] > day and owed.start <= day:
                                planned[index] = (day, 0, when[2], False)
                        planned.append((day, 599, mode, False))
                    else:
                        planned.append((day, int(random_() * 600), mode, False))
            extra = self.extra_visits
            while extra > 0:
                if random_() < extra:
                    day = earliest + int(random_() * (latest - earliest + 1))
                    planned.append((day, int(random_() * 600), "phone", False))
                extra -= 1
            if random_() < 0.01:
                day = earliest + int(random_() * (latest - earliest + 1))
                planned.append((day, int(random_() * 600), "home", True))
        tasks = (carried or []) + month_tasks
        planned.sort()
        elder_id = self.elders.first_id + n
        for day, minute, mode, refused in planned:
            cell = [0]  # the visit's number, given when the month is sorted by time
            self.sequences[n] += 1
            at = self.moment(day, minute)
            if refused:
                counted, reason = False, REFUSED_REASON
                self.counts.refused_visits += 1
            else:
                completes = self.decide(tasks, day, mode)
                for task in completes:
                    task.done_by, task.done_at = cell, at
                counted = bool(completes)
                reason = (
                    ""
                    if counted
                    else (MODE_REASON if self.open_tasks(tasks, day) else NO_TASK_REASON)
                )
            if counted:
                self.counts.counted_visits += 1
            self.counts.visits += 1
            visits.append(
                [
                    at,
                    cell,
                    elder_id,
                    village,
                    self.sequences[n],
                    mode,
                    self.true if refused else self.false,
                    self.true if counted else self.false,
                    reason,
                ]
            )
        if death is not None and first <= death <= last:
            for task in tasks:
                if task.done_by is None and not task.excused:
                    task.cancelled = death

    @staticmethod
    def open_tasks(tasks: list[Task], day: int) -> list[Task]:
        found = [task for task in tasks if task.open_on(day)]
        found.sort(key=lambda task: (task.template.deadline, task.template.start, task.order))
        return found

    def decide(self, tasks: list[Task], day: int, mode: str) -> list[Task]:
        """tanfang.visits.counting.decide over the tasks open on `day`."""
        found = self.open_tasks(tasks, day)
        if not found:
            return []
        remote_as_home = any(task.template.remote_as_home for task in found)

        def counts(task: Task) -> bool:
            t = task.template
            return mode in t.modes or (remote_as_home and "home" in t.modes and mode in REMOTE)

        completes = []
        regular = sorted(
            (task for task in found if task.template.regular and counts(task)),
            key=lambda task: (
                task.template.deadline,
                len(task.template.modes),
                task.template.start,
            ),
        )
        if regular:
            completes.append(regular[0])
        surges: set[str] = set()
        for task in found:
            if task.template.regular or not counts(task):
                continue
            if task.template.kind in {"festival", "event"}:
                surge = ":".join(str(task.template.row[1]).split(":")[:2])
                if surge in surges:
                    continue
                surges.add(surge)
            completes.append(task)
        return completes

    def task_row(self, elder_id: int, task: Task) -> tuple[Any, ...]:
        t = task.template
        self.counts.tasks += 1
        null = self.null
        if task.done_by is not None:
            self.counts.done += 1
            done = (task.done_at, task.done_by[0])
        else:
            done = (null, null)
        if task.excused:
            excused = (f"{self.day(t.start - 1)} 16:00:00", self.officer_id, "hospital", "")
        else:
            excused = (null, null, "", "")
        if task.cancelled:
            self.counts.cancelled += 1
            cancelled = (f"{self.day(task.cancelled)} 04:00:00", DEATH_REASON)
        else:
            cancelled = (null, "")
        return (elder_id, *t.row, *done, *excused, *cancelled)

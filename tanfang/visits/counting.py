"""Which tasks a visit completes, and, before it is saved, why it will not count.

A visit completes a task only when its day lies in the task's window (from
`window_start` to `window_end`: late but still inside the period counts) and its
mode is one the elder's rule accepts (DOMAIN.md "Visits": a home visit where the
rule says home visit; remote modes only where the policy allows them). Inside a
declared epidemic whose rule says so, phone and video count as home visits
(002_8b4fd75972db9bc5.txt 二(五), 001_35a01bee4c628ebd.txt 二(五)2).

One visit completes every task it satisfies (issue 16 item 5), listed the most
urgent first (`urgency`: a visit owed after a fall, then a declared event such
as a cold wave or an epidemic, then a festival, then the routine visit, then a
follow-up; among tasks of a kind the earliest deadline first). A task that asks
for a visit of its own is not satisfied by a visit already counted for its
sibling:

- at most one regular task: the one due first, and among those due together
  the one that accepts the fewest modes (Linzi's key objects owe a home visit
  and another visit each month, 003_fe235aaa23e67560.txt 五(二): a home visit
  is the home visit, a call the other);
- for each festival or declared event open on its day, one of that surge's
  tasks, whether or not it also completed a regular task: the visit was made
  inside the window (000_4970ff49482a0570.txt 四(二) "适当增加探访频次" is measured
  as the surge's coverage, and a count of 2 asks for two visits;
  001_35a01bee4c628ebd.txt 二(五)2 "必须开展" as part of compliance);
- every trigger task open on its day (a visit after the fall was recorded);
- every follow-up (跟踪回访, tanfang.care.follow_up) open on its day; that it was
  made does not hide why the visit falls short of the elder's regular visit.

Why a visit on the day of a cold wave was credited to the routine task only
(issue 16): `decide` did complete both when both tasks existed, but the cold
wave's task is made when the county declares it (tanfang.refresh
.after_events_declared), which is often during the day of the warning or after
it, with the event starting that day or earlier. A visit made before the
declaration found only the routine task open, and nothing looked at it again,
so the cold-wave task stayed open although the elder had been visited inside
its window. `earlier_credits` says which visits already made complete a
festival or event task made after them, by the same rules as `decide` (the
first such visit in the window, in one of the task's modes, that completed no
other task of that surge); tanfang.visits.generation stores it as it makes the
tasks. Only surges are credited so: a routine task made late belongs to rules
or a tier that changed, and the visits owed under them start then; a trigger
runs from the change's recording; a follow-up opens the day after.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import QuerySet

from tanfang.months import zone
from tanfang.policy.engine import MODE_LABELS, REMOTE_MODES, Mode
from tanfang.registry.models import Elder
from tanfang.visits.models import LateState, TaskKind, Visit, VisitMode, VisitTask

_MODE_WORDS = {str(mode): label for mode, label in MODE_LABELS.items()}
SURGE_KINDS = frozenset({TaskKind.FESTIVAL, TaskKind.EVENT})
NO_TASK_REASON = "该老人在此日期没有待完成的探访任务：本次记录将保存，但不计入探访要求。"
# The most urgent first: a visit owed within hours of a fall, a declared event
# (extreme weather, an epidemic), a festival, the routine visit, a follow-up.
KIND_URGENCY = {
    str(TaskKind.TRIGGER): 0,
    str(TaskKind.EVENT): 1,
    str(TaskKind.FESTIVAL): 2,
    str(TaskKind.REGULAR): 3,
    str(TaskKind.FOLLOW_UP): 4,
    str(TaskKind.REVIEW): 5,
}


def urgency(task: VisitTask) -> tuple[int, date, date, int]:
    """Sort key of tasks, the most urgent first (the module's docstring)."""
    return (KIND_URGENCY.get(str(task.kind), 9), task.deadline, task.window_start, task.pk or 0)


def surge_of(key: str) -> str:
    """The festival or event a surge task belongs to: "festival:重阳:2" ->
    "festival:重阳"."""
    return ":".join(key.split(":")[:2])


@dataclass(frozen=True)
class Outcome:
    completes: tuple[VisitTask, ...]
    # Why the visit counts for nothing, or for less than the open tasks it might
    # have completed, in words for the visitor.
    reasons: tuple[str, ...]

    @property
    def counts(self) -> bool:
        return bool(self.completes)


def open_tasks_on(elder: Elder, day: date) -> QuerySet[VisitTask]:
    """Visit tasks of `elder` open on `day` (file reviews are not visits)."""
    return (
        VisitTask.objects.filter(
            elder=elder,
            window_start__lte=day,
            window_end__gte=day,
            done_at__isnull=True,
            excused_at__isnull=True,
            cancelled_at__isnull=True,
        )
        .exclude(kind=TaskKind.REVIEW)
        .order_by("deadline", "window_start", "pk")
    )


def mode_counts(task: VisitTask, mode: str, remote_as_home: bool) -> bool:
    if mode in task.modes:
        return True
    return remote_as_home and Mode.HOME in task.modes and mode in REMOTE_MODES


def decide(tasks: Sequence[VisitTask], *, mode: str, refused: bool, tier_label: str) -> Outcome:
    """The tasks among `tasks` (open on the visit's day, due first first) that
    a visit of `mode` completes, the most urgent first, and the reasons in words
    when it falls short."""
    if refused:
        return Outcome((), ("老人拒绝探访：本次记录不计入探访要求。",))
    if not tasks:
        return Outcome((), (NO_TASK_REASON,))
    # Epidemic rules say so on their task (002_… 二(五)).
    remote_as_home = any(t.remote_counts_as_home for t in tasks)
    completes: list[VisitTask] = []
    regular = sorted(
        (t for t in tasks if t.kind == TaskKind.REGULAR and mode_counts(t, mode, remote_as_home)),
        key=lambda t: (t.deadline, len(t.modes), t.window_start, t.pk or 0),
    )
    if regular:
        completes.append(regular[0])
    surges: set[str] = set()
    for task in tasks:
        if task.kind == TaskKind.REGULAR or not mode_counts(task, mode, remote_as_home):
            continue
        if task.kind in SURGE_KINDS:
            group = surge_of(task.key)
            if group in surges:
                continue
            surges.add(group)
        completes.append(task)
    reasons = _shortfall(tasks, completes, mode=mode, tier_label=tier_label)
    return Outcome(tuple(sorted(completes, key=urgency)), reasons)


def _shortfall(
    tasks: Sequence[VisitTask], completes: Iterable[VisitTask], *, mode: str, tier_label: str
) -> tuple[str, ...]:
    # A follow-up made is no visit under the rules, and a surge visit that is
    # not mandatory does not meet them: say why a regular visit was not made.
    def required(task: VisitTask) -> bool:
        return task.kind != TaskKind.FOLLOW_UP and not task.extra

    done = {t.pk for t in completes if required(t)}
    refused_by_mode = [t for t in tasks if t.pk not in done and required(t) and mode not in t.modes]
    if done or not refused_by_mode:
        return ()
    task = refused_by_mode[0]
    wanted = "、".join(_MODE_WORDS.get(m, m) for m in task.modes)
    said = VisitMode(mode).label if mode in VisitMode.values else mode
    who = f"该老人为{tier_label}，" if tier_label else ""
    return (f"{who}{said}不计入“{task.label}”（须{wanted}探访）。",)


def explain(elder: Elder, *, mode: str, day: date, refused: bool = False) -> Outcome:
    """What a visit of `mode` on `day` would complete, before it is saved."""
    tasks = list(open_tasks_on(elder, day))
    return decide(tasks, mode=mode, refused=refused, tier_label=tier_label_of(elder))


def tier_label_of(elder: Elder) -> str:
    return elder.tier_label if not elder.tier_override else ""


# --- Visits made before a surge's task -----------------------------------------------


@dataclass
class EarlierVisit:
    """A visit already stored, as `credit_earlier` reads it: its day and mode,
    and the surges (`surge_of`) it already completed a task of."""

    pk: int
    elder_id: int
    day: date
    mode: str
    surges: set[str]


def credit_earlier(
    tasks: Iterable[VisitTask], visits: Sequence[EarlierVisit]
) -> list[tuple[VisitTask, EarlierVisit]]:
    """Which of `visits` (oldest first) complete which festival or event tasks
    of `tasks`, made after them (the module's docstring): each task goes to the
    first visit inside its window, in one of its modes, that has not completed
    a task of the same surge; a visit completes one task of a surge, as
    `decide` has it. Tasks of other kinds are left alone."""
    credits: list[tuple[VisitTask, EarlierVisit]] = []
    by_elder: dict[int, list[EarlierVisit]] = {}
    for visit in visits:
        by_elder.setdefault(visit.elder_id, []).append(visit)
    for task in sorted(tasks, key=lambda t: (t.elder_id, urgency(t))):
        if task.kind not in SURGE_KINDS or not task.is_open():
            continue
        group = surge_of(task.key)
        for visit in by_elder.get(task.elder_id, ()):
            if (
                task.window_start <= visit.day <= task.window_end
                and group not in visit.surges
                and mode_counts(task, visit.mode, task.remote_counts_as_home)
            ):
                visit.surges.add(group)
                credits.append((task, visit))
                break
    return credits


def earlier_credits(made: QuerySet[VisitTask], today: date) -> list[tuple[VisitTask, int]]:
    """(task, visit id) for the open festival and event tasks among `made`
    whose window had begun by `today` and that visits already stored complete
    (`credit_earlier`): 3 queries, none when no such task was made. Refused
    visits and late entries (补录) not approved complete nothing, as when they
    were recorded."""
    tasks = list(
        made.filter(
            kind__in=[str(k) for k in SURGE_KINDS],
            window_start__lte=today,
            done_at__isnull=True,
            excused_at__isnull=True,
            cancelled_at__isnull=True,
        )
    )
    if not tasks:
        return []
    first = datetime.combine(min(t.window_start for t in tasks), time.min, tzinfo=zone())
    rows = (
        Visit.objects.filter(
            elder_id__in={t.elder_id for t in tasks},
            visited_at__gte=first,
            refused=False,
            late_state__in=["", LateState.APPROVED],
        )
        .order_by("visited_at", "pk")
        .values_list("pk", "elder_id", "visited_at", "mode")
    )
    visits = [
        EarlierVisit(pk, elder_id, visited_at.astimezone(zone()).date(), mode, set())
        for pk, elder_id, visited_at, mode in rows
    ]
    if not visits:
        return []
    by_pk = {v.pk: v for v in visits}
    done = VisitTask.objects.filter(
        done_by_visit_id__in=list(by_pk), kind__in=[str(k) for k in SURGE_KINDS]
    ).values_list("done_by_visit_id", "key")
    for visit_id, key in done:
        by_pk[visit_id].surges.add(surge_of(key))
    return [(task, visit.pk) for task, visit in credit_earlier(tasks, visits)]

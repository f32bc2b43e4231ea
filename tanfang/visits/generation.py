"""Making the visit tasks: the daily run (`manage.py generate_tasks`), the refresh
when an elder's tier, status or consent changes, and the follow-ups care owes.

`tanfang.visits.planning` says which tasks each elder is owed (a plan computed
once per distinct combination of the rules' inputs, shared by all the elders
who have it); here they are stored for every active elder.

The daily run inserts in one statement per kind with the database joining the
elders to the plans (temporary tables), ignoring the tasks that exist already
(the unique constraint on elder, requirement and window start), so a second run
creates nothing. Only tasks whose window has not ended are made: an elder who
joins mid-month is not owed the half-month that is over.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.months import add_months, zone
from tanfang.registry.models import Elder, LifeEvent, Status
from tanfang.registry.queries import REVIEW_MONTHS
from tanfang.reports import rollups
from tanfang.visits import counting
from tanfang.visits.models import TaskKind, Visit, VisitTask
from tanfang.visits.planning import (
    MONTHS,
    TRIGGER_LOOKBACK,
    Context,
    Planned,
    Planner,
    recent_changes,
)
from tanfang.visits.schedule import ChangeSpan, TaskSpec

_BATCH = 2000


# --- The daily run ---------------------------------------------------------------


def generate_tasks(
    *, today: date, months: int = MONTHS, elders: QuerySet[Elder] | None = None
) -> int:
    """Store the tasks of `today`'s month and the following ones (`months` in
    all) for every active elder (of `elders` when given): visits for those who
    consent to visits, the half-year file check for all. Returns how many were
    made; a second run makes none."""
    planner = Planner(today, months)
    subset = None if elders is None else elders.order_by().values("pk")
    if subset is not None and not subset.exists():
        # Nothing to do; and an always-empty subset (`pk__in=[]`) cannot be
        # compiled into the raw INSERT … SELECT.
        return 0
    with transaction.atomic():
        last_id = VisitTask.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        created = (
            _insert_visit_tasks(planner, subset)
            + _insert_review_tasks(planner, subset)
            + _insert_trigger_tasks(planner, subset)
        )
        if created:
            credited = _credit_earlier_visits(VisitTask.objects.filter(pk__gt=last_id), today)
            detail = {"today": str(today), "months": months, "created": created}
            record(
                Action.TASKS_GENERATED, detail=detail | ({"credited": credited} if credited else {})
            )
        # The month's rows of the elders without one (all, when a month begins)
        # and of those owed new tasks (tanfang.reports.rollups).
        rollups.refresh_after_generation(today, last_id, subset)
    return created


# The primary keys of the elders a run is limited to, or None for all.
_Subset = QuerySet[Elder, Any] | None


def _active(subset: _Subset) -> QuerySet[Elder]:
    active = Elder.objects.filter(status=Status.ACTIVE).order_by()
    return active if subset is None else active.filter(pk__in=subset)


# The columns the statements below fill from the elder and the plan; every other
# column of VisitTask gets its model default.
_FROM_PLAN = [
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
]


def _plan_row(spec: TaskSpec, tier: str, profile: str) -> list[Any]:
    return [
        str(spec.kind),
        spec.key,
        spec.label,
        spec.window_start,
        spec.deadline,
        spec.window_end,
        spec.month,
        json.dumps(list(spec.modes)),
        spec.extra,
        spec.remote_counts_as_home,
        tier,
        profile,
        spec.cite[:200],
    ]


_PLAN_COLUMNS = """kind varchar(20), key varchar(60), label varchar(100), window_start date,
    deadline date, window_end date, month date, modes text, extra boolean,
    remote_counts_as_home boolean, tier varchar(20), profile varchar(40), cite varchar(200)"""


def _insert_visit_tasks(planner: Planner, subset: _Subset) -> int:
    elders = _active(subset).filter(consents_to_visits=True)
    villages = list(elders.values_list("village_id", flat=True).distinct())
    combos = list(
        elders.values_list("tier", "tier_override", "ability", "health", "dementia").distinct()
    )
    if not villages:
        return 0
    context_ids: dict[Context, int] = {}
    village_rows = []
    for village in villages:
        context = planner.context(village)
        village_rows.append([village, context_ids.setdefault(context, len(context_ids))])
    plan_rows = [
        [number, *combo, *_plan_row(p.spec, p.tier, p.profile)]
        for context, number in context_ids.items()
        for combo in combos
        for p in planner.plan(context, *combo) or ()
    ]
    if not plan_rows:
        return 0
    with (
        _temporary(
            "tanfang_gen_village",
            "village_id varchar(12), context integer",
            village_rows,
            "village_id",
        ),
        _temporary(
            "tanfang_gen_plan",
            "context integer, tier_now varchar(20), tier_override varchar(20), "
            f"ability varchar(20), health varchar(10), dementia boolean, {_PLAN_COLUMNS}",
            plan_rows,
            "context, tier_now, tier_override, ability, health, dementia",
        ),
    ):
        join = """registry_elder e
            JOIN tanfang_gen_village v ON v.village_id = e.village_id
            JOIN tanfang_gen_plan p ON p.context = v.context AND p.tier_now = e.tier
                AND p.tier_override = e.tier_override AND p.ability = e.ability
                AND p.health = e.health AND p.dementia = e.dementia"""
        return _insert_select(join, "e.consents_to_visits = %s", [True], subset)


def _insert_review_tasks(planner: Planner, subset: _Subset) -> int:
    rows = [[base, *_plan_row(spec, "", "")] for base, spec in planner.review_bases()]
    with _temporary("tanfang_gen_review", f"base date, {_PLAN_COLUMNS}", rows, "base"):
        join = """registry_elder e
            JOIN tanfang_gen_review p ON p.base = COALESCE(e.last_reviewed_on, e.registered_on)"""
        return _insert_select(join, "", [], subset)


def _insert_trigger_tasks(planner: Planner, subset: _Subset) -> int:
    """Per elder, not per plan: the few elders with a major change recorded
    lately (a fall, a discharge …) whose rules owe a visit within hours."""
    since = datetime.combine(planner.today - TRIGGER_LOOKBACK, time.min, tzinfo=zone())
    with_changes = LifeEvent.objects.filter(
        recorded_at__gte=since, withdrawn_at__isnull=True
    ).values("elder_id")
    elders = _active(subset).filter(consents_to_visits=True, pk__in=with_changes)
    rows = list(elders.values("pk", "village_id", "tier", "tier_override"))
    if not rows:
        return 0
    changes = recent_changes([row["pk"] for row in rows], planner.today)
    have = set(
        VisitTask.objects.filter(
            elder_id__in=list(changes), kind=TaskKind.TRIGGER, cancelled_at__isnull=True
        ).values_list("elder_id", "key", "window_start")
    )
    now = timezone.now()
    new = [
        _task(row["pk"], planned, now)
        for row in rows
        for planned in planner.triggers(
            row["village_id"], row["tier_override"] or row["tier"], changes.get(row["pk"], ())
        )
        if (row["pk"], *planned.spec.identity) not in have
    ]
    VisitTask.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def _insert_select(join: str, where: str, params: list[Any], subset: _Subset) -> int:
    """INSERT INTO visits_visittask SELECT … FROM `join`, skipping the tasks that
    exist already (ON CONFLICT DO NOTHING on the unique requirement)."""
    meta = VisitTask._meta
    columns, values, value_params = [], [], []
    for field in meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name == "elder":
            values.append("e.id")
        elif field.name in _FROM_PLAN:
            source = f"p.{connection.ops.quote_name(field.column)}"
            if field.name == "modes" and connection.vendor == "postgresql":
                source = f"CAST({source} AS jsonb)"
            values.append(source)
        else:
            value = timezone.now() if field.name == "created_at" else field.get_default()
            values.append("%s")
            value_params.append(field.get_db_prep_save(value, connection))
    conditions = ["e.status = %s", *([where] if where else [])]
    condition_params: list[Any] = [Status.ACTIVE, *params]
    if subset is not None:
        sub_sql, sub_params = subset.query.sql_with_params()
        conditions.append(f"e.id IN ({sub_sql})")
        condition_params.extend(sub_params)
    # Table and column names come from the models, values are parameters.
    sql = (
        f"INSERT INTO {meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM {join} "
        f"WHERE {' AND '.join(conditions)} ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*value_params, *condition_params])
        created: int = cursor.rowcount
    return max(created, 0)


class _temporary:
    """A temporary table holding `rows`, dropped on leaving the block."""

    def __init__(self, name: str, columns: str, rows: Sequence[Sequence[Any]], index: str) -> None:
        self.name, self.columns, self.rows, self.index = name, columns, rows, index

    def __enter__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {self.name} ({self.columns})")
            if self.rows:
                marks = ", ".join(["%s"] * len(self.rows[0]))
                cursor.executemany(
                    f"INSERT INTO {self.name} VALUES ({marks})",  # noqa: S608
                    self.rows,
                )
            # SQLite joins by nested loops: the index makes them lookups.
            cursor.execute(f"CREATE INDEX {self.name}_join ON {self.name} ({self.index})")
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {self.name}")

    def __exit__(self, error: type[BaseException] | None, *rest: object) -> None:
        if error is not None:
            return  # rolled back with the savepoint of generate_tasks, table and all
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {self.name}")


# --- Refresh when the file changes -------------------------------------------------


@dataclass(frozen=True)
class Refreshed:
    cancelled: int
    created: int
    # File checks done by the review that moved the next one on.
    done: int


def refresh_tasks(elder: Elder, today: date) -> Refreshed:
    """At once when the elder's tier, status, consent or rules change: open tasks
    of the current and future periods that are no longer owed are cancelled
    (never deleted), and the tasks now owed are made."""
    return refresh_tasks_for(Elder.objects.filter(pk=elder.pk), today)


_ELDER_COLUMNS = (
    "pk",
    "village_id",
    "status",
    "consents_to_visits",
    "tier",
    "tier_override",
    "ability",
    "health",
    "dementia",
    "registered_on",
    "last_reviewed_on",
)


def refresh_tasks_for(elders: QuerySet[Elder], today: date) -> Refreshed:
    """`refresh_tasks` for many elders (a county changing its rules, an event
    declared or ended), a few queries per 2,000 elders."""
    planner = Planner(today)
    pks = list(elders.order_by("pk").values_list("pk", flat=True))
    totals = [0, 0, 0]
    for start in range(0, len(pks), _BATCH):
        counts = _refresh_batch(planner, pks[start : start + _BATCH])
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    # The rows of the months whose tasks, tier, village or consent this touched.
    rollups.refresh_open_months(
        pks if len(pks) <= rollups.PYTHON_LIMIT else elders.order_by().values("pk"), today
    )
    return Refreshed(*totals)


@dataclass
class _Owed:
    tasks: dict[tuple[str, date], Planned]
    # Why an open task that is no longer owed is cancelled, when not for the tier.
    reason: str
    tier: str = ""
    tier_label: str = ""
    review_due: date | None = None

    def cancel_reason(self, task: VisitTask) -> str:
        if task.kind == TaskKind.REVIEW:
            return "档案核查日期变更"
        if self.tier and task.tier and task.tier != self.tier:
            return f"分级变更为“{self.tier_label}”"
        if task.kind == TaskKind.TRIGGER:
            return "重大变故登记已撤销，或探访规则变更"
        return self.reason


def _owed(
    planner: Planner, row: dict[str, Any], changes: Sequence[ChangeSpan] = ()
) -> _Owed | None:
    """What the elder is owed now; None when the rules cannot be read (then
    nothing is made or cancelled)."""
    if row["status"] != Status.ACTIVE:
        return _Owed({}, f"档案状态变更为“{Status(row['status']).label}”")
    if not row["consents_to_visits"]:
        owed = _Owed({}, "老人不愿接受探访")
    else:
        context = planner.context(row["village_id"])
        planned = planner.plan(
            context,
            row["tier"],
            row["tier_override"],
            row["ability"],
            row["health"],
            row["dementia"],
        )
        if planned is None:
            return None
        owed = _Owed({p.spec.identity: p for p in planned}, "探访规则或特殊时段变更")
        if planned:
            owed.tier, owed.tier_label = planned[0].tier, planned[0].tier_label
        tier = row["tier_override"] or row["tier"]
        for trigger in planner.triggers(row["village_id"], tier, changes):
            owed.tasks[trigger.spec.identity] = trigger
    base = row["last_reviewed_on"] or row["registered_on"]
    owed.review_due = add_months(base, REVIEW_MONTHS)
    review = planner.review(base)
    if review is not None:
        owed.tasks[review.identity] = Planned(review, "", "", "")
    return owed


def _same(task: VisitTask, spec: TaskSpec) -> bool:
    return (
        task.kind == spec.kind
        and task.deadline == spec.deadline
        and task.window_end == spec.window_end
        and task.month == spec.month
        and task.due_at == spec.due_at
        and list(task.modes) == list(spec.modes)
        and task.extra == spec.extra
        and task.remote_counts_as_home == spec.remote_counts_as_home
    )


def _refresh_batch(planner: Planner, pks: list[int]) -> tuple[int, int, int]:
    today = planner.today
    changes = recent_changes(pks, today)
    found = {
        row["pk"]: _owed(planner, row, changes.get(row["pk"], ()))
        for row in Elder.objects.filter(pk__in=pks).values(*_ELDER_COLUMNS)
    }
    # An elder whose rules cannot be read keeps every task as it is.
    owed = {pk: o for pk, o in found.items() if o is not None}
    pks = list(owed)
    starts = {start for o in owed.values() for _, start in o.tasks}
    # A follow-up (跟踪回访, tanfang.care.follow_up) is owed for what was found,
    # not under the rules: no change of the rules cancels it.
    existing = VisitTask.objects.filter(
        Q(window_end__gte=today) | Q(kind=TaskKind.REVIEW) | Q(window_start__in=starts),
        elder_id__in=pks,
        cancelled_at__isnull=True,
        window_start__lte=planner.end,
    ).exclude(kind=TaskKind.FOLLOW_UP)
    now = timezone.now()
    taken: set[tuple[int, str, date]] = set()
    cancelled: list[VisitTask] = []
    done: list[VisitTask] = []
    retiered: list[VisitTask] = []
    for task in existing:
        elder_owes = owed[task.elder_id]
        wanted = elder_owes.tasks.get((task.key, task.window_start))
        if task.is_open() and wanted is not None and _same(task, wanted.spec):
            if task.tier != wanted.tier:
                task.tier, task.profile = wanted.tier, wanted.profile
                retiered.append(task)
        elif task.is_open() and (
            task.kind == TaskKind.REVIEW
            and elder_owes.review_due is not None
            and task.deadline < elder_owes.review_due
        ):
            # The file was checked, so the next check is due later (registry review_elder).
            task.done_at = now
            done.append(task)
        elif task.is_open() and task.window_end >= today:
            task.cancelled_at = now
            task.cancel_reason = elder_owes.cancel_reason(task)[:200]
            cancelled.append(task)
            continue
        # Done, excused, kept, or over: it holds its requirement.
        taken.add((task.elder_id, task.key, task.window_start))
    VisitTask.objects.bulk_update(cancelled, ["cancelled_at", "cancel_reason"])
    VisitTask.objects.bulk_update(done, ["done_at"])
    VisitTask.objects.bulk_update(retiered, ["tier", "profile"])
    new = [
        _task(pk, planned, now)
        for pk, elder_owes in owed.items()
        for (key, start), planned in elder_owes.tasks.items()
        if (pk, key, start) not in taken
    ]
    VisitTask.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        _credit_earlier_visits(VisitTask.objects.filter(elder_id__in=pks, created_at=now), today)
    return len(cancelled), len(new), len(done)


def _credit_earlier_visits(made: QuerySet[VisitTask], today: date) -> int:
    """A festival or event task made after visits inside its window (a cold wave
    declared during the day, or back-dated) is completed by them, as if it had
    been open then (tanfang.visits.counting.earlier_credits); such a visit that
    had found no task now counts. Returns how many tasks."""
    credits = counting.earlier_credits(made, today)
    now = timezone.now()
    for task, visit_id in credits:
        task.done_at, task.done_by_visit_id = now, visit_id
    VisitTask.objects.bulk_update([task for task, _ in credits], ["done_at", "done_by_visit"])
    visits = Visit.objects.filter(pk__in={visit_id for _, visit_id in credits}, counted=False)
    visits.filter(not_counted_reason=counting.NO_TASK_REASON).update(not_counted_reason="")
    visits.update(counted=True)
    return len(credits)


def _task(elder_id: int, planned: Planned, now: Any) -> VisitTask:
    spec = planned.spec
    return VisitTask(
        elder_id=elder_id,
        kind=str(spec.kind),
        key=spec.key,
        label=spec.label,
        window_start=spec.window_start,
        deadline=spec.deadline,
        window_end=spec.window_end,
        month=spec.month,
        due_at=spec.due_at,
        modes=list(spec.modes),
        extra=spec.extra,
        remote_counts_as_home=spec.remote_counts_as_home,
        tier=planned.tier,
        profile=planned.profile,
        cite=spec.cite[:200],
        created_at=now,
    )


# --- Follow-ups (跟踪回访) ------------------------------------------------------------
# Owed by care after a need is resolved or an emergency closed (tanfang.care.follow_up
# says when and why); made and cancelled here, where visits' tasks are written.


def open_follow_up(
    elder: Elder,
    *,
    key: str,
    label: str,
    day: date,
    days: int,
    grace_days: int,
    modes: Sequence[str],
    cite: str,
) -> VisitTask:
    """The follow-up task (FOLLOW_UP) owed for what was settled on `day`: it opens
    the next day, so that the visit that reported the result is not the one that
    confirms it; due `days` after `day`, still done by a visit `grace_days` more.
    On top of the county's rules: never counted in a month's figures
    (tanfang.visits.models.VISIT_KINDS), never cancelled by their refresh. Asked
    for again (the same elder, key and day), it is the open one already made."""
    key, start = key[:60], day + timedelta(days=1)
    made = VisitTask.objects.filter(
        elder=elder, key=key, window_start=start, cancelled_at__isnull=True
    ).first()
    if made is not None:
        return made
    deadline = day + timedelta(days=days)
    return VisitTask.objects.create(
        elder=elder,
        kind=TaskKind.FOLLOW_UP,
        key=key,
        label=label[:100],
        window_start=start,
        deadline=deadline,
        window_end=deadline + timedelta(days=grace_days),
        # Never counted in a month's figures; kept like every task's.
        month=deadline.replace(day=1),
        modes=list(modes),
        cite=cite[:200],
    )


def cancel_follow_up(task: VisitTask, *, reason: str, at: datetime) -> None:
    """A follow-up no longer owed (what it was to confirm proved not done),
    cancelled at `at`; a task already done, excused or cancelled stays as it is."""
    if task.kind != TaskKind.FOLLOW_UP:
        raise ValueError(f"task {task.pk} is not a follow-up")
    if not task.is_open():
        return
    task.cancelled_at = at
    task.cancel_reason = reason[:200]
    task.save(update_fields=["cancelled_at", "cancel_reason"])

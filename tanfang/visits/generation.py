"""Making the visit tasks: the daily run (`manage.py generate_tasks`), the refresh
when an elder's tier, status or consent changes, and excusing a task.

`tanfang.visits.schedule` says which tasks one elder is owed in a month; here
they are stored for every active elder. The rules depend only on the county's
profile and open numbers, the declared events of the place, the elder's tier and
the three facts that change the modes (ability, health, dementia), so a plan is
computed once per distinct combination of those and shared by all the elders who
have it: at 3,000,000 elders there are a few hundred, not millions.

The daily run inserts in one statement per kind with the database joining the
elders to the plans (temporary tables), ignoring the tasks that exist already
(the unique constraint on elder, requirement and window start), so a second run
creates nothing. Only tasks whose window has not ended are made: an elder who
joins mid-month is not owed the half-month that is over.
"""

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.jurisdiction import tiers
from tanfang.jurisdiction.models import DeclaredEvent
from tanfang.policy import engine
from tanfang.policy.changes import Change
from tanfang.policy.engine import EventKind, Facts
from tanfang.registry.categories import months_later
from tanfang.registry.models import Elder, LifeEvent, Status
from tanfang.registry.queries import REVIEW_MONTHS
from tanfang.reports import rollups
from tanfang.visits import schedule
from tanfang.visits.models import ExcuseReason, TaskKind, TaskState, VisitTask
from tanfang.visits.schedule import ChangeSpan, EventSpan, TaskSpec

logger = logging.getLogger(__name__)
# The current month and the next, so that the visitor's "upcoming" is listed.
MONTHS = 2
_BATCH = 2000
# Facts stand-in: the tier is stored, so age plays no part in choosing the rule.
_ANY_BIRTH = date(1900, 1, 1)


@dataclass(frozen=True)
class Context:
    """What a village's rules depend on: the profile in force, the county's
    numbers and the events declared for the village or a region above it."""

    profile: str
    overrides: tuple[tuple[str, Any], ...]
    events: tuple[EventSpan, ...]


@dataclass(frozen=True)
class Planned:
    spec: TaskSpec
    tier: str
    tier_label: str
    profile: str


class Planner:
    """The tasks of the months from `today`'s on, computed once per distinct
    (context, tier, facts) and kept."""

    def __init__(self, today: date, months: int = MONTHS) -> None:
        if months < 1:
            raise ValueError("months must be at least 1")
        self.today = today
        self.months = [schedule.next_month(today.year, today.month, n) for n in range(months)]
        self.start = date(today.year, today.month, 1)
        self.end = schedule.month_bounds(*self.months[-1])[1]
        self.choices = tiers.all_choices()
        self.events = [
            (
                event.region,
                EventSpan(
                    event.pk, EventKind(event.kind), event.title, event.starts_on, event.ends_on
                ),
            )
            for event in DeclaredEvent.objects.filter(
                starts_on__lte=self.end, ends_on__gte=self.start
            )
            .select_related("region")
            .order_by("starts_on", "pk")
        ]
        self._contexts: dict[str, Context] = {}
        self._plans: dict[tuple[Any, ...], tuple[Planned, ...] | None] = {}
        # Profiles that cannot be read, and why: their elders keep the tasks
        # they have, and get none made or cancelled, until the file is fixed.
        self.broken: dict[str, str] = {}

    def context(self, village: str) -> Context:
        found = self._contexts.get(village)
        if found is None:
            profile, overrides = tiers.choice_for(village, self.today, self.choices)
            found = Context(
                profile,
                tuple(sorted(overrides.items())),
                tuple(span for region, span in self.events if region.contains(village)),
            )
            self._contexts[village] = found
        return found

    def plan(
        self,
        context: Context,
        tier: str,
        tier_override: str,
        ability: str,
        health: str,
        dementia: bool,
    ) -> tuple[Planned, ...] | None:
        """Visit tasks (not the file review) of an elder with these attributes;
        None when the rules cannot be read."""
        key = (context, tier, tier_override, ability, health, dementia)
        if key not in self._plans:
            self._plans[key] = self._compute(
                context, tier_override or tier, ability, health, dementia
            )
        return self._plans[key]

    def _compute(
        self, context: Context, tier_key: str, ability: str, health: str, dementia: bool
    ) -> tuple[Planned, ...] | None:
        if context.profile in self.broken:
            return None
        facts = Facts(
            birth_date=_ANY_BIRTH, ability=ability or None, health=health or None, dementia=dementia
        )
        seen: set[tuple[str, date]] = set()
        planned = []
        try:
            profile = engine.load(context.profile)
            for year, month in self.months:
                version = schedule.version_for_month(profile, dict(context.overrides), year, month)
                tier = schedule.tier_of(version, tier_key)
                rules = schedule.rules_for(tier, facts)
                for spec in schedule.tasks_for_month(rules, version, context.events, year, month):
                    if spec.window_end >= self.today and spec.identity not in seen:
                        seen.add(spec.identity)
                        planned.append(Planned(spec, tier.key, tier.label, context.profile))
        except ValueError as error:  # ConfigError included
            self.broken[context.profile] = engine.problem_of(context.profile, error)
            logger.error("visit tasks not planned: %s: %s", context.profile, error)
            return None
        return tuple(planned)

    def triggers(self, village: str, tier_key: str, changes: Sequence[ChangeSpan]) -> list[Planned]:
        """Trigger tasks (a visit within H hours of a fall …) owed for `changes`
        under the rules in force today; [] when the rules cannot be read."""
        if not changes:
            return []
        context = self.context(village)
        if context.profile in self.broken:
            return []
        try:
            profile = engine.load(context.profile)
            version = schedule.version_for_month(
                profile, dict(context.overrides), self.today.year, self.today.month
            )
        except ValueError as error:
            self.broken[context.profile] = engine.problem_of(context.profile, error)
            logger.error("trigger tasks not planned: %s: %s", context.profile, error)
            return []
        label = dict((t.key, t.label) for t in version.tiers).get(tier_key, "")
        return [
            Planned(spec, tier_key, label, context.profile)
            for spec in schedule.trigger_tasks(version, tier_key, changes)
            if spec.window_end >= self.today
        ]

    def review(self, base: date) -> TaskSpec | None:
        """The file check due six months after `base` (the last check, or the
        registration), when it is not yet past and opens by the end of the months
        planned (registry/queries.py review_due_on)."""
        due = months_later(base, REVIEW_MONTHS)
        if due < self.today or due - timedelta(days=schedule.REVIEW_LEAD_DAYS) > self.end:
            return None
        return schedule.review_task(due)

    def review_bases(self) -> Iterator[tuple[date, TaskSpec]]:
        """Every base day whose review task is made now: the days six months
        before the due days from today to the end of the months planned."""
        day = months_later(self.today, -REVIEW_MONTHS) - timedelta(days=4)
        last = months_later(self.end, -REVIEW_MONTHS) + timedelta(
            days=schedule.REVIEW_LEAD_DAYS + 4
        )
        while day <= last:
            spec = self.review(day)
            if spec is not None:
                yield day, spec
            day += timedelta(days=1)


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
            record(
                Action.TASKS_GENERATED,
                detail={"today": str(today), "months": months, "created": created},
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
    since = datetime.combine(planner.today - TRIGGER_LOOKBACK, time.min, tzinfo=rollups.zone())
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
    owed.review_due = months_later(base, REVIEW_MONTHS)
    review = planner.review(base)
    if review is not None:
        owed.tasks[review.identity] = Planned(review, "", "", "")
    return owed


# Changes recorded this long ago may still owe an open trigger task (a trigger
# falls due at most 720 hours after, and stays open a week more).
TRIGGER_LOOKBACK = timedelta(days=30 + schedule.TRIGGER_GRACE_DAYS + 1)


def recent_changes(elder_ids: Sequence[int], today: date) -> dict[int, list[ChangeSpan]]:
    """The major changes on the files of `elder_ids` (tanfang.registry.models.
    LifeEvent, not withdrawn) recorded lately enough to owe a trigger task that
    may still be open: a trigger runs from when the change is recorded."""
    since = datetime.combine(today - TRIGGER_LOOKBACK, time.min, tzinfo=rollups.zone())
    found: dict[int, list[ChangeSpan]] = {}
    events = LifeEvent.objects.filter(
        elder_id__in=list(elder_ids), withdrawn_at__isnull=True, recorded_at__gte=since
    ).order_by("elder_id", "recorded_at", "pk")
    for elder_id, pk, change, recorded_at in events.values_list(
        "elder_id", "pk", "change", "recorded_at"
    ):
        found.setdefault(elder_id, []).append(ChangeSpan(pk, Change(change), recorded_at))
    return found


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
    return len(cancelled), len(new), len(done)


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


# --- Excusing a task ----------------------------------------------------------------


@transaction.atomic
def excuse_task(
    *,
    acting_user: User,
    task: VisitTask,
    reason: str,
    note: str,
    request: HttpRequest | None = None,
) -> VisitTask:
    """The elder is in hospital, away or declined: the task is excused with the
    reason and who, not missed (DOMAIN.md "Visits")."""
    access.check(acting_user, Perm.ASSIGNMENTS_MANAGE)
    elder = access.get_elder_for(acting_user, task.elder_id)
    task = VisitTask.objects.select_for_update().get(pk=task.pk)
    note = note.strip()
    errors: dict[str, str] = {}
    if reason not in ExcuseReason.values:
        errors["reason"] = "请选择免除原因。"
    elif reason == ExcuseReason.OTHER and not note:
        errors["note"] = "免除原因为“其他”时，请填写说明。"
    if len(note) > 200:
        errors["note"] = "说明不能超过200字。"
    if not task.is_open():
        state = task.state_on(timezone.localdate())
        errors["task"] = f"该任务{TaskState(state).label}，不能免除。"
    if errors:
        raise ValidationError(errors)
    task.excused_at = timezone.now()
    task.excused_by = acting_user
    task.excuse_reason = reason
    task.excuse_note = note
    task.save(update_fields=["excused_at", "excused_by", "excuse_reason", "excuse_note"])
    # An excused task is met (docs/统计口径.md).
    rollups.refresh_elder_month(task.elder_id, task.month)
    record(
        Action.TASK_EXCUSED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=task,
        detail={
            "elder": elder.pk,
            "key": task.key,
            "window_start": str(task.window_start),
            "reason": reason,
        },
    )
    return task

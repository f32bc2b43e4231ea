"""Many visits at once: `record_visit`'s set-based variant, for loading a
history (the demo county's six months, tanfang.demo), and the dating of a
loaded history.

Why a variant: six months of visits for 2,000 elders are some 20,000 records,
and `record_visit` takes about 6 ms each on SQLite (a dozen queries: scope,
lock, form, visitors, open tasks, sequence, findings, audit, the month's
rollup), two minutes in all, where the visits may add a minute at most to the
first `make run`. `VisitBatch` stores them a thousand to a statement, with
record_visit's own rules, not copies of them:

- every visit passes `check_visit` (the function `record_visit` calls: scope,
  status, mode and consent, times, visitors, answers, needs, signatures,
  location), after the same permission and scope checks;
- the open tasks of the visit's day are those of `counting.open_tasks_on`
  (window holds the day, not done, excused or cancelled, not a file review;
  due first), kept in memory as visits complete them, and `counting.decide`
  says which the visit completes and why not;
- the sequence number is the elder's last plus one; the content hash is
  `fingerprint` of the same arguments, so the same visit sent again through
  the API is a replay, not a conflict;
- a visit sent (`recorded_at`) after its month locked is a late entry (补录)
  as `record_visit` makes one: its reason asked for, pending, counted in
  nothing (tanfang.visits.closing); a history recorded at the time has none;
- each visit has its VISIT_RECORDED audit entry (`tanfang.audit.actions.record`)
  with the same detail, and a follow-up (跟踪回访) the visit completes confirms
  its need through `confirm_follow_ups`, as `record_visit` does.

What it leaves to the caller, who loads a whole history: a visit that finds
something (a hazard, a need not met) is refused here and goes through
`record_visit`, which makes those records; the monthly rollups are counted once
for the months loaded (tanfang.reports.rebuild.recompute_month) instead of
after every visit.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.care import follow_up
from tanfang.registry.models import Elder
from tanfang.visits import checklist, counting
from tanfang.visits.actions import check_visit, digest, fingerprint, late_detail
from tanfang.visits.models import Assignment, LateState, TaskKind, Visit, Visitor, VisitTask


@dataclass(frozen=True)
class VisitRow:
    """One visit, with `record_visit`'s arguments (those a history has), and when
    its visitor sent it (`recorded_at`)."""

    acting_user: User
    uuid: UUID
    elder: Elder
    mode: str
    visited_at: datetime
    visitors: Sequence[Visitor]
    answers: Mapping[str, Any]
    refused: bool
    needs_found: Sequence[Mapping[str, Any]]
    services_given: str
    visitor_signature: str
    elder_signature: str
    started_at: datetime | None
    ended_at: datetime | None
    latitude: Decimal | None
    longitude: Decimal | None
    location_accuracy: float | None
    recorded_at: datetime
    # 补录: why a visit sent after its month locked was sent so late.
    late_reason: str = ""


class VisitBatch:
    """The visits of some elders, stored in batches: `add` each (checked at
    once), `flush` at the end. Visits of these elders stored meanwhile by
    `record_visit` are told with `recorded`, tasks made meanwhile with `owed`."""

    BATCH = 1000

    def __init__(self, elders: Iterable[int]) -> None:
        elders = list(elders)
        self.tasks: dict[int, list[VisitTask]] = defaultdict(list)
        for task in (
            VisitTask.objects.filter(elder_id__in=elders, cancelled_at__isnull=True)
            .exclude(kind=TaskKind.REVIEW)
            .order_by("pk")
        ):
            self.tasks[task.elder_id].append(task)
        self.sequence: dict[int, int] = dict(
            Visit.objects.filter(elder_id__in=elders)
            .values("elder_id")
            .annotate(n=Max("sequence"))
            .values_list("elder_id", "n")
        )
        self.pending: list[tuple[Visit, VisitRow, tuple[VisitTask, ...], dict[str, Any]]] = []

    def open_tasks(self, elder_id: int, day: date) -> list[VisitTask]:
        """`counting.open_tasks_on`, read from memory."""
        return sorted(
            (
                t
                for t in self.tasks[elder_id]
                if t.window_start <= day <= t.window_end
                and t.done_at is None
                and t.excused_at is None
                and t.cancelled_at is None
            ),
            key=lambda t: (t.deadline, t.window_start, t.pk),
        )

    def recorded(self, visit: Visit) -> None:
        """A visit stored by `record_visit` meanwhile: its tasks are done."""
        done = set(visit.completed_tasks.values_list("pk", flat=True))
        for task in self.tasks[visit.elder_id]:
            if task.pk in done:
                task.done_at = visit.recorded_at
        self.sequence[visit.elder_id] = visit.sequence

    def owed(self, tasks: Iterable[VisitTask]) -> None:
        """Tasks made meanwhile (a follow-up): later visits may complete them."""
        for task in tasks:
            self.tasks[task.elder_id].append(task)

    def add(self, row: VisitRow) -> None:
        """Check `row` as `record_visit` does (a ValidationError keyed by field)
        and queue it; a visit that would make a hazard or a need is a ValueError."""
        elder = row.elder
        access.check(row.acting_user, Perm.VISITS_RECORD)
        if not access.in_scope(row.acting_user, elder.village_id):
            raise Http404
        checked = check_visit(
            acting_user=row.acting_user,
            elder=elder,
            mode=row.mode,
            visited_at=row.visited_at,
            visitors=row.visitors,
            answers=row.answers,
            refused=row.refused,
            needs_found=row.needs_found,
            satisfaction="",
            visitor_signature=row.visitor_signature,
            elder_signature=row.elder_signature,
            photo_bytes=b"",
            started_at=row.started_at,
            ended_at=row.ended_at,
            latitude=row.latitude,
            longitude=row.longitude,
            location_accuracy=row.location_accuracy,
            late_reason=row.late_reason,
            recorded_at=row.recorded_at,
        )
        found = (
            checklist.findings(checked.form, checked.answers)
            if checked.answers
            else checklist.Findings(hazards=[], needs=[], bad_answers=[])
        )
        if found.hazards or found.needs or any(not n["met"] for n in checked.needs):
            raise ValueError(f"visit {row.uuid} finds something: store it with record_visit")
        day = timezone.localdate(row.visited_at)
        if checked.late is not None:
            outcome = counting.Outcome((), (checked.late.pending_words(),))
        else:
            outcome = counting.decide(
                self.open_tasks(elder.pk, day),
                mode=row.mode,
                refused=row.refused,
                tier_label=counting.tier_label_of(elder),
            )
        self.sequence[elder.pk] = self.sequence.get(elder.pk, 0) + 1
        visit = Visit(
            uuid=row.uuid,
            content_hash=fingerprint(
                elder=elder.pk,
                mode=row.mode,
                visited_at=row.visited_at,
                visitors=sorted(v.pk for v in row.visitors),
                answers=row.answers,
                refused=row.refused,
                needs_found=list(row.needs_found),
                texts=[row.services_given, "", "", ""],
                signatures=[
                    digest(row.visitor_signature.encode()),
                    digest(row.elder_signature.encode()),
                ],
                photo="",
                evidence=[
                    row.started_at,
                    row.ended_at,
                    row.latitude,
                    row.longitude,
                    row.location_accuracy,
                ],
            ),
            elder_id=elder.pk,
            village_id=elder.village_id,
            sequence=self.sequence[elder.pk],
            mode=row.mode,
            refused=row.refused,
            visited_at=row.visited_at,
            recorded_by=row.acting_user,
            recorded_at=row.recorded_at,
            checklist=checked.form.name,
            answers=checked.answers,
            needs_found=checked.needs,
            services_given=row.services_given.strip(),
            visitor_signature=row.visitor_signature,
            elder_signature=row.elder_signature,
            started_at=row.started_at,
            ended_at=row.ended_at,
            latitude=row.latitude,
            longitude=row.longitude,
            location_accuracy=row.location_accuracy,
            counted=outcome.counts,
            not_counted_reason="\n".join(outcome.reasons),
            late_state=LateState.PENDING if checked.late is not None else "",
            late_reason=checked.late_reason,
        )
        for task in outcome.completes:
            task.done_at = row.recorded_at
        self.pending.append((visit, row, outcome.completes, late_detail(checked.late)))
        if len(self.pending) >= self.BATCH:
            self.flush()

    @transaction.atomic
    def flush(self) -> None:
        if not self.pending:
            return
        Visit.objects.bulk_create([visit for visit, _, _, _ in self.pending])
        Visit.visitors.through.objects.bulk_create(
            Visit.visitors.through(visit_id=visit.pk, visitor_id=visitor.pk)
            for visit, row, _, _ in self.pending
            for visitor in row.visitors
        )
        _set_done(
            (task.done_at, visit.pk, task.pk)
            for visit, _, completes, _ in self.pending
            for task in completes
        )
        for visit, row, completes, late in self.pending:
            record(
                Action.VISIT_RECORDED,
                actor=row.acting_user,
                region_code=visit.village_id,
                target=visit,
                detail={
                    "elder": visit.elder_id,
                    "sequence": visit.sequence,
                    "mode": visit.mode,
                    "refused": visit.refused,
                    "tasks_done": [t.pk for t in completes],
                    "photo_name": "",
                    **late,
                },
            )
            if any(task.kind == TaskKind.FOLLOW_UP for task in completes):
                follow_up.confirm_follow_ups(visit, completes)
        self.pending = []


def _set_done(done: Iterable[tuple[datetime | None, int, int]]) -> None:
    """Tasks done by the batch's visits: one statement, executed per row."""
    table = VisitTask._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET done_at = %s, done_by_visit_id = %s WHERE id = %s",  # noqa: S608
            [
                (connection.ops.adapt_datetimefield_value(at), visit, task)
                for at, visit, task in done
            ],
        )


# --- Dating a loaded history -----------------------------------------------------------
# The actions stamp "now"; a history loaded today happened over past months.


def date_assignments(started: Mapping[Assignment, datetime]) -> None:
    """包干 set up when each file was opened, not today."""
    for assignment, at in started.items():
        assignment.started_at = at
    Assignment.objects.bulk_update(list(started), ["started_at"], batch_size=500)


def date_recorded(visits: Iterable[tuple[int, datetime]]) -> None:
    """Visits stored by `record_visit` now, as if their visitors had sent them
    from the phone just after the visit: their record time, and the time their
    tasks were done, are then (a `VisitBatch` stores them so)."""
    visits = list(visits)
    rows = [Visit(pk=pk, recorded_at=at) for pk, at in visits]
    Visit.objects.bulk_update(rows, ["recorded_at"], batch_size=500)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {VisitTask._meta.db_table} SET done_at = %s WHERE done_by_visit_id = %s",  # noqa: S608
            [(connection.ops.adapt_datetimefield_value(at), pk) for pk, at in visits],
        )


def date_excused(excused: Mapping[VisitTask, datetime]) -> None:
    """Tasks excused (`excuse_task`) when the period was over, not today."""
    for task, at in excused.items():
        task.excused_at = at
    VisitTask.objects.bulk_update(list(excused), ["excused_at"], batch_size=500)


def date_window(task: VisitTask, *, window_start: date, deadline: date, window_end: date) -> None:
    """A task made today whose cause (a need resolved, an emergency closed) was
    earlier: its window as it would have been made then."""
    task.window_start = window_start
    task.deadline = deadline
    task.window_end = window_end
    task.save(update_fields=["window_start", "deadline", "window_end"])

"""Dating a loaded history of care's records (the demo county's six months,
tanfang.demo.care).

The actions (needs, hazards, emergencies) stamp "now": a history loaded today
through them happened over past months. These functions give the rows the
actions made the times they happened, and change nothing else; the rows
themselves are made only by the actions. The audit log is append-only: its
entries keep the time they were written.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from tanfang.care.follow_up import CONFIRMED_NOTE
from tanfang.care.models import Emergency, EmergencyStep, Hazard, Need, NeedEvent
from tanfang.visits.models import Visit


def date_findings(visit: Visit, at: datetime) -> None:
    """The hazards and needs `visit` found, entered when it was recorded (`at`)."""
    Hazard.objects.filter(visit=visit).update(created_at=at)
    Need.objects.filter(visit=visit).update(created_at=at, updated_at=at)
    NeedEvent.objects.filter(need__visit=visit, from_status="").update(at=at)


def date_need_moves(
    need: Need, moves: Sequence[datetime], *, updated_at: datetime, resolved_at: datetime | None
) -> None:
    """The status changes of `need` (its events after the first, in order)
    happened at `moves`; it was last changed at `updated_at`, resolved at
    `resolved_at` (if it was)."""
    events = list(NeedEvent.objects.filter(need=need).exclude(from_status="").order_by("pk"))
    for event, at in zip(events, moves, strict=True):
        event.at = at
    NeedEvent.objects.bulk_update(events, ["at"])
    need.updated_at = updated_at
    fields = ["updated_at"]
    if resolved_at is not None:
        need.resolved_at = resolved_at
        fields.append("resolved_at")
    need.save(update_fields=fields)


def date_reminder(hazard: Hazard, at: datetime) -> None:
    """The elder or the family was reminded of `hazard` at `at`."""
    Hazard.objects.filter(pk=hazard.pk).update(reminded_at=at)
    hazard.reminded_at = at


def date_emergency(
    emergency: Emergency,
    *,
    created_at: datetime,
    closed_at: datetime | None,
    steps: Mapping[EmergencyStep, datetime],
) -> None:
    """`emergency` entered at `created_at`, closed at `closed_at` (if it was),
    each step recorded at its time."""
    for step, at in steps.items():
        step.recorded_at = at
    EmergencyStep.objects.bulk_update(list(steps), ["recorded_at"])
    emergency.created_at = created_at
    fields = ["created_at"]
    if closed_at is not None:
        emergency.closed_at = closed_at
        fields.append("closed_at")
    emergency.save(update_fields=fields)


def date_confirmations(needs: Iterable[Need]) -> None:
    """A need confirmed by a follow-up visit (`confirm_follow_ups`) was
    confirmed when that visit was recorded: the time its follow-up task was done."""
    dated = []
    for need in needs:
        task = need.follow_up_task
        if need.confirmed_at is None or task is None or task.done_at is None:
            continue
        dated.append(Need(pk=need.pk, confirmed_at=task.done_at, updated_at=task.done_at))
        events = NeedEvent.objects.filter(need_id=need.pk, note=CONFIRMED_NOTE)
        if task.done_by_visit_id is None:
            events = events.filter(visit__isnull=True)
        else:
            events = events.filter(visit_id=task.done_by_visit_id)
        events.update(at=task.done_at)
    Need.objects.bulk_update(dated, ["confirmed_at", "updated_at"])

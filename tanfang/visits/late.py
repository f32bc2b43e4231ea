"""Deciding a late entry (补录): a township or county officer approves it, and
the visit counts in its locked month, or refuses it, and it never does (issue
16 "Closed months"; the lock itself is tanfang.visits.closing).

Approving re-opens and re-freezes the month: in one transaction the visit is
decided like a visit recorded now (`counting.decide` on the tasks open on its
day), completes those tasks, the months' rollup rows are refreshed through
tanfang.refresh, and the audit entry records who, when, which visit, the
months re-frozen and the village's figures of the visit's month before and
after. Refusing changes no figure and is audited too. Either decision is made
once: deciding again is refused with a message and changes nothing.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tanfang import refresh
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.care import follow_up
from tanfang.months import month_of, zone
from tanfang.registry.models import Elder
from tanfang.reports.models import VillageMonth
from tanfang.visits import counting
from tanfang.visits.models import LateState, Visit

NOTE_MAX = 500


@dataclass(frozen=True)
class Decided:
    visit: Visit
    # The months whose figures were refreshed (re-frozen), oldest first.
    months: tuple[date, ...]


@transaction.atomic
def approve_late(
    *, acting_user: User, visit: Visit, note: str, request: HttpRequest | None = None
) -> Decided:
    """Count a late entry in its month: it completes the tasks open on its day
    now, and the months it counts in are re-frozen with it."""
    visit, note = _pending(acting_user, visit, note)
    elder = visit.elder
    day = timezone.localdate(visit.visited_at)
    month = month_of(day)
    before = _figures(visit.village_id, month)
    tasks = list(counting.open_tasks_on(elder, day).select_for_update())
    outcome = counting.decide(
        tasks, mode=visit.mode, refused=visit.refused, tier_label=counting.tier_label_of(elder)
    )
    now = timezone.now()
    for task in outcome.completes:
        task.done_at = now
        task.done_by_visit = visit
        task.save(update_fields=["done_at", "done_by_visit"])
    follow_up.confirm_follow_ups(visit, outcome.completes)
    _decide(visit, LateState.APPROVED, acting_user, note, now)
    visit.counted = outcome.counts
    visit.not_counted_reason = "\n".join(outcome.reasons)
    visit.save(update_fields=[*_DECISION_FIELDS, "counted", "not_counted_reason"])
    months = tuple(sorted({month, *(t.month for t in outcome.completes)}))
    refresh.after_visits_changed([elder.pk], months)
    record(
        Action.LATE_VISIT_APPROVED,
        actor=acting_user,
        request=request,
        region_code=visit.village_id,
        target=visit,
        detail={
            "elder": elder.pk,
            "visited_on": day.isoformat(),
            "note": note,
            "tasks_done": [t.pk for t in outcome.completes],
            "refrozen": [m.isoformat() for m in months],
            "refrozen_at": now.astimezone(zone()).isoformat(),
            # The village's figures of the visit's month (every elder).
            "before": before,
            "after": _figures(visit.village_id, month),
        },
    )
    return Decided(visit, months)


@transaction.atomic
def refuse_late(
    *, acting_user: User, visit: Visit, note: str, request: HttpRequest | None = None
) -> Decided:
    """Keep a late entry out of every figure, with the officer's reason; the
    record itself stays (nothing is deleted)."""
    visit, note = _pending(acting_user, visit, note)
    now = timezone.now()
    _decide(visit, LateState.REFUSED, acting_user, note, now)
    visit.not_counted_reason = f"补录不予计入：{note}"
    visit.save(update_fields=[*_DECISION_FIELDS, "not_counted_reason"])
    record(
        Action.LATE_VISIT_REFUSED,
        actor=acting_user,
        request=request,
        region_code=visit.village_id,
        target=visit,
        detail={
            "elder": visit.elder_id,
            "visited_on": timezone.localdate(visit.visited_at).isoformat(),
            "note": note,
        },
    )
    return Decided(visit, ())


_DECISION_FIELDS = ("late_state", "late_decided_by", "late_decided_at", "late_decision_note")


def _pending(acting_user: User, visit: Visit, note: str) -> tuple[Visit, str]:
    """The visit, locked and read again, if the officer may decide it and it
    waits; its elder locked first, as `record_visit` does (one writer per elder)."""
    access.check(acting_user, Perm.VISITS_APPROVE_LATE)
    found = access.get_or_404(Visit.objects.visible_to(acting_user), pk=visit.pk)
    Elder.objects.select_for_update().filter(pk=found.elder_id).first()
    visit = Visit.objects.select_for_update().select_related("elder").get(pk=found.pk)
    note = note.strip()
    if visit.late_state == "":
        raise ValidationError({"visit": "这份探访记录是按时录入的，不是补录，无需审核。"})
    if visit.late_state != LateState.PENDING:
        decided_at = timezone.localtime(visit.late_decided_at, zone())
        who = visit.late_decided_by.full_name if visit.late_decided_by else ""
        raise ValidationError(
            {
                "visit": f"这条补录已于{decided_at:%Y年%m月%d日 %H:%M}由{who}审核"
                f"（{LateState(visit.late_state).label}），未作修改。"
            }
        )
    if not note:
        raise ValidationError({"note": "请填写审核意见。"})
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": f"审核意见不能超过{NOTE_MAX}字。"})
    return visit, note


def _decide(visit: Visit, state: LateState, acting_user: User, note: str, now: datetime) -> None:
    visit.late_state = state
    visit.late_decided_by = acting_user
    visit.late_decided_at = now
    visit.late_decision_note = note


def _figures(village: str, month: date) -> dict[str, int]:
    """The village's counters of `month` for every elder (zeros when none)."""
    row = VillageMonth.objects.filter(village_id=village, month=month, dimension="").first()
    if row is None:
        return {"counted": 0, "visited": 0, "compliant": 0}
    return {"counted": row.counted, "visited": row.visited, "compliant": row.compliant}

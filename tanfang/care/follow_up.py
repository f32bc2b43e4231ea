"""跟踪回访: the follow-up visit owed after a need is resolved or an emergency is
closed, and what the visit that makes it confirms.

000_4970ff49482a0570.txt 四(三)三是 and 001_35a01bee4c628ebd.txt 二(五)1: 乡镇（街道）
要对风险隐患排除情况、急需困难缓解情况、转介服务落实情况进行跟踪回访. The follow-up
is a `VisitTask` of kind FOLLOW_UP, so it appears in the visitor's lists and is
completed by a visit like any task (tanfang.visits.counting); it is owed on top of
the county's rules, never cancelled by their refresh, and not part of the monthly
compliance (tanfang.reports.rollups.VISIT_KINDS).

This module imports no actions, so that tanfang.visits.actions can call it.
"""

from collections.abc import Sequence
from datetime import date, timedelta

from django.utils import timezone

from tanfang.accounts.models import User
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.care.models import Need, NeedEvent, NeedStatus
from tanfang.policy.engine import Mode
from tanfang.registry.models import Elder
from tanfang.visits.models import TaskKind, Visit, VisitTask

# Days from the resolution to the follow-up's deadline; after it the follow-up is
# overdue but a visit still makes it for FOLLOW_UP_GRACE_DAYS more.
FOLLOW_UP_DAYS = 15
FOLLOW_UP_GRACE_DAYS = 30
# A call is enough to ask whether the help arrived.
FOLLOW_UP_MODES = (str(Mode.HOME), str(Mode.PHONE))
FOLLOW_UP_CITE = "000_4970ff49482a0570.txt 四(三)三是；001_35a01bee4c628ebd.txt 二(五)1"
CONFIRMED_NOTE = "跟踪回访确认已解决"


def follow_up_task_for(elder: Elder, *, key: str, label: str, day: date) -> VisitTask:
    """A follow-up task for `elder` owed after `day`: it opens the next day, so
    that the visit that reported the result is not the one that confirms it."""
    start = day + timedelta(days=1)
    deadline = day + timedelta(days=FOLLOW_UP_DAYS)
    return VisitTask.objects.create(
        elder=elder,
        kind=TaskKind.FOLLOW_UP,
        key=key[:60],
        label=label[:100],
        window_start=start,
        deadline=deadline,
        window_end=deadline + timedelta(days=FOLLOW_UP_GRACE_DAYS),
        # Never counted in a month's figures; kept like every task's.
        month=deadline.replace(day=1),
        modes=list(FOLLOW_UP_MODES),
        cite=FOLLOW_UP_CITE[:200],
    )


def confirm_follow_ups(visit: Visit, tasks: Sequence[VisitTask]) -> list[Need]:
    """The needs whose follow-up task `visit` has just completed are confirmed
    resolved (inside the visit's transaction). The visitor who finds otherwise
    reports it with `tanfang.care.actions.report_not_resolved`."""
    follow_ups = [t.pk for t in tasks if t.kind == TaskKind.FOLLOW_UP]
    if not follow_ups:
        return []
    needs = list(
        Need.objects.select_for_update().filter(
            follow_up_task_id__in=follow_ups, status=NeedStatus.RESOLVED, confirmed_at__isnull=True
        )
    )
    now = timezone.now()
    actor: User = visit.recorded_by
    for need in needs:
        need.confirmed_at = now
        need.updated_at = now
        need.save(update_fields=["confirmed_at", "updated_at"])
        NeedEvent.objects.create(
            need=need,
            from_status=NeedStatus.RESOLVED,
            to_status=NeedStatus.RESOLVED,
            note=CONFIRMED_NOTE,
            visit=visit,
            by=actor,
            at=now,
        )
        record(
            Action.NEED_CONFIRMED,
            actor=actor,
            region_code=visit.village_id,
            target=need,
            detail={"elder": need.elder_id, "visit": visit.pk, "task": need.follow_up_task_id},
        )
    return needs


def record_creation(needs: Sequence[Need]) -> None:
    """The first event of needs just stored (their creation, "" → open)."""
    NeedEvent.objects.bulk_create(
        NeedEvent(
            need=need,
            from_status="",
            to_status=need.status,
            note="",
            visit_id=need.visit_id,
            by_id=need.created_by_id,
            at=need.created_at,
        )
        for need in needs
    )

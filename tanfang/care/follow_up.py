"""跟踪回访: the follow-up visit owed after a need is resolved or an emergency is
closed, and what the visit that makes it confirms.

000_4970ff49482a0570.txt 四(三)三是 and 001_35a01bee4c628ebd.txt 二(五)1: 乡镇（街道）
要对风险隐患排除情况、急需困难缓解情况、转介服务落实情况进行跟踪回访. The follow-up
is a `VisitTask` of kind FOLLOW_UP, so it appears in the visitor's lists and is
completed by a visit like any task (tanfang.visits.counting); it is owed on top of
the county's rules, never cancelled by their refresh, and not part of the monthly
compliance (tanfang.visits.models.VISIT_KINDS).

Visits writes the task (tanfang.visits.generation.open_follow_up); care says when
it is owed and confirms the needs it was owed for. tanfang.visits.actions calls
`confirm_follow_ups` inside the transaction that stores the visit.
"""

from collections.abc import Sequence
from datetime import date

from django.utils import timezone

from tanfang.accounts.models import User
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.care.models import Need, NeedEvent, NeedStatus
from tanfang.policy.engine import Mode
from tanfang.registry.models import Elder
from tanfang.visits.generation import open_follow_up
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
    """The follow-up task `elder` is owed after `day` (visits makes it,
    tanfang.visits.generation.open_follow_up): it opens the next day, so that the
    visit that reported the result is not the one that confirms it."""
    return open_follow_up(
        elder,
        key=key,
        label=label,
        day=day,
        days=FOLLOW_UP_DAYS,
        grace_days=FOLLOW_UP_GRACE_DAYS,
        modes=FOLLOW_UP_MODES,
        cite=FOLLOW_UP_CITE,
    )


def confirm_follow_ups(visit: Visit, tasks: Sequence[VisitTask]) -> list[Need]:
    """The needs whose follow-up task `visit` has just completed are confirmed
    resolved (inside the visit's transaction). The visitor who finds otherwise
    reports it with `tanfang.care.needs.report_not_resolved`."""
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

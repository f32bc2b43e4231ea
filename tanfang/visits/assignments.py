"""Ending the assignments of an elder who left the registry: the roster's
writer that `tanfang.refresh` calls (the officer's own assign/end actions are
in `tanfang.visits.roster`)."""

from django.utils import timezone

from tanfang.accounts.models import User
from tanfang.registry.models import Elder
from tanfang.visits.models import Assignment


def end_assignments_for(elder: Elder, *, by: User | None, reason: str) -> int:
    """Nobody is responsible for visiting an elder who died or left; a return
    to the registry needs a new assignment (000_4970ff49482a0570.txt 三(二)
    包干责任人). The rows stay as history. Returns how many ended."""
    return Assignment.objects.filter(elder=elder, ended_at__isnull=True).update(
        ended_at=timezone.now(), ended_by=by, end_reason=reason
    )

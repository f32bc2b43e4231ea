"""The derived data of the elders, refreshed in one place and in one order.

An elder's file decides, in this order:

1. the tier (`tanfang.jurisdiction.tiers`, under the county's rules) and the
   data-quality warnings (`tanfang.registry.quality`), stored on the file by
   the registry (`tanfang.registry.derived`);
2. the visit tasks owed on that tier, status, consent and assignment
   (`tanfang.visits.generation`), which also brings the open months' rows of
   the monthly rollup up to date;
3. the assignments: an elder who left the registry keeps none
   (`tanfang.visits.assignments`);
4. the monthly rollup of past months a back-dated change reaches
   (`tanfang.reports.rollups`).

The actions that change an elder (registry, jurisdiction, roster, exchange)
call one function here after writing their own tables, in their transaction;
nothing else orders these steps. Nothing here leaves the database, so nothing
waits for the commit.
"""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from tanfang import months
from tanfang.accounts.models import User
from tanfang.jurisdiction import tiers
from tanfang.registry import derived, quality
from tanfang.registry.models import Elder, Status
from tanfang.reports import rollups
from tanfang.visits import assignments, generation

# Files whose refresh waits for the end of a `deferred()` block.
_deferred: ContextVar[dict[int, Elder] | None] = ContextVar("deferred_refresh", default=None)


@contextmanager
def deferred() -> Iterator[None]:
    """Refresh the files touched inside the block once, at its end, rather
    than after every write (a file built part by part, as the demo does)."""
    pending: dict[int, Elder] = {}
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    for elder in pending.values():
        after_elder_changed(elder)


def after_elder_changed(
    elder: Elder, *, since: date | None = None, by: User | None = None
) -> list[str]:
    """Everything derived from one elder's file, after a change to it.
    `since`: the first day the change reaches back to (a back-dated status
    change), whose months' rows are recomputed; `by`: who changed it (ends the
    assignments of an elder who left). Returns the file's warnings."""
    pending = _deferred.get()
    if pending is not None:
        pending[elder.pk] = elder
        return list(elder.quality_warnings)
    today = timezone.localdate()
    confirmed = elder.categories.filter(withdrawn_at__isnull=True).values_list(
        "category", flat=True
    )
    found = quality.warnings(elder, today, list(confirmed))
    # The tier depends on the same facts (tanfang.policy via the county's rules).
    if tiers.evaluate_tier(elder, today):
        derived.store_tier(elder)
    derived.store_warnings(elder, found)
    # The visits owed on the tier, the consent and the status.
    generation.refresh_tasks(elder, today)
    if elder.status != Status.ACTIVE:
        assignments.end_assignments_for(
            elder, by=by, reason=f"档案状态变更为“{Status(elder.status).label}”"
        )
    if since is not None:
        # The months from the change's on count the elder as it is now
        # (docs/统计口径.md: the status at each month's end).
        rollups.refresh_elders([elder.pk], months.months_between(since, today))
    return found


def after_visits_changed(elder_ids: Sequence[int], months: Iterable[date]) -> None:
    """A visit recorded or a task excused changes no tier, task or assignment,
    only the rows of the months it counts in (issue 6: counted at once)."""
    rollups.refresh_elders(list(elder_ids), set(months))


def after_events_declared(elders: QuerySet[Elder], today: date) -> None:
    """A heat wave, cold wave, typhoon, flood or epidemic declared for a
    subtree: the extra visits it asks for are owed at once
    (tanfang.visits.schedule)."""
    generation.generate_tasks(today=today, elders=elders)


def after_event_ended(elders: QuerySet[Elder], today: date) -> None:
    """A declared event ended early: its tasks end with it."""
    generation.refresh_tasks_for(elders, today)


def after_elders_registered(elders: QuerySet[Elder], today: date) -> None:
    """Files inserted in bulk with their tier and warnings already computed
    (`tanfang.registry.registration.register_many`): the visits they are owed
    from today, as a registration on the page makes them."""
    generation.generate_tasks(today=today, elders=elders)


def after_assignments_changed(elders: list[Elder]) -> None:
    """The elders' visit tasks follow who is responsible for them (issue 5:
    refreshed at once when an elder's assignment changes)."""
    today = timezone.localdate()
    for elder in elders:
        generation.refresh_tasks(elder, today)


def after_rules_changed(elders: QuerySet[Elder], today: date) -> int:
    """A county chose other rules or numbers: the tiers, then other counts,
    modes or festival windows for everyone, whatever their tier. Returns how
    many tiers changed."""
    changed = 0
    for dirty in tiers.changed_tiers(elders, today):
        derived.store_tiers(dirty)
        changed += len(dirty)
    generation.refresh_tasks_for(elders, today)
    return changed


def refresh_tiers(elders: QuerySet[Elder], today: date) -> int:
    """The daily run: ages cross thresholds, facts change; another tier owes
    other visits. Returns how many tiers changed."""
    changed = 0
    for dirty in tiers.changed_tiers(elders, today):
        derived.store_tiers(dirty)
        if dirty:
            generation.refresh_tasks_for(Elder.objects.filter(pk__in=[e.pk for e in dirty]), today)
        changed += len(dirty)
    return changed

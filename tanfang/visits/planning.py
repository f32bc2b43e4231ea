"""Which visit tasks an elder is owed: computed from the rules, never stored here.

`tanfang.visits.schedule` says which tasks one elder is owed in a month; the
`Planner` says it for the months planned and every elder, and
`tanfang.visits.generation` stores what it says (the daily run and the refresh).
The rules depend only on the county's profile and open numbers, the declared
events of the place, the elder's tier and the three facts that change the modes
(ability, health, dementia), so a plan is computed once per distinct combination
of those and shared by all the elders who have it: at 3,000,000 elders there are
a few hundred, not millions.

Reads only: the profiles, the declared events and the elders' major changes.
"""

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from tanfang.jurisdiction import tiers
from tanfang.jurisdiction.models import DeclaredEvent
from tanfang.months import add_months, zone
from tanfang.policy import engine
from tanfang.policy.changes import Change
from tanfang.policy.engine import EventKind, Facts
from tanfang.registry.models import LifeEvent
from tanfang.registry.queries import REVIEW_MONTHS
from tanfang.visits import schedule
from tanfang.visits.schedule import ChangeSpan, EventSpan, TaskSpec

logger = logging.getLogger(__name__)
# The current month and the next, so that the visitor's "upcoming" is listed.
MONTHS = 2
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
        due = add_months(base, REVIEW_MONTHS)
        if due < self.today or due - timedelta(days=schedule.REVIEW_LEAD_DAYS) > self.end:
            return None
        return schedule.review_task(due)

    def review_bases(self) -> Iterator[tuple[date, TaskSpec]]:
        """Every base day whose review task is made now: the days six months
        before the due days from today to the end of the months planned."""
        day = add_months(self.today, -REVIEW_MONTHS) - timedelta(days=4)
        last = add_months(self.end, -REVIEW_MONTHS) + timedelta(days=schedule.REVIEW_LEAD_DAYS + 4)
        while day <= last:
            spec = self.review(day)
            if spec is not None:
                yield day, spec
            day += timedelta(days=1)


# Changes recorded this long ago may still owe an open trigger task (a trigger
# falls due at most 720 hours after, and stays open a week more).
TRIGGER_LOOKBACK = timedelta(days=30 + schedule.TRIGGER_GRACE_DAYS + 1)


def recent_changes(elder_ids: Sequence[int], today: date) -> dict[int, list[ChangeSpan]]:
    """The major changes on the files of `elder_ids` (tanfang.registry.models.
    LifeEvent, not withdrawn) recorded lately enough to owe a trigger task that
    may still be open: a trigger runs from when the change is recorded."""
    since = datetime.combine(today - TRIGGER_LOOKBACK, time.min, tzinfo=zone())
    found: dict[int, list[ChangeSpan]] = {}
    events = LifeEvent.objects.filter(
        elder_id__in=list(elder_ids), withdrawn_at__isnull=True, recorded_at__gte=since
    ).order_by("elder_id", "recorded_at", "pk")
    for elder_id, pk, change, recorded_at in events.values_list(
        "elder_id", "pk", "change", "recorded_at"
    ):
        found.setdefault(elder_id, []).append(ChangeSpan(pk, Change(change), recorded_at))
    return found

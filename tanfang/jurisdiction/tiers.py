"""The stored tier of each elder (issue: "Stored tier"), computed by
`tanfang.policy` under the rules the elder's county follows."""

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from tanfang.jurisdiction.models import PolicyChoice
from tanfang.policy import engine
from tanfang.registry import queries as registry_queries
from tanfang.registry.models import Elder, ElderCategory

logger = logging.getLogger(__name__)

DEFAULT_PROFILE = "national"


def ancestors_and_self(code: str) -> list[str]:
    """County, city and province codes of a node, nearest first."""
    return [code[:digits].ljust(12, "0") for digits in (6, 4, 2)]


Choices = dict[str, list[PolicyChoice]]


def choice_for(
    code: str, on_date: date | None = None, choices: Choices | None = None
) -> tuple[str, dict[str, Any]]:
    """The profile and open numbers in force for a node on a day (today by
    default): its county's choice, or its city's, or its province's, each the
    latest from on or before that day; else the national rules."""
    on_date = on_date or timezone.localdate()
    codes = ancestors_and_self(code)
    if choices is None:
        choices = _by_region(PolicyChoice.objects.filter(region_id__in=codes))
    for candidate in codes:
        in_force = [c for c in choices.get(candidate, []) if c.since <= on_date]
        if in_force:
            return in_force[-1].profile, dict(in_force[-1].overrides)
    return DEFAULT_PROFILE, {}


def rules_version(code: str, day: date, choices: Choices | None = None) -> str:
    """Which rules a node's figures of the month of `day` are computed with, as
    stored on each monthly row: the profile chosen for the node on `day` (the
    month's last day, or today), in the version the month's tasks are made
    with (in force on its first day, tanfang.visits.schedule.version_for_month):
    "<profile>@<the version's first day>", e.g. "fujian-shishi@2023-09-28";
    "<profile>@?" when the profile cannot be read."""
    name, _ = choice_for(code, day, choices)
    try:
        profile = engine.load(name)
        version = profile.version_on(max(day.replace(day=1), profile.versions[0].since))
    except ValueError:
        return f"{name}@?"
    return f"{name}@{version.since.isoformat()}"


def _by_region(rows: Iterable[PolicyChoice]) -> Choices:
    found: Choices = {}
    for row in sorted(rows, key=lambda c: (c.region_id, c.since)):
        found.setdefault(row.region_id, []).append(row)
    return found


@dataclass(frozen=True)
class Household:
    """What the rules read of the file beyond the elder's own row
    (tanfang.policy.facts.CONDITION_FACTS): the newest stay in hospital, and
    whether anyone lives with the elder."""

    last_hospital_day: date | None = None
    lives_alone: bool | None = None


def households(elder_ids: Sequence[int]) -> dict[int, Household]:
    """`Household` of many elders: two queries."""
    hospital = registry_queries.last_hospital_day(elder_ids)
    alone = registry_queries.lives_alone(elder_ids)
    return {pk: Household(hospital.get(pk), alone.get(pk)) for pk in elder_ids}


def facts_of(
    elder: Elder, categories: Iterable[str], household: Household | None = None
) -> engine.Facts:
    """The facts of the file as the rules read them; each is declared, with the
    field it comes from, in tanfang.policy.facts.CONDITION_FACTS."""
    if household is None:
        household = households([elder.pk])[elder.pk] if elder.pk else Household()
    return engine.Facts(
        birth_date=elder.birth_date,
        categories=frozenset(categories),
        ability=elder.ability or None,
        dementia=elder.dementia,
        disability_grade=elder.disability_grade,
        health=elder.health or None,
        consents_to_home_visits=elder.consents_to_home_visits,
        life_threatening_illness=elder.life_threatening_illness,
        last_hospital_day=household.last_hospital_day,
        lives_alone=household.lives_alone,
        rural=elder.rural_registration,
        extreme_poverty=elder.extreme_poverty,
        dispersed_support=elder.dispersed_support,
        children_asked_for_visits=elder.children_asked_for_visits,
    )


def compute(
    elder: Elder,
    today: date,
    categories: Iterable[str],
    profile: str,
    overrides: dict[str, Any],
    household: Household | None = None,
) -> engine.Evaluation:
    """The elder's tier under `profile`; ConfigError (a ValueError) when the
    profile cannot be read."""
    return engine.evaluate(
        engine.load(profile), facts_of(elder, categories, household), today, overrides
    )


def _apply(elder: Elder, result: engine.Evaluation, profile: str) -> bool:
    values = {
        "tier": result.tier,
        "tier_label": result.tier_label,
        "tier_reasons": list(result.reasons),
        "tier_profile": profile,
    }
    if all(getattr(elder, k) == v for k, v in values.items()):
        return False
    for key, value in values.items():
        setattr(elder, key, value)
    return True


def assign(elder: Elder, categories: Iterable[str], today: date, choices: Choices) -> None:
    """Set the tier of an elder not yet saved (a bulk insert); `choices` as
    `PolicyChoice` rows by region code, read once for the whole batch."""
    profile, overrides = choice_for(elder.village_id, today, choices)
    try:
        result = compute(elder, today, categories, profile, overrides, Household())
    except ValueError as error:
        # Registered without a tier; the rules page of the county says why,
        # and the daily run sets it once the file is fixed.
        logger.error("tier not set: %s: %s", profile, error)
        return
    _apply(elder, result, profile)


def all_choices() -> Choices:
    return _by_region(PolicyChoice.objects.all())


def evaluate_tier(elder: Elder, today: date) -> bool:
    """Recompute one elder's tier onto `elder` (not stored: the registry stores
    it, `tanfang.refresh`); True when it changed."""
    profile, overrides = choice_for(elder.village_id, today)
    categories = ElderCategory.objects.filter(elder=elder, withdrawn_at__isnull=True)
    try:
        result = compute(
            elder, today, categories.values_list("category", flat=True), profile, overrides
        )
    except ValueError as error:
        # The stored tier stays until the county's rules can be read again.
        logger.error("tier kept: %s: %s", profile, error)
        return False
    return _apply(elder, result, profile)


def changed_tiers(elders: QuerySet[Elder], today: date, batch: int = 1000) -> Iterator[list[Elder]]:
    """The elders among `elders` whose tier changed (a profile change, the
    daily run), with the new tier set on them, a batch at a time: a few queries
    per thousand elders. Not stored (`tanfang.refresh` stores them)."""
    choices = all_choices()
    pks = list(elders.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), batch):
        chunk = list(Elder.objects.filter(pk__in=pks[start : start + batch]))
        categories: dict[int, list[str]] = {}
        for elder_id, category in ElderCategory.objects.filter(
            elder_id__in=[e.pk for e in chunk], withdrawn_at__isnull=True
        ).values_list("elder_id", "category"):
            categories.setdefault(elder_id, []).append(category)
        dirty = []
        found = households([e.pk for e in chunk])
        for elder in chunk:
            profile, overrides = choice_for(elder.village_id, today, choices)
            try:
                result = compute(
                    elder, today, categories.get(elder.pk, []), profile, overrides, found[elder.pk]
                )
            except ValueError as error:
                # Only the counties that chose this profile: their stored
                # tiers stay until the file is fixed.
                logger.error("tiers kept: %s: %s", profile, error)
                continue
            if _apply(elder, result, profile):
                dirty.append(elder)
        yield dirty

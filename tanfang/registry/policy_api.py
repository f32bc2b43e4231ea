"""`POST /api/v1/policy/evaluate`: profile, date and facts → tier, reasons and
visit rule, for other systems and for checking the rules (README.md "Policy
engine"). The same code as `manage.py policy_eval`."""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.decorators import decorate_view

from tanfang.accounts.permissions import Perm
from tanfang.policy import engine
from tanfang.policy.facts import FactsError, parse_facts
from tanfang.registry.api import checked_first

router = Router(tags=["探访规则"])


class EvaluateIn(Schema):
    profile: str
    date: date
    facts: dict[str, Any]
    overrides: dict[str, Any] = {}


@router.post("/policy/evaluate", summary="按规则评估分级和探访要求")
@decorate_view(checked_first(Perm.PEOPLE_VIEW))
def evaluate(request: HttpRequest, payload: EvaluateIn) -> dict[str, Any]:
    """Tier (重点/一般, or 重点/次重点/一般 for jining), the reasons in words and
    the visit rule, under the profile's rules in force on `date`, with a
    county's `overrides` of the numbers the documents leave open."""
    if payload.profile not in engine.profile_names():
        raise ValidationError(
            {"profile": f"未知的探访规则，可选：{'、'.join(engine.profile_names())}"}
        )
    try:
        facts = parse_facts(payload.facts)
    except FactsError as error:
        raise ValidationError({error.field: error.message}) from error
    try:
        profile = engine.load(payload.profile)
    except engine.ConfigError as error:
        raise ValidationError({"profile": engine.problem_of(payload.profile, error)}) from error
    try:
        profile.version_on(payload.date)
    except ValueError as error:
        raise ValidationError({"date": str(error)}) from error
    # A county's numbers, as strictly as when they are stored: 400, each named
    # (tanfang/api.py).
    refused = engine.check_overrides(profile, payload.date, payload.overrides)
    if refused:
        raise engine.OverridesRefused(refused)
    result = engine.evaluate(profile, facts, payload.date, payload.overrides)
    return {"profile": payload.profile, "date": payload.date.isoformat(), **result.as_dict()}

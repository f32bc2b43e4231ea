"""`/api/v1/rules`: which rules a region follows, and a county (or city or
province) officer's choice of profile and open numbers — the same action,
checks and audit as the rules page (tanfang/jurisdiction/views.py).

A county's numbers are checked against the profile's declarations before
anything is stored: an unknown or fixed parameter, a value that is not an
integer (a string, null, true) or outside the declared range answers 400 with
each parameter named, and the refusal is audited."""

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from ninja.decorators import decorate_view

from tanfang.accounts import access
from tanfang.accounts.permissions import Perm
from tanfang.jurisdiction import actions, tiers
from tanfang.policy import documents, engine
from tanfang.registry.api import checked_first

router = Router(tags=["探访规则"])


class ChoiceIn(Schema):
    region: str
    profile: str
    overrides: dict[str, Any] = {}


class ParamOut(Schema):
    name: str
    label: str
    value: int
    default: int
    min: int | None
    max: int | None
    citation: str


class RulesOut(Schema):
    region: str
    profile: str
    title: str
    since: date | None
    overrides: dict[str, Any]
    params: list[ParamOut]
    # Why the rules cannot be read, when they cannot; "" otherwise.
    problem: str


@router.get("/rules/{code}", response=RulesOut, summary="本地区适用的探访规则和可调整参数")
@decorate_view(checked_first(Perm.PEOPLE_VIEW))
def rules_of(request: HttpRequest, code: str) -> dict[str, Any]:
    user = access.signed_in_user(request)
    region = access.get_region_for(user, code)
    return _rules(region.code)


@router.post("/rules", response=RulesOut, summary="设置本级探访规则（县级及以上）")
@decorate_view(checked_first(Perm.PEOPLE_CHANGE))
def choose(request: HttpRequest, payload: ChoiceIn) -> dict[str, Any]:
    user = access.signed_in_user(request)
    region = access.get_region_for(user, payload.region)
    actions.choose_profile(
        acting_user=user,
        region=region,
        profile=payload.profile,
        overrides=payload.overrides,
        request=request,
    )
    return _rules(region.code)


def _rules(code: str) -> dict[str, Any]:
    today = timezone.localdate()
    name, overrides = tiers.choice_for(code, today)
    found: dict[str, Any] = {
        "region": code,
        "profile": name,
        "title": "",
        "since": None,
        "overrides": overrides,
        "params": [],
        "problem": "",
    }
    try:
        profile = engine.load(name)
    except engine.ConfigError as error:
        return {**found, "problem": engine.problem_of(name, error)}
    version = profile.version_on(max(today, profile.versions[0].since))
    return {
        **found,
        "title": profile.title,
        "since": version.since,
        "params": [
            {
                "name": p.name,
                "label": p.label,
                "value": overrides.get(p.name, p.value),
                "default": p.value,
                "min": p.min,
                "max": p.max,
                "citation": documents.label(p.cite, version.own_documents),
            }
            for p in engine.open_params(profile, today)
        ],
    }

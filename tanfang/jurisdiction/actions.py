"""Choosing the rules and declaring events: audited."""

from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tanfang import refresh
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.jurisdiction.models import DeclaredEvent, PolicyChoice
from tanfang.policy import engine
from tanfang.policy.engine import EVENT_LABELS
from tanfang.regions.models import Level, Region
from tanfang.registry.models import Elder, Status

# Who chooses: a county, or a city or province for all its counties (POLICIES.md).
CHOOSING_LEVELS = frozenset({Level.PROVINCE, Level.CITY, Level.COUNTY})


def choose_profile(
    *,
    acting_user: User,
    region: Region,
    profile: str,
    overrides: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> int:
    """Set the rules of `region` and its subtree; returns how many elders' tiers
    changed (all are recomputed at once). The county's numbers are checked
    against the profile's declarations (tanfang.policy.schema) before anything
    is stored; a refusal is audited with the reason."""
    access.check(acting_user, Perm.PEOPLE_CHANGE)
    if not access.in_scope(acting_user, region.code):
        raise PermissionDenied
    if region.level not in CHOOSING_LEVELS or acting_user.region.level > region.level:
        raise ValidationError({"region": "探访规则由县(市、区)或以上民政部门设置。"})
    overrides = dict(overrides or {})
    error = _refusal(profile, overrides)
    if error is not None:
        # Outside the transaction of a change: the refusal stays on record.
        record(
            Action.POLICY_REFUSED,
            actor=acting_user,
            request=request,
            region_code=region.code,
            detail={
                "profile": str(profile)[:40],
                "overrides": _loggable(overrides),
                "reason": str(error)[:500],
            },
        )
        raise error
    return _store_choice(acting_user, region, profile, overrides, request)


def _refusal(profile: str, overrides: dict[str, Any]) -> Exception | None:
    """Why the choice may not be stored: a ValidationError for the profile, an
    OverridesRefused naming each bad number; None when it may."""
    if profile not in engine.profile_names():
        return ValidationError({"profile": "请选择探访规则。"})
    try:
        rules = engine.load(profile)
    except engine.ConfigError as error:
        return ValidationError(
            {"profile": engine.problem_of(profile, error) + "。请告知系统管理员。"}
        )
    problems = engine.check_overrides(rules, timezone.localdate(), overrides)
    if problems:
        return engine.OverridesRefused(problems)
    return None


def _loggable(overrides: dict[str, Any]) -> dict[str, str]:
    """What was sent, as text of a bounded size (it may be anything)."""
    return {str(k)[:40]: repr(v)[:40] for k, v in list(overrides.items())[:20]}


@transaction.atomic
def _store_choice(
    acting_user: User,
    region: Region,
    profile: str,
    overrides: dict[str, Any],
    request: HttpRequest | None,
) -> int:
    PolicyChoice.objects.update_or_create(
        region=region,
        since=timezone.localdate(),
        defaults={
            "profile": profile,
            "overrides": overrides,
            "changed_by": acting_user,
            "changed_at": timezone.now(),
        },
    )
    changed = refresh.after_rules_changed(
        Elder.objects.filter(region.subtree("village_id"), status=Status.ACTIVE),
        timezone.localdate(),
    )
    record(
        Action.POLICY_CHOSEN,
        actor=acting_user,
        request=request,
        region_code=region.code,
        detail={"profile": profile, "overrides": overrides, "tiers_changed": changed},
    )
    return changed


@transaction.atomic
def declare_event(
    *,
    acting_user: User,
    region: Region,
    kind: str,
    title: str,
    starts_on: date,
    ends_on: date,
    request: HttpRequest | None = None,
) -> DeclaredEvent:
    """A heat wave, cold wave, typhoon, flood or epidemic for a subtree and dates,
    declared by a township or county officer (Perm.EVENTS_DECLARE, issue 16)."""
    access.check(acting_user, Perm.EVENTS_DECLARE)
    if not access.in_scope(acting_user, region.code):
        raise PermissionDenied
    errors: dict[str, str] = {}
    if kind not in {str(k) for k in EVENT_LABELS}:
        errors["kind"] = "请选择事件类型。"
    if not title.strip():
        errors["title"] = "请填写名称。"
    if ends_on < starts_on:
        errors["ends_on"] = "结束日期不能早于开始日期。"
    if errors:
        raise ValidationError(errors)
    event = DeclaredEvent.objects.create(
        region=region,
        kind=kind,
        title=title.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        declared_by=acting_user,
    )
    # The extra visits it asks for are owed at once (tanfang.visits.schedule).
    refresh.after_events_declared(
        Elder.objects.filter(region.subtree("village_id")), timezone.localdate()
    )
    record(
        Action.EVENT_DECLARED,
        actor=acting_user,
        request=request,
        region_code=region.code,
        target=event,
        detail={"kind": kind, "starts_on": str(starts_on), "ends_on": str(ends_on)},
    )
    return event


@transaction.atomic
def end_event(
    *, acting_user: User, event: DeclaredEvent, request: HttpRequest | None = None
) -> DeclaredEvent:
    """End a declared event today (or on its start day if it has not begun)."""
    access.check(acting_user, Perm.EVENTS_DECLARE)
    if not access.in_scope(acting_user, event.region_id):
        raise PermissionDenied
    if event.ended_at is not None:
        raise ValidationError({"event": "该特殊时段已结束。"})
    today = timezone.localdate()
    event.ends_on = max(min(event.ends_on, today), event.starts_on)
    event.ended_by = acting_user
    event.ended_at = timezone.now()
    event.save(update_fields=["ends_on", "ended_by", "ended_at"])
    # Its tasks end with it.
    refresh.after_event_ended(
        Elder.objects.filter(event.region.subtree("village_id")), timezone.localdate()
    )
    record(
        Action.EVENT_ENDED,
        actor=acting_user,
        request=request,
        region_code=event.region_id,
        target=event,
        detail={"ends_on": str(event.ends_on)},
    )
    return event


def date_choice(region: Region, *, since: date) -> None:
    """Back-date a region's rules choice for a loaded history (the demo
    county's past months are judged by the scheme in force then); not
    audited, like the rest of a history load. Not for a live county: its
    past months stay as they were reported."""
    PolicyChoice.objects.filter(region=region).update(since=since)

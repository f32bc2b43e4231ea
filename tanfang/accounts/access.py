"""The role rules: what a user may do, and which part of the tree they may see.

Views are deny-by-default: `AccessMiddleware` refuses any view that is not
marked with `public`, `authenticated`, `json_api` or `requires(...)`.

Scope is one filter, `scope(user, queryset, field)`: rows whose region code
lies in the user's subtree of the administrative tree; for a role that sees
only the elders assigned to it (`assigned_only`: visitors), the people apps
narrow that subtree to those elders. The tables of this app
and of those below it (regions, the audit log, accounts) are scoped here. The
people apps above (registry, visits, care) scope their own tables with a
`.visible_to(user)` queryset built from `check` and `scope`
(`Elder.objects.visible_to(user)`, CommCare HQ's `accessible_to_user`), so
this module imports none of them; tests/test_scope.py keeps views and API
handlers from querying those tables any other way. `get_or_404` answers 404
for an object outside the scope exactly as for one that does not exist.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest

from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.models import AuditEvent
from tanfang.regions.models import Region

V = TypeVar("V", bound=Callable[..., Any])
M = TypeVar("M", bound=Model)
QS = TypeVar("QS", bound=QuerySet[Any])


@dataclass(frozen=True)
class Rule:
    login: bool
    perms: frozenset[Perm]
    # Reachable before the second factor is given or an expired password changed:
    # the pages that let the user do exactly that, and logout.
    before_verification: bool = False
    # Refused with a JSON body and 401/403 instead of a redirect to a page: the
    # JSON API, whose clients are programs.
    json: bool = False


def _mark(rule: Rule) -> Callable[[V], V]:
    def decorate(view: V) -> V:
        view.access_rule = rule  # type: ignore[attr-defined]
        return view

    return decorate


def public(view: V) -> V:
    """Anyone, signed in or not (the login page)."""
    return _mark(Rule(login=False, perms=frozenset()))(view)


def authenticated(view: V) -> V:
    """Any signed-in user (home, own account)."""
    return _mark(Rule(login=True, perms=frozenset()))(view)


def before_verification(view: V) -> V:
    """A signed-in user who has not yet given the second factor or renewed
    an expired password."""
    return _mark(Rule(login=True, perms=frozenset(), before_verification=True))(view)


def json_api(*perms: Perm) -> Callable[[V], V]:
    """A signed-in user holding every one of `perms`, refused in JSON rather
    than redirected: the routes of the JSON API (tanfang/api.py), whose
    operations check their own permissions on top."""
    return _mark(Rule(login=True, perms=frozenset(perms), json=True))


def requires(*perms: Perm) -> Callable[[V], V]:
    """A signed-in user holding every one of `perms`."""
    return _mark(Rule(login=True, perms=frozenset(perms)))


def rule_of(view: Callable[..., Any]) -> Rule | None:
    return getattr(view, "access_rule", None)


def signed_in_user(request: HttpRequest) -> User:
    """The request's user, in a view whose rule requires signing in."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def second_factor_given(user: Any) -> bool:
    """django-otp's middleware gives the request's user `is_verified()`."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def can(user: Any, perm: Perm) -> bool:
    return bool(user.is_authenticated and user.can(perm))


def check(user: Any, perm: Perm) -> None:
    if not can(user, perm):
        raise PermissionDenied


def get_or_404(queryset: QuerySet[M], **lookup: Any) -> M:
    """The row of `queryset` matching `lookup`; 404 when there is none, so
    that a row outside the user's scope looks exactly like a missing one
    (`access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)`)."""
    found = queryset.filter(**lookup).first()
    if found is None:
        raise Http404
    return found


def scope(user: User, queryset: QS, code_field: str) -> QS:
    """Rows whose region code (`code_field`) lies in the user's subtree: the
    filter every `.visible_to(user)` queryset of people's tables is built on."""
    return queryset.filter(user.region.subtree(code_field))


def in_scope(user: User, code: str) -> bool:
    return code.startswith(user.region.prefix)


def assigned_only(user: User) -> bool:
    """Whether the user sees only the elders assigned to them (open 包干) within
    their subtree: a visitor (RolePolicy.assigned_only). The people apps'
    `.visible_to(user)` querysets narrow the subtree to those elders; the
    accounts app does not know the assignments table, which lives above it."""
    return bool(user.is_authenticated and user.policy.assigned_only)


# The administrative tree ------------------------------------------------------


def regions_visible_to(user: User) -> QuerySet[Region]:
    return scope(user, Region.objects.all(), "code")


def get_region_for(user: User, code: str) -> Region:
    return get_or_404(regions_visible_to(user), code=code)


# Accounts ---------------------------------------------------------------------


def accounts_visible_to(user: User) -> QuerySet[User]:
    check(user, Perm.ACCOUNTS_MANAGE)
    return scope(user, User.objects.select_related("region"), "region__code")


def get_account_for(user: User, pk: int) -> User:
    return get_or_404(accounts_visible_to(user), pk=pk)


# The audit log ----------------------------------------------------------------


def audit_events_visible_to(user: User) -> QuerySet[AuditEvent]:
    """Events of the auditor's subtree, and failed logins for unknown usernames,
    which belong to no region and which every auditor must be able to see."""
    check(user, Perm.AUDIT_VIEW)
    return AuditEvent.objects.filter(user.region.subtree("region_code") | Q(region_code=""))

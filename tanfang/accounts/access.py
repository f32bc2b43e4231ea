"""The one way to reach data: what a user may do, and which rows they may see.

Views are deny-by-default: `AccessMiddleware` refuses any view that is not
marked with `public`, `authenticated`, `json_api` or `requires(...)`. Every query of
people's data and of accounts goes through a `*_visible_to(user)` function
here, which limits it to the user's subtree of the administrative tree; the
`get_*_for(user, ...)` functions answer 404 for an object outside it, exactly
as for one that does not exist.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest

from tanfang.accounts.permissions import Perm
from tanfang.regions.models import Level, Region, parent_code_of

if TYPE_CHECKING:
    from tanfang.accounts.models import User
    from tanfang.audit.models import AuditEvent
    from tanfang.care.models import Emergency, Hazard, Need
    from tanfang.registry.models import Elder
    from tanfang.visits.models import Visit, Visitor, VisitTask

V = TypeVar("V", bound=Callable[..., Any])
M = TypeVar("M", bound=Model)


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


def signed_in_user(request: HttpRequest) -> "User":
    """The request's user, in a view whose rule requires signing in."""
    from tanfang.accounts.models import User

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


def _get_or_404(queryset: QuerySet[M], **lookup: Any) -> M:
    found = queryset.filter(**lookup).first()
    if found is None:
        raise Http404
    return found


def scope(user: "User", queryset: QuerySet[M], code_field: str) -> QuerySet[M]:
    """Rows whose region code (`code_field`) lies in the user's subtree."""
    return queryset.filter(user.region.subtree(code_field))


def in_scope(user: "User", code: str) -> bool:
    return code.startswith(user.region.prefix)


# The administrative tree ------------------------------------------------------


def regions_visible_to(user: "User") -> QuerySet[Region]:
    return scope(user, Region.objects.all(), "code")


def get_region_for(user: "User", code: str) -> Region:
    return _get_or_404(regions_visible_to(user), code=code)


# Accounts ---------------------------------------------------------------------


def accounts_visible_to(user: "User") -> "QuerySet[User]":
    from tanfang.accounts.models import User

    check(user, Perm.ACCOUNTS_MANAGE)
    return scope(user, User.objects.select_related("region"), "region__code")


def get_account_for(user: "User", pk: int) -> "User":
    return _get_or_404(accounts_visible_to(user), pk=pk)


# The audit log ----------------------------------------------------------------


def audit_events_visible_to(user: "User") -> "QuerySet[AuditEvent]":
    """Events of the auditor's subtree, and failed logins for unknown usernames,
    which belong to no region and which every auditor must be able to see."""
    from tanfang.audit.models import AuditEvent

    check(user, Perm.AUDIT_VIEW)
    return AuditEvent.objects.filter(user.region.subtree("region_code") | Q(region_code=""))


# Elders -------------------------------------------------------------------------


def elders_visible_to(user: "User") -> "QuerySet[Elder]":
    """Files of elders living in the user's subtree. Visitors will see only the
    elders assigned to them once assignments exist (issue 5)."""
    from tanfang.registry.models import Elder

    check(user, Perm.PEOPLE_VIEW)
    return scope(user, Elder.objects.select_related("village"), "village_id")


def get_elder_for(user: "User", pk: int) -> "Elder":
    return _get_or_404(elders_visible_to(user), pk=pk)


# Visits -------------------------------------------------------------------------


def visits_visible_to(user: "User") -> "QuerySet[Visit]":
    """Visit records made where the elder lived at the time, in the user's subtree."""
    from tanfang.visits.models import Visit

    check(user, Perm.PEOPLE_VIEW)
    return scope(user, Visit.objects.select_related("elder", "village"), "village_id")


def get_visit_for(user: "User", pk: int) -> "Visit":
    return _get_or_404(visits_visible_to(user), pk=pk)


def get_visit_task_for(user: "User", pk: int) -> "VisitTask":
    """A visit task of an elder living in the user's subtree."""
    from tanfang.visits.models import VisitTask

    check(user, Perm.PEOPLE_VIEW)
    tasks = scope(user, VisitTask.objects.select_related("elder"), "elder__village_id")
    return _get_or_404(tasks, pk=pk)


# Visitors (探访人员) ------------------------------------------------------------


def visitors_visible_to(user: "User") -> "QuerySet[Visitor]":
    """The rosters of the townships in the user's subtree. Below a township (a
    village liaison, a visitor bound to a village), the roster of their own
    township, restricted to the visitors who serve their village or serve no
    village in particular (the township's roster, 001_35a01bee4c628ebd.txt 二(三)1)."""
    from tanfang.visits.models import Visitor

    check(user, Perm.PEOPLE_VIEW)
    visitors = Visitor.objects.select_related("township")
    region = user.region
    if region.level <= Level.TOWNSHIP:
        return scope(user, visitors, "township_id")
    # Only villages lie below townships: the township is the village's parent.
    township = parent_code_of(region.code)
    served = Visitor.villages.through.objects.filter(visitor_id=OuterRef("pk"))
    return visitors.filter(township_id=township).filter(
        Exists(served.filter(region_id=region.code)) | ~Exists(served)
    )


def get_visitor_for(user: "User", pk: int) -> "Visitor":
    return _get_or_404(visitors_visible_to(user), pk=pk)


# The closed loop (needs, hazards, emergencies) --------------------------------------


def needs_visible_to(user: "User") -> "QuerySet[Need]":
    """Needs of elders living in the user's subtree now."""
    from tanfang.care.models import Need

    check(user, Perm.PEOPLE_VIEW)
    needs = Need.objects.select_related("elder", "elder__village")
    return scope(user, needs, "elder__village_id")


def get_need_for(user: "User", pk: int) -> "Need":
    return _get_or_404(needs_visible_to(user), pk=pk)


def hazards_visible_to(user: "User") -> "QuerySet[Hazard]":
    """Hazards at the homes of elders living in the user's subtree now."""
    from tanfang.care.models import Hazard

    check(user, Perm.PEOPLE_VIEW)
    hazards = Hazard.objects.select_related("elder", "elder__village", "visit")
    return scope(user, hazards, "elder__village_id")


def get_hazard_for(user: "User", pk: int) -> "Hazard":
    return _get_or_404(hazards_visible_to(user), pk=pk)


def emergencies_visible_to(user: "User") -> "QuerySet[Emergency]":
    """Emergencies of elders living in the user's subtree now."""
    from tanfang.care.models import Emergency

    check(user, Perm.PEOPLE_VIEW)
    emergencies = Emergency.objects.select_related("elder", "elder__village")
    return scope(user, emergencies, "elder__village_id")


def get_emergency_for(user: "User", pk: int) -> "Emergency":
    return _get_or_404(emergencies_visible_to(user), pk=pk)

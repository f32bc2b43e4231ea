"""The route walk: every URL of the project, found in the root URLconf, is
checked for an access rule, refused to anonymous visitors, refused (403) to a
role without its permission, and answered with 404 when its URL names an
object of the neighbouring region (NONFUNCTIONAL.md "Scope": no IDOR).

A new route is covered without touching this file, unless it has a URL kwarg
this file does not know: then add to `OBJECT_IN` how to find such an object
under a given node of the tree.
"""

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, include, path, resolve
from django.urls.resolvers import RoutePattern

from tanfang.accounts.access import Rule, rule_of
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.models import AuditEvent
from tanfang.exchange.models import ImportJob
from tanfang.regions.models import Level, Region
from tanfang.registry import crypto
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder, EmergencyContact, HouseholdMember
from tanfang.registry.registration import register_elder
from tests.conftest import OTHER_COUNTY, TOWNSHIP_B, USERS, VILLAGE_B, sign_in

# Routes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    route: str  # "accounts/users/<int:user_id>/"
    name: str  # "accounts:user_detail"
    callback: Callable[..., Any]
    converters: dict[str, Any] = field(hash=False)

    def __str__(self) -> str:
        return self.name

    @property
    def kwargs(self) -> list[str]:
        return list(self.converters)

    @property
    def rule(self) -> Rule:
        rule = rule_of(self.callback)
        assert rule is not None, f"{self} has no access rule"
        return rule

    def url(self, values: dict[str, object]) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match["parameter"]
            return str(self.converters[name].to_url(values[name]))

        return "/" + _PARAMETER.sub(fill, self.route)


_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")


def walk(
    patterns: list[URLPattern | URLResolver],
    prefix: str = "",
    namespace: str = "",
    converters: dict[str, Any] | None = None,
) -> Iterator[Route]:
    for entry in patterns:
        if not isinstance(entry.pattern, RoutePattern):
            raise AssertionError(
                f"{prefix}{entry.pattern}: the route walk understands path() only, "
                "not re_path(); write the route with path() and converters"
            )
        route = prefix + str(entry.pattern)
        known = {**(converters or {}), **entry.pattern.converters}
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, route, inner, known)
        else:
            name = f"{namespace}{entry.name}" if entry.name else f"/{route}"
            yield Route(route, name, entry.callback, known)


def first_of_each_route(routes: Iterator[Route]) -> list[Route]:
    """django-ninja adds one pattern per operation of a path (GET and PATCH of
    api/v1/elders/<id>): Django resolves only the first, whose view serves
    every method of the path."""
    found: dict[str, Route] = {}
    for route in routes:
        found.setdefault(route.route, route)
    return list(found.values())


ROUTES = first_of_each_route(walk(get_resolver().url_patterns))
WITH_KWARGS = [route for route in ROUTES if route.kwargs]
WITH_PERMS = [route for route in ROUTES if rule_of(route.callback) and route.rule.perms]

# URL kwargs -------------------------------------------------------------------


def _account_under(place: Region) -> int:
    account = User.objects.filter(region__code__startswith=place.prefix).order_by("pk").first()
    assert account is not None, f"no account under {place.name} in tests/conftest.py"
    return account.pk


def _elder_under(place: Region) -> int:
    """An elder living under `place`, registered by an officer of that subtree."""
    elder = Elder.objects.filter(place.subtree("village_id")).order_by("pk").first()
    if elder is not None:
        return elder.pk
    village = Region.objects.filter(place.subtree(), level=Level.VILLAGE).order_by("code").first()
    assert village is not None, f"no village under {place.name} in tests/conftest.py"
    registrar = next(
        user
        for user in User.objects.order_by("pk")
        if user.can(Perm.ELDERS_REGISTER) and village.code.startswith(user.region.prefix)
    )
    sequence = Elder.objects.count()
    return register_elder(
        acting_user=registrar,
        id_number=make_id_number("350581", date(1940, 1, 1), sequence, "女"),
        name=f"老人{sequence}",
        village=village,
    ).pk


def _household_member_under(place: Region) -> int:
    elder = Elder.objects.get(pk=_elder_under(place))
    member = elder.household.filter(active=True).first()
    if member is None:
        member = HouseholdMember.objects.create(elder=elder, name="子女", relation="son")
    return member.pk


def _emergency_contact_under(place: Region) -> int:
    elder = Elder.objects.get(pk=_elder_under(place))
    contact = elder.emergency_contacts.first()
    if contact is None:
        contact = EmergencyContact.objects.create(
            elder=elder,
            name="联系人",
            phone_token=crypto.encrypt("13900001111"),
            phone_hash=crypto.lookup_hash("13900001111", kind="phone"),
        )
    return contact.pk


def _life_event_under(place: Region) -> int:
    """A major life change (重大变故) on the file of an elder under `place`."""
    from django.utils import timezone

    from tanfang.registry.models import LifeEvent

    elder = Elder.objects.get(pk=_elder_under(place))
    event = elder.life_events.first() or LifeEvent.objects.create(
        elder=elder,
        change="fell",
        occurred_at=timezone.now(),
        recorded_by=elder.registered_by,
    )
    return event.pk


def _change_report_under(place: Region) -> int:
    """A visitor's report of a death or a move about an elder under `place`
    (tanfang/registry/change_report_views.py), waiting for the liaison."""
    from tanfang.registry.models import ChangeReport

    elder = Elder.objects.get(pk=_elder_under(place))
    report = ChangeReport.objects.filter(elder=elder).first() or ChangeReport.objects.create(
        elder=elder,
        to_status="deceased",
        occurred_on=date(2026, 1, 1),
        reported_by=elder.registered_by,
    )
    return report.pk


def _import_job_under(place: Region) -> int:
    """An Excel import uploaded at `place`, by an officer near it in the tree."""
    officers = [user for user in User.objects.order_by("pk") if user.can(Perm.ELDERS_IMPORT)]
    uploader = next(
        (u for u in officers if u.region.contains(place.code) or place.contains(u.region_id)),
        officers[0],
    )
    return ImportJob.objects.create(
        created_by=uploader,
        region=place,
        mode="whole_file",
        state="done",
        file_name="台账.xlsx",
        file_size=0,
        file_sha256="",
    ).pk


def _event_under(place: Region) -> int:
    from tanfang.jurisdiction.models import DeclaredEvent

    event = DeclaredEvent.objects.filter(region=place).first()
    if event is None:
        declarer = User.objects.filter(region__code__startswith=place.prefix).first()
        assert declarer is not None
        event = DeclaredEvent.objects.create(
            region=place,
            kind="heat",
            title="高温",
            starts_on=date(2026, 7, 1),
            ends_on=date(2026, 7, 5),
            declared_by=declarer,
        )
    return event.pk


def _visitor_under(place: Region) -> int:
    """A visitor of the roster of the township `place` is (or lies in, or lies
    above), serving `place` when it is a village."""
    from tanfang.visits.models import Visitor

    if place.level == Level.VILLAGE:
        township = Region.objects.get(code=place.parent_id)
    elif place.level == Level.TOWNSHIP:
        township = place
    else:
        found = Region.objects.filter(place.subtree(), level=Level.TOWNSHIP).order_by("code")
        township = found.first()
        assert township is not None, f"no township under {place.name} in tests/conftest.py"
    visitors = Visitor.objects.filter(township=township).order_by("pk")
    if place.level == Level.VILLAGE:
        visitors = visitors.filter(villages=place)
    visitor = visitors.first()
    if visitor is None:
        # Who entered it does not matter to the walk.
        creator = User.objects.order_by("pk").first()
        assert creator is not None
        visitor = Visitor.objects.create(
            township=township, name="探访员", kind="grid_worker", created_by=creator
        )
        if place.level == Level.VILLAGE:
            visitor.villages.add(place)
    return visitor.pk


def _visit_under(place: Region) -> int:
    """A visit record made in a village under `place`, with a photo, so that the
    photo's route has something to answer (tanfang/visits/views.py)."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from tanfang.visits.models import Visit

    elder = Elder.objects.get(pk=_elder_under(place))
    visit = Visit.objects.filter(elder=elder).first()
    if visit is None:
        visit = Visit(
            uuid=uuid.uuid4(),
            content_hash="walk",
            elder=elder,
            village_id=elder.village_id,
            sequence=1,
            mode="home",
            visited_at=timezone.now(),
            recorded_by=elder.registered_by,
            checklist="fujian",
        )
        visit.photo.save("walk.jpg", ContentFile(b"\xff\xd8\xff\xe0walk"), save=False)
        visit.save()
    return visit.pk


def _visit_task_under(place: Region) -> int:
    """An open visit task of an elder under `place` (registration makes them)."""
    from tanfang.visits.models import VisitTask

    elder = Elder.objects.get(pk=_elder_under(place))
    task = VisitTask.objects.filter(elder=elder, done_at__isnull=True).order_by("pk").first()
    if task is None:
        today = date.today()  # noqa: DTZ011 - any day: the walk reads, it does not count
        task = VisitTask.objects.create(
            elder=elder,
            kind="regular",
            key="walk",
            label="探访",
            window_start=today,
            deadline=today,
            window_end=today,
            month=today.replace(day=1),
            modes=["home"],
        )
    return task.pk


def _need_under(place: Region) -> int:
    """A need of an elder under `place` (tanfang/care/views.py)."""
    from tanfang.care.models import Need

    elder = Elder.objects.get(pk=_elder_under(place))
    need = Need.objects.filter(elder=elder).first() or Need.objects.create(
        elder=elder, source="phone", need_type="meals", created_by=elder.registered_by
    )
    return need.pk


def _hazard_under(place: Region) -> int:
    """A hazard of an elder under `place`, with a removal photo, so that the
    photo's route has something to answer (tanfang/care/views.py)."""
    from django.core.files.base import ContentFile

    from tanfang.care.models import Hazard

    elder = Elder.objects.get(pk=_elder_under(place))
    hazard = Hazard.objects.filter(elder=elder).first()
    if hazard is None:
        hazard = Hazard(elder=elder, item="gas", finding="walk", created_by=elder.registered_by)
        hazard.removal_photo.save("walk.jpg", ContentFile(b"\xff\xd8\xff\xe0walk"), save=False)
        hazard.save()
    return hazard.pk


def _emergency_under(place: Region) -> int:
    """An open emergency of an elder under `place` (tanfang/care/views.py)."""
    from django.utils import timezone

    from tanfang.care.models import Emergency

    elder = Elder.objects.get(pk=_elder_under(place))
    emergency = Emergency.objects.filter(elder=elder).first() or Emergency.objects.create(
        elder=elder,
        source="phone",
        kind="fall",
        description="walk",
        raised_at=timezone.now(),
        raised_by=elder.registered_by,
    )
    return emergency.pk


# kwarg name -> the value naming an object that lies under `place`, a node of
# the tree (晋江市, 宝盖镇 or 村B in the walk). A route with a kwarg missing
# here fails the walk: add it, creating the object under `place` if needed.
OBJECT_IN: dict[str, Callable[[Region], object]] = {
    "code": lambda place: place.code,
    "user_id": _account_under,
    "elder_id": _elder_under,
    # Not objects: a section of the file and a kind of its repeated parts.
    "section": lambda place: "basic",
    "kind": lambda place: "household",
    "item_id": _household_member_under,
    "event_id": _event_under,
    # The reveal buttons (tanfang/registry/reveal_views.py).
    "field": lambda place: "id_number",
    "contact_id": _emergency_contact_under,
    "member_id": _household_member_under,
    # Major life changes on the file (tanfang/registry/views.py, api.py).
    "life_event_id": _life_event_under,
    # A visitor's report of a death or a move (tanfang/registry/change_report_views.py).
    "report_id": _change_report_under,
    "job_id": _import_job_under,
    # The visitor roster (tanfang/visits/roster_views.py).
    "visitor_id": _visitor_under,
    # Visit records and their photos (tanfang/visits/views.py).
    "visit_id": _visit_under,
    "task_id": _visit_task_under,
    # The closed loop's needs, hazards and emergencies (tanfang/care/views.py).
    "need_id": _need_under,
    "hazard_id": _hazard_under,
    "emergency_id": _emergency_under,
}


def fill(route: Route, place: Region) -> dict[str, object]:
    unknown = [name for name in route.kwargs if name not in OBJECT_IN]
    if unknown:
        pytest.fail(
            f"{route} ({route.route}) has the URL kwarg(s) {unknown} which the route walk "
            "does not know: add to OBJECT_IN in tests/test_url_access.py a function "
            "returning the value of such an object under the given region"
        )
    return {name: OBJECT_IN[name](place) for name in route.kwargs}


# Users ------------------------------------------------------------------------

# Fixed users of 石狮市 trying the objects of the neighbouring node at their own
# level: (the users, in the order tried; the node whose objects they must not reach).
NEIGHBOURS = [
    (["county", "sysadmin", "secadmin", "auditor"], OTHER_COUNTY),  # 石狮市 / 晋江市
    (["township_a"], TOWNSHIP_B),  # 灵秀镇 / 宝盖镇
    (["liaison_a", "visitor_a"], VILLAGE_B),  # 村A / 村B
]


def is_public(route: Route) -> bool:
    rule = rule_of(route.callback)
    return rule is not None and not rule.login


def holds(user: User, rule: Rule) -> bool:
    return all(user.can(perm) for perm in rule.perms)


def allowed_methods(response: HttpResponse) -> set[str]:
    return {method.strip() for method in response.get("Allow", "").split(",")}


# The tests --------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    """Files the walk stores (a visit's photo) go to the test's own folder."""
    settings.MEDIA_ROOT = tmp_path


def test_it_finds_the_routes_of_every_app():
    names = {route.name for route in ROUTES}

    assert {
        "home",
        "accounts:login",
        "accounts:user_list",
        "accounts:user_detail",
        "regions:detail",
        "regions:rename",
        "audit:list",
    } <= names
    assert next(r for r in ROUTES if r.name == "accounts:user_detail").kwargs == ["user_id"]


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_it_marks_every_view_with_an_access_rule(route):
    assert rule_of(route.callback) is not None, (
        f"{route} ({route.callback.__module__}.{route.callback.__name__}) has no access rule: "
        "decorate it with access.public, access.authenticated or access.requires(...)"
    )


def test_it_makes_only_the_login_page_public():
    assert {route.name for route in ROUTES if is_public(route)} == {"accounts:login"}


def test_it_shows_the_login_page_to_an_anonymous_visitor(client, db):
    assert client.get("/accounts/login/").status_code == 200
    assert client.post("/accounts/login/").status_code == 200


@pytest.mark.parametrize("route", [r for r in ROUTES if not is_public(r)], ids=str)
def test_it_refuses_an_anonymous_visitor(route, client, users, regions):
    url = route.url(fill(route, regions[OTHER_COUNTY]))
    events = AuditEvent.objects.count()

    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code in {302, 401, 403, 405}, f"{method.__name__} {url}"
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/"), url

    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("route", WITH_KWARGS, ids=str)
def test_it_answers_404_for_an_object_of_the_neighbouring_region(route, users, regions):
    rule = route.rule
    tried = 0
    for names, code in NEIGHBOURS:
        place = regions[code]
        values = fill(route, place)
        url = route.url(values)
        assert resolve(url).func == route.callback, url
        outsiders = [users[name] for name in names if holds(users[name], rule)]
        for outsider in outsiders:
            client = sign_in(Client(), outsider)
            events = AuditEvent.objects.count()
            statuses = {}
            # The API changes files with PATCH too (access.json_api).
            for method in ("get", "post", "patch") if rule.json else ("get", "post"):
                response = getattr(client, method)(url)
                statuses[method] = response.status_code
                if response.status_code == 405:
                    assert method.upper() not in allowed_methods(response), url
                else:
                    assert response.status_code == 404, (
                        f"{outsider.username} of {outsider.region.name} got "
                        f"{response.status_code} for {method.upper()} {url} "
                        f"(an object of {place.name}); expected 404"
                    )
            assert 404 in statuses.values(), f"{url}: {statuses}"
            assert AuditEvent.objects.count() == events, f"{url} wrote to the audit log"
            tried += 1
        if outsiders:
            _check_the_object_exists(route, url, outsiders[0], place)
    assert tried, (
        f"{route}: no fixed user of 石狮市 holds {sorted(rule.perms)}; "
        "add one to NEIGHBOURS in tests/test_url_access.py"
    )


def _check_the_object_exists(route: Route, url: str, outsider: User, place: Region) -> None:
    """The same request by a user of the same role bound to `place` is not a 404,
    so the 404s above come from the scope, not from a missing object."""
    insider = User.objects.create_user(
        f"insider_{outsider.role}_{place.code}",
        "Tanfang@2026",
        full_name="insider",
        role=outsider.role,
        region=place,
    )
    client = sign_in(Client(), insider)
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url)
    assert response.status_code not in {403, 404, 405}, (
        f"{route}: {insider.role} of {place.name} got {response.status_code} for {url}; "
        "the object OBJECT_IN gives must exist and be reachable from its own region"
    )


@pytest.mark.parametrize("route", WITH_PERMS, ids=str)
def test_it_refuses_a_user_without_the_permission_with_403(route, users):
    lacking = [user for user in users.values() if not holds(user, route.rule)]
    assert lacking, f"{route}: every fixed user may use it"

    for user in lacking:
        url = route.url(fill(route, user.region))
        client = sign_in(Client(), user)
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 403, (
                f"{user.username} ({user.get_role_display()}) got {response.status_code} "
                f"for {method.__name__.upper()} {url}; expected 403"
            )


def test_it_has_a_fixed_user_for_every_name_the_walk_uses():
    for names, _ in NEIGHBOURS:
        assert set(names) <= set(USERS)


# A view without an access rule, mounted next to the project's routes.


def _unmarked(request: HttpRequest) -> HttpResponse:
    return HttpResponse("should never be seen")


urlpatterns = [path("unmarked/", _unmarked), path("", include("tanfang.urls"))]


@pytest.mark.urls(__name__)
def test_it_refuses_a_view_without_an_access_rule(client_for):
    response = client_for("county").get("/unmarked/")

    assert response.status_code == 403
    assert "should never be seen" not in response.content.decode()


@pytest.mark.urls(__name__)
def test_it_refuses_a_view_without_an_access_rule_to_anonymous_visitors(client, db):
    assert client.get("/unmarked/").status_code == 403


@pytest.mark.urls(__name__)
def test_it_names_the_unmarked_view_in_debug_mode(client_for, settings):
    settings.DEBUG = True
    client = client_for("county")

    with pytest.raises(ImproperlyConfigured, match="_unmarked"):
        client.get("/unmarked/")

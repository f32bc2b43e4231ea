"""What is still open, and how fast things get done: the lists of the closed loop
for an elder's file, a village or a subtree, and the counts of the rate reports.

Ages are whole days between the local date a thing was found (raised) and today,
so that "7 days open" means the same on every page. Everything is filtered by
the region code of the elder's current village (tanfang.regions.models.in_subtree),
one query per list.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import median
from typing import Any, Generic, TypeVar

from django.db.models import Count, F, Model, Q, QuerySet, Window
from django.db.models.functions import Substr
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.care.models import (
    NEED_CLOSED,
    Emergency,
    Hazard,
    HazardStatus,
    Need,
    NeedStatus,
)
from tanfang.policy.problems import ConfigError
from tanfang.regions.models import CODE_LENGTH, PREFIX_LENGTH, Level, in_subtree, level_of_code
from tanfang.registry.models import Elder, Status
from tanfang.visits import checklist
from tanfang.visits.models import Visit

T = TypeVar("T")
M = TypeVar("M", bound=Model)

# A hazard removed within this many days of being found counts as removed in time
# (the rate reports' "hazards removed within 30 days").
REMOVED_IN_TIME_DAYS = 30
# `needs_in(status=OPEN_ALL)`: every state of a need not yet finished.
OPEN_ALL = "open_all"


@dataclass(frozen=True)
class Aged(Generic[T]):
    item: T
    age_days: int


@dataclass(frozen=True)
class OpenItems:
    needs: list[Aged[Need]]
    hazards: list[Aged[Hazard]]
    emergencies: list[Aged[Emergency]]


def age_days(moment: datetime, today: date) -> int:
    return (today - timezone.localdate(moment)).days


def _start_of(day: date) -> datetime:
    """The first moment of the local `day`."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _found_by(today: date, min_age_days: int) -> datetime:
    """Things found before this moment are at least `min_age_days` old today."""
    return _start_of(today - timedelta(days=min_age_days - 1))


def _prefix(code: str) -> str:
    return code[: PREFIX_LENGTH[level_of_code(code)]]


def _region(queryset: QuerySet[M], region: str | None) -> QuerySet[M]:
    if not region:
        return queryset
    return queryset.filter(in_subtree("elder__village_id", _prefix(region)))


def village_open_items(user: User, village_code: str, today: date) -> OpenItems:
    """The village's open needs, hazards and emergencies, oldest first, with
    their age (404 for a village outside the user's subtree)."""
    village = access.get_region_for(user, village_code)
    needs = (
        Need.objects.visible_to(user)
        .filter(elder__village_id=village.code)
        .exclude(status__in=NEED_CLOSED)
        .order_by("created_at", "pk")
    )
    hazards = (
        Hazard.objects.visible_to(user)
        .filter(elder__village_id=village.code, status=HazardStatus.OPEN)
        .order_by("created_at", "pk")
    )
    emergencies = (
        Emergency.objects.visible_to(user)
        .filter(elder__village_id=village.code, closed_at__isnull=True)
        .order_by("raised_at", "pk")
    )
    return OpenItems(
        needs=[Aged(n, age_days(n.created_at, today)) for n in needs],
        hazards=[Aged(h, age_days(h.found_at, today)) for h in hazards],
        emergencies=[Aged(e, age_days(e.raised_at, today)) for e in emergencies],
    )


def open_items_of(elder: Elder, today: date) -> OpenItems:
    """The elder's open needs, hazards and emergencies with their age, oldest
    first, for the top of the file (the caller has checked the elder is in the
    user's scope; the scope follows the elder's current village). 3 queries."""
    needs = elder.needs.exclude(status__in=NEED_CLOSED)
    hazards = elder.hazards.filter(status=HazardStatus.OPEN).select_related("visit")
    emergencies = elder.emergencies.filter(closed_at__isnull=True)
    return OpenItems(
        needs=[Aged(n, age_days(n.created_at, today)) for n in needs],
        hazards=[Aged(h, age_days(h.found_at, today)) for h in hazards],
        emergencies=[Aged(e, age_days(e.raised_at, today)) for e in emergencies],
    )


def file_context(user: User, elder: Elder, today: date) -> dict[str, Any]:
    """The context of the file's "待办事项" section (templates/care/_file_section.html),
    which tanfang/registry/views.py renders at the top of the elder's file."""
    return {
        "care": open_items_of(elder, today),
        "may_raise": user.can(Perm.CARE_RAISE) and elder.status == Status.ACTIVE,
        "today": today,
    }


def needs_in(
    user: User,
    *,
    today: date,
    region: str | None = None,
    need_type: str = "",
    status: str = "",
    min_age_days: int | None = None,
    overdue: bool = False,
) -> QuerySet[Need]:
    """Needs of the user's subtree (of `region` in it), oldest first. `status`
    OPEN_ALL is every state not finished; `min_age_days` keeps those entered at
    least that many days before `today`; `overdue` those past their due date."""
    needs = _region(Need.objects.visible_to(user), region)
    if need_type:
        needs = needs.filter(need_type=need_type)
    if status == OPEN_ALL:
        needs = needs.exclude(status__in=NEED_CLOSED)
    elif status:
        needs = needs.filter(status=status)
    if min_age_days:
        needs = needs.filter(created_at__lt=_found_by(today, min_age_days))
    if overdue:
        needs = needs.exclude(status__in=NEED_CLOSED).filter(due_on__lt=today)
    return needs.order_by("created_at", "pk")


def overdue_needs(user: User, *, today: date, region: str | None = None) -> QuerySet[Need]:
    """Needs not resolved nor declined whose due date is past, most overdue first."""
    return needs_in(user, today=today, region=region, overdue=True).order_by("due_on", "pk")


def hazards_in(
    user: User,
    *,
    today: date,
    region: str | None = None,
    item: str = "",
    severity: str = "",
    status: str = "",
    min_age_days: int | None = None,
) -> QuerySet[Hazard]:
    """Hazards of the user's subtree, the oldest first."""
    hazards = _region(Hazard.objects.visible_to(user), region)
    if item:
        hazards = hazards.filter(item=item)
    if severity:
        hazards = hazards.filter(severity=severity)
    if status:
        hazards = hazards.filter(status=status)
    if min_age_days:
        hazards = hazards.filter(created_at__lt=_found_by(today, min_age_days))
    return hazards.order_by("created_at", "pk")


def emergencies_in(
    user: User,
    *,
    today: date,
    region: str | None = None,
    kind: str = "",
    state: str = "",
) -> QuerySet[Emergency]:
    """Emergencies of the user's subtree, `state` "open" or "closed" or both,
    the latest first."""
    emergencies = _region(Emergency.objects.visible_to(user), region)
    if kind:
        emergencies = emergencies.filter(kind=kind)
    if state == "open":
        emergencies = emergencies.filter(closed_at__isnull=True)
    elif state == "closed":
        emergencies = emergencies.filter(closed_at__isnull=False)
    return emergencies.order_by("-raised_at", "-pk")


def removal_candidates(hazard: Hazard) -> list[Visit]:
    """Later visits to the elder whose form answered the hazard's item as safe:
    the evidence to offer for `confirm_hazard_removed`, the latest first."""
    later = Visit.objects.filter(
        elder_id=hazard.elder_id, refused=False, visited_at__gt=hazard.found_at
    ).order_by("-visited_at", "-pk")
    found = []
    for visit in later:
        try:
            form = checklist.load(visit.checklist)
        except ConfigError:
            continue  # a form that cannot be read offers no evidence (logged where it loads)
        asked = {i.key for i in form.items() if i.hazard == hazard.item and i.key in visit.answers}
        unsafe = {h.item_key for h in checklist.findings(form, visit.answers).hazards}
        if asked and not asked & unsafe:
            found.append(visit)
    return found


@dataclass(frozen=True)
class CareCounts:
    open_needs: int
    overdue_needs: int
    resolved_in_month: int
    # Days from entering a need to resolving it, of those resolved in the month.
    median_days_to_resolve: float | None
    hazards_found: int
    hazards_removed_in_time: int
    hazards_open: int
    emergencies: int
    emergencies_open: int


def care_counts(region_code: str, month: date, today: date) -> CareCounts:
    """The closed loop's numbers for the subtree of `region_code` (the caller has
    checked the user may see it): open and overdue needs and open hazards and
    emergencies as of `today`; needs resolved, hazards found (and of those,
    removed within REMOVED_IN_TIME_DAYS) and emergencies raised in `month`."""
    where = in_subtree("elder__village_id", _prefix(region_code))
    start = _start_of(month.replace(day=1))
    next_month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    end = _start_of(next_month)
    not_closed = ~Q(status__in=NEED_CLOSED)
    needs = Need.objects.filter(where).aggregate(
        open=Count("pk", filter=not_closed),
        overdue=Count("pk", filter=not_closed & Q(due_on__lt=today)),
    )
    resolved = Need.objects.filter(
        where, status=NeedStatus.RESOLVED, resolved_at__gte=start, resolved_at__lt=end
    ).values_list("created_at", "resolved_at")
    durations = [(done - made).total_seconds() / 86400 for made, done in resolved if done]
    found = Q(created_at__gte=start, created_at__lt=end)
    hazards = Hazard.objects.filter(where).aggregate(
        found=Count("pk", filter=found),
        in_time=Count(
            "pk",
            filter=found
            & Q(
                status=HazardStatus.REMOVED,
                removed_at__lte=F("created_at") + timedelta(days=REMOVED_IN_TIME_DAYS),
            ),
        ),
        open=Count("pk", filter=Q(status=HazardStatus.OPEN)),
    )
    emergencies = Emergency.objects.filter(where).aggregate(
        raised=Count("pk", filter=Q(raised_at__gte=start, raised_at__lt=end)),
        open=Count("pk", filter=Q(closed_at__isnull=True)),
    )
    return CareCounts(
        open_needs=needs["open"],
        overdue_needs=needs["overdue"],
        resolved_in_month=len(durations),
        median_days_to_resolve=round(median(durations), 1) if durations else None,
        hazards_found=hazards["found"],
        hazards_removed_in_time=hazards["in_time"],
        hazards_open=hazards["open"],
        emergencies=emergencies["raised"],
        emergencies_open=emergencies["open"],
    )


# --- Alerts: what must not wait, at the top of every home page and report --------------

# Each alert list shows this many rows, the oldest first; the count is of all.
ALERTS_SHOWN = 5


@dataclass(frozen=True)
class Alert(Generic[T]):
    item: T
    # When it opened: an emergency's time raised, a hazard's time entered.
    since: datetime
    # How long it has been open, in words: "3小时", "2天".
    open_for: str


@dataclass(frozen=True)
class Alerts:
    """Open emergencies and hazards past their deadline in a user's scope (of a
    node in it): the first ALERTS_SHOWN of each, the oldest first, and how many
    there are in all."""

    emergencies: list[Alert[Emergency]]
    emergencies_open: int
    hazards: list[Alert[Hazard]]
    hazards_overdue: int

    @property
    def total(self) -> int:
        return self.emergencies_open + self.hazards_overdue


def open_for(since: datetime, now: datetime) -> str:
    """The time from `since` to `now` in the largest whole unit: minutes under an
    hour, hours under a day, else days (elapsed time, not calendar days)."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return "不到1分钟"
    if seconds < 3600:
        return f"{seconds // 60}分钟"
    if seconds < 86400:
        return f"{seconds // 3600}小时"
    return f"{seconds // 86400}天"


def hazard_deadline_passed(now: datetime) -> Q:
    """Open hazards entered more than REMOVED_IN_TIME_DAYS (30×24 hours) before
    `now`: they can no longer count as removed in time (docs/统计口径.md §12,
    "其中30天内消除"), so they are past their deadline."""
    return Q(status=HazardStatus.OPEN, created_at__lt=now - timedelta(days=REMOVED_IN_TIME_DAYS))


def _open_emergencies(user: User, region: str | None) -> QuerySet[Emergency]:
    return _region(Emergency.objects.visible_to(user), region).filter(closed_at__isnull=True)


def _overdue_hazards(user: User, now: datetime, region: str | None) -> QuerySet[Hazard]:
    return _region(Hazard.objects.visible_to(user), region).filter(hazard_deadline_passed(now))


def open_alerts(user: User, now: datetime, *, region: str | None = None) -> Alerts:
    """The open emergencies and the hazards past their deadline of the user's
    subtree (of `region` in it), the oldest first: two queries whatever their
    number, each giving its first rows and the count of all (a window count)."""
    emergencies = list(
        _open_emergencies(user, region)
        .annotate(in_all=Window(Count("pk")))
        .order_by("raised_at", "pk")[:ALERTS_SHOWN]
    )
    hazards = list(
        _overdue_hazards(user, now, region)
        .annotate(in_all=Window(Count("pk")))
        .order_by("created_at", "pk")[:ALERTS_SHOWN]
    )
    return Alerts(
        emergencies=[Alert(e, e.raised_at, open_for(e.raised_at, now)) for e in emergencies],
        emergencies_open=emergencies[0].in_all if emergencies else 0,
        hazards=[Alert(h, h.created_at, open_for(h.created_at, now)) for h in hazards],
        hazards_overdue=hazards[0].in_all if hazards else 0,
    )


def alert_counts_by_place(user: User, now: datetime, region: str, level: Level) -> dict[str, int]:
    """Open emergencies and hazards past their deadline per node of `level` under
    `region` (the report's rows), keyed by the node's 12-digit code: two
    queries whatever the number of places. Places with none are left out."""
    width = PREFIX_LENGTH[level]
    counts: dict[str, int] = {}
    for rows in (_open_emergencies(user, region), _overdue_hazards(user, now, region)):
        grouped = (
            rows.order_by()
            .annotate(place=Substr("elder__village_id", 1, width))
            .values("place")
            .annotate(n=Count("pk"))
            .values_list("place", "n")
        )
        for place, n in grouped:
            code = place.ljust(CODE_LENGTH, "0")
            counts[code] = counts.get(code, 0) + n
    return counts

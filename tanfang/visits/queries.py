"""Reading the roster and the assignments (包干).

Every function that lists people takes a queryset that already went through
`Elder.objects.visible_to(user)` or `Visitor.objects.visible_to(user)`; nothing
here widens it.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from tanfang.accounts.models import User
from tanfang.regions.models import Level, Region, parent_code_of
from tanfang.registry.models import Elder, Status
from tanfang.visits.models import Assignment, Visit, Visitor

# The roster list's "active" filter.
ON_DUTY = "active"
OFF_DUTY = "inactive"
ALL = "all"


def open_assignments() -> QuerySet[Assignment]:
    return Assignment.objects.filter(ended_at__isnull=True)


def has_open_assignment() -> Exists:
    """For filtering or annotating elders: one has a responsible visitor."""
    return Exists(open_assignments().filter(elder=OuterRef("pk")))


def has_visitor(elder: Elder) -> bool:
    return open_assignments().filter(elder=elder).exists()


def elders_without_visitor(elders: QuerySet[Elder]) -> QuerySet[Elder]:
    """Active elders with no open assignment: each must have at least one
    responsible visitor (000_4970ff49482a0570.txt 三(二), DOMAIN.md "Visits")."""
    return elders.filter(status=Status.ACTIVE).filter(~has_open_assignment())


def assigned_to(elder: Elder) -> Exists:
    """For filtering visitors: one is responsible for `elder` now."""
    return Exists(open_assignments().filter(elder=elder, visitor=OuterRef("pk")))


def has_other_visitor(visitor: Visitor) -> Exists:
    """For annotating elders: someone besides `visitor` is responsible for them."""
    return Exists(open_assignments().filter(elder=OuterRef("pk")).exclude(visitor=visitor))


def visitors_of_elder(elder: Elder) -> QuerySet[Visitor]:
    """The visitors responsible for the elder now."""
    return Visitor.objects.filter(assigned_to(elder)).order_by("name", "pk")


def history_of_elder(elder: Elder) -> QuerySet[Assignment]:
    """Every assignment of the elder, open ones first, then the ended ones, newest first."""
    return (
        Assignment.objects.filter(elder=elder)
        .select_related("visitor", "started_by", "ended_by")
        .order_by(F("ended_at").desc(nulls_first=True), "-started_at", "-pk")
    )


def elders_of_visitor(visitor: Visitor, elders: QuerySet[Elder]) -> QuerySet[Elder]:
    """The elders among `elders` the visitor is responsible for now."""
    return elders.filter(
        Exists(open_assignments().filter(elder=OuterRef("pk"), visitor=visitor))
    ).order_by("village_id", "name", "pk")


# --- Which visitors may take an elder ----------------------------------------------


def serves(village_code: str) -> Q:
    """Visitors who may visit in the village: those of its township serving it
    by name, or serving the whole township (no villages listed)."""
    served = Visitor.villages.through.objects.filter(visitor_id=OuterRef("pk"))
    return Q(township_id=parent_code_of(village_code)) & (
        Exists(served.filter(region_id=village_code)) | ~Exists(served)
    )


def eligible_visitors(visitors: QuerySet[Visitor], village_code: str) -> QuerySet[Visitor]:
    """On-duty visitors who may be made responsible for an elder of the village."""
    return visitors.filter(serves(village_code), active=True).order_by("name", "pk")


@dataclass(frozen=True)
class FilePanel:
    """The "包干探访人员" section of the elder's file."""

    assigned: list[Visitor]  # each with `assigned_since`
    choices: list[Visitor]  # on-duty visitors who could be added; empty for readers


def file_panel(elder: Elder, eligible: QuerySet[Visitor] | None) -> FilePanel:
    """The visitors responsible for the elder, and (for an officer who assigns,
    `eligible` given) those who could be added, in one query."""
    open_for_elder = open_assignments().filter(elder=elder, visitor=OuterRef("pk"))
    assigned = Q(Exists(open_for_elder))
    wanted = assigned if eligible is None else assigned | Q(pk__in=eligible.values("pk"))
    rows = list(
        Visitor.objects.filter(wanted)
        .annotate(assigned_since=Subquery(open_for_elder.values("started_at")[:1]))
        .order_by("name", "pk")
    )
    return FilePanel(
        assigned=[v for v in rows if v.assigned_since is not None],
        choices=[v for v in rows if v.assigned_since is None],
    )


# --- The village page and the overview -------------------------------------------


def elders_with_visitors(elders: QuerySet[Elder]) -> QuerySet[Elder]:
    """Active elders, each with `current` = their open assignments and visitors
    (one more query for all of them)."""
    return (
        elders.filter(status=Status.ACTIVE)
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=open_assignments().select_related("visitor").order_by("visitor__name"),
                to_attr="current",
            )
        )
        .order_by("name", "pk")
    )


@dataclass(frozen=True)
class VillageCount:
    village: Region
    active: int
    without_visitor: int


def counts_by_village(region: Region, elders: QuerySet[Elder]) -> list[VillageCount]:
    """Active elders and those without a visitor, for every village under
    `region` (or the village itself), in one query."""
    in_village = elders.filter(status=Status.ACTIVE, village_id=OuterRef("code")).order_by()

    def counted(queryset: QuerySet[Elder]) -> Coalesce:
        totals = queryset.values("village_id").annotate(n=Count("pk")).values("n")
        return Coalesce(Subquery(totals, output_field=IntegerField()), Value(0))

    villages = (
        Region.objects.filter(region.subtree(), level=Level.VILLAGE)
        .select_related("parent")
        .annotate(
            active=counted(in_village),
            without_visitor=counted(in_village.filter(~has_open_assignment())),
        )
        .order_by("code")
    )
    return [VillageCount(v, v.active, v.without_visitor) for v in villages]


# --- The roster list ------------------------------------------------------------------


def search_visitors(
    visitors: QuerySet[Visitor], *, text: str, kind: str, village: str, active: str
) -> QuerySet[Visitor]:
    """The roster list's search: part of a name, a kind, a village (those who
    serve it, by name or as the whole township), on duty or not."""
    if text.strip():
        visitors = visitors.filter(name__contains=text.strip())
    if kind:
        visitors = visitors.filter(kind=kind)
    if village:
        visitors = visitors.filter(serves(village))
    if active in (ON_DUTY, OFF_DUTY):
        visitors = visitors.filter(active=active == ON_DUTY)
    return visitors


def with_roster_details(visitors: QuerySet[Visitor]) -> QuerySet[Visitor]:
    """Each with `elder_count` (elders responsible for now) and `served` (the
    villages), in one more query for the villages of the whole page."""
    return visitors.annotate(
        elder_count=Count("assignments", filter=Q(assignments__ended_at__isnull=True))
    ).prefetch_related(
        Prefetch("villages", queryset=Region.objects.order_by("code"), to_attr="served")
    )


# --- The visitors of a visit's record ---------------------------------------------------


def own_visitor(user: User) -> Visitor | None:
    """The user's own entry in the roster (a visitor who signs in), if any."""
    return Visitor.objects.filter(user=user).first()


def co_visitors(user: User, ids: list[int]) -> QuerySet[Visitor]:
    """Those of `ids` a user may name on a visit's record: the rosters of the
    townships in the user's subtree and, for a village's users, the whole roster
    of their township (wider than `Visitor.objects.visible_to`: a visitor who
    serves another village may go along)."""
    own_township = Q(township_id=user.region_id[:9] + "000")
    return Visitor.objects.filter(pk__in=ids).filter(
        user.region.subtree("township_id") | own_township
    )


def outside_visits(visits: QuerySet[Visit], village: Region, since: date) -> QuerySet[Visit]:
    """Visits made in `village` since `since` by a visitor to an elder not
    assigned to them, with the reason they gave (issue 16: shown to the
    liaison), newest first. `visits` went through `Visit.objects.visible_to`."""
    return (
        visits.filter(village=village, visited_at__date__gte=since)
        .exclude(outside_reason="")
        .select_related("elder", "recorded_by")
        .order_by("-visited_at", "-pk")
    )

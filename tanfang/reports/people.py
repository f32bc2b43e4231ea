"""Reports that read people's rows, not only the counters: a village's
missed elders (its `ElderMonth` rows with their visits and visitors), the
dashboard (this month's counters, and the visit tasks, file reviews and
elders without a visitor under the node) and the tasks behind its numbers
(DOMAIN.md "Supervision and reports", issue 6 "Reports" and "Dashboard").

Like tanfang.reports.queries, plain functions of a node and a day, with a
fixed number of queries whatever the number of elders. Where people's rows
are read by scope (the dashboard's files and tasks), the caller passes the
queryset it got from `Elder.objects.visible_to(user)`, narrowed here to the
node and never widened; a village's missed elders are read from the rollup
of the village the caller was given through `access.get_region_for`.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Case, Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When

from tanfang.months import bounds, month_of
from tanfang.regions.models import in_subtree
from tanfang.registry.models import Elder, Status
from tanfang.registry.queries import review_overdue
from tanfang.reports.models import ElderMonth
from tanfang.reports.queries import (
    TARGET,
    Counts,
    Node,
    Surge,
    dimension_label,
    month_counts,
    node_code,
    node_prefix,
    surges,
)
from tanfang.reports.rows import TIER
from tanfang.visits.models import Assignment, TaskKind, Visit, VisitMode, VisitTask
from tanfang.visits.queries import elders_without_visitor

# --- A village's missed elders ---------------------------------------------------------


@dataclass(frozen=True)
class MissedRow:
    elder_id: int
    name: str
    tier: str  # in words
    categories: list[str]
    visited: bool
    compliant: bool
    visits: int
    missing: list[str]  # in words: "下半月缺上门探访"
    last_visit_at: datetime | None
    last_visit_mode: str
    visitors: list[str]

    @property
    def status(self) -> str:
        return "未探访" if not self.visited else "未达标"


def missed_elders(village: Node, month: date) -> list[MissedRow]:
    """Elders counted in the village that month who were not visited or whose
    visits did not meet their rule, with what is missing in words, their last
    visit up to the month's end and the visitors responsible during the month:
    two queries whatever the number of elders. Not visited first, then by name."""
    month = month_of(month)
    start, end = bounds(month)
    newest = Visit.objects.filter(elder=OuterRef("elder_id"), visited_at__lt=end).order_by(
        "-visited_at", "-pk"
    )
    during = Assignment.objects.filter(started_at__lt=end).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=start)
    )
    rows = (
        ElderMonth.objects.filter(village_id=node_code(village), month=month, counted=True)
        .filter(Q(visited=False) | Q(compliant=False))
        .select_related("elder")
        .only("elder__name", *_ELDER_MONTH_FIELDS)
        .annotate(
            last_visit_at=Subquery(newest.values("visited_at")[:1]),
            last_visit_mode=Subquery(newest.values("mode")[:1]),
        )
        .prefetch_related(
            Prefetch(
                "elder__assignments",
                queryset=during.select_related("visitor").order_by("visitor__name", "pk"),
                to_attr="during",
            )
        )
        .order_by("visited", "elder__name", "elder_id")
    )
    labels = dict(VisitMode.choices)
    return [
        MissedRow(
            elder_id=row.elder_id,
            name=row.elder.name,
            tier=dimension_label(TIER + row.tier) if row.tier else "",
            categories=list(row.categories or ()),
            visited=row.visited,
            compliant=row.compliant,
            visits=row.visits,
            missing=[str(words) for words in row.missing or ()],
            last_visit_at=row.last_visit_at,
            last_visit_mode=str(labels.get(row.last_visit_mode or "", "")),
            visitors=_unique(a.visitor.name for a in row.elder.during),  # type: ignore[attr-defined]
        )
        for row in rows
    ]


_ELDER_MONTH_FIELDS = (
    "elder_id",
    "month",
    "village_id",
    "tier",
    "categories",
    "counted",
    "visited",
    "compliant",
    "visits",
    "missing",
)


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


# --- The dashboard ----------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    node_code: str
    today: date
    month: date
    counts: Counts  # this month so far
    overdue_tasks: int  # past the deadline today, still doable
    missed_tasks: int  # this month, window closed without a visit
    reviews_overdue: int
    without_visitor: int
    # This month's festivals and declared events, with their coverage so far.
    surges: list[Surge] = field(default_factory=list)

    @property
    def target(self) -> Decimal:
        return TARGET

    @property
    def gap(self) -> int:
        """Elders still to visit this month to reach the target."""
        return self.counts.unvisited


def dashboard(node: Node, today: date, elders: QuerySet[Elder] | None = None) -> Dashboard:
    """This month so far against the 100% target, the coverage of its
    festivals and declared events, visit tasks overdue today and missed this
    month, overdue file reviews, elders without a visitor: five queries (six
    with an event declared). `elders` is the caller's scope
    (Elder.objects.visible_to); it is narrowed to the node."""
    month = month_of(today)
    counts = month_counts(node, month)
    mine = (elders if elders is not None else Elder.objects.all()).filter(
        in_subtree("village_id", node_prefix(node))
    )
    tasks = open_tasks_past_deadline(mine, today).aggregate(
        overdue=Count("pk", filter=Q(window_end__gte=today)),
        missed=Count("pk", filter=Q(window_end__lt=today)),
    )
    return Dashboard(
        node_code=node_code(node),
        today=today,
        month=month,
        counts=counts,
        overdue_tasks=tasks["overdue"],
        missed_tasks=tasks["missed"],
        reviews_overdue=review_overdue(mine, today).count(),
        without_visitor=elders_without_visitor(mine).count(),
        surges=surges(node, month).totals,
    )


def open_tasks_past_deadline(elders: QuerySet[Elder], today: date) -> QuerySet[VisitTask]:
    """Visit tasks (not file reviews) of active `elders` still open after their
    deadline: overdue today (deadline < today ≤ window_end), or missed this
    month (the window closed this month before today)."""
    return VisitTask.objects.filter(
        elder__in=elders.filter(status=Status.ACTIVE).values("pk"),
        deadline__lt=today,
        window_end__gte=month_of(today),
        done_at__isnull=True,
        excused_at__isnull=True,
        cancelled_at__isnull=True,
    ).exclude(kind=TaskKind.REVIEW)


@dataclass(frozen=True)
class LateTask:
    task: VisitTask
    overdue: bool  # else missed
    visitors: list[str] = field(default_factory=list)


# The overdue list shows at most this many tasks, the oldest deadlines first.
LATE_LIMIT = 500


@dataclass(frozen=True)
class Late:
    rows: list[LateTask]  # at most LATE_LIMIT, the overdue ones first
    overdue: int  # in all
    missed: int  # in all

    @property
    def total(self) -> int:
        return self.overdue + self.missed


def late_tasks(elders: QuerySet[Elder], node: Node, today: date) -> Late:
    """The tasks behind the dashboard's task numbers under the node, at most
    LATE_LIMIT, overdue ones first, and how many of each there are in all:
    three queries whatever their number."""
    tasks = open_tasks_past_deadline(
        elders.filter(in_subtree("village_id", node_prefix(node))), today
    )
    totals = tasks.aggregate(
        overdue=Count("pk", filter=Q(window_end__gte=today)),
        missed=Count("pk", filter=Q(window_end__lt=today)),
    )
    page = (
        tasks.select_related("elder", "elder__village")
        .prefetch_related(
            Prefetch(
                "elder__assignments",
                queryset=Assignment.objects.filter(ended_at__isnull=True)
                .select_related("visitor")
                .order_by("visitor__name", "pk"),
                to_attr="current",
            )
        )
        .order_by(
            Case(When(window_end__gte=today, then=Value(0)), default=Value(1)),
            "deadline",
            "elder__village_id",
            "elder__name",
            "pk",
        )
    )
    rows = [
        LateTask(
            task=task,
            overdue=task.window_end >= today,
            visitors=_unique(a.visitor.name for a in task.elder.current),  # type: ignore[attr-defined]
        )
        for task in page[:LATE_LIMIT]
    ]
    return Late(rows, totals["overdue"], totals["missed"])

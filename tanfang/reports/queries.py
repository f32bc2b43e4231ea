"""Reading the rollups' counters: the table of a node's children, the
breakdown by tier and category, the festivals' and declared events' coverage,
the 12-month trend and the quarter with its compliance (DOMAIN.md
"Supervision and reports", issue 6). The reports that read people's rows (a
village's missed elders, the dashboard and its late tasks) are in
tanfang.reports.people.

Every figure above one elder is a sum of `VillageMonth` rows over the villages
whose 12-digit code starts with the node's prefix (province 2, city 4, county 6,
township 9 digits), grouped by the prefix of the next level down in ONE
aggregate query; the names come in one more. So a report costs the same number
of queries for a township as for a province, and is computed on demand from
counters kept current as visits arrive (ARCHITECTURE.md: no nightly batch).

These are plain functions of a node (a `Region`, or its 12-digit code) and a
month, usable without a request: the pages call them with a region they got
through `access.get_region_for`, the benchmark (bench/) calls them directly.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Substr
from django.utils import timezone

from tanfang.jurisdiction.models import DeclaredEvent
from tanfang.months import add_months, month_of, quarter_months
from tanfang.policy import engine
from tanfang.regions.models import PREFIX_LENGTH, Level, Region, in_subtree, level_of_code
from tanfang.registry.models import Category
from tanfang.reports.models import VillageMonth
from tanfang.reports.rows import ALL, CATEGORY, MUST, SURGE, TIER

Node = Region | str

# 002_8b4fd75972db9bc5.txt 一(三): 确保特殊困难老年人月探访率达到100% (also
# 001_35a01bee4c628ebd.txt 一(二), 004_1657df0ed1e05604.txt 一).
TARGET = Decimal(100)
# The first month a report may be asked for: nothing was recorded before it.
FIRST_MONTH = date(2020, 1, 1)
NO_RATE = "—"


# --- Nodes -------------------------------------------------------------------------


def node_code(node: Node) -> str:
    return node.code if isinstance(node, Region) else node


def node_level(node: Node) -> Level:
    """The level, read from the code when only the code is given (no query)."""
    return Level(node.level) if isinstance(node, Region) else level_of_code(node)


def node_prefix(node: Node) -> str:
    return node_code(node)[: PREFIX_LENGTH[node_level(node)]]


def child_level(level: Level) -> Level:
    """The level of a node's rows: the next one down; a village is its own row."""
    return Level(min(level + 1, Level.VILLAGE))


# --- Counts and rates -------------------------------------------------------------------


def rate(part: int, whole: int) -> Decimal | None:
    """A percentage with one decimal, or None when nobody is counted."""
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def percent(value: Decimal | None) -> str:
    return NO_RATE if value is None else f"{value}%"


@dataclass(frozen=True)
class Counts:
    """Elders counted (active, consenting), visited at least once, compliant with
    their rule, declining visits (shown beside the rate, never in it), and
    compliant in every month of the quarter so far in which they were counted;
    docs/统计口径.md gives the definitions."""

    counted: int = 0
    visited: int = 0
    compliant: int = 0
    declined: int = 0
    quarter_compliant: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(
            self.counted + other.counted,
            self.visited + other.visited,
            self.compliant + other.compliant,
            self.declined + other.declined,
            self.quarter_compliant + other.quarter_compliant,
        )

    @property
    def unvisited(self) -> int:
        return self.counted - self.visited

    @property
    def noncompliant(self) -> int:
        return self.counted - self.compliant

    @property
    def visit_rate(self) -> Decimal | None:
        return rate(self.visited, self.counted)

    @property
    def compliance_rate(self) -> Decimal | None:
        return rate(self.compliant, self.counted)

    @property
    def quarter_compliance_rate(self) -> Decimal | None:
        return rate(self.quarter_compliant, self.counted)

    @property
    def visit_rate_text(self) -> str:
        return percent(self.visit_rate)

    @property
    def compliance_rate_text(self) -> str:
        return percent(self.compliance_rate)

    @property
    def quarter_compliance_rate_text(self) -> str:
        return percent(self.quarter_compliance_rate)

    @property
    def meets_target(self) -> bool:
        return self.visit_rate == TARGET


_SUMS = {
    "counted": Sum("counted"),
    "visited": Sum("visited"),
    "compliant": Sum("compliant"),
    "declined": Sum("declined"),
    "quarter_compliant": Sum("quarter_compliant"),
}


def _counts(row: dict[str, Any]) -> Counts:
    return Counts(
        int(row["counted"] or 0),
        int(row["visited"] or 0),
        int(row["compliant"] or 0),
        int(row["declined"] or 0),
        int(row.get("quarter_compliant") or 0),
    )


def _counters(node: Node) -> QuerySet[VillageMonth]:
    return VillageMonth.objects.filter(in_subtree("village_id", node_prefix(node))).order_by()


def month_counts(node: Node, month: date) -> Counts:
    """The node's counts of every elder in `month`: one query."""
    return _counts(_counters(node).filter(month=month, dimension=ALL).aggregate(**_SUMS))


def _names(node: Node, level: Level) -> list[tuple[str, str]]:
    """(code, name) of the nodes of `level` under `node` (the node itself at its level)."""
    return list(
        Region.objects.filter(in_subtree("code", node_prefix(node)), level=level)
        .order_by("code")
        .values_list("code", "name")
    )


# --- Dimensions (全部 / 按分级 / 按对象类型) -------------------------------------------------


def tier_labels() -> dict[str, str]:
    """Tier keys of every profile with their labels; the national words first
    (重点对象/一般对象), then those only one scheme has (Jining's 次重点人群). A
    profile that cannot be read adds none: its tiers are shown by their keys,
    and every other county's reports stay as they are."""
    labels: dict[str, str] = {}
    names = sorted(engine.profile_names(), key=lambda name: (name != "national", name))
    for name in names:
        try:
            keys = engine.load(name).tier_keys()
        except engine.ConfigError:
            continue
        for key, label in keys:
            labels.setdefault(key, label)
    return labels


def dimension_label(dimension: str) -> str:
    if dimension == ALL:
        return "全部"
    if dimension.startswith(TIER):
        key = dimension.removeprefix(TIER)
        return tier_labels().get(key, key or "未分级")
    if dimension.startswith(CATEGORY):
        return dimension.removeprefix(CATEGORY)
    return dimension


def is_known_dimension(dimension: str) -> bool:
    if dimension == ALL:
        return True
    if dimension.startswith(TIER):
        return dimension.removeprefix(TIER) in tier_labels()
    if dimension.startswith(CATEGORY):
        return dimension.removeprefix(CATEGORY) in Category.values
    return False


def known_dimensions() -> list[str]:
    return [
        *(TIER + key for key in tier_labels()),
        *(CATEGORY + value for value in Category.values),
    ]


# --- The children table --------------------------------------------------------------

# Sort keys of the table (a leading "-" sorts descending), with the column heads.
COLUMNS: dict[str, str] = {
    "code": "区划",
    "counted": "应探访",
    "visited": "已探访",
    "unvisited": "未探访",
    "visit_rate": "探访率",
    "compliant": "达标",
    "compliance_rate": "达标率",
    "declined": "不愿接受探访",
}
DEFAULT_SORT = "code"


def is_known_sort(sort: str) -> bool:
    return sort.removeprefix("-") in COLUMNS


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    counts: Counts


@dataclass(frozen=True)
class Table:
    node_code: str
    month: date
    dimension: str
    level: Level  # of the rows
    rows: list[Row]
    total: Counts
    sort: str = DEFAULT_SORT


def children_table(
    node: Node,
    month: date,
    dimension: str = ALL,
    *,
    level: Level | None = None,
    sort: str = DEFAULT_SORT,
) -> Table:
    """One row per child node (per node of `level`, when given: a province by
    county) with its counts, and the totals: two queries whatever the number
    of villages. A child without any counter row shows with zeros ("—" rates)."""
    month = month_of(month)
    level = level or child_level(node_level(node))
    width = PREFIX_LENGTH[level]
    sums = (
        _counters(node)
        .filter(month=month, dimension=dimension)
        .annotate(child=Substr("village_id", 1, width))
        .values("child")
        .annotate(**_SUMS)
    )
    by_child = {row["child"]: _counts(row) for row in sums}
    rows = [
        Row(code, name, by_child.pop(code[:width], Counts())) for code, name in _names(node, level)
    ]
    # Counters of a code with no region of that level (never expected: villages
    # are imported with their parents) are shown rather than lost from the total.
    rows += [Row(prefix.ljust(12, "0"), prefix, counts) for prefix, counts in by_child.items()]
    total = sum((row.counts for row in rows), Counts())
    return Table(
        node_code=node_code(node),
        month=month,
        dimension=dimension,
        level=level,
        rows=sort_rows(rows, sort),
        total=total,
        sort=sort if is_known_sort(sort) else DEFAULT_SORT,
    )


def sort_rows(rows: list[Row], sort: str) -> list[Row]:
    """By any column; rows without a rate ("—") come last either way."""
    key = sort.removeprefix("-")
    descending = sort.startswith("-")
    if key not in COLUMNS or key == "code":
        return sorted(rows, key=lambda row: row.code, reverse=descending)

    def value(row: Row) -> Any:
        return getattr(row.counts, key)

    present = [row for row in rows if value(row) is not None]
    absent = [row for row in rows if value(row) is None]
    # Ties keep the order of the codes.
    present.sort(key=lambda row: row.code)
    present.sort(key=value, reverse=descending)
    return present + sorted(absent, key=lambda row: row.code)


# --- By tier and category --------------------------------------------------------------


@dataclass(frozen=True)
class DimensionRow:
    dimension: str
    label: str
    counts: Counts


@dataclass(frozen=True)
class Dimensions:
    tiers: list[DimensionRow]
    categories: list[DimensionRow]


def by_dimension(node: Node, month: date) -> Dimensions:
    """The node's counts per tier and per category (an elder of two categories
    counts in both), in one query. Tiers in the order of the schemes, those
    nobody is in left out; every category of 附件2, with zeros."""
    sums = (
        _counters(node)
        .filter(month=month_of(month))
        .filter(Q(dimension__startswith=TIER) | Q(dimension__startswith=CATEGORY))
        .values("dimension")
        .annotate(**_SUMS)
    )
    found = {row["dimension"]: _counts(row) for row in sums}
    order = {key: position for position, key in enumerate(tier_labels())}
    tier_keys = sorted(
        (d for d in found if d.startswith(TIER)),
        key=lambda d: (order.get(d.removeprefix(TIER), len(order)), d),
    )
    return Dimensions(
        tiers=[DimensionRow(d, dimension_label(d), found[d]) for d in tier_keys],
        categories=[
            DimensionRow(CATEGORY + c, c, found.get(CATEGORY + c, Counts()))
            for c in Category.values
        ],
    )


# --- Festivals and declared events (节日/天气探访覆盖率) ----------------------------------


@dataclass(frozen=True)
class Surge:
    """A festival or declared event counting in a month: the counted elders in
    scope of it (a task for it, not excused), those visited inside its window
    (covered), and of those in scope the ones for whom it is mandatory
    (001_35a01bee4c628ebd.txt 二(五)2 "必须开展": part of their compliance);
    for the others it is asked on top (000_4970ff49482a0570.txt 四(二)
    "适当增加探访频次") and never lowers compliance."""

    key: str  # "festival:重阳", "event:12"
    label: str
    in_scope: int = 0
    covered: int = 0
    mandatory: int = 0

    def __add__(self, other: "Surge") -> "Surge":
        return Surge(
            self.key,
            self.label,
            self.in_scope + other.in_scope,
            self.covered + other.covered,
            self.mandatory + other.mandatory,
        )

    @property
    def uncovered(self) -> int:
        return self.in_scope - self.covered

    @property
    def coverage_rate(self) -> Decimal | None:
        return rate(self.covered, self.in_scope)

    @property
    def coverage_rate_text(self) -> str:
        return percent(self.coverage_rate)

    @property
    def is_mandatory(self) -> bool:
        """Mandatory for everyone in scope."""
        return self.in_scope > 0 and self.mandatory == self.in_scope

    @property
    def partly_mandatory(self) -> bool:
        """Mandatory for some in scope (counties under different rules)."""
        return 0 < self.mandatory < self.in_scope


@dataclass(frozen=True)
class Surges:
    """The surges of a node's month: over the node, and per node of `level`."""

    month: date
    level: Level
    totals: list[Surge]
    by_child: dict[str, dict[str, Surge]]  # child's code prefix -> key -> counts

    def of(self, code: str) -> list[Surge]:
        """A child's counts of each surge of `totals`, in their order (zeros
        where it has none)."""
        found = self.by_child.get(code[: PREFIX_LENGTH[self.level]], {})
        return [found.get(s.key, Surge(s.key, s.label)) for s in self.totals]


def surge_label(key: str, titles: dict[int, str]) -> str:
    """ "重阳节探访" for a festival; a declared event's title."""
    kind, _, name = key.partition(":")
    if kind == "festival":
        return f"{name}探访" if name.endswith("节") else f"{name}节探访"
    if kind == "event" and name.isdigit() and int(name) in titles:
        return titles[int(name)]
    return f"特殊时段探访（{name}）"


def _surge_order(key: str) -> tuple[int, int, str]:
    kind, _, name = key.partition(":")
    return (0 if kind == "festival" else 1, int(name) if name.isdigit() else 0, name)


def surges(node: Node, month: date, level: Level | None = None) -> Surges:
    """The coverage of each festival and declared event counting in `month`
    under the node, and per node of `level` (its children by default): one
    query, and one more for the events' titles when there are events."""
    month = month_of(month)
    level = level or child_level(node_level(node))
    width = PREFIX_LENGTH[level]
    sums = (
        _counters(node)
        .filter(month=month)
        .filter(Q(dimension__startswith=SURGE) | Q(dimension__startswith=MUST))
        .annotate(child=Substr("village_id", 1, width))
        .values("child", "dimension")
        .annotate(counted=Sum("counted"), visited=Sum("visited"))
    )
    # child -> key -> [in scope, covered, mandatory]
    found: dict[str, dict[str, list[int]]] = {}
    for row in sums:
        must = row["dimension"].startswith(MUST)
        key = row["dimension"].removeprefix(MUST if must else SURGE)
        counts = found.setdefault(row["child"], {}).setdefault(key, [0, 0, 0])
        if must:
            counts[2] += int(row["counted"] or 0)
        else:
            counts[0] += int(row["counted"] or 0)
            counts[1] += int(row["visited"] or 0)
    keys = sorted({key for by_key in found.values() for key in by_key}, key=_surge_order)
    events = [int(k.split(":")[1]) for k in keys if k.startswith("event:") and k[6:].isdigit()]
    titles = (
        dict(DeclaredEvent.objects.filter(pk__in=events).values_list("pk", "title"))
        if events
        else {}
    )
    labels = {key: surge_label(key, titles) for key in keys}
    by_child = {
        child: {key: Surge(key, labels[key], *counts) for key, counts in by_key.items()}
        for child, by_key in found.items()
    }
    totals = [
        sum(
            (by_key[key] for by_key in by_child.values() if key in by_key),
            Surge(key, labels[key]),
        )
        for key in keys
    ]
    return Surges(month, level, totals, by_child)


# --- The trend --------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    month: date
    counts: Counts


def trend(node: Node, last_month: date, months: int = 12, dimension: str = ALL) -> list[TrendPoint]:
    """The node's counts for the `months` months ending with `last_month`,
    oldest first, in one query; months before FIRST_MONTH are left out."""
    last = month_of(last_month)
    first = max(add_months(last, 1 - months), FIRST_MONTH)
    sums = (
        _counters(node)
        .filter(month__gte=first, month__lte=last, dimension=dimension)
        .values("month")
        .annotate(**_SUMS)
    )
    found = {row["month"]: _counts(row) for row in sums}
    points = []
    month = first
    while month <= last:
        points.append(TrendPoint(month, found.get(month, Counts())))
        month = add_months(month, 1)
    return points


# --- The quarter (按季调度) -------------------------------------------------------------


@dataclass(frozen=True)
class QuarterRow:
    code: str
    name: str
    months: list[Counts]  # the quarter's three months, in order
    total: Counts  # the three months summed: elder-months
    # The month the quarter's compliance is read in (its last, or today's
    # while it runs): counted then, and compliant in every month of the
    # quarter in which they were counted (`quarter_compliant`).
    quarter: Counts


@dataclass(frozen=True)
class Quarter:
    node_code: str
    year: int
    quarter: int
    months: list[date]
    level: Level
    rows: list[QuarterRow]
    totals: list[Counts]  # per month, over every row
    total: Counts
    reference: date  # the month `QuarterRow.quarter` is read in
    quarter_total: Counts  # `QuarterRow.quarter` over every row


def quarter_summary(node: Node, year: int, quarter: int, today: date | None = None) -> Quarter:
    """Each child node's counts in each month of the quarter and over the
    quarter, for the quarterly dispatch (001_35a01bee4c628ebd.txt 三(三):
    相关数据按月更新，按季调度): two queries. The quarter's visit rate is over
    elder-months (visited elder-months / counted elder-months), so a month
    with more elders weighs more, as in the monthly tables summed. Its
    compliance is over elders: of those counted in its last month (today's
    while it runs), the share compliant in every month of the quarter in
    which they were counted."""
    months = quarter_months(year, quarter)
    today = today or timezone.localdate()
    reference = min(months[-1], month_of(today))
    level = child_level(node_level(node))
    width = PREFIX_LENGTH[level]
    sums = (
        _counters(node)
        .filter(month__gte=months[0], month__lte=months[-1], dimension=ALL)
        .annotate(child=Substr("village_id", 1, width))
        .values("child", "month")
        .annotate(**_SUMS)
    )
    found = {(row["child"], row["month"]): _counts(row) for row in sums}
    rows = []
    for code, name in _names(node, level):
        per_month = [found.get((code[:width], month), Counts()) for month in months]
        rows.append(
            QuarterRow(
                code,
                name,
                per_month,
                sum(per_month, Counts()),
                found.get((code[:width], reference), Counts()),
            )
        )
    totals = [sum((row.months[n] for row in rows), Counts()) for n in range(len(months))]
    return Quarter(
        node_code=node_code(node),
        year=year,
        quarter=quarter,
        months=months,
        level=level,
        rows=rows,
        totals=totals,
        total=sum(totals, Counts()),
        reference=reference,
        quarter_total=sum((row.quarter for row in rows), Counts()),
    )

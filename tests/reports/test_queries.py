"""The report queries (tanfang/reports/queries.py): a node's children summed from
the village counters by code prefix in a fixed number of queries, rates with one
decimal and "—" for nobody counted, sorting, tiers and categories, a village's
missed elders with what is missing in words, the 12-month trend, the quarter
(按季调度, 001_35a01bee4c628ebd.txt 三(三)) and the dashboard's numbers.

Target: 月探访率达到100% (002_8b4fd75972db9bc5.txt 一(三)).
"""

from datetime import date
from decimal import Decimal

import pytest

from tanfang.regions.models import Level, Region
from tanfang.reports import people, queries
from tanfang.reports.queries import Counts
from tanfang.visits.models import Assignment, TaskKind, VisitTask
from tests.conftest import (
    CITY,
    COUNTY,
    OTHER_COUNTY,
    OTHER_VILLAGE,
    PROVINCE,
    TOWNSHIP_A,
    TOWNSHIP_B,
    VILLAGE_A,
    VILLAGE_B,
    aware,
)
from tests.reports.fill import add_villages, counter, elder_month, visit_on, wipe
from tests.visits.factories import assign, make_elder, make_task, make_visitor

NOVEMBER = date(2026, 11, 1)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def counted(regions):
    """村A: 10 counted, 8 visited, 6 compliant, 1 declined; 村B: 5, 5, 5, 0;
    村C of the neighbouring county: 4, 1, 0, 2. October too, and breakdowns."""
    counter(VILLAGE_A, NOVEMBER, counted=10, visited=8, compliant=6, declined=1)
    counter(VILLAGE_B, NOVEMBER, counted=5, visited=5, compliant=5)
    counter(OTHER_VILLAGE, NOVEMBER, counted=4, visited=1, compliant=0, declined=2)
    counter(VILLAGE_A, date(2026, 10, 1), counted=10, visited=10, compliant=9)
    counter(VILLAGE_A, NOVEMBER, "tier:key", counted=4, visited=2, compliant=1)
    counter(VILLAGE_A, NOVEMBER, "tier:general", counted=6, visited=6, compliant=5)
    counter(VILLAGE_B, NOVEMBER, "tier:general", counted=5, visited=5, compliant=5)
    counter(VILLAGE_A, NOVEMBER, "category:独居", counted=3, visited=2, compliant=2)
    counter(VILLAGE_B, NOVEMBER, "category:独居", counted=1, visited=1, compliant=1)


# --- Rates -------------------------------------------------------------------------------


def test_it_gives_rates_in_percent_with_one_decimal():
    counts = Counts(counted=3, visited=2, compliant=1)

    assert counts.visit_rate == Decimal("66.7")
    assert counts.compliance_rate == Decimal("33.3")
    assert counts.visit_rate_text == "66.7%"
    assert Counts(counted=8, visited=8).visit_rate_text == "100.0%"
    assert Counts(counted=8, visited=8).meets_target


def test_it_gives_no_rate_when_nobody_is_counted():
    counts = Counts(counted=0, visited=0, declined=3)

    assert counts.visit_rate is None
    assert counts.visit_rate_text == "—"
    assert counts.compliance_rate_text == "—"
    assert not counts.meets_target


# --- The children table --------------------------------------------------------------------


def test_it_sums_the_villages_of_each_township_of_a_county(counted):
    table = queries.children_table(COUNTY, NOVEMBER)

    assert table.level == Level.TOWNSHIP
    assert [(row.code, row.name) for row in table.rows] == [
        (TOWNSHIP_A, "灵秀镇"),
        (TOWNSHIP_B, "宝盖镇"),
    ]
    assert table.rows[0].counts == Counts(10, 8, 6, 1)
    assert table.rows[1].counts == Counts(5, 5, 5, 0)
    assert table.total == Counts(15, 13, 11, 1)
    assert table.total.visit_rate == Decimal("86.7")
    assert table.total.compliance_rate == Decimal("73.3")


def test_it_sums_down_to_the_city_the_province_and_the_village(counted, regions):
    province = queries.children_table(regions[PROVINCE], NOVEMBER)
    city = queries.children_table(CITY, NOVEMBER)
    village = queries.children_table(VILLAGE_A, NOVEMBER)

    assert [(r.name, r.counts.counted) for r in province.rows] == [("泉州市", 19)]
    assert [(r.name, r.counts.counted) for r in city.rows] == [("石狮市", 15), ("晋江市", 4)]
    assert city.total == Counts(19, 14, 11, 3)
    # A village is its own row.
    assert [(r.name, r.counts) for r in village.rows] == [("村A", Counts(10, 8, 6, 1))]


def test_it_groups_a_province_by_county_when_asked(counted):
    table = queries.children_table(PROVINCE, NOVEMBER, level=Level.COUNTY)

    assert [(r.name, r.counts.visited) for r in table.rows] == [("石狮市", 13), ("晋江市", 1)]


def test_it_shows_a_child_without_counters_with_zeros_and_no_rate(counted):
    table = queries.children_table(COUNTY, date(2026, 10, 1))

    assert table.rows[1].name == "宝盖镇"
    assert table.rows[1].counts == Counts()
    assert table.rows[1].counts.visit_rate_text == "—"


def test_it_reads_one_breakdown_when_asked(counted):
    table = queries.children_table(COUNTY, NOVEMBER, "tier:key")

    assert [r.counts for r in table.rows] == [Counts(4, 2, 1, 0), Counts()]


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("code", ["灵秀镇", "宝盖镇", "第三镇"]),
        ("-code", ["第三镇", "宝盖镇", "灵秀镇"]),
        ("visit_rate", ["灵秀镇", "宝盖镇", "第三镇"]),
        ("-visit_rate", ["宝盖镇", "灵秀镇", "第三镇"]),
        ("counted", ["第三镇", "宝盖镇", "灵秀镇"]),
        ("-unvisited", ["灵秀镇", "宝盖镇", "第三镇"]),
    ],
)
def test_it_sorts_by_any_column_with_no_rate_last(counted, regions, sort, order):
    Region.objects.create(
        code="350581102000", name="第三镇", level=Level.TOWNSHIP, parent_id=COUNTY
    )

    table = queries.children_table(COUNTY, NOVEMBER, sort=sort)

    assert [row.name for row in table.rows] == order


def test_it_reads_a_table_in_two_queries_whatever_the_number_of_villages(
    counted, regions, django_assert_num_queries
):
    with django_assert_num_queries(2):
        queries.children_table(regions[COUNTY], NOVEMBER)
    add_villages(regions, 30, NOVEMBER)
    with django_assert_num_queries(2):
        table = queries.children_table(regions[COUNTY], NOVEMBER)

    assert table.total.counted == 15 + 30 * 3


def test_it_leaves_out_the_counters_of_other_nodes(counted):
    table = queries.children_table(OTHER_COUNTY, NOVEMBER)

    assert table.total == Counts(4, 1, 0, 2)


# --- Tiers and categories ------------------------------------------------------------------


def test_it_breaks_a_node_down_by_tier_and_category(counted, django_assert_num_queries):
    with django_assert_num_queries(1):
        dims = queries.by_dimension(COUNTY, NOVEMBER)

    assert [(row.label, row.counts) for row in dims.tiers] == [
        ("重点对象", Counts(4, 2, 1, 0)),
        ("一般对象", Counts(11, 11, 10, 0)),
    ]
    categories = {row.label: row.counts for row in dims.categories}
    # Every category of 附件2, with zeros for those nobody is in.
    assert list(categories)[:3] == ["孤寡", "独居", "空巢"]
    assert categories["独居"] == Counts(4, 3, 3, 0)
    assert categories["孤寡"] == Counts()


def test_it_knows_the_dimensions_it_can_show():
    assert queries.is_known_dimension("")
    assert queries.is_known_dimension("tier:secondary")
    assert queries.is_known_dimension("category:留守")
    assert not queries.is_known_dimension("tier:foo")
    assert not queries.is_known_dimension("category:bar")
    assert not queries.is_known_dimension("foo")
    assert queries.dimension_label("tier:secondary") == "次重点人群"


# --- The trend -----------------------------------------------------------------------------


def test_it_gives_twelve_months_oldest_first_with_empty_months(counted, django_assert_num_queries):
    with django_assert_num_queries(1):
        points = queries.trend(COUNTY, NOVEMBER)

    assert [p.month for p in points][:2] == [date(2025, 12, 1), date(2026, 1, 1)]
    assert len(points) == 12
    assert points[-1].counts == Counts(15, 13, 11, 1)
    assert points[-2].counts == Counts(10, 10, 9, 0)
    assert points[0].counts == Counts()


def test_it_starts_the_trend_no_earlier_than_2020(db):
    points = queries.trend(COUNTY, date(2020, 3, 1))

    assert [p.month for p in points] == [date(2020, 1, 1), date(2020, 2, 1), date(2020, 3, 1)]


# --- The quarter -----------------------------------------------------------------------------


def test_it_sums_a_quarter_over_elder_months(counted, django_assert_num_queries):
    # 001_35a01bee4c628ebd.txt 三(三): 相关数据按月更新，按季调度.
    with django_assert_num_queries(2):
        summary = queries.quarter_summary(COUNTY, 2026, 4)

    assert summary.months == [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    first = summary.rows[0]
    assert first.name == "灵秀镇"
    assert first.months == [Counts(10, 10, 9, 0), Counts(10, 8, 6, 1), Counts()]
    assert first.total == Counts(20, 18, 15, 1)
    assert first.total.visit_rate == Decimal("90.0")
    assert summary.totals[1] == Counts(15, 13, 11, 1)
    assert summary.total == Counts(25, 23, 20, 1)


# --- A village's missed elders ------------------------------------------------------------


@pytest.fixture
def village(users, regions):
    """村A in November: one elder visited and compliant, one visited but short of
    the rule, one never visited, one declining visits, one of 村B."""
    visitor = make_visitor(users, regions)
    other = make_visitor(users, regions, "陈国强", user=None)
    fine = make_elder(users, regions, 1)
    short = make_elder(users, regions, 2)
    never = make_elder(users, regions, 3)
    declined = make_elder(users, regions, 4)
    elsewhere = make_elder(users, regions, 5, village=VILLAGE_B)
    assign(users, short, visitor)
    assign(users, never, visitor)
    # Responsible in November until the 10th: still named for the month.
    ended = assign(users, never, other)
    Assignment.objects.filter(pk=ended.pk).update(
        started_at=aware(2026, 6, 1, 9, 0), ended_at=aware(2026, 11, 10, 9, 0)
    )
    # Ended before November: not named.
    gone = make_visitor(users, regions, "王老师", user=None)
    old = assign(users, short, gone)
    Assignment.objects.filter(pk=old.pk).update(
        started_at=aware(2026, 1, 1, 9, 0), ended_at=aware(2026, 10, 31, 9, 0)
    )
    visit_on(users, short, visitor, aware(2026, 11, 3, 9, 0), mode="phone")
    # After the month asked for (October): not its last visit.
    visit_on(users, never, visitor, aware(2026, 10, 20, 9, 0))
    elder_month(fine, NOVEMBER, visited=True, compliant=True, visits=2)
    elder_month(
        short,
        NOVEMBER,
        visited=True,
        compliant=False,
        visits=1,
        tier="key",
        missing=["下半月缺上门探访"],
    )
    elder_month(never, NOVEMBER, missing=["上半月缺上门探访", "下半月缺上门探访"])
    elder_month(declined, NOVEMBER, counted=False, declined=True)
    elder_month(elsewhere, NOVEMBER, missing=["本月未探访"])
    return {"short": short, "never": never}


def test_it_lists_the_missed_elders_of_a_village_with_what_is_missing(
    village, django_assert_num_queries
):
    with django_assert_num_queries(2):
        rows = people.missed_elders(VILLAGE_A, NOVEMBER)

    assert [row.name for row in rows] == ["老人3", "老人2"]
    never, short = rows
    assert never.status == "未探访"
    assert never.missing == ["上半月缺上门探访", "下半月缺上门探访"]
    assert never.last_visit_at == aware(2026, 10, 20, 9, 0)
    assert never.visitors == ["林秀英", "陈国强"]
    assert short.status == "未达标"
    assert short.tier == "重点对象"
    assert short.missing == ["下半月缺上门探访"]
    assert short.last_visit_mode == "电话探访"
    assert short.visitors == ["林秀英"]


def test_it_reads_the_missed_list_in_two_queries_whatever_the_number_of_elders(
    village, users, regions, django_assert_num_queries
):
    visitor = make_visitor(users, regions, "张三", user=None)
    for sequence in range(10, 20):
        elder = make_elder(users, regions, sequence)
        assign(users, elder, visitor)
        visit_on(users, elder, visitor, aware(2026, 11, 2, 9, sequence))
        elder_month(elder, NOVEMBER, visited=True, missing=["下半月缺上门探访"])

    with django_assert_num_queries(2):
        rows = people.missed_elders(VILLAGE_A, NOVEMBER)

    assert len(rows) == 12


def test_it_takes_the_last_visit_up_to_the_end_of_the_month_asked(village):
    rows = people.missed_elders(VILLAGE_A, date(2026, 10, 1))

    assert rows == []  # no October rows
    elder_month(village["short"], date(2026, 10, 1), missing=["本月未探访"])
    (row,) = people.missed_elders(VILLAGE_A, date(2026, 10, 1))
    # The phone visit of 3 November is after October.
    assert row.last_visit_at is None
    # 林秀英 took the elder on in November; 王老师 was responsible in October.
    assert row.visitors == ["王老师"]


# --- The dashboard -------------------------------------------------------------------------


def test_it_counts_the_dashboard_numbers_of_a_node(users, regions, django_assert_num_queries):
    visitor = make_visitor(users, regions)
    recent = date(2026, 9, 1)
    late = make_elder(users, regions, 1, registered_on=recent)
    lost = make_elder(users, regions, 2, registered_on=recent)
    make_elder(users, regions, 3, registered_on=recent)  # no visitor
    # Registered more than six months ago and never reviewed.
    unreviewed = make_elder(users, regions, 4, registered_on=date(2025, 3, 1))
    for elder in (late, lost, unreviewed):
        assign(users, elder, visitor)
    VisitTask.objects.all().delete()
    # Overdue today: past the deadline, the window still open.
    make_task(late, date(2026, 11, 16), date(2026, 11, 20), date(2026, 11, 30))
    # Missed this month: the window closed on the 15th.
    make_task(lost, date(2026, 11, 1), date(2026, 11, 15))
    # Not counted: a file review, a task still due, last month's, an excused one.
    make_task(late, date(2026, 11, 1), date(2026, 11, 10), kind=TaskKind.REVIEW, key="review")
    make_task(lost, date(2026, 11, 16), date(2026, 11, 30), key="regular:2")
    make_task(lost, date(2026, 10, 1), date(2026, 10, 31), key="regular:0")
    excused = make_task(unreviewed, date(2026, 11, 1), date(2026, 11, 15))
    VisitTask.objects.filter(pk=excused.pk).update(excused_at=aware(2026, 11, 2, 9, 0))
    wipe()
    counter(VILLAGE_A, NOVEMBER, counted=4, visited=3, compliant=2)
    counter(VILLAGE_B, NOVEMBER, counted=2, visited=0, compliant=0)

    # The counters, the surges' counters (no event declared: no titles), the
    # tasks, the reviews, the elders without a visitor.
    with django_assert_num_queries(5):
        board = people.dashboard(regions[COUNTY], date(2026, 11, 23))

    assert board.counts == Counts(6, 3, 2, 0)
    assert board.counts.visit_rate_text == "50.0%"
    assert board.gap == 3
    assert board.overdue_tasks == 1
    assert board.missed_tasks == 1
    # 000_4970ff49482a0570.txt 三(四): 每半年动态更新一次.
    assert board.reviews_overdue == 1
    # 000_4970ff49482a0570.txt 三(二): 落实包干责任人.
    assert board.without_visitor == 1
    village_b = people.dashboard(VILLAGE_B, date(2026, 11, 23))
    assert (village_b.counts.counted, village_b.overdue_tasks, village_b.without_visitor) == (
        2,
        0,
        0,
    )


def test_it_lists_the_late_tasks_overdue_first(users, regions, django_assert_num_queries):
    from tanfang.registry.models import Elder

    visitor = make_visitor(users, regions)
    late = make_elder(users, regions, 1)
    lost = make_elder(users, regions, 2)
    assign(users, late, visitor)
    VisitTask.objects.all().delete()
    make_task(lost, date(2026, 11, 1), date(2026, 11, 15))
    make_task(late, date(2026, 11, 16), date(2026, 11, 20), date(2026, 11, 30))

    with django_assert_num_queries(3):
        found = people.late_tasks(Elder.objects.all(), COUNTY, date(2026, 11, 23))

    assert [(row.task.elder.name, row.overdue, row.visitors) for row in found.rows] == [
        ("老人1", True, ["林秀英"]),
        ("老人2", False, []),
    ]
    assert (found.overdue, found.missed, found.total) == (1, 1, 2)
    assert people.late_tasks(Elder.objects.all(), OTHER_COUNTY, date(2026, 11, 23)).total == 0


def test_it_accepts_a_region_or_its_code(counted, regions):
    assert queries.children_table(regions[COUNTY], NOVEMBER) == queries.children_table(
        COUNTY, NOVEMBER
    )
    assert queries.node_level(TOWNSHIP_A) == Level.TOWNSHIP
    assert queries.node_prefix(VILLAGE_A) == VILLAGE_A
    assert queries.node_prefix(CITY) == "3505"

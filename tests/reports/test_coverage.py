"""The festivals' and declared events' coverage (节日/天气探访覆盖率) on the
reports, beside compliance, never part of it unless mandatory
(000_4970ff49482a0570.txt 四(二) "适当增加探访频次"; 001_35a01bee4c628ebd.txt
二(五)2 "必须开展探访关爱服务"), and the quarter's compliance on the quarter page
(001_35a01bee4c628ebd.txt 三(三) "按季调度"): the queries, the report page, the
dashboard and the Excel files, with pinned query counts. The clock stands on
2026-11-23; the numbers are written to the counters directly (tests/reports/fill.py).
"""

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tanfang.jurisdiction.models import DeclaredEvent
from tanfang.reports import queries
from tanfang.reports.queries import Counts, Surge
from tests.conftest import (
    COUNTY,
    OTHER_VILLAGE,
    TOWNSHIP_A,
    TOWNSHIP_B,
    VILLAGE_A,
    VILLAGE_B,
    aware,
)
from tests.reports.fill import counter
from tests.reports.test_report_pages import ALERTS, ALERTS_BY_ROW, CARE, COUNTY_PAGE, LOCK, SURGES

OCTOBER, NOVEMBER, DECEMBER = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
DOUBLE_NINTH = "festival:重阳"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def heat(users, regions):
    return DeclaredEvent.objects.create(
        region=regions[COUNTY],
        kind="heat",
        title="高温",
        starts_on=date(2026, 10, 1),
        ends_on=date(2026, 10, 5),
        declared_by=users["county"],
    )


@pytest.fixture
def surged(regions, heat):
    """October: 重阳 asked on top of the rules (适当增加) for 15 elders of 石狮,
    11 visited inside its window; a heat wave whose visit is mandatory for 4
    elders of 村A, 3 visited; and the neighbouring county's 重阳."""
    event = f"event:{heat.pk}"
    counter(VILLAGE_A, OCTOBER, counted=10, visited=9, compliant=8)
    counter(VILLAGE_B, OCTOBER, counted=5, visited=5, compliant=5)
    counter(VILLAGE_A, OCTOBER, f"surge:{DOUBLE_NINTH}", counted=10, visited=6, compliant=6)
    counter(VILLAGE_B, OCTOBER, f"surge:{DOUBLE_NINTH}", counted=5, visited=5, compliant=5)
    counter(VILLAGE_A, OCTOBER, f"surge:{event}", counted=4, visited=3, compliant=3)
    counter(VILLAGE_A, OCTOBER, f"must:{event}", counted=4, visited=3, compliant=3)
    counter(OTHER_VILLAGE, OCTOBER, f"surge:{DOUBLE_NINTH}", counted=4)
    counter(VILLAGE_A, OCTOBER, "tier:key", counted=4, visited=4, compliant=3)
    return event


# --- The query -------------------------------------------------------------------------------


def test_it_sums_each_surge_of_a_month_with_its_labels(surged, django_assert_num_queries):
    # The counters, and the events' titles.
    with django_assert_num_queries(2):
        found = queries.surges(COUNTY, OCTOBER)

    assert found.totals == [
        Surge(DOUBLE_NINTH, "重阳节探访", 15, 11, 0),
        Surge(surged, "高温", 4, 3, 4),
    ]
    festival, heat = found.totals
    assert (festival.coverage_rate, festival.coverage_rate_text) == (Decimal("73.3"), "73.3%")
    assert festival.uncovered == 4
    assert not festival.is_mandatory and heat.is_mandatory
    assert found.of(TOWNSHIP_A) == [
        Surge(DOUBLE_NINTH, "重阳节探访", 10, 6, 0),
        Surge(surged, "高温", 4, 3, 4),
    ]
    assert found.of(TOWNSHIP_B) == [
        Surge(DOUBLE_NINTH, "重阳节探访", 5, 5, 0),
        Surge(surged, "高温"),
    ]
    assert found.of(TOWNSHIP_B)[1].coverage_rate_text == "—"


def test_it_reads_no_titles_without_an_event(regions, django_assert_num_queries):
    counter(VILLAGE_A, OCTOBER, f"surge:{DOUBLE_NINTH}", counted=2, visited=1, compliant=1)

    with django_assert_num_queries(1):
        found = queries.surges(VILLAGE_A, OCTOBER)

    assert [(s.label, s.in_scope, s.covered) for s in found.totals] == [("重阳节探访", 2, 1)]
    assert queries.surges(COUNTY, NOVEMBER).totals == []


def test_it_names_each_surge():
    assert queries.surge_label("festival:重阳", {}) == "重阳节探访"
    assert queries.surge_label("festival:春节", {}) == "春节探访"
    assert queries.surge_label("event:12", {12: "台风“海葵”"}) == "台风“海葵”"
    assert queries.surge_label("event:99", {}) == "特殊时段探访（99）"


def test_a_surge_mandatory_for_some_counties_only_says_so(regions):
    counter(VILLAGE_A, OCTOBER, f"surge:{DOUBLE_NINTH}", counted=4, visited=1, compliant=1)
    counter(OTHER_VILLAGE, OCTOBER, f"surge:{DOUBLE_NINTH}", counted=2, visited=2, compliant=2)
    counter(OTHER_VILLAGE, OCTOBER, f"must:{DOUBLE_NINTH}", counted=2, visited=2, compliant=2)

    (surge,) = queries.surges("350500000000", OCTOBER).totals

    assert (surge.in_scope, surge.covered, surge.mandatory) == (6, 3, 2)
    assert surge.partly_mandatory and not surge.is_mandatory


def test_the_surges_stay_out_of_the_breakdowns_and_the_trend(surged):
    dims = queries.by_dimension(COUNTY, OCTOBER)

    assert [row.dimension for row in dims.tiers] == ["tier:key"]
    assert all(row.dimension.startswith("category:") for row in dims.categories)
    assert not queries.is_known_dimension(f"surge:{DOUBLE_NINTH}")
    assert queries.trend(COUNTY, OCTOBER)[-1].counts == Counts(15, 14, 13, 0)


# --- The report page -----------------------------------------------------------------------------


def test_it_shows_each_surges_coverage_beside_compliance(
    client_for, surged, django_assert_num_queries
):
    client = client_for("county")

    # The county's page, and the events' titles.
    with django_assert_num_queries(COUNTY_PAGE + CARE + LOCK + SURGES + ALERTS + ALERTS_BY_ROW + 1):
        response = client.get("/reports/?month=2026-10")

    assert response.status_code == 200
    assert [s.label for s in response.context["surges"].totals] == ["重阳节探访", "高温"]
    html = response.content.decode()
    rates = html.split('<ul class="counts rates">', 1)[1].split("</ul>", 1)[0]
    assert "86.7%</span> 达标率" in rates
    assert "73.3%</span> 重阳节探访覆盖率" in rates
    assert '75.0%</span> 高温覆盖率 <span class="tag">必须探访</span>' in rates
    assert "已探访 11 / 应探访 15" in rates
    # Each township's coverage in the table, after its compliance.
    assert "重阳节探访覆盖率</th>" in html
    assert "高温覆盖率（必须探访）</th>" in html
    assert "60.0%<small>（6/10）</small>" in html
    assert "适当增加" in html


def test_it_shows_no_surge_column_in_a_breakdown(client_for, surged):
    response = client_for("county").get("/reports/?month=2026-10&by=tier:key")

    assert response.context["surge_columns"] == []
    assert "重阳节探访覆盖率</th>" not in response.content.decode()


def test_it_refuses_a_surge_as_a_breakdown(client_for, surged):
    response = client_for("county").get(f"/reports/?by=surge:{DOUBLE_NINTH}")

    assert response.status_code == 400


def test_a_village_shows_its_surges(client_for, surged):
    response = client_for("liaison_a").get("/reports/?month=2026-10")

    assert [(s.label, s.in_scope) for s in response.context["surges"].totals] == [
        ("重阳节探访", 10),
        ("高温", 4),
    ]


# --- The dashboard -----------------------------------------------------------------------------


def test_the_dashboard_shows_this_months_surges(
    client_for, surged, time_machine, django_assert_num_queries
):
    time_machine.move_to(aware(2026, 10, 25, 10, 0), tick=False)
    client = client_for("county")

    # The session, the user, the OTP device, the user's region; the counters,
    # the surges' counters and the events' titles, the tasks, the reviews, the
    # elders without a visitor; the alerts at the top; the last-seen time.
    with django_assert_num_queries(4 + 6 + ALERTS + 3):
        response = client.get("/reports/dashboard/")

    board = response.context["board"]
    assert [(s.label, s.coverage_rate_text) for s in board.surges] == [
        ("重阳节探访", "73.3%"),
        ("高温", "75.0%"),
    ]
    html = response.content.decode()
    assert '<span class="n">86.7%</span> 本月达标率' in html
    assert (
        '<span class="n">73.3%</span> 重阳节探访覆盖率<small>已探访 11 / 应探访 15</small>' in html
    )
    assert (
        '<span class="n">75.0%</span> 高温覆盖率<small>已探访 3 / 应探访 4，必须探访</small>'
        in html
    )


# --- Excel ------------------------------------------------------------------------------------


def rows_of(response):
    assert response.status_code == 200
    return [list(r) for r in load_workbook(io.BytesIO(response.content)).active.values]


def test_it_exports_each_surges_coverage_beside_the_table(client_for, surged):
    response = client_for("county").get("/reports/?month=2026-10&format=xlsx&table=children")

    rows = rows_of(response)
    assert "节日/天气探访覆盖率＝" in rows[1][0]
    assert rows[2][9:] == [
        "重阳节探访：应探访人数",
        "重阳节探访：已探访人数",
        "重阳节探访：覆盖率",
        "高温（必须探访）：应探访人数",
        "高温（必须探访）：已探访人数",
        "高温（必须探访）：覆盖率",
    ]
    assert rows[3][:2] == ["灵秀镇", TOWNSHIP_A]
    assert rows[3][9:] == [10, 6, 0.6, 4, 3, 0.75]
    assert rows[4][9:] == [5, 5, 1.0, 0, 0, "—"]
    assert rows[5][0] == "合计"
    assert rows[5][9:] == [15, 11, pytest.approx(0.733), 4, 3, 0.75]


def test_it_exports_no_surge_columns_without_a_surge(client_for, regions):
    counter(VILLAGE_A, NOVEMBER, counted=3, visited=2, compliant=1)

    rows = rows_of(client_for("county").get("/reports/?format=xlsx&table=children"))

    assert len(rows[2]) == 9
    assert "节日/天气探访覆盖率" not in rows[1][0]


# --- The quarter's compliance -----------------------------------------------------------------


@pytest.fixture
def quarter(regions):
    """The fourth quarter, on 23 November: October and November counted."""
    counter(VILLAGE_A, OCTOBER, counted=10, visited=10, compliant=9, quarter_compliant=9)
    counter(VILLAGE_A, NOVEMBER, counted=10, visited=8, compliant=6, quarter_compliant=5)
    counter(VILLAGE_B, NOVEMBER, counted=5, visited=5, compliant=5, quarter_compliant=5)


def test_it_reads_the_quarters_compliance_in_todays_month(quarter, django_assert_num_queries):
    with django_assert_num_queries(2):
        summary = queries.quarter_summary(COUNTY, 2026, 4, date(2026, 11, 23))

    assert summary.reference == NOVEMBER
    assert summary.rows[0].quarter == Counts(10, 8, 6, 0, 5)
    assert summary.rows[0].quarter.quarter_compliance_rate_text == "50.0%"
    assert summary.quarter_total == Counts(15, 13, 11, 0, 10)
    assert summary.quarter_total.quarter_compliance_rate_text == "66.7%"
    # A quarter over is read in its last month.
    assert queries.quarter_summary(COUNTY, 2026, 3, date(2026, 11, 23)).reference == date(
        2026, 9, 1
    )


def test_the_quarter_page_shows_the_quarters_compliance(
    client_for, quarter, django_assert_num_queries
):
    client = client_for("county")

    with django_assert_num_queries(COUNTY_PAGE):
        response = client.get(f"/reports/{COUNTY}/quarter/?year=2026&q=4")

    html = response.content.decode()
    assert "66.7%</span> 季度达标率<small>10 / 15 人</small>" in html
    assert "11月应探访人数</th>" in html
    assert '<td class="num">10</td><td class="num">50.0%</td>' in html
    assert "本季度计入应探访的每个月均达标" in html

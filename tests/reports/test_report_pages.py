"""The report pages (/reports/, /reports/<code>/, /reports/<code>/quarter/):
a node's children with their visit and compliance rates, drill-down to the
village and its missed elders, tiers and categories, the 12-month trend, the
month picker and the quarter (issue 6 "Reports"); 404 outside the user's
subtree, 400 with a Chinese message for bad parameters, pinned query counts.

The clock stands on 2026-11-23. Target: 月探访率达到100% (002_8b4fd75972db9bc5.txt 一(三)).
"""

import base64
import re
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tanfang.care import emergencies, hazards, needs
from tanfang.reports import charts
from tanfang.reports.models import ElderMonth
from tanfang.reports.queries import Counts, TrendPoint
from tanfang.reports.rebuild import recompute_month
from tanfang.visits.actions import record_visit
from tests.conftest import (
    COUNTY,
    OTHER_COUNTY,
    OTHER_VILLAGE,
    TOWNSHIP_A,
    TOWNSHIP_B,
    VILLAGE_A,
    VILLAGE_B,
    aware,
)
from tests.reports.fill import add_villages, counter, elder_month, visit_on, wipe
from tests.visits.factories import GOOD, PNG, assign, follow_shishi, make_elder, make_visitor

NOVEMBER = date(2026, 11, 1)
OCTOBER = date(2026, 10, 1)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


def fill_counters():
    counter(VILLAGE_A, NOVEMBER, counted=10, visited=8, compliant=6, declined=1)
    counter(VILLAGE_B, NOVEMBER, counted=5, visited=5, compliant=5)
    counter(OTHER_VILLAGE, NOVEMBER, counted=4, visited=1, compliant=0)
    counter(VILLAGE_A, OCTOBER, counted=10, visited=10, compliant=9)
    counter(VILLAGE_A, NOVEMBER, "tier:key", counted=4, visited=2, compliant=1)
    counter(VILLAGE_A, NOVEMBER, "tier:general", counted=6, visited=6, compliant=5)
    counter(VILLAGE_B, NOVEMBER, "tier:general", counted=5, visited=5, compliant=5)
    counter(VILLAGE_A, NOVEMBER, "category:独居", counted=3, visited=2, compliant=2)


@pytest.fixture
def counted(regions):
    fill_counters()


@pytest.fixture
def missed(users, regions):
    """Two of 村A's elders short of the rule in November."""
    visitor = make_visitor(users, regions)
    never = make_elder(users, regions, 1, phone="13812345678")
    short = make_elder(users, regions, 2)
    fine = make_elder(users, regions, 3)
    for elder in (never, short, fine):
        assign(users, elder, visitor)
    visit_on(users, short, visitor, aware(2026, 11, 5, 9, 30), mode="phone")
    # The month's rows and numbers as stated here, not as the registrations made them.
    wipe()
    fill_counters()
    elder_month(never, NOVEMBER, tier="key", missing=["上半月缺上门探访", "下半月缺上门探访"])
    elder_month(short, NOVEMBER, visited=True, visits=1, missing=["重阳节探访未完成"])
    elder_month(fine, NOVEMBER, visited=True, compliant=True, visits=2)
    return {"never": never, "short": short}


def names_in_table(html):
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    # The name's cell also holds the row's other columns for a phone (更多).
    return re.findall(r'<td><a href="[^"]+">([^<]+)</a>', body)


# --- The table of a node ------------------------------------------------------------------


def test_it_shows_a_county_officer_the_townships_of_the_county(client_for, counted):
    response = client_for("county").get("/reports/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "石狮市 · 月探访率" in html
    table = response.context["table"]
    assert [(r.name, r.counts.counted, r.counts.visit_rate_text) for r in table.rows] == [
        ("灵秀镇", 10, "80.0%"),
        ("宝盖镇", 5, "100.0%"),
    ]
    assert table.total.visit_rate_text == "86.7%"
    assert f'href="/reports/{TOWNSHIP_A}/?month=2026-11"' in html
    assert "86.7%" in html
    assert "73.3%" in html
    # The neighbouring county's village is not in it.
    assert response.context["counts"].counted == 15


def test_it_drills_down_from_the_county_to_a_village(client_for, missed):
    client = client_for("county")

    township = client.get(f"/reports/{TOWNSHIP_A}/?month=2026-11")
    village = client.get(f"/reports/{VILLAGE_A}/?month=2026-11")

    assert township.status_code == 200
    assert names_in_table(township.content.decode()) == ["村A"]
    assert f'href="/reports/{VILLAGE_A}/?month=2026-11"' in township.content.decode()
    assert village.status_code == 200
    html = village.content.decode()
    assert [row.name for row in village.context["missed"]] == ["老人1", "老人2"]
    assert f'href="/elders/{missed["never"].pk}/"' in html
    assert "上半月缺上门探访" in html
    assert "重阳节探访未完成" in html
    assert "11月5日 09:30 电话探访" in html
    assert "林秀英" in html
    assert "老人3" not in html
    # Masked data only: no phone number on the page.
    assert "13812345678" not in html
    # The crumbs lead back up.
    assert f'href="/reports/{COUNTY}/?month=2026-11"' in html
    assert f'href="/reports/{TOWNSHIP_A}/?month=2026-11"' in html


def test_a_village_liaison_sees_their_village(client_for, missed):
    response = client_for("liaison_a").get("/reports/")

    assert response.status_code == 200
    assert response.context["region"].code == VILLAGE_A
    assert len(response.context["missed"]) == 2
    assert response.context["counts"].counted == 10


def test_it_says_when_everyone_was_visited(client_for, regions):
    counter(VILLAGE_B, NOVEMBER, counted=2, visited=2, compliant=2)

    response = client_for("liaison_b").get("/reports/")

    assert "该月在册老人均已按要求探访。" in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "names"),
    [
        ("visit_rate", ["灵秀镇", "宝盖镇"]),
        ("-visit_rate", ["宝盖镇", "灵秀镇"]),
        ("counted", ["宝盖镇", "灵秀镇"]),
        ("-code", ["宝盖镇", "灵秀镇"]),
    ],
)
def test_it_sorts_the_table_by_a_column(client_for, counted, sort, names):
    response = client_for("county").get(f"/reports/?sort={sort}")

    assert response.status_code == 200
    assert names_in_table(response.content.decode()) == names


def test_it_links_each_column_head_to_sort_by_it_and_back(client_for, counted):
    html = client_for("county").get("/reports/?sort=visit_rate").content.decode()

    assert 'aria-sort="ascending"' in html
    assert "sort=-visit_rate" in html
    assert "sort=compliance_rate" in html


def test_it_shows_the_tiers_and_the_categories(client_for, counted):
    client = client_for("county")

    tiers = client.get("/reports/?by=tier")
    categories = client.get("/reports/?by=category")

    assert tiers.status_code == 200
    rows = [(row.label, row.counts.visit_rate_text) for row, _ in tiers.context["dimension_rows"]]
    assert rows == [("重点对象", "50.0%"), ("一般对象", "100.0%")]
    assert "by=tier%3Akey" in tiers.content.decode()
    labels = [row.label for row, _ in categories.context["dimension_rows"]]
    assert labels[:2] == ["孤寡", "独居"]
    assert "在每个类型中各计一次" in categories.content.decode()


def test_it_shows_one_tier_by_township(client_for, counted):
    response = client_for("county").get("/reports/?by=tier:key")

    assert response.status_code == 200
    rows = response.context["table"].rows
    assert [(r.name, r.counts.counted) for r in rows] == [("灵秀镇", 4), ("宝盖镇", 0)]
    assert "当前口径：<strong>重点对象</strong>" in response.content.decode()
    assert response.context["counts"].counted == 4


# --- The trend and the months -------------------------------------------------------------


def test_it_draws_the_twelve_month_trend_on_the_server(client_for, counted):
    response = client_for("county").get("/reports/")

    html = response.content.decode()
    svg = html.split('<svg class="chart trend"', 1)[1].split("</svg>", 1)[0]
    assert 'class="line visit"' in svg
    assert "2026年11月 探访率 86.7%（13/15）" in svg
    assert "2026年10月 探访率 100.0%（10/10）" in svg
    assert 'class="grid target"' in svg
    assert len(response.context["points"]) == 12
    # Nothing from elsewhere: no CDN, no script of a chart library.
    assert "<script" not in html.split("</head>", 1)[1]
    assert "https://" not in html


def test_it_leaves_a_gap_in_the_line_for_a_month_nobody_was_counted():
    points = [
        TrendPoint(date(2026, 1, 1), Counts(4, 2, 1)),
        TrendPoint(date(2026, 2, 1), Counts(4, 3, 2)),
        TrendPoint(date(2026, 3, 1), Counts()),
        TrendPoint(date(2026, 4, 1), Counts(4, 4, 4)),
        TrendPoint(date(2026, 5, 1), Counts(2, 2, 1)),
    ]

    svg = str(charts.trend_svg(points, title="<村A>"))

    assert svg.count('<polyline class="line visit"') == 2
    assert svg.count('class="dot visit"') == 4
    assert "2026年3月" not in svg
    assert "&lt;村A&gt;" in svg
    assert svg.count(">2026年</text>") == 1


def test_it_shows_a_past_month(client_for, counted):
    response = client_for("county").get("/reports/?month=2026-10")

    assert response.status_code == 200
    assert response.context["month"] == OCTOBER
    assert response.context["table"].total.visit_rate_text == "100.0%"
    html = response.content.decode()
    assert "?month=2026-11" in html  # the next month
    assert "?month=2026-09" in html  # the previous one
    assert "截至" not in html


def test_it_offers_no_month_after_this_one(client_for, counted):
    response = client_for("county").get("/reports/?month=2026-11")

    html = response.content.decode()
    assert 'max="2026-11"' in html
    assert 'min="2020-01"' in html
    assert "?month=2026-12" not in html
    assert response.context["next"] == ""
    assert "截至11月23日" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("month=2026-13", "月份“2026-13”不存在"),
        ("month=2026-00", "月份“2026-00”不存在"),
        ("month=11-2026", "格式不正确"),
        ("month=2026-12", "不能查看尚未到来的月份"),
        ("month=2019-12", "最早可查看 2020年1月"),
        ("by=foo", "统计口径“foo”不存在"),
        ("by=tier:foo", "统计口径“tier:foo”不存在"),
        ("sort=bar", "排序“bar”不存在"),
        ("format=pdf", "导出格式“pdf”不支持"),
        ("format=xlsx&table=nope", "导出内容“nope”不存在"),
    ],
)
def test_it_answers_bad_parameters_with_a_message_in_chinese(client_for, counted, query, message):
    response = client_for("county").get(f"/reports/{COUNTY}/?{query}")

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert f'href="/reports/{COUNTY}/"' in html


# --- Scope --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "code"),
    [
        ("county", OTHER_COUNTY),
        ("county", OTHER_VILLAGE),
        ("township_a", TOWNSHIP_B),
        ("township_a", VILLAGE_B),
        ("township_a", COUNTY),
        ("liaison_a", VILLAGE_B),
        ("county", "999999999999"),
        ("county", "dashboard-x"),
    ],
)
def test_it_answers_404_outside_the_users_subtree(client_for, counted, username, code):
    client = client_for(username)

    assert client.get(f"/reports/{code}/").status_code == 404
    assert client.get(f"/reports/{code}/quarter/").status_code == 404
    assert client.get(f"/reports/{code}/?format=xlsx").status_code == 404


def test_a_supervisor_of_the_city_sees_both_counties(client_for, counted):
    response = client_for("supervisor").get("/reports/")

    assert [r.name for r in response.context["table"].rows] == ["石狮市", "晋江市"]
    assert response.context["table"].total.counted == 19


@pytest.mark.parametrize("username", ["visitor_a", "sysadmin", "auditor"])
def test_it_refuses_a_role_without_reports(client_for, counted, username):
    assert client_for(username).get("/reports/").status_code == 403


def test_it_puts_the_reports_in_the_navigation(client_for, regions):
    assert 'href="/reports/">统计报表</a>' in client_for("county").get("/").content.decode()
    assert "统计报表" not in client_for("visitor_a").get("/").content.decode()


# --- Query counts ----------------------------------------------------------------------------

# The session, the user, the OTP device, the user's region (the bar and the
# page); the trend; the table and the names of its rows; the session's
# last-seen time (savepoint, update, release).
COUNTY_PAGE = 4 + 1 + 2 + 3
# The surges' counters (festivals and events, docs/统计口径.md §6), and the
# events' titles when an event is declared.
SURGES = 1
# The closed loop's numbers on a report (tanfang.care.queries.care_counts): the
# needs, the needs resolved, the hazards, the emergencies.
CARE = 4
# When the month locked and the late entries waiting (tanfang.visits.late_queries
# .month_lock): the county's rules, and one aggregate of the late entries.
LOCK = 2
# The alerts at the top (templates/care/_alerts.html): the open emergencies and
# the hazards past their deadline, each query with its count; and above a
# village, the same two counted per row of the table.
ALERTS = 2
ALERTS_BY_ROW = 2


def test_it_pins_the_queries_of_a_county_report(
    client_for, counted, regions, django_assert_num_queries
):
    client = client_for("county")
    with django_assert_num_queries(COUNTY_PAGE + CARE + LOCK + SURGES + ALERTS + ALERTS_BY_ROW):
        client.get("/reports/")
    add_villages(regions, 25, NOVEMBER)
    with django_assert_num_queries(COUNTY_PAGE + CARE + LOCK + SURGES + ALERTS + ALERTS_BY_ROW):
        response = client.get("/reports/")

    assert response.context["table"].total.counted == 15 + 25 * 3


def test_it_pins_the_queries_of_a_drill_down(client_for, counted, django_assert_num_queries):
    client = client_for("county")
    # The region asked for and the crumbs, on top of the county's own page.
    with django_assert_num_queries(COUNTY_PAGE + CARE + LOCK + SURGES + ALERTS + ALERTS_BY_ROW + 2):
        client.get(f"/reports/{TOWNSHIP_A}/")
    with django_assert_num_queries(COUNTY_PAGE + CARE + LOCK + SURGES + ALERTS - 1):
        client.get("/reports/?by=tier")


def test_it_pins_the_queries_of_a_village_whatever_its_number_of_elders(
    client_for, missed, users, regions, django_assert_num_queries
):
    client = client_for("county")
    # The region and the crumbs, the trend, the missed elders and their visitors.
    expected = 4 + 2 + 1 + 2 + 3 + CARE + LOCK + SURGES + ALERTS
    with django_assert_num_queries(expected):
        client.get(f"/reports/{VILLAGE_A}/")
    visitor = make_visitor(users, regions, "张三", user=None)
    for sequence in range(10, 22):
        elder = make_elder(users, regions, sequence)
        assign(users, elder, visitor)
        visit_on(users, elder, visitor, aware(2026, 11, 2, 9, sequence))
        elder_month(elder, NOVEMBER, visited=True, missing=["下半月缺上门探访"])
    with django_assert_num_queries(expected):
        response = client.get(f"/reports/{VILLAGE_A}/")

    assert len(response.context["missed"]) == 14
    assert ElderMonth.objects.count() == 15


# --- The quarter -------------------------------------------------------------------------------


def test_it_shows_the_quarter_by_township(client_for, counted, django_assert_num_queries):
    # 001_35a01bee4c628ebd.txt 三(三): 相关数据按月更新，按季调度.
    client = client_for("county")

    # The region asked for (the county itself: no crumbs), the sums and the names.
    with django_assert_num_queries(COUNTY_PAGE):
        response = client.get(f"/reports/{COUNTY}/quarter/?year=2026&q=4")

    assert response.status_code == 200
    summary = response.context["summary"]
    first = summary.rows[0]
    assert first.name == "灵秀镇"
    assert [c.visit_rate_text for c in first.months] == ["100.0%", "80.0%", "—"]
    assert first.total.visit_rate_text == "90.0%"
    assert summary.total.visit_rate_text == "92.0%"
    html = response.content.decode()
    assert "2026年第4季度" in html
    assert f'href="/reports/{TOWNSHIP_A}/quarter/?year=2026&amp;q=4"' in html
    assert "?year=2026&amp;q=3" in html  # the quarter before
    assert response.context["next"] == ""


def test_it_keeps_the_quarters_queries_whatever_the_number_of_villages(
    client_for, counted, regions, django_assert_num_queries
):
    add_villages(regions, 20, OCTOBER)
    client = client_for("county")

    with django_assert_num_queries(COUNTY_PAGE):
        response = client.get(f"/reports/{COUNTY}/quarter/?year=2026&q=4")

    assert response.context["summary"].rows[0].months[0].counted == 10 + 20 * 3


def test_it_opens_the_quarter_of_the_month_shown(client_for, counted):
    html = client_for("county").get("/reports/?month=2026-05").content.decode()

    assert f'href="/reports/{COUNTY}/quarter/?year=2026&amp;q=2"' in html


def test_it_shows_the_current_quarter_by_default(client_for, counted):
    response = client_for("township_a").get(f"/reports/{TOWNSHIP_A}/quarter/")

    summary = response.context["summary"]
    assert (summary.year, summary.quarter) == (2026, 4)
    assert [row.name for row in summary.rows] == ["村A"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("year=2026&q=5", "季度“5”不正确"),
        ("year=2019&q=1", "年份“2019”不正确"),
        ("year=abc&q=1", "年份“abc”不正确"),
        ("year=2027&q=1", "年份“2027”不正确"),
        ("year=2026&q=4&format=csv", "导出格式“csv”不支持"),
    ],
)
def test_it_answers_bad_quarter_parameters_in_chinese(client_for, counted, query, message):
    response = client_for("county").get(f"/reports/{COUNTY}/quarter/?{query}")

    assert response.status_code == 400
    assert message in response.content.decode()


def test_it_refuses_a_quarter_not_yet_begun(time_machine, client_for, counted):
    time_machine.move_to(aware(2026, 5, 10, 10, 0), tick=False)

    response = client_for("county").get(f"/reports/{COUNTY}/quarter/?year=2026&q=3")

    assert response.status_code == 400
    assert "2026年第3季度尚未开始" in response.content.decode()


# --- Done when: the county's report matches a hand count ---------------------------------


def test_the_county_report_matches_a_hand_count_of_two_villages(
    time_machine, users, regions, client_for
):
    """Issue 6 "Done when": a small county built by hand, November 2026 under
    石狮's rules (000_4970ff49482a0570.txt 四(二): 重点对象每半月至少上门探访1次，
    一般对象每月至少上门探访1次; no festival falls in November), recomputed,
    and read by the county officer on 5 December."""
    follow_shishi(users)
    time_machine.move_to(aware(2026, 11, 1, 9, 0), tick=False)
    visitor_a = make_visitor(users, regions)
    visitor_b = make_visitor(
        users, regions, "陈国强", township=TOWNSHIP_B, villages=(VILLAGE_B,), user=None
    )
    a1 = make_elder(users, regions, 1, ability="severe")  # 重点: visited both halves
    a2 = make_elder(users, regions, 2)  # 一般: visited once
    a3 = make_elder(users, regions, 3)  # 一般: never visited
    a4 = make_elder(users, regions, 4, ability="severe")  # 重点: first half only
    make_elder(users, regions, 5, consents_to_visits=False)  # declines: not counted
    b1 = make_elder(users, regions, 6, village=VILLAGE_B)  # 一般: visited once
    b2 = make_elder(users, regions, 7, village=VILLAGE_B, ability="severe")  # 重点: never
    for elder in (a1, a2, a3, a4):
        assign(users, elder, visitor_a)
    for elder in (b1, b2):
        assign(users, elder, visitor_b)

    # Entered before November locks on 5 December (issue 16 "Closed months").
    time_machine.move_to(aware(2026, 12, 4, 9, 0), tick=False)
    visits = [
        (a1, visitor_a, aware(2026, 11, 3, 10, 0)),
        (a1, visitor_a, aware(2026, 11, 20, 10, 0)),
        (a2, visitor_a, aware(2026, 11, 12, 10, 0)),
        (a4, visitor_a, aware(2026, 11, 5, 10, 0)),
        (b1, visitor_b, aware(2026, 11, 25, 15, 0)),
    ]
    for number, (elder, visitor, at) in enumerate(visits, start=1):
        record_visit(
            acting_user=users["county"],
            uuid=f"00000000-0000-0000-0000-{number:012d}",
            elder=elder,
            mode="home",
            visited_at=at,
            visitors=[visitor],
            answers=GOOD,
            visitor_signature=PNG,
            elder_signature=PNG,
        )
    time_machine.move_to(aware(2026, 12, 5, 9, 0), tick=False)
    client = client_for("county")
    # Kept current by the visits as recorded, then rebuilt from scratch: the same.
    kept = client.get("/reports/?month=2026-11").context["table"]
    recompute_month(NOVEMBER)

    response = client.get("/reports/?month=2026-11")

    assert response.status_code == 200
    table = response.context["table"]
    # By hand: 村A counts 老人1–4 (老人5 declines), visited 1, 2, 4, compliant 1, 2;
    # 村B counts 老人6–7, visited and compliant 6.
    assert [
        (r.name, r.counts.counted, r.counts.visited, r.counts.compliant) for r in table.rows
    ] == [
        ("灵秀镇", 4, 3, 2),
        ("宝盖镇", 2, 1, 1),
    ]
    assert table.rows[0].counts.declined == 1
    assert table.rows[0].counts.visit_rate_text == "75.0%"
    assert table.rows[1].counts.visit_rate_text == "50.0%"
    assert (table.total.visit_rate_text, table.total.compliance_rate_text) == ("66.7%", "50.0%")
    assert kept == table
    village_a = client_for("county").get(f"/reports/{VILLAGE_A}/?month=2026-11")
    village_b = client_for("county").get(f"/reports/{VILLAGE_B}/?month=2026-11")
    missed_a = {row.name: row for row in village_a.context["missed"]}
    assert set(missed_a) == {"老人3", "老人4"}
    assert not missed_a["老人3"].visited
    assert missed_a["老人4"].visited
    assert missed_a["老人4"].missing == ["11月下半月例行探访未完成（须上门探访，截止11月30日）"]
    assert missed_a["老人3"].missing == ["11月例行探访未完成（须上门探访，截止11月30日）"]
    (b2_row,) = village_b.context["missed"]
    assert b2_row.name == "老人7"
    assert b2_row.missing == [
        "11月上半月例行探访未完成（须上门探访，截止11月15日）",
        "11月下半月例行探访未完成（须上门探访，截止11月30日）",
    ]
    assert "11月下半月例行探访未完成（须上门探访，截止11月30日）" in village_a.content.decode()


def test_a_visit_recorded_moves_the_villages_numbers_at_once(users, regions, client_for):
    """Issue 6 "Done when": a visit recorded a moment ago is counted; no batch."""
    follow_shishi(users)
    visitor = make_visitor(users, regions)
    elder = make_elder(users, regions, 1)
    assign(users, elder, visitor)
    client = client_for("liaison_a")
    before = client.get("/reports/").context

    record_visit(
        acting_user=users["visitor_a"],
        uuid="00000000-0000-0000-0000-000000000001",
        elder=elder,
        mode="home",
        visited_at=aware(2026, 11, 23, 9, 59),
        visitors=[visitor],
        answers=GOOD,
        visitor_signature=PNG,
        elder_signature=PNG,
    )
    after = client.get("/reports/").context

    assert (before["counts"].counted, before["counts"].visited) == (1, 0)
    assert [row.name for row in before["missed"]] == ["老人1"]
    assert (after["counts"].counted, after["counts"].visited) == (1, 1)
    assert after["counts"].visit_rate_text == "100.0%"
    assert after["missed"] == []
    county = client_for("county").get("/reports/").context["table"]
    assert county.rows[0].counts.visited == 1


# --- The closed loop's numbers (issue 7) --------------------------------------------------------


def test_it_shows_the_closed_loops_numbers_of_the_node(client_for, users, regions, time_machine):
    """001_35a01bee4c628ebd.txt 二(二)5: 帮扶需求和帮扶措施要一一对应，落实情况形成闭环管理."""
    elder = make_elder(users, regions, 1, consents_to_photos=True)
    officer = users["county"]
    time_machine.move_to(aware(2026, 11, 3, 10, 0), tick=False)
    meals = needs.raise_need(acting_user=officer, elder=elder, need_type="meals", source="phone")
    needs.set_measure(
        acting_user=officer,
        need=meals,
        measure="长者食堂每日送餐",
        responsible_unit="灵秀镇长者食堂",
        due_on=date(2026, 11, 10),
    )
    needs.raise_need(acting_user=officer, elder=elder, need_type="medical", source="family")
    gas = hazards.raise_hazard(
        acting_user=officer, elder=elder, item="gas", description="燃气灶软管老化"
    )
    time_machine.move_to(aware(2026, 11, 8, 10, 0), tick=False)
    needs.change_need_status(acting_user=officer, need=meals, to_status="resolved")
    hazards.confirm_hazard_removed(acting_user=officer, hazard=gas, photo=photo())
    emergencies.raise_emergency(
        acting_user=officer, elder=elder, kind="fall", source="phone", description="跌倒"
    )
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)

    response = client_for("county").get("/reports/?month=2026-11")

    numbers = response.context["care"]
    assert (numbers.open_needs, numbers.resolved_in_month) == (1, 1)
    assert numbers.median_days_to_resolve == 5.0
    assert (numbers.hazards_found, numbers.hazards_removed_in_time, numbers.hazards_open) == (
        1,
        1,
        0,
    )
    assert (numbers.emergencies, numbers.emergencies_open) == (1, 1)
    html = response.content.decode()
    assert "办结天数中位数 5.0 天" in html
    assert "30日内消除 1" in html
    # Another county's officer sees none of it.
    assert client_for("county_other").get("/reports/?month=2026-11").context["care"].open_needs == 0


def photo():
    data = base64.b64decode(PNG.split(",", 1)[1])
    return SimpleUploadedFile("removed.png", data, content_type="image/png")

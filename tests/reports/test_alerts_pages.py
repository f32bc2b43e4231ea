"""The alerts on the pages (issue 16 "Emergencies and overdue on every
dashboard"): open emergencies and hazards past their deadline at the top of the
liaison's, township's and county's home pages, the dashboard and every level of
the report's drill-down, with how long each has been open, until closed; each
user sees their own subtree; a constant number of queries.

Sources: 001_35a01bee4c628ebd.txt 二(五)1 (emergencies: 第一时间…事后做好处置情况记录
归档), 二(二)2 (hazards: 提醒其及时消除隐患), the 30 days of docs/统计口径.md §12.
The clock stands on 2026-11-23 10:00.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tanfang.care.models import Emergency
from tests.care.test_alert_queries import NOW, close, emergency_at, hazard_entered
from tests.conftest import TOWNSHIP_A, TOWNSHIP_B, VILLAGE_A, VILLAGE_B
from tests.reports.test_report_pages import ALERTS
from tests.visits.factories import make_elder


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def opened(users, regions, time_machine):
    """村A's 老人1: a fall 3 hours ago, a gas hazard entered 40 days ago, one 10
    days ago (not past its deadline). 村B's 老人2: an illness 2 days ago."""
    a = make_elder(users, regions, 1)
    b = make_elder(users, regions, 2, village=VILLAGE_B)
    return {
        "fall": emergency_at(users, a, NOW - timedelta(hours=3)),
        "gas": hazard_entered(users, a, NOW - timedelta(days=40), time_machine),
        "fresh": hazard_entered(
            users, a, NOW - timedelta(days=10), time_machine, item="electricity"
        ),
        "illness": emergency_at(users, b, NOW - timedelta(days=2), who="liaison_b", kind="illness"),
    }


def alerts_of(html: str) -> str:
    """The alerts' section, or "" when the page has none."""
    if 'id="alerts"' not in html:
        return ""
    return html.split('id="alerts"', 1)[1].split("</section>", 1)[0]


def test_the_liaisons_home_page_opens_with_the_villages_alerts(client_for, opened):
    html = client_for("liaison_a").get("/").content.decode()

    section = alerts_of(html)
    # At the top: before the greeting.
    assert html.index('id="alerts"') < html.index("liaison_a，您好")
    assert "紧急提醒 · 村A" in section
    assert '应急事件处置中 <span class="count">1</span>' in section
    assert f'href="/care/emergencies/{opened["fall"].pk}/"' in section
    assert "老人1 · 跌倒" in section
    assert "已开放 3小时" in section
    assert '隐患超过30天未消除 <span class="count">1</span>' in section
    assert f'href="/care/hazards/{opened["gas"].pk}/"' in section
    assert "已开放 40天" in section
    # Not yet past its deadline, and 村B's are not hers.
    assert f"/care/hazards/{opened['fresh'].pk}/" not in section
    assert "老人2" not in section


def test_closing_the_emergency_takes_it_off_the_home_page(client_for, users, opened):
    client = client_for("liaison_a")

    close(users, opened["fall"])

    section = alerts_of(client.get("/").content.decode())
    assert Emergency.objects.get(pk=opened["fall"].pk).closed_at is not None
    assert f"/care/emergencies/{opened['fall'].pk}/" not in section
    assert "应急事件处置中" not in section
    assert f'href="/care/hazards/{opened["gas"].pk}/"' in section


def test_a_township_sees_its_villages_and_the_county_all(client_for, opened):
    township_b = alerts_of(client_for("township_b").get("/").content.decode())
    township_a = alerts_of(client_for("township_a").get("/").content.decode())
    county = alerts_of(client_for("county").get("/").content.decode())

    assert "老人2 · 突发疾病" in township_b
    assert "已开放 2天" in township_b
    assert "老人1" not in township_b
    assert "老人2" not in township_a
    assert "老人1 · 跌倒" in county
    assert "老人2 · 突发疾病" in county
    # The oldest first.
    assert county.index("老人2 · 突发疾病") < county.index("老人1 · 跌倒")
    assert alerts_of(client_for("county_other").get("/").content.decode()) == ""


def test_the_visitor_and_the_administrators_get_none(client_for, opened):
    for username in ("visitor_a", "sysadmin", "auditor"):
        assert alerts_of(client_for(username).get("/").content.decode()) == "", username


def test_nothing_open_shows_nothing(client_for, users, regions):
    make_elder(users, regions, 1)

    assert alerts_of(client_for("liaison_a").get("/").content.decode()) == ""


def test_the_dashboard_page_opens_with_the_alerts(client_for, opened):
    html = client_for("county").get("/reports/dashboard/").content.decode()

    assert html.index('id="alerts"') < html.index('id="dashboard"')
    assert "紧急提醒 · 石狮市" in alerts_of(html)
    # The panel loaded into the home page does not repeat them (the home page has them).
    panel = client_for("county").get("/reports/dashboard/panel/").content.decode()
    assert 'id="alerts"' not in panel


def test_every_level_of_the_report_shows_its_own(client_for, opened):
    client = client_for("county")

    county = client.get("/reports/").content.decode()
    township_b = client.get(f"/reports/{TOWNSHIP_B}/").content.decode()
    village_a = client.get(f"/reports/{VILLAGE_A}/").content.decode()

    assert county.index('id="alerts"') < county.index("石狮市 · 月探访率")
    assert "紧急提醒 · 石狮市" in alerts_of(county)
    assert "老人1 · 跌倒" in alerts_of(county) and "老人2 · 突发疾病" in alerts_of(county)
    assert "紧急提醒 · 宝盖镇" in alerts_of(township_b)
    assert "老人1" not in alerts_of(township_b)
    assert "紧急提醒 · 村A" in alerts_of(village_a)
    assert "老人2" not in alerts_of(village_a)
    # Each row of the table says how many its place has.
    assert (
        f'<a href="/reports/{TOWNSHIP_A}/?month=2026-11">灵秀镇</a> '
        '<span class="tag alert-count"' in county
    )
    assert ">紧急 2</span>" in county  # 灵秀镇: the fall and the gas hazard
    assert ">紧急 1</span>" in county  # 宝盖镇: the illness


def test_a_quiet_report_shows_no_alerts(client_for, users, regions):
    make_elder(users, regions, 1)

    html = client_for("county").get("/reports/").content.decode()

    assert 'id="alerts"' not in html
    assert "alert-count" not in html


def test_more_than_a_few_lead_to_the_whole_list(client_for, users, regions):
    elder = make_elder(users, regions, 1)
    for hours in range(1, 8):
        emergency_at(users, elder, NOW - timedelta(hours=hours))

    county = alerts_of(client_for("county").get("/reports/").content.decode())
    township = alerts_of(client_for("county").get(f"/reports/{TOWNSHIP_A}/").content.decode())
    village = alerts_of(client_for("county").get(f"/reports/{VILLAGE_A}/").content.decode())

    assert len(re.findall(r'href="/care/emergencies/\d+/"', county)) == 5
    assert "已开放 7小时" in county and "已开放 3小时" in county
    assert "已开放 2小时" not in county
    assert "查看全部 7 件处置中的应急事件" in county
    assert 'href="/care/emergencies/?state=open&amp;sort=age"' in county
    # A township of the county: its list with the place filter; a village
    # further down: its 待办事项.
    assert f'href="/care/emergencies/?state=open&amp;sort=age&amp;region={TOWNSHIP_A}"' in township
    assert f'href="/care/board/{VILLAGE_A}/"' in village


def test_the_alerts_add_two_queries_to_the_home_page_whatever_their_number(
    client_for, users, regions, time_machine, django_assert_num_queries
):
    elder = make_elder(users, regions, 1)
    client = client_for("liaison_a")
    # The session, the user, the OTP device, the user's region (the bar); the
    # alerts (open emergencies, hazards past their deadline); the last-seen time.
    with django_assert_num_queries(4 + ALERTS + 3):
        client.get("/")
    for hours in range(1, 10):
        emergency_at(users, elder, NOW - timedelta(hours=hours))
        hazard_entered(users, elder, NOW - timedelta(days=30 + hours), time_machine)
    with django_assert_num_queries(4 + ALERTS + 3):
        html = client.get("/").content.decode()

    assert len(re.findall(r'href="/care/hazards/\d+/"', alerts_of(html))) == 5


def test_the_alerts_add_a_constant_to_the_report_whatever_their_number(client_for, users, regions):
    # The exact count of the page is pinned in test_report_pages.py (ALERTS,
    # ALERTS_BY_ROW); here: the same with none and with eighteen.
    client = client_for("county")
    elder = make_elder(users, regions, 1)
    other = make_elder(users, regions, 2, village=VILLAGE_B)
    with CaptureQueriesContext(connection) as quiet:
        client.get("/reports/")
    for hours in range(1, 10):
        emergency_at(users, elder, NOW - timedelta(hours=hours))
        emergency_at(users, other, NOW - timedelta(hours=hours), who="liaison_b")
    with CaptureQueriesContext(connection) as busy:
        html = client.get("/reports/").content.decode()

    assert len(busy) == len(quiet)
    assert "查看全部 18 件处置中的应急事件" in html
    assert ">紧急 9</span>" in html

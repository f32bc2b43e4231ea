"""The report and the dashboard on a 360-px phone (issue 16 "Readable at 360 px"):
the report's table keeps the place's name, 探访率 and 达标率 on the screen
without scrolling sideways, the other columns one tap away (a <details> per
row, which needs no JavaScript); a desk (1280 px) keeps the whole sortable
table; the dashboard says in one line what each figure counts, under the
alerts (001_35a01bee4c628ebd.txt 二(五)1 emergencies, 二(二)2 hazards).

Screenshots for the user guide: docs/images/月报-手机.png, docs/images/看板-手机.png.
Chromium from Debian (tests/browser/conftest.py); skipped where it is missing.
The clock stands on 2026-11-23 10:00.
"""

from datetime import date, timedelta
from pathlib import Path

import pytest

from tanfang.regions.models import Kind, Level, Region
from tests.browser.test_login_on_a_phone import fits_the_screen, log_in
from tests.care.test_alert_queries import NOW, emergency_at, hazard_entered
from tests.conftest import PASSWORD, TOWNSHIP_A, VILLAGE_A
from tests.reports.fill import counter, wipe
from tests.visits.factories import make_elder

NOVEMBER = date(2026, 11, 1)
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
# 灵秀镇's villages as the demo names them, with this month's numbers so far.
VILLAGES = [
    ("灵秀镇华山村民委员会", 18, 17, 15),
    ("灵秀镇钞坑村民委员会", 12, 12, 12),
    ("灵秀镇塘后村民委员会", 25, 19, 14),
    ("灵秀镇石壁村民委员会", 9, 6, 5),
    ("灵秀镇古湖社区居民委员会", 31, 30, 27),
]


@pytest.fixture
def township(users, regions, time_machine):
    """灵秀镇 with six villages' numbers, a fall three hours old and a gas hazard
    entered 40 days ago at 村A."""
    time_machine.move_to(NOW, tick=False)
    elder = make_elder(users, regions, 1)
    emergency_at(users, elder, NOW - timedelta(hours=3))
    hazard_entered(users, elder, NOW - timedelta(days=40), time_machine)
    wipe()
    counter(VILLAGE_A, NOVEMBER, counted=14, visited=13, compliant=11, declined=1)
    for number, (name, counted, visited, compliant) in enumerate(VILLAGES):
        code = f"{TOWNSHIP_A[:9]}{210 + number:03d}"
        Region.objects.create(
            code=code, name=name, level=Level.VILLAGE, kind=Kind.RURAL, parent_id=TOWNSHIP_A
        )
        counter(code, NOVEMBER, counted=counted, visited=visited, compliant=compliant)


def rates_on_screen(page) -> bool:
    """Every row's two rate cells lie inside the window, and the table needs no
    sideways scrolling."""
    return page.evaluate(
        """() => {
          const cells = [...document.querySelectorAll('table.sortable td.rate')];
          const wrap = document.querySelector('table.sortable').closest('.table-wrap');
          return cells.length > 0
            && cells.every(c => { const r = c.getBoundingClientRect();
                                  return r.width > 0 && r.left >= 0 && r.right <= innerWidth; })
            && wrap.scrollWidth <= wrap.clientWidth;
        }"""
    )


def test_the_report_keeps_both_rates_on_a_phone(phone, live_server, township):  # noqa: F811
    log_in(phone, live_server, "township_a", PASSWORD)
    phone.goto(f"{live_server.url}/reports/")

    headers = phone.locator("table.sortable thead th")
    shown = [h.inner_text().strip() for h in headers.all() if h.is_visible()]
    assert shown == ["村(社区) ▲", "探访率", "达标率"]
    assert rates_on_screen(phone)
    assert fits_the_screen(phone)
    row = phone.locator("table.sortable tbody tr", has_text="塘后村")
    assert row.locator("td.rate").all_inner_texts() == ["76.0%", "56.0%"]
    assert not row.get_by_text("应探访").is_visible()
    # The alerts of the township lead the page; 村A has one of each.
    assert phone.locator("#alerts").is_visible()
    assert phone.locator("#alerts").inner_text().count("已开放") == 2
    assert "紧急 2" in phone.locator("table.sortable tbody tr", has_text="村A").inner_text()
    phone.screenshot(path=str(IMAGES / "月报-手机.png"), full_page=True)

    row.locator("summary", has_text="更多").click()

    more = row.locator("details.row-more dl")
    assert more.is_visible()
    assert more.inner_text().split() == [
        "应探访", "25", "已探访", "19", "未探访", "6", "达标", "14", "不愿接受探访", "0",
    ]  # fmt: skip
    assert rates_on_screen(phone)
    assert fits_the_screen(phone)


def test_the_other_columns_open_without_javascript(browser, live_server, township):  # noqa: F811
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="zh-CN", java_script_enabled=False
    )
    page = context.new_page()
    try:
        log_in(page, live_server, "township_a", PASSWORD)
        page.goto(f"{live_server.url}/reports/")
        row = page.locator("table.sortable tbody tr", has_text="华山村")
        row.locator("summary", has_text="更多").click()

        assert row.locator("details.row-more dl").is_visible()
        assert "应探访18" in row.locator("details.row-more dl").inner_text().replace("\n", "")
        assert rates_on_screen(page)
    finally:
        context.close()


def test_a_desk_keeps_the_whole_sortable_table(browser, live_server, township):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, live_server, "township_a", PASSWORD)
        page.goto(f"{live_server.url}/reports/")
        headers = page.locator("table.sortable thead th")
        shown = [h.inner_text().strip() for h in headers.all() if h.is_visible()]
        assert shown == [
            "村(社区) ▲", "应探访", "已探访", "未探访", "探访率", "达标", "达标率", "不愿接受探访",
        ]  # fmt: skip
        assert not page.locator("summary", has_text="更多").first.is_visible()

        page.click("table.sortable thead >> text=探访率")

        assert "sort=visit_rate" in page.url
        names = page.locator("table.sortable tbody td:first-child > a").all_inner_texts()
        assert names[0] == "灵秀镇石壁村民委员会"  # 66.7%, the lowest
        assert page.locator("th[aria-sort=ascending]").inner_text().startswith("探访率")
    finally:
        context.close()


def test_the_dashboard_explains_each_figure_on_a_phone(phone, live_server, township):  # noqa: F811
    log_in(phone, live_server, "township_a", PASSWORD)
    phone.goto(f"{live_server.url}/reports/dashboard/")

    assert phone.locator("#alerts").is_visible()
    assert "老人1 · 跌倒" in phone.locator("#alerts").inner_text()
    assert "已开放 3小时" in phone.locator("#alerts").inner_text()
    figures = phone.locator("#dashboard .big-number, #dashboard .dash-tiles li")
    assert figures.count() == 6
    for figure in figures.all():
        assert figure.locator(".explain").is_visible(), figure.inner_text()
    assert fits_the_screen(phone)
    phone.screenshot(path=str(IMAGES / "看板-手机.png"), full_page=True)

"""A visit recorded on a 360-px phone (issue 5, "Done when"): a visitor opens
我的探访, records a home visit for a key elder with both signatures drawn on the
screen, sees the task turn done and the next elder listed; sending the same
form again changes nothing; the village liaison's board shows the visit at once.

The clock of the server stands on 2026-11-23 (a Monday); the tasks are the ones
the registry makes for 石狮's key elders (000_4970ff49482a0570.txt 四(二):
重点对象每半月至少上门探访1次), here 16–30 November.
"""

from datetime import UTC, date, datetime

import pytest

from tanfang.registry.models import Elder
from tanfang.visits.models import Visit, VisitTask
from tests.browser.test_login_on_a_phone import fits_the_screen, log_in
from tests.conftest import PASSWORD, aware
from tests.visits.factories import assign, follow_shishi, make_elder, make_visitor

WHERE = {"latitude": 24.731234, "longitude": 118.654321, "accuracy": 15}
# The server's frozen clock, 2026-11-23 10:00 in Asia/Shanghai: the phone's clock
# says the same, as the start and end times it sends must not lie in the future.
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
def setting(users, regions, time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)
    follow_shishi(users)
    visitor = make_visitor(users, regions)
    # 中度以上失能: 重点对象 under 石狮's rules.
    first = make_elder(users, regions, 1, ability="severe", phone="13812345678")
    second = make_elder(users, regions, 2, ability="severe", phone="13912345678")
    for elder in (first, second):
        assign(users, elder, visitor)
    return {"visitor": visitor, "first": first, "second": second}


@pytest.fixture
def located_phone(browser):
    """A 360-px phone whose visitor allows the page to read the location."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        locale="zh-CN",
        geolocation=WHERE,
        permissions=["geolocation"],
        has_touch=False,
    )
    context.clock.install(time=NOW)
    page = context.new_page()
    yield page
    context.close()


def sign(page, canvas):
    """Draw a stroke on a signature pad with the mouse."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 20, y + 40)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(x + 20 + step * 22, y + 40 + (step % 3) * 25, steps=2)
    page.mouse.up()


def answer_everything_well(page):
    """The first answer of every item that is not a bad one (无变化, 安全)."""
    for item in page.locator("fieldset.item").all():
        item.locator("label.opt:not(.bad)").first.click()


def test_a_visitor_records_a_home_visit_on_a_phone(browser, located_phone, live_server, setting):
    phone = located_phone
    first, second = setting["first"], setting["second"]
    task = VisitTask.objects.get(elder=first, window_start=date(2026, 11, 16))

    log_in(phone, live_server, "visitor_a", PASSWORD)
    phone.click("nav.nav >> text=我的探访")
    assert phone.url == f"{live_server.url}/visits/"
    this_period = phone.locator("#this-period")
    assert "老人1" in this_period.inner_text() and "老人2" in this_period.inner_text()
    assert "138****5678" in this_period.inner_text()
    assert "13812345678" not in phone.content()
    assert fits_the_screen(phone)

    this_period.locator("li.task", has_text="老人1").locator("a:has-text('录入探访')").click()
    assert phone.url == f"{live_server.url}/visits/new/{first.pk}/"
    assert "老人1" in phone.inner_text("h1")
    assert phone.is_checked("input[name=mode][value=home]")
    assert "本次探访将完成" in phone.inner_text("#check")
    assert fits_the_screen(phone)

    # Before saving, the page says a phone call would not count for a key elder.
    phone.click("#mode-choices label:has-text('电话探访')")
    phone.wait_for_selector("#check .not-counted")
    assert "重点对象，电话探访不计入" in phone.inner_text("#check")
    phone.click("#mode-choices label:has-text('上门探访')")
    phone.wait_for_selector("#check .okbox")

    answer_everything_well(phone)
    for canvas in phone.locator("canvas.pad").all():
        sign(phone, canvas)
    phone.fill("#id_services_given", "送去大米一袋，检查了燃气灶。")
    phone.wait_for_function("document.getElementById('id_latitude').value !== ''")
    assert fits_the_screen(phone)

    with phone.expect_request(lambda r: r.method == "POST") as sent:
        phone.click("button:has-text('保存探访记录')")
    phone.wait_for_url(f"{live_server.url}/visits/?saved=*")

    visit = Visit.objects.get()
    text = phone.inner_text("main")
    assert "已保存老人1的第1次探访记录。" in text
    assert "已完成：11月下半月例行探访" in phone.inner_text("#saved")
    assert "下一位：老人2" in phone.inner_text("#saved")
    # One card per elder (issue 16): the task done shows on 老人1's card.
    card = phone.locator("li.task", has_text="老人1").inner_text()
    assert "已完成" in card and "11月下半月例行探访" in card
    assert "老人1" not in phone.inner_text("#this-period")
    assert "老人2" in phone.inner_text("#this-period")
    assert fits_the_screen(phone)

    assert (visit.elder, visit.mode, visit.sequence, visit.counted) == (first, "home", 1, True)
    assert list(visit.visitors.all()) == [setting["visitor"]]
    assert visit.visitor_signature.startswith("data:image/png;base64,")
    assert visit.elder_signature.startswith("data:image/png;base64,")
    assert visit.visitor_signature != visit.elder_signature or len(visit.elder_signature) > 200
    assert visit.started_at is not None and visit.ended_at is not None
    assert visit.started_at <= visit.ended_at
    assert (float(visit.latitude), float(visit.longitude)) == (24.731234, 118.654321)
    assert visit.services_given == "送去大米一袋，检查了燃气灶。"
    assert VisitTask.objects.get(pk=task.pk).done_by_visit == visit

    # The same form sent again (a retry after a lost answer) changes nothing.
    again = phone.request.post(
        sent.value.url,
        headers={"Content-Type": sent.value.headers["content-type"]},
        data=sent.value.post_data_buffer,
    )
    assert again.ok
    assert "未重复保存" in again.text()
    assert Visit.objects.count() == 1
    assert VisitTask.objects.filter(done_at__isnull=False).count() == 1

    # The next elder, from the saved card.
    phone.click("#saved a:has-text('录入下一位')")
    assert phone.url == f"{live_server.url}/visits/new/{second.pk}/"

    # The village liaison's board shows it at once, on another phone.
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    context.clock.install(time=NOW)
    try:
        board = context.new_page()
        log_in(board, live_server, "liaison_a", PASSWORD)
        board.click("nav.nav >> text=探访看板")
        assert board.url == f"{live_server.url}/visits/board/"
        done_row = board.locator(f"#elder-{first.pk}")
        assert "已完成" in done_row.locator(".state").inner_text()
        assert "上门探访" in done_row.inner_text()
        assert "待探访" in board.locator(f"#elder-{second.pk}").locator(".state").inner_text()
        assert "13812345678" not in board.content()
        assert fits_the_screen(board)
    finally:
        context.close()
    assert Elder.objects.count() == 2


def test_a_missing_signature_is_asked_for_and_the_answers_are_kept(
    located_phone, live_server, setting
):
    phone = located_phone
    first = setting["first"]
    log_in(phone, live_server, "visitor_a", PASSWORD)
    phone.goto(f"{live_server.url}/visits/new/{first.pk}/")
    answer_everything_well(phone)
    sign(phone, phone.locator("#pad-visitor_signature"))

    phone.click("button:has-text('保存探访记录')")

    assert phone.url == f"{live_server.url}/visits/new/{first.pk}/"
    assert "探访记录尚未保存" in phone.inner_text(".errorbox")
    field = phone.locator(".signature.invalid")
    assert "请在屏幕上签名：被探访人签字。" in field.inner_text()
    # The visitor's signature and the answers are kept.
    assert phone.input_value("#id_visitor_signature").startswith("data:image/png")
    assert (
        phone.locator("fieldset.item input:checked").count()
        == phone.locator("fieldset.item").count()
    )
    assert fits_the_screen(phone)
    assert not Visit.objects.exists()

"""A visit recorded on a 360-px phone where there is no signal (issue 16,
"Offline-first phone pages", "Test it in a real browser", "Bad input"):

- the task list, opened online, leaves the visit forms of its elders on the
  phone (the service worker, /sw.js); with the network gone the form still
  opens, what is typed survives a reload, 保存 keeps the record in the outbox,
  and the record arrives exactly once when the network is back;
- a session that ended before 保存 loses nothing: the record waits on the
  phone, a banner asks to sign in, and after signing in it is sent once;
- two tabs sending the same record make one visit;
- a record the server refuses stays on the phone with the reason, opens in
  the form, is corrected and sent;
- a page whose answer was lost after the server stored the visit: the outbox
  sends the same record again and the server returns the stored one;
- a browser without a service worker (WeChat on an iPhone) still keeps the
  draft, and says that pages do not open offline there.

The server's clock stands on 2026-11-23 10:00 (tests/browser/test_visit_on_a_phone.py);
the elders are 石狮's key elders, who owe a home visit in 16–30 November.
With TANFANG_SCREENSHOTS=docs/images the tests leave their screenshots there
(离线-*.png, 360 px wide), for the user guide.
"""

import os
from pathlib import Path
from uuid import UUID

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session

from tanfang.care.models import Hazard, Need
from tanfang.visits.actions import record_visit
from tanfang.visits.models import Visit, VisitTask
from tests.browser.test_login_on_a_phone import fits_the_screen, log_in
from tests.browser.test_visit_on_a_phone import NOW, WHERE, answer_everything_well, setting, sign
from tests.conftest import PASSWORD, aware
from tests.visits.factories import GOOD, PNG

__all__ = ["setting"]  # the fixture, shared with test_visit_on_a_phone.py

WORKBOX = Path(settings.BASE_DIR, "tanfang", "static", "vendor")
SHOTS = os.environ.get("TANFANG_SCREENSHOTS", "")


@pytest.fixture(autouse=True)
def _workbox_built():
    if not any(WORKBOX.glob("workbox-*/workbox-core.prod.js")):
        pytest.fail(
            "Workbox is not in the static files: run `make pytest` (or the Makefile's Workbox step)"
        )


def shot(page, name):
    """A screenshot for the user guide, when asked for (TANFANG_SCREENSHOTS)."""
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS, f"离线-{name}.png")))


def new_phone(browser, **options):
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        locale="zh-CN",
        geolocation=WHERE,
        permissions=["geolocation"],
        **options,
    )
    context.clock.install(time=NOW)
    return context


@pytest.fixture
def context(browser):
    made = new_phone(browser)
    yield made
    made.close()


def open_task_list(phone, live_server):
    """Signed in, the task list: the worker keeps the forms of its elders."""
    log_in(phone, live_server, "visitor_a", PASSWORD)
    phone.goto(f"{live_server.url}/visits/")
    phone.wait_for_selector("body[data-kept]", timeout=15000)


def fill_with_findings(phone, *, elder_signs=True):
    """Every item answered well but the gas (不安全: a hazard), a meal need not
    met (a need), the visitor's signature and, unless told, the elder's."""
    answer_everything_well(phone)
    phone.click("#item-gas_safety label.opt.bad")
    phone.click("#needs summary")
    phone.check("input[name=need_meals]")
    phone.click("#needs li.need:has(input[name=need_meals]) label.opt.bad")
    phone.fill("input[name=need_meals_note]", "腿脚不便，做饭困难")
    sign(phone, phone.locator("#pad-visitor_signature"))
    if elder_signs:
        sign(phone, phone.locator("#pad-elder_signature"))
    phone.fill("#id_services_given", "送去大米一袋。\n检查了燃气灶。")
    kept_on_phone(
        phone,
        "r.fields.services_given && r.fields.elder_signature"
        if elder_signs
        else "r.fields.services_given",
    )
    assert "已自动保存在手机上" in phone.inner_text("#draft-status")


def kept_on_phone(phone, condition):
    """Wait until the phone's store holds a record meeting `condition` (JS, of `r`)."""
    ask = (
        "() => window.tanfangOutbox.all().then((records) => records.some((r) => r.fields && ("
        + condition
        + ")))"
    )
    for _ in range(50):
        if phone.evaluate(ask):
            return
        phone.wait_for_timeout(100)
    raise AssertionError(f"no record on the phone with {condition}")


def save(phone):
    phone.click("button:has-text('保存探访记录')")


def outbox_rows(phone, state):
    return phone.locator(f"#outbox-list .outbox-row.state-{state}")


def one_visit_with_its_findings(elder):
    visit = Visit.objects.get()
    assert visit.elder == elder
    assert Hazard.objects.filter(visit=visit).count() == 1 == Hazard.objects.count()
    assert list(Need.objects.values_list("need_type", flat=True)) == ["meals"]
    assert Need.objects.get().visit == visit
    assert VisitTask.objects.filter(done_by_visit=visit).count() == 1
    return visit


def test_a_visit_filled_offline_arrives_once_when_the_network_returns(
    context, live_server, setting
):
    phone = context.new_page()
    first = setting["first"]
    open_task_list(phone, live_server)
    assert phone.is_visible("#outbox-link")
    assert "待发送 0 条" in phone.inner_text("#outbox-link")
    shot(phone, "1-任务列表")

    context.set_offline(True)
    # 录入探访 on the elder's card of the task list (tanfang/templates/visits/home.html).
    phone.locator(f"main a[href='/visits/new/{first.pk}/']").first.click()
    phone.wait_for_url(f"{live_server.url}/visits/new/{first.pk}/")
    assert "当前没有网络" in phone.inner_text("#banner-offline")
    assert "老人1" in phone.inner_text("h1")
    fill_with_findings(phone)
    uuid = phone.input_value("#id_uuid")
    assert fits_the_screen(phone)
    phone.evaluate("window.scrollTo(0, 0)")
    shot(phone, "2-无网络时填写")

    # The tab reloaded (or killed and opened again) without a network: all is there.
    phone.reload()
    phone.wait_for_selector("#draft-box:not([hidden])")
    assert "已恢复" in phone.inner_text("#draft-box")
    assert phone.input_value("#id_uuid") == uuid
    assert phone.is_checked("#item-gas_safety input[value=unsafe]")
    assert phone.is_checked("input[name=need_meals]")
    assert phone.input_value("#id_visitor_signature").startswith("data:image/png")
    assert phone.input_value("#id_elder_signature").startswith("data:image/png")
    assert phone.input_value("#id_latitude") == "24.731234"
    assert phone.input_value("#id_services_given") == "送去大米一袋。\n检查了燃气灶。"
    phone.locator("#draft-box").scroll_into_view_if_needed()
    shot(phone, "3-重新打开仍在")

    save(phone)
    phone.wait_for_url(f"{live_server.url}/visits/outbox/?saved=*")
    phone.wait_for_selector("body[data-outbox=drawn]")
    assert outbox_rows(phone, "queued").count() == 1
    assert "待发送 1 条" in phone.inner_text("#outbox-link")
    assert "保存于 11月23日 10:0" in outbox_rows(phone, "queued").inner_text()
    assert not Visit.objects.exists()
    assert fits_the_screen(phone)
    shot(phone, "4-待发送")

    context.set_offline(False)
    phone.wait_for_selector("#outbox-list .outbox-row.state-sent", timeout=15000)
    row = outbox_rows(phone, "sent").inner_text()
    assert "发送于 11月23日" in row and "第1次探访" in row
    assert "待发送 0 条" in phone.inner_text("#outbox-link")
    shot(phone, "5-已发送")

    visit = one_visit_with_its_findings(first)
    assert str(visit.uuid) == uuid
    assert visit.visitor_signature.startswith("data:image/png;base64,")
    assert visit.elder_signature.startswith("data:image/png;base64,")
    assert (float(visit.latitude), float(visit.longitude)) == (24.731234, 118.654321)
    assert visit.started_at is not None and visit.ended_at is not None
    assert visit.services_given == "送去大米一袋。\r\n检查了燃气灶。"

    # Sent again (a page opened later, the retry): nothing more is made.
    phone.evaluate("window.tanfangOutbox.sendAll()")
    phone.reload()
    phone.wait_for_selector("body[data-outbox=drawn]")
    assert outbox_rows(phone, "sent").count() == 1
    one_visit_with_its_findings(first)


def test_a_session_that_ended_before_saving_loses_nothing(context, live_server, setting):
    phone = context.new_page()
    first = setting["first"]
    log_in(phone, live_server, "visitor_a", PASSWORD)
    phone.goto(f"{live_server.url}/visits/new/{first.pk}/")
    fill_with_findings(phone)

    # Half an hour with the elder: the server ended the session meanwhile.
    Session.objects.all().delete()
    save(phone)

    banner = phone.locator("#banner-expired")
    banner.wait_for()
    assert "登录已过期，记录已保存在手机上，请重新登录后自动发送" in banner.inner_text()
    assert phone.url == f"{live_server.url}/visits/new/{first.pk}/"
    assert "待发送 1 条" in phone.inner_text("#outbox-link")
    assert not Visit.objects.exists()
    assert fits_the_screen(phone)
    shot(phone, "6-登录已过期")

    banner.locator("a:has-text('重新登录')").click()
    phone.wait_for_url(f"{live_server.url}/accounts/login/?next=*")
    assert "登录已过期" in phone.inner_text("#banner-expired")
    phone.fill("#id_username", "visitor_a")
    phone.fill("#id_password", PASSWORD)
    phone.click("button[type=submit]")
    phone.wait_for_url(f"{live_server.url}/visits/outbox/")
    phone.wait_for_selector("#outbox-list .outbox-row.state-sent", timeout=15000)
    assert not phone.locator("#banner-expired").count()
    shot(phone, "7-登录后已发送")

    one_visit_with_its_findings(first)


def test_two_tabs_sending_the_same_record_make_one_visit(context, live_server, setting):
    first = setting["first"]
    phone = context.new_page()
    open_task_list(phone, live_server)
    context.set_offline(True)
    phone.goto(f"{live_server.url}/visits/new/{first.pk}/")
    fill_with_findings(phone)
    save(phone)
    phone.wait_for_url(f"{live_server.url}/visits/outbox/?saved=*")
    other = context.new_page()
    other.goto(f"{live_server.url}/visits/outbox/")
    other.wait_for_selector("#outbox-list .outbox-row.state-queued")

    posts = []
    context.on(
        "request",
        lambda request: (
            posts.append(request.url)
            if request.method == "POST" and request.url.endswith("/api/v1/visits")
            else None
        ),
    )
    context.set_offline(False)
    # Both tabs hear the network come back; both are told to send at once too.
    phone.evaluate("window.tanfangOutbox.sendAll()")
    other.evaluate("window.tanfangOutbox.sendAll()")
    for page in (phone, other):
        page.wait_for_selector("#outbox-list .outbox-row.state-sent", timeout=15000)

    one_visit_with_its_findings(first)
    assert len(posts) == 1, posts


def test_a_record_the_server_refuses_is_kept_shown_and_corrected(context, live_server, setting):
    first = setting["first"]
    phone = context.new_page()
    open_task_list(phone, live_server)
    context.set_offline(True)
    phone.goto(f"{live_server.url}/visits/new/{first.pk}/")
    fill_with_findings(phone, elder_signs=False)
    save(phone)
    phone.wait_for_url(f"{live_server.url}/visits/outbox/?saved=*")

    context.set_offline(False)
    refused = phone.locator("#outbox-list .outbox-row.state-refused")
    refused.wait_for(timeout=15000)
    assert "服务器未接受这条记录" in refused.inner_text()
    assert "请在屏幕上签名：被探访人签字。" in refused.inner_text()
    assert "待发送 1 条" in phone.inner_text("#outbox-link")
    assert not Visit.objects.exists()
    assert fits_the_screen(phone)
    shot(phone, "8-未被接受")

    refused.locator("a:has-text('打开修改')").click()
    phone.wait_for_url(f"{live_server.url}/visits/new/{first.pk}/?draft=*")
    phone.wait_for_selector("#draft-box.refused")
    assert "请在屏幕上签名：被探访人签字。" in phone.inner_text("#draft-box")
    elder_pad = phone.locator(".signature.invalid:has(#pad-elder_signature)")
    assert "请在屏幕上签名：被探访人签字。" in elder_pad.inner_text()
    assert phone.is_checked("#item-gas_safety input[value=unsafe]")
    elder_pad.scroll_into_view_if_needed()
    shot(phone, "9-打开修改")

    sign(phone, phone.locator("#pad-elder_signature"))
    save(phone)
    phone.wait_for_url(f"{live_server.url}/visits/?saved=*")
    phone.goto(f"{live_server.url}/visits/outbox/")
    phone.wait_for_selector("#outbox-list .outbox-row.state-sent")
    assert outbox_rows(phone, "refused").count() == 0
    one_visit_with_its_findings(first)


def test_a_visit_whose_answer_was_lost_is_sent_again_as_the_same_record(
    browser, live_server, setting
):
    """The page posted the form, the server stored the visit, the answer never
    came back. The outbox sends the same record through the API: the same
    content (VisitForm.action_kwargs and visit_form.js agree), so the server
    answers with the stored visit (200), no conflict, no second visit."""
    first = setting["first"]
    # No worker here, so that the route below sees the page's post.
    context = new_phone(browser, service_workers="block")
    try:
        phone = context.new_page()
        log_in(phone, live_server, "visitor_a", PASSWORD)
        phone.goto(f"{live_server.url}/visits/new/{first.pk}/")
        fill_with_findings(phone)

        def answer_lost(route):
            if route.request.method != "POST":
                route.continue_()
                return
            route.fetch()  # the server stores the visit...
            route.abort("connectionreset")  # ...and the phone never hears of it

        phone.route(f"{live_server.url}/visits/new/{first.pk}/", answer_lost)
        with phone.expect_event("requestfailed", lambda r: r.method == "POST"):
            save(phone)
        phone.wait_for_url("chrome-error://**")  # the browser's page: no answer
        assert Visit.objects.count() == 1

        phone.goto(f"{live_server.url}/visits/outbox/")
        sent = phone.locator("#outbox-list .outbox-row.state-sent")
        sent.wait_for(timeout=15000)
        assert "服务器已有这条记录（此前已发送成功），未重复保存。" in sent.inner_text()
        one_visit_with_its_findings(first)
    finally:
        context.close()


def test_without_a_service_worker_the_draft_is_kept_and_the_phone_says_so(
    browser, live_server, setting
):
    """WeChat's browser on an iPhone has no service worker."""
    first = setting["first"]
    context = new_phone(browser)
    context.add_init_script("delete Navigator.prototype.serviceWorker;")
    try:
        phone = context.new_page()
        log_in(phone, live_server, "visitor_a", PASSWORD)
        phone.goto(f"{live_server.url}/visits/")
        banner = phone.locator("#banner-worker")
        banner.wait_for()
        assert "不能离线打开本网站的页面" in banner.inner_text()
        assert "仍保存在手机上" in banner.inner_text()
        assert fits_the_screen(phone)
        shot(phone, "10-微信中打开")

        phone.goto(f"{live_server.url}/visits/new/{first.pk}/")
        fill_with_findings(phone)
        phone.reload()
        phone.wait_for_selector("#draft-box:not([hidden])")
        assert phone.is_checked("#item-gas_safety input[value=unsafe]")
        assert phone.input_value("#id_elder_signature").startswith("data:image/png")
    finally:
        context.close()


def test_where_indexeddb_cannot_open_the_draft_is_kept_in_local_storage(
    browser, live_server, setting
):
    first = setting["first"]
    context = new_phone(browser, service_workers="block")
    context.add_init_script("Object.defineProperty(window, 'indexedDB', {value: undefined});")
    try:
        phone = context.new_page()
        log_in(phone, live_server, "visitor_a", PASSWORD)
        phone.goto(f"{live_server.url}/visits/new/{first.pk}/")
        phone.wait_for_selector("body[data-store=localstorage]")
        fill_with_findings(phone)
        phone.reload()
        phone.wait_for_selector("#draft-box:not([hidden])")
        assert phone.is_checked("input[name=need_meals]")
        save(phone)
        phone.wait_for_url(f"{live_server.url}/visits/?saved=*")
        one_visit_with_its_findings(first)
    finally:
        context.close()


def kept_pages(phone):
    return phone.evaluate(
        "caches.open('tanfang-pages').then((c) => c.keys())"
        ".then((keys) => keys.map((k) => new URL(k.url).pathname))"
    )


def test_signing_out_leaves_nobodys_pages_on_the_phone(context, live_server, setting):
    phone = context.new_page()
    open_task_list(phone, live_server)
    kept = kept_pages(phone)
    assert {"/visits/", f"/visits/new/{setting['first'].pk}/", "/visits/outbox/"} <= set(kept)

    phone.click("header button:has-text('退出')")
    phone.wait_for_url(f"{live_server.url}/accounts/login/")
    phone.wait_for_function("document.body.getAttribute('data-store')")
    assert kept_pages(phone) == []

    # Offline, the visitor's pages are gone with the sign-out.
    context.set_offline(True)
    phone.goto(f"{live_server.url}/visits/")
    assert "没有网络" in phone.inner_text("h1")
    assert "老人1" not in phone.content()


def test_a_record_whose_uuid_the_server_holds_with_other_content_is_shown_as_a_conflict(
    context, live_server, setting, users
):
    first = setting["first"]
    phone = context.new_page()
    open_task_list(phone, live_server)
    context.set_offline(True)
    phone.goto(f"{live_server.url}/visits/new/{first.pk}/")
    fill_with_findings(phone)
    uuid = phone.input_value("#id_uuid")
    save(phone)
    phone.wait_for_url(f"{live_server.url}/visits/outbox/?saved=*")
    # Meanwhile the same UUID reached the server with other content.
    record_visit(
        acting_user=users["visitor_a"],
        uuid=UUID(uuid),
        elder=first,
        mode="phone",
        visited_at=aware(2026, 11, 23, 9, 0),
        visitors=[setting["visitor"]],
        answers=GOOD,
        visitor_signature=PNG,
    )

    context.set_offline(False)
    conflict = phone.locator("#outbox-list .outbox-row.state-conflict")
    conflict.wait_for(timeout=15000)
    assert "编号冲突" in conflict.inner_text()
    assert "同一编号的探访记录已存在且内容不同" in conflict.inner_text()
    assert conflict.locator("a:has-text('查看已保存的记录')").count() == 1
    assert Visit.objects.count() == 1
    shot(phone, "11-编号冲突")

    # 这确是另一次探访: a new record of its own.
    phone.once("dialog", lambda dialog: dialog.accept())
    conflict.locator("button:has-text('另存为新记录')").click()
    phone.wait_for_selector("#outbox-list .outbox-row.state-sent", timeout=15000)
    assert Visit.objects.count() == 2
    assert Visit.objects.exclude(uuid=UUID(uuid)).get().mode == "home"

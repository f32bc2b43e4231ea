"""The API's docs page in Chromium: it works without internet under the
project's CSP (no asset from the internet, no inline script), and "Try it out"
registers an elder with the session's CSRF token."""

from datetime import date

from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder
from tests.browser.test_login_on_a_phone import log_in
from tests.conftest import PASSWORD, VILLAGE_A

DOCS = "/api/v1/docs"


def test_the_docs_page_works_in_a_browser_without_internet_under_the_csp(
    browser,
    live_server,
    users,
):
    context = browser.new_context(viewport={"width": 1024, "height": 900}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    elsewhere: list[str] = []
    try:
        log_in(page, live_server, "liaison_a", PASSWORD)
        # From here on: every console error (a CSP violation is one) and every
        # request that does not go to the server itself.
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "request",
            lambda r: (
                None if r.url.startswith((live_server.url, "data:")) else elsewhere.append(r.url)
            ),
        )
        page.goto(f"{live_server.url}{DOCS}")
        page.wait_for_selector(".opblock-summary", timeout=20_000)
        assert "探访关爱 API" in page.inner_text(".information-container")
        summaries = page.locator(".opblock-summary-description").all_inner_texts()
        assert {"档案列表", "建档", "修改档案", "变更状态"} <= set(summaries)

        # "Try it out" registers an elder: the page sends the session's CSRF token.
        block = page.locator(".opblock-post", has_text="建档").first
        block.locator(".opblock-summary").click()
        block.locator("button.try-out__btn").click()
        number = make_id_number("350581", date(1940, 3, 8), 12, "女")
        block.locator("textarea.body-param__text").fill(
            f'{{"name": "林阿婆", "id_number": "{number}", "village": "{VILLAGE_A}"}}'
        )
        block.locator("button.execute").click()
        status = block.locator(".live-responses-table tbody .response-col_status").first
        status.wait_for()
        assert status.inner_text().strip().startswith("201")
    finally:
        context.close()

    assert Elder.objects.get().name == "林阿婆"
    assert problems == []
    assert elsewhere == []

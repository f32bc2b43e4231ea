from tanfang.audit.models import Action, AuditEvent
from tests.conftest import PASSWORD


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def log_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def test_it_lets_a_village_liaison_log_in_on_a_phone(phone, live_server, users):
    log_in(phone, live_server, "liaison_a", PASSWORD)

    assert phone.url == f"{live_server.url}/"
    assert "liaison_a，您好" in phone.inner_text("main")
    assert fits_the_screen(phone)
    phone.click("text=行政区划")
    assert "村A" in phone.inner_text("h1")
    assert fits_the_screen(phone)
    assert AuditEvent.objects.filter(action=Action.LOGIN, username="liaison_a").count() == 1


def test_it_locks_the_account_after_five_wrong_passwords(phone, live_server, users):
    for attempt in range(5):
        log_in(phone, live_server, "township_a", f"wrong-{attempt}")
    assert "连续 5 次错误" in phone.inner_text("main") or "账号已锁定" in phone.inner_text("main")

    log_in(phone, live_server, "township_a", PASSWORD)

    assert "账号已锁定" in phone.inner_text("h1")
    assert "30 分钟" in phone.inner_text("main")
    assert fits_the_screen(phone)
    failures = AuditEvent.objects.filter(action=Action.LOGIN_FAILED, username="township_a")
    assert failures.count() == 6
    assert AuditEvent.objects.filter(action=Action.LOCKOUT, username="township_a").count() == 1
    assert not AuditEvent.objects.filter(action=Action.LOGIN, username="township_a").exists()

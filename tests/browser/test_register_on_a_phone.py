"""Registering an elder on a 360-px phone: a village liaison opens 老年人档案 →
新建档案, fills the form, saves, and reads the file; a liaison of another village
gets the Chinese 404 page for that file; a bad ID checksum stores nothing."""

from datetime import date

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import crypto
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder, ElderCategory
from tests.browser.test_login_on_a_phone import fits_the_screen, log_in
from tests.conftest import PASSWORD, VILLAGE_A

ID_1940 = make_id_number("350581", date(1940, 3, 8), 12, "女")
BAD_CHECKSUM = ID_1940[:-1] + ("0" if ID_1940[-1] != "0" else "1")


def open_the_form(page, live_server):
    log_in(page, live_server, "liaison_a", PASSWORD)
    assert page.url == f"{live_server.url}/"
    page.click("nav.nav >> text=老年人档案")
    assert page.url == f"{live_server.url}/elders/"
    assert "老年人档案" in page.inner_text("h1")
    assert fits_the_screen(page)
    page.click("a.button:has-text('新建档案')")
    assert page.url == f"{live_server.url}/elders/new/"
    assert "新建档案" in page.inner_text("h1")
    assert fits_the_screen(page)


def fill_the_form(page, id_number):
    page.fill("#id_name", "林阿婆")
    page.fill("#id_id_number", id_number)
    page.fill("#id_phone", "138 1234 5678")
    page.check("input[name=categories][value=独居]")
    page.check("input[name=categories][value=失能]")


def test_a_village_liaison_registers_an_elder_on_a_phone(browser, phone, live_server, users):
    open_the_form(phone, live_server)
    # A liaison has one village: it is chosen already.
    assert phone.input_value("#id_village") == VILLAGE_A
    fill_the_form(phone, ID_1940)
    phone.click("button:has-text('保存档案')")

    elder = Elder.objects.get()
    file_url = f"{live_server.url}/elders/{elder.pk}/"
    assert phone.url == file_url
    text = phone.inner_text("body")
    assert "已为 林阿婆 建档。" in text
    assert "林阿婆" in phone.inner_text("h1")
    assert crypto.mask_id(ID_1940) in phone.inner_text("span.masked >> nth=0")
    assert ID_1940 not in text
    assert ID_1940 not in phone.content()
    tags = phone.locator("ul.tags li").all_inner_texts()
    assert sorted(tags) == sorted(["独居", "失能"])
    assert fits_the_screen(phone)

    # The list, now with a row, still fits the phone.
    phone.click("nav.crumbs >> text=老年人档案")
    assert "林阿婆" in phone.inner_text("table.elders")
    assert fits_the_screen(phone)

    assert (elder.name, elder.sex, elder.birth_date) == ("林阿婆", "女", date(1940, 3, 8))
    assert elder.village_id == VILLAGE_A
    assert elder.registered_by == users["liaison_a"]
    assert crypto.decrypt(elder.id_number_token) == ID_1940
    assert crypto.decrypt(elder.phone_token) == "13812345678"
    categories = ElderCategory.objects.filter(elder=elder, withdrawn_at__isnull=True)
    assert set(categories.values_list("category", flat=True)) == {"独居", "失能"}
    event = AuditEvent.objects.get(action=Action.ELDER_REGISTERED)
    assert (event.actor, event.object_id) == (users["liaison_a"], str(elder.pk))
    assert event.region_code == VILLAGE_A

    # A liaison of 村B, on another phone, cannot see the file of 村A.
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    try:
        other = context.new_page()
        log_in(other, live_server, "liaison_b", PASSWORD)
        assert other.url == f"{live_server.url}/"
        response = other.goto(file_url)
        assert response.status == 404
        assert "页面不存在" in other.inner_text("h1")
        assert "林阿婆" not in other.inner_text("body")
        assert fits_the_screen(other)
    finally:
        context.close()


def test_a_wrong_id_checksum_is_refused_next_to_the_field(phone, live_server, users):
    open_the_form(phone, live_server)
    fill_the_form(phone, BAD_CHECKSUM)
    phone.click("button:has-text('保存档案')")

    assert phone.url == f"{live_server.url}/elders/new/"
    field = phone.locator(".field.invalid", has=phone.locator("#id_id_number"))
    assert "身份证号码：身份证号码校验位不正确，请核对" in field.inner_text()
    assert "档案尚未保存" in phone.inner_text(".errorbox")
    # What was typed is kept.
    assert phone.input_value("#id_name") == "林阿婆"
    assert phone.is_checked("input[name=categories][value=独居]")
    assert fits_the_screen(phone)
    assert not Elder.objects.exists()
    assert not ElderCategory.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.ELDER_REGISTERED).exists()


def test_the_liaison_confirms_the_proposed_categories_with_their_reasons(phone, live_server, users):
    # 000_4970ff49482a0570.txt 附件2 (1), (2): 无配偶、无子女 → 孤寡, and so 独居.
    open_the_form(phone, live_server)
    phone.fill("#id_name", "林阿婆")
    phone.fill("#id_id_number", ID_1940)
    phone.select_option("#id_has_spouse", "false")
    phone.fill("#id_children_count", "0")
    phone.click("button:has-text('保存档案')")

    elder = Elder.objects.get()
    assert phone.url == f"{live_server.url}/elders/{elder.pk}/categories/"
    assert "请核实系统建议的对象类型并确认" in phone.inner_text("body")
    solitary = phone.locator("li.proposed", has=phone.locator("input[value=孤寡]"))
    assert "系统建议：无配偶、无子女" in solitary.inner_text()
    assert phone.is_checked("input[name=categories][value=孤寡]")
    assert phone.is_checked("input[name=categories][value=独居]")
    assert not phone.is_checked("input[name=categories][value=失能]")
    assert fits_the_screen(phone)

    phone.click("button:has-text('确认')")

    assert phone.url == f"{live_server.url}/elders/{elder.pk}/#categories"
    tags = phone.locator("#categories ul.tags li").all_inner_texts()
    assert tags == ["孤寡", "独居"]
    confirmed = ElderCategory.objects.filter(elder=elder, withdrawn_at__isnull=True)
    assert set(confirmed.values_list("category", flat=True)) == {"孤寡", "独居"}
    assert all(c.confirmed_by == users["liaison_a"] for c in confirmed)
    assert fits_the_screen(phone)

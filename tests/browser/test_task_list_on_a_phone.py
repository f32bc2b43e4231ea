"""The task list on a 360-px phone (issue 16 item 5), in Chromium: one card per
elder, fitting the screen; the name box filtering the cards with the network
gone; 显示地址 showing the whole address in place (and logging it); the route
started from where the phone is.

With TANFANG_SCREENSHOTS=docs/images the test leaves its screenshot there
(我的探访-任务卡.png, 360×740), for the user guide.
"""

import os
import uuid
from datetime import date
from pathlib import Path

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.care.models import Hazard, HazardItem
from tanfang.registry.models import Elder
from tanfang.visits.models import TaskKind, Visit, VisitTask
from tests.browser.test_login_on_a_phone import fits_the_screen, log_in
from tests.conftest import PASSWORD, aware
from tests.visits.factories import assign, follow_shishi, make_elder, make_task, make_visitor

SHOTS = os.environ.get("TANFANG_SCREENSHOTS", "")
HERE = {"latitude": 24.7100, "longitude": 118.6300, "accuracy": 20}
# name, address, phone, severe (重点对象), km east and north of HERE, cold wave due today
ELDERS = [
    ("曾玉兰", "石狮市灵秀镇村A新湖路18号", "13812345678", True, (0.4, 0.2), True),
    ("王永泉", "石狮市灵秀镇村A古卿街6号", "13912345678", False, (1.2, -0.3), True),
    ("郑天福", "石狮市灵秀镇村A龙穴路33号", "13712345678", True, (2.6, 0.8), True),
    ("杨国栋", "石狮市灵秀镇村A新湖路52号", "", False, (0.9, 1.5), True),
    ("邱炳坤", "石狮市灵秀镇村A锦江路9号", "13612345678", True, (3.1, -1.0), False),
    ("陈桂英", "石狮市灵秀镇村A塔前路21号", "13512345678", False, (1.8, 2.2), False),
]


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        locale="zh-CN",
        geolocation=HERE,
        permissions=["geolocation"],
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def caseload(users, regions, time_machine):
    time_machine.move_to(aware(2026, 12, 8, 10, 0), tick=False)
    follow_shishi(users)
    visitor = make_visitor(users, regions)
    made = []
    for sequence, (name, address, phone, severe, (east, north), cold) in enumerate(ELDERS, 1):
        elder = make_elder(
            users,
            regions,
            sequence,
            ability="severe" if severe else "intact",
            phone=phone,
            residence_address=address,
        )
        Elder.objects.filter(pk=elder.pk).update(name=name)
        elder.name = name
        VisitTask.objects.filter(elder=elder).delete()
        assign(users, elder, visitor)
        if severe:
            make_task(elder, date(2026, 12, 1), date(2026, 12, 15), label="12月上半月例行探访")
        else:
            make_task(elder, date(2026, 12, 1), date(2026, 12, 31), label="12月例行探访")
        if cold:
            make_task(
                elder,
                date(2026, 12, 5),
                date(2026, 12, 8),
                kind=TaskKind.EVENT,
                key="event:1",
                modes=("home", "monitoring", "phone", "street", "video"),
                label="寒潮期间探访：寒潮蓝色预警",
                extra=True,
            )
        visit = Visit.objects.create(
            uuid=uuid.uuid4(),
            content_hash="x",
            elder=elder,
            village_id=elder.village_id,
            sequence=1,
            mode="home",
            visited_at=aware(2026, 11, 10 + sequence, 9, 30),
            recorded_by=users["visitor_a"],
            checklist="fujian",
            latitude=f"{HERE['latitude'] + north * 0.009:.6f}",
            longitude=f"{HERE['longitude'] + east * 0.0099:.6f}",
            location_accuracy=12,
        )
        if name == "郑天福":
            Hazard.objects.create(
                elder=elder,
                visit=visit,
                item=HazardItem.GAS,
                finding="燃气软管老化",
                created_by=users["visitor_a"],
            )
        made.append(elder)
    return made


def test_a_visitor_works_from_the_task_list_on_a_phone(phone, live_server, caseload):
    log_in(phone, live_server, "visitor_a", PASSWORD)
    phone.goto(f"{live_server.url}/visits/")

    cards = phone.locator("li.task")
    assert cards.count() == len(ELDERS)
    assert fits_the_screen(phone)
    assert "13812345678" not in phone.content()
    assert "新湖路18号" not in phone.content()

    # The route from where the phone is: 曾玉兰 lives nearest.
    phone.click("#route-here")
    phone.wait_for_url("**/visits/?*lat=*")
    assert "从您现在的位置出发" in phone.inner_text(".route-start")
    first = phone.locator("#due-today li.task").first
    assert "曾玉兰" in first.inner_text()
    assert "寒潮期间探访" in first.inner_text()
    assert fits_the_screen(phone)
    if SHOTS:
        phone.screenshot(path=str(Path(SHOTS, "我的探访-任务卡.png")))

    # The name box works with the network gone.
    phone.context.set_offline(True)
    phone.fill("#task-q", "郑")
    visible = [c for c in phone.locator("li.task").all() if c.is_visible()]
    assert [c.locator(".name").inner_text() for c in visible] == ["郑天福"]
    assert phone.inner_text("#due-today .count") == "1"
    phone.fill("#task-q", "")
    phone.context.set_offline(False)

    # 显示地址: the whole address in place, logged.
    first.locator("button:has-text('显示地址')").click()
    first.locator(".reveal.revealed").wait_for()
    assert "石狮市灵秀镇村A新湖路18号" in first.inner_text()
    assert (
        AuditEvent.objects.filter(action=Action.ELDER_REVEALED, detail__purpose="address").count()
        == 1
    )
    assert fits_the_screen(phone)

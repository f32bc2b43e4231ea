"""The rules page in words, the county officer switching the demo county's
profile there, and the declared events page."""

from datetime import date

import pytest

from tanfang.jurisdiction.models import DeclaredEvent, PolicyChoice
from tanfang.registry.identity import make_id_number
from tanfang.registry.registration import register_elder
from tests.conftest import COUNTY, TOWNSHIP_A, VILLAGE_A, aware


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


def test_the_rules_page_says_who_is_key_and_how_often(client_for):
    page = client_for("liaison_a").get("/rules/").content.decode()

    assert "全国（民发〔2022〕73号）" in page
    assert "每月至少探访1次" in page
    assert "重阳" in page
    assert "设置本级探访规则" not in page


def test_the_county_officer_switches_profiles_and_tiers_change(users, regions, client_for):
    elder = register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", date(1950, 1, 1), 3, "女"),
        name="林阿婆",
        village=regions[VILLAGE_A],
        ability="moderate",
    )
    county = client_for("county")

    response = county.post(f"/rules/?region={COUNTY}", {"profile": "jining"})

    assert response.status_code == 302
    assert PolicyChoice.objects.get(region_id=COUNTY).profile == "jining"
    elder.refresh_from_db()
    assert (elder.tier, elder.tier_label) == ("secondary", "次重点人群")
    page = county.get(f"/elders/{elder.pk}/").content.decode()
    assert "分级：次重点人群" in page

    county.post(f"/rules/?region={COUNTY}", {"profile": "linzi", "param_key_home_visits": "3"})
    choice = PolicyChoice.objects.get(region_id=COUNTY)
    assert (choice.profile, choice.overrides) == ("linzi", {"key_home_visits": 3})
    assert "每月至少上门巡访3次" in county.get("/rules/").content.decode()


def test_a_township_officer_cannot_post_the_choice(client_for):
    response = client_for("township_a").post(f"/rules/?region={TOWNSHIP_A}", {"profile": "jining"})

    assert response.status_code == 404
    assert not PolicyChoice.objects.exists()


def test_events_are_declared_and_ended_from_the_page(client_for):
    township = client_for("township_a")

    township.post(
        "/rules/events/",
        {
            "kind": "heat",
            "title": "高温橙色预警",
            "region": TOWNSHIP_A,
            "starts_on": "2026-11-20",
            "ends_on": "2026-11-30",
        },
    )
    event = DeclaredEvent.objects.get()
    assert (event.region_id, event.kind) == (TOWNSHIP_A, "heat")

    township.post(f"/rules/events/{event.pk}/end/")
    event.refresh_from_db()
    assert event.ends_on == date(2026, 11, 23)
    # Another township's officer: not found; a liaison may not end one (issue 16).
    assert client_for("township_b").post(f"/rules/events/{event.pk}/end/").status_code == 404
    assert client_for("liaison_a").post(f"/rules/events/{event.pk}/end/").status_code == 403


def test_a_bad_event_is_named_and_not_stored(client_for):
    response = client_for("township_a").post(
        "/rules/events/",
        {"kind": "", "title": "", "region": "350581101000", "starts_on": "x", "ends_on": ""},
    )

    page = response.content.decode()
    assert "事件类型：" in page and "名称：" in page and "开始日期：" in page
    assert not DeclaredEvent.objects.exists()

    outside = client_for("township_a").post(
        "/rules/events/",
        {
            "kind": "heat",
            "title": "高温",
            "region": "350581101000",
            "starts_on": "2026-11-20",
            "ends_on": "2026-11-21",
        },
    )
    assert "区划代码：区划代码不存在或不在您的管辖范围内。" in outside.content.decode()
    assert not DeclaredEvent.objects.exists()

"""The elder's file (/elders/<id>/): read within the subtree, masked, and
reading it writes nothing."""

from datetime import date

import pytest

from tanfang.audit.models import AuditEvent
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder
from tanfang.registry.registration import register_elder
from tests.conftest import VILLAGE_A, aware

TODAY = aware(2026, 11, 23, 10, 0)
ID_1940 = make_id_number("350581", date(1940, 3, 8), 12, "女")


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(TODAY, tick=False)


@pytest.fixture
def elder(users, regions):
    return register_elder(
        acting_user=users["liaison_a"],
        id_number=ID_1940,
        name="林阿婆",
        village=regions[VILLAGE_A],
        phone="13812345678",
        residence_address="凤里街道南洋路18号",
        categories=["失能", "独居"],
        ability="moderate",
        minimum_living=True,
        water_safe=True,
        consents_to_photos=False,
    )


def url(elder):
    return f"/elders/{elder.pk}/"


def test_it_shows_every_section_of_the_file(client_for, elder):
    response = client_for("liaison_a").get(url(elder))

    assert response.status_code == 200
    html = response.content.decode()
    for section in ["基本情况", "地址", "健康", "经济", "家庭生活条件", "对象类型", "意愿", "档案"]:
        assert f"<h2>{section}</h2>" in html
    assert "中度失能" in html
    assert "2026年11月23日" in html  # 建档日期
    assert "liaison_a" in html  # 建档人
    assert "尚未核查" in html
    assert "在册" in html
    assert response.context["categories"] == ["独居", "失能"]
    assert response.context["age"] == 86


def test_it_shows_the_id_phone_and_address_only_masked(client_for, elder):
    response = client_for("county").get(url(elder))

    html = response.content.decode()
    assert ID_1940[:6] + "********" + ID_1940[-4:] in html
    assert "138****5678" in html
    assert "凤里街道南****" in html
    assert ID_1940 not in html
    assert "13812345678" not in html
    assert "洋路" not in html


def test_it_writes_nothing_when_the_file_is_read(client_for, elder):
    client = client_for("liaison_a")
    events = AuditEvent.objects.count()
    before = Elder.objects.values().get(pk=elder.pk)

    client.get(url(elder))

    assert AuditEvent.objects.count() == events
    assert Elder.objects.values().get(pk=elder.pk) == before


@pytest.mark.parametrize("outsider", ["liaison_b", "township_b", "county_other"])
def test_it_answers_404_outside_the_subtree(client_for, elder, outsider):
    response = client_for(outsider).get(url(elder))

    assert response.status_code == 404
    assert "林阿婆" not in response.content.decode()


def test_it_answers_404_for_a_missing_file(client_for, elder):
    assert client_for("county").get(f"/elders/{elder.pk + 1}/").status_code == 404


def test_it_lets_a_supervisor_read_the_file(client_for, elder):
    assert client_for("supervisor").get(url(elder)).status_code == 200


def test_it_refuses_an_administrator_with_403(client_for, elder):
    assert client_for("sysadmin").get(url(elder)).status_code == 403

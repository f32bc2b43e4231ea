"""`/regions/<code>/rename/`: the system administrator renames one node."""

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.regions.models import Region
from tests.conftest import OTHER_TOWNSHIP, TOWNSHIP_A
from tests.regions.conftest import NOW, tree_state


def test_it_renames_the_node_and_goes_back_to_it(now, client_for, users):
    response = client_for("sysadmin").post(
        f"/regions/{TOWNSHIP_A}/rename/", {"name": " 灵秀街道 "}, follow=True
    )

    assert response.redirect_chain == [(f"/regions/{TOWNSHIP_A}/", 302)]
    assert "名称已更新。" in response.content.decode()
    assert Region.objects.get(code=TOWNSHIP_A).name == "灵秀街道"
    event = AuditEvent.objects.get(action=Action.REGION_RENAMED)
    assert event.at == NOW
    assert event.actor == users["sysadmin"]
    assert event.region_code == TOWNSHIP_A
    assert event.ip_address == "127.0.0.1"
    assert event.detail == {"from": "灵秀镇", "to": "灵秀街道"}


@pytest.mark.parametrize("name", ["", "   ", "镇" * 101])
def test_it_refuses_a_blank_or_too_long_name(client_for, name):
    client = client_for("sysadmin")
    before = tree_state()

    response = client.post(f"/regions/{TOWNSHIP_A}/rename/", {"name": name}, follow=True)

    assert "名称不能为空，且不超过 100 个字。" in response.content.decode()
    assert tree_state() == before


@pytest.mark.parametrize("username", ["county", "township_a", "supervisor", "secadmin", "auditor"])
def test_it_refuses_everyone_but_the_system_administrator(client_for, username):
    client = client_for(username)
    before = tree_state()

    response = client.post(f"/regions/{TOWNSHIP_A}/rename/", {"name": "灵秀街道"})

    assert response.status_code == 403
    assert tree_state() == before


def test_it_answers_404_for_a_node_of_another_county(client_for):
    client = client_for("sysadmin")
    before = tree_state()

    response = client.post(f"/regions/{OTHER_TOWNSHIP}/rename/", {"name": "安海街道"})

    assert response.status_code == 404
    assert tree_state() == before


def test_it_answers_404_for_a_missing_code(client_for):
    response = client_for("sysadmin").post("/regions/350581199000/rename/", {"name": "新镇"})

    assert response.status_code == 404


def test_it_accepts_only_post(client_for):
    client = client_for("sysadmin")
    before = tree_state()

    response = client.get(f"/regions/{TOWNSHIP_A}/rename/", {"name": "灵秀街道"})

    assert response.status_code == 405
    assert tree_state() == before

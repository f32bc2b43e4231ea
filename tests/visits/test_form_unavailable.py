"""A county whose visit form cannot be read: only the elders of the counties
whose rules use that form are affected. Their visit page and the API say so in
Chinese, with the file and the place that is wrong, never a server error; the
English line goes to the log; an elder of another county still gets the form.

The clock stands on 2026-11-23 10:00. 石狮 (COUNTY) follows Sichuan's rules, whose
form (sichuan.toml) is broken in a copy of checklists/; 晋江 (OTHER_COUNTY) follows
the national rules and Fujian's form.
"""

import logging
import shutil
import uuid
from datetime import date

import pytest

from tanfang.jurisdiction.models import PolicyChoice
from tanfang.registry.identity import make_id_number
from tanfang.registry.registration import register_elder
from tanfang.visits import checklist
from tanfang.visits.models import Visit
from tests.conftest import COUNTY, OTHER_VILLAGE, aware
from tests.visits.factories import GOOD, PNG, assign, make_elder, make_visitor

SHIPPED = checklist.CHECKLISTS_DIR
MESSAGE = "本县的探访记录表无法读取，暂不能录入探访："
BROKEN = (
    "文件 sichuan.toml，sections[3].items[0].hazrd：不认识的键（拼写错误，或本平台不支持的条件）"
)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def broken(tmp_path, monkeypatch):
    """checklists/ copied, with Sichuan's gas item misspelt; nothing cached."""
    folder = tmp_path / "checklists"
    shutil.copytree(checklist.CHECKLISTS_DIR, folder)
    sichuan = folder / "sichuan.toml"
    text = sichuan.read_text(encoding="utf-8")
    sichuan.write_text(text.replace('hazard = "gas"', 'hazrd = "gas"'), encoding="utf-8")
    monkeypatch.setattr(checklist, "CHECKLISTS_DIR", folder)
    checklist.load.cache_clear()
    yield folder
    checklist.load.cache_clear()


@pytest.fixture
def setting(users, regions, broken):
    PolicyChoice.objects.create(
        region_id=COUNTY, since=date(2023, 1, 1), profile="sichuan", changed_by=users["county"]
    )
    elder = make_elder(users, regions, ability="severe")
    visitor = make_visitor(users, regions)
    assign(users, elder, visitor)
    other = register_elder(
        acting_user=users["county_other"],
        id_number=make_id_number("350582", date(1941, 5, 2), 3, "男"),
        name="晋江老人",
        village=regions[OTHER_VILLAGE],
    )
    return {"elder": elder, "visitor": visitor, "other": other}


def test_the_page_says_the_form_cannot_be_read_and_why(client_for, setting, caplog):
    with caplog.at_level(logging.ERROR, logger="tanfang.visits.views"):
        response = client_for("visitor_a").get(f"/visits/new/{setting['elder'].pk}/")

    assert response.status_code == 503
    page = response.content.decode()
    assert f"{MESSAGE}{BROKEN}。请告知系统管理员。" in page
    assert setting["elder"].name in page
    assert 'name="answer_' not in page
    (entry,) = [r for r in caplog.records if r.name == "tanfang.visits.views"]
    assert entry.levelno == logging.ERROR
    assert "sichuan.toml at sections[3].items[0].hazrd: Extra inputs are not permitted" in (
        entry.getMessage()
    )


def test_a_post_stores_nothing_and_says_the_same(client_for, setting):
    response = client_for("visitor_a").post(
        f"/visits/new/{setting['elder'].pk}/", {"mode": "home", **{"answer_mood": "unchanged"}}
    )

    assert response.status_code == 503
    assert MESSAGE in response.content.decode()
    assert not Visit.objects.exists()


def test_an_elder_of_another_county_still_gets_the_form(client_for, setting):
    response = client_for("county_other").get(f"/visits/new/{setting['other'].pk}/")

    assert response.status_code == 200
    assert response.context["definition"].name == "fujian"
    assert 'name="answer_gas_safety"' in response.content.decode()


def test_the_api_answers_503_with_the_words(client_for, setting, caplog):
    client = client_for("visitor_a")

    with caplog.at_level(logging.ERROR, logger="tanfang.visits.api"):
        form = client.get(f"/api/v1/visits/form/{setting['elder'].pk}")
        posted = client.post(
            "/api/v1/visits",
            {
                "uuid": str(uuid.UUID(int=9)),
                "elder_id": setting["elder"].pk,
                "mode": "home",
                "visited_at": "2026-11-23T09:30:00+08:00",
                "answers": GOOD,
                "visitor_signature": PNG,
                "elder_signature": PNG,
            },
            content_type="application/json",
        )

    for response in (form, posted):
        assert response.status_code == 503
        assert response.json() == {"detail": f"{MESSAGE}{BROKEN}。请告知系统管理员。"}
    assert not Visit.objects.exists()
    assert len([r for r in caplog.records if r.name == "tanfang.visits.api"]) == 2
    other = client_for("county_other").get(f"/api/v1/visits/form/{setting['other'].pk}")
    assert other.status_code == 200
    assert other.json()["checklist"] == "fujian"


def test_a_visit_recorded_before_the_form_broke_is_still_shown(
    client_for, setting, broken, monkeypatch, caplog
):
    monkeypatch.setattr(checklist, "CHECKLISTS_DIR", SHIPPED)
    checklist.load.cache_clear()
    recorded = client_for("visitor_a").post(
        "/api/v1/visits",
        {
            "uuid": str(uuid.UUID(int=10)),
            "elder_id": setting["elder"].pk,
            "mode": "home",
            "visited_at": "2026-11-23T09:30:00+08:00",
            "answers": {**GOOD, "gas_safety": "unsafe"},
            "satisfaction": "satisfied",
            "visitor_signature": PNG,
            "elder_signature": PNG,
        },
        content_type="application/json",
    )
    assert recorded.status_code == 201, recorded.content
    monkeypatch.setattr(checklist, "CHECKLISTS_DIR", broken)
    checklist.load.cache_clear()

    with caplog.at_level(logging.ERROR, logger="tanfang.visits.views"):
        response = client_for("liaison_a").get(f"/visits/{recorded.json()['id']}/")

    assert response.status_code == 200
    # Under the items' own names, as stored.
    assert "gas_safety" in response.content.decode()
    assert any("sichuan.toml" in r.getMessage() for r in caplog.records)

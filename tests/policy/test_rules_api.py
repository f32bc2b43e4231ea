"""`/api/v1/rules`: the rules a region follows, and a county officer's choice,
with the county's numbers checked against the profile's declarations before
anything is stored (issue 14 "Overrides validated by the same schema")."""

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.jurisdiction.models import PolicyChoice
from tests.conftest import COUNTY, OTHER_COUNTY, TOWNSHIP_A, VILLAGE_A


def post(client, body):
    return client.post("/api/v1/rules", body, content_type="application/json")


def test_it_stores_a_choice_with_numbers_in_range(client_for):
    response = post(
        client_for("county"),
        {"region": COUNTY, "profile": "jining", "overrides": {"key_visits": 2}},
    )

    assert response.status_code == 200
    assert (response.json()["profile"], response.json()["overrides"]) == (
        "jining",
        {"key_visits": 2},
    )
    choice = PolicyChoice.objects.get(region_id=COUNTY)
    assert (choice.profile, choice.overrides) == ("jining", {"key_visits": 2})
    assert AuditEvent.objects.filter(action=Action.POLICY_CHOSEN).count() == 1


@pytest.mark.parametrize(
    ("overrides", "name", "message"),
    [
        ({"key_visits": "2"}, "key_visits", "“重点人群每半月探访次数”应为 1 至 4 之间的整数"),
        ({"key_visits": None}, "key_visits", "“重点人群每半月探访次数”应为 1 至 4 之间的整数"),
        ({"key_visits": -3}, "key_visits", "“重点人群每半月探访次数”应为 1 至 4 之间的整数"),
        ({"key_visits": 2.5}, "key_visits", "“重点人群每半月探访次数”应为 1 至 4 之间的整数"),
        ({"advanced_age": 85}, "advanced_age", "“高龄（周岁）”由文件明确规定，不能调整"),
        ({"agee": 85}, "agee", "不能调整的参数“agee”"),
    ],
)
def test_it_refuses_bad_numbers_with_400_and_audits_the_refusal(
    client_for, users, overrides, name, message
):
    response = post(
        client_for("county"), {"region": COUNTY, "profile": "jining", "overrides": overrides}
    )

    assert response.status_code == 400
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", "payload", "overrides", name]
    assert message in detail["msg"]
    assert not PolicyChoice.objects.exists()
    refused = AuditEvent.objects.get(action=Action.POLICY_REFUSED)
    assert (refused.actor, refused.region_code) == (users["county"], COUNTY)
    assert message in refused.detail["reason"] or name in refused.detail["reason"]


def test_it_shows_the_rules_and_their_open_numbers(client_for):
    response = client_for("liaison_a").get(f"/api/v1/rules/{VILLAGE_A}")

    assert response.status_code == 200
    body = response.json()
    assert (body["profile"], body["problem"]) == ("national", "")
    first = body["params"][0]
    assert (first["name"], first["min"], first["max"]) == ("general_visits", 1, 8)
    assert first["citation"].startswith(
        "《民政部等10部门关于开展特殊困难老年人探访关爱服务的指导意见》"
    )


def test_it_hides_another_countys_rules_and_refuses_a_township(client_for):
    assert client_for("county").get(f"/api/v1/rules/{OTHER_COUNTY}").status_code == 404
    assert post(client_for("liaison_a"), {"region": COUNTY, "profile": "jining"}).status_code in {
        403,
        404,
    }
    township = post(client_for("township_a"), {"region": TOWNSHIP_A, "profile": "jining"})
    assert township.status_code == 422
    assert not PolicyChoice.objects.exists()

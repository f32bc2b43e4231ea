"""Tier overrides: township and county only, with a reason and a citation (the
document and its section, checked against the document), shown on the file and
on the printed registration form with who made it and when (issue 16;
004_1657df0ed1e05604.txt 二(一): the county's classification, 适时进行动态调整)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry.actions import override_tier
from tests.conftest import aware
from tests.visits.factories import follow_shishi, make_elder

JINING = "004_1657df0ed1e05604.txt"
SHISHI = "000_4970ff49482a0570.txt"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def elder(users, regions):
    follow_shishi(users)
    return make_elder(users, regions, 1)


def override(users, elder, username="township_a", **overrides):
    arguments = {
        "acting_user": users[username],
        "elder": elder,
        "tier": "key",
        "reason": "独居，近期两次跌倒",
        "document": SHISHI,
        "section": "四(二)",
    }
    arguments.update(overrides)
    override_tier(**arguments)
    elder.refresh_from_db()


def test_it_stores_the_tier_the_reason_the_citation_who_and_when(users, elder):
    override(users, elder)

    assert (elder.tier_override, elder.tier_override_reason) == ("key", "独居，近期两次跌倒")
    assert elder.tier_override_citation == f"{SHISHI} 四(二)"
    assert (elder.tier_override_by, elder.tier_override_at) == (
        users["township_a"],
        aware(2026, 11, 23, 10, 0),
    )
    event = AuditEvent.objects.get(action=Action.ELDER_TIER_OVERRIDDEN)
    assert event.detail["citation"] == f"{SHISHI} 四(二)"


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"document": ""}, {"document": ["请选择调整依据的文件。"]}),
        ({"document": "999_x.txt"}, {"document": ["请从列出的文件中选择调整依据。"]}),
        ({"section": ""}, {"section": ["请填写依据的条款，如 四(二)、二(一)1、附件3。"]}),
        (
            {"section": "第四条"},
            {"section": ["条款“第四条”格式不对，应如 四(二)、二(一)1、附件3。"]},
        ),
        (
            {"document": JINING, "section": "九(一)"},
            {
                "section": [
                    "《济宁市特殊困难老年人分类分级探访关爱服务实施方案》（济民字〔2023〕29号）"
                    "没有条款“九(一)”。"
                ]
            },
        ),
        ({"reason": "  "}, {"reason": ["请填写调整理由。"]}),
        ({"tier": "nonsense"}, {"tier": ["请选择分级。"]}),
    ],
)
def test_it_refuses_an_override_without_a_valid_reason_and_citation(
    users, elder, overrides, errors
):
    with pytest.raises(ValidationError) as raised:
        override(users, elder, **overrides)

    assert raised.value.message_dict == errors
    elder.refresh_from_db()
    assert (elder.tier_override, elder.tier_override_citation) == ("", "")


def test_it_reads_full_width_brackets_and_several_sections(users, elder):
    override(users, elder, document=JINING, section="二（一）、二(四)1")

    assert elder.tier_override_citation == f"{JINING} 二(一)、二(四)1"


def test_returning_to_the_computed_tier_needs_no_citation_and_clears_it(users, elder):
    override(users, elder)

    override(users, elder, tier="", reason="", document="", section="")

    assert (elder.tier_override, elder.tier_override_reason, elder.tier_override_citation) == (
        "",
        "",
        "",
    )
    assert elder.tier_override_by is None


@pytest.mark.parametrize("username", ["visitor_a", "liaison_a", "supervisor"])
def test_it_refuses_a_role_below_the_township(users, elder, username):
    with pytest.raises(PermissionDenied):
        override(users, elder, username=username)

    assert elder.tier_override == ""


def test_it_refuses_the_township_of_another_village(users, elder):
    with pytest.raises(PermissionDenied):
        override(users, elder, username="township_b")


# --- The pages ----------------------------------------------------------------------------


def test_the_form_offers_the_documents_by_title_and_saves_a_cited_override(client_for, elder):
    client = client_for("county")
    page = client.get(f"/elders/{elder.pk}/tier/").content.decode()
    assert "《石狮市民政局等9部门关于开展特殊困难老年人探访关爱服务的通知》" in page
    assert 'name="section"' in page

    response = client.post(
        f"/elders/{elder.pk}/tier/",
        {"tier": "key", "reason": "独居，近期两次跌倒", "document": SHISHI, "section": "四(二)"},
    )

    assert response.status_code == 302
    elder.refresh_from_db()
    assert elder.tier_override_citation == f"{SHISHI} 四(二)"


def test_the_form_names_a_section_the_document_does_not_have(client_for, elder):
    response = client_for("county").post(
        f"/elders/{elder.pk}/tier/",
        {"tier": "key", "reason": "独居", "document": SHISHI, "section": "八(一)"},
    )

    assert response.status_code == 200
    assert "没有条款“八(一)”" in response.content.decode()
    assert SHISHI not in response.content.decode().split("<select")[0]  # no file name shown
    elder.refresh_from_db()
    assert elder.tier_override == ""


def test_the_file_shows_the_override_its_citation_who_and_when(client_for, users, elder):
    override(users, elder)

    html = client_for("liaison_a").get(f"/elders/{elder.pk}/").content.decode()

    assert "人工调整为“重点对象”" in html
    assert "依据：《石狮市民政局等9部门关于开展特殊困难老年人探访关爱服务的通知》四(二)" in html
    assert "township_a 于 2026-11-23 10:00 调整" in html
    assert SHISHI not in html


def test_the_printed_form_shows_the_override_who_and_when(client_for, users, elder):
    override(users, elder)

    html = client_for("liaison_a").get(f"/elders/{elder.pk}/print/").content.decode()

    assert 'id="tier-override"' in html
    assert "人工调整为“重点对象”" in html
    assert "理由：独居，近期两次跌倒" in html
    assert "依据：《石狮市民政局等9部门关于开展特殊困难老年人探访关爱服务的通知》四(二)" in html
    assert "调整人：township_a，2026年11月23日 10:00" in html


def test_the_printed_form_of_a_computed_tier_says_nothing_of_an_override(client_for, elder):
    html = client_for("liaison_a").get(f"/elders/{elder.pk}/print/").content.decode()

    assert 'id="tier-override"' not in html

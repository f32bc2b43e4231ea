"""Jining's own visit form (tanfang/visits/checklists/jining.toml): the eight service
contents of 004_1657df0ed1e05604.txt 二(三)1–8 as sections, each item cited to its
sub-section, and the four modes of 二(四)2. It loads, its answers are validated and
found like the other forms', and the phone page is built from it."""

import re
from datetime import date

import pytest

from tanfang.jurisdiction.models import PolicyChoice
from tanfang.visits import actions, checklist
from tanfang.visits.checklist import HazardFinding, NeedFinding
from tanfang.visits.checklist_schema import Kind
from tanfang.visits.findings import NeedType
from tanfang.visits.models import Visit, VisitTask
from tests.conftest import COUNTY, aware
from tests.visits.factories import PNG, assign, make_elder, make_visitor

JINING = "004_1657df0ed1e05604.txt"

# 二(三)1–8, in the document's order.
SERVICES = [
    "健康管理服务",
    "居家安全服务",
    "政策链接服务",
    "养老顾问服务",
    "精神慰藉服务",
    "社区活动服务",
    "应急救援服务",
    "绿色通道服务",
]

# Every item answered: a visitor's phone visit to an elder with a gas leak and an
# unmet need for daily care.
FULL = {
    "expression": "unchanged",
    "mobility": "较差",
    "reaction": "fairly_good",
    "disease": {"value": "serious", "detail": "高血压"},
    "mental_state": "unchanged",
    "medical_need": {"needed": True, "met": True},
    "housing_safety": "safe",
    "water_heating_safety": "fairly_safe",
    "electrical_safety": "safe",
    "gas_safety": "unsafe",
    "daily_difficulties": {"value": "none"},
    "social_security_benefits": "may_be_entitled",
    "policy_application_need": {"needed": True, "met": True},
    "errands_need": {"needed": False},
    "daily_care_need": {"needed": True, "met": False},
    "rehabilitation_need": {"needed": False},
    "home_adaptation_need": {"needed": False},
    "anti_fraud_education": "done",
    "family_support": "fulfilled",
    "companionship_need": {"needed": False},
    "community_activity_need": {"needed": False},
    "emergency": {"value": "none"},
    "safety_education": "已开展",
    "green_channel_informed": "informed",
}


@pytest.fixture
def jining():
    return checklist.load("jining")


def test_it_loads_with_the_eight_service_contents_in_order(jining):
    assert jining.title == "济宁市特殊困难老年人探访关爱服务记录表"
    assert jining.source.startswith(f"{JINING} 二(三)、二(四)2")
    assert [s.title for s in jining.sections] == SERVICES


def test_every_item_cites_the_sub_section_of_its_service(jining):
    for number, section in enumerate(jining.sections, start=1):
        for item in section.items:
            assert item.cite.startswith(f"{JINING} 二(三){number} {section.title}"), item.key


def test_the_modes_are_those_of_the_scheme():
    # 二(四)2: 电话探访、线上探访、路遇探访和入户探访.
    assert checklist.load("jining").modes == (
        ("phone", "电话探访"),
        ("video", "线上探访"),
        ("street", "路遇探访"),
        ("home", "入户探访"),
    )


def test_it_asks_what_the_scheme_names(jining):
    labels = {s.title: [i.label for i in s.items] for s in jining.sections}

    # 二(三)1
    assert labels["健康管理服务"][:5] == [
        "表达能力",
        "行动能力",
        "反应能力",
        "疾病情况",
        "精神状况",
    ]
    # 二(三)2: 住房安全和水电气暖设施设备安全, each a hazard when unsafe.
    assert {i.label: i.hazard for i in jining.items() if i.hazard} == {
        "住房安全": "housing",
        "水暖安全": "water_heating",
        "用电安全": "electricity",
        "燃气安全": "gas",
    }
    # 二(三)3–6: the needs it names, each a need record when not met.
    assert {i.label: i.need_type for i in jining.items() if i.kind == Kind.NEED} == {
        "对接医疗健康资源需求": NeedType.MEDICAL,
        "申请政策待遇协助需求": NeedType.POLICY_APPLICATION,
        "代询代办代购需求": NeedType.ERRANDS,
        "生活照料需求": NeedType.DAILY_CARE,
        "康复护理需求": NeedType.REHABILITATION,
        "居家适老化改造需求": NeedType.HOME_ADAPTATION,
        "精神慰藉需求": NeedType.COMPANIONSHIP,
        "参与社区活动需求": NeedType.COMMUNITY_ACTIVITY,
    }
    assert "防范养老诈骗宣传教育" in labels["养老顾问服务"]
    assert "家庭成员履行赡养扶养义务情况" in labels["精神慰藉服务"]


def test_the_bad_answers_are_flagged(jining):
    bad = {(i.key, o.label) for i in jining.items() for o in i.options if o.bad}

    assert bad == {
        ("expression", "较差"),
        ("mobility", "较差"),
        ("reaction", "较差"),
        ("mental_state", "较差"),
        ("disease", "严重"),
        ("housing_safety", "不安全"),
        ("water_heating_safety", "不安全"),
        ("electrical_safety", "不安全"),
        ("gas_safety", "不安全"),
        ("daily_difficulties", "有困难"),
        ("social_security_benefits", "可能符合条件但未享受"),
        ("family_support", "履行不到位"),
        ("emergency", "有"),
    }


def test_the_footer_has_no_invented_satisfaction_scale(jining):
    assert jining.satisfaction == ()
    assert jining.signatures == {"visitor", "elder"}
    assert [f for f, _ in jining.text_fields] == ["services_given", "notes"]


def test_it_accepts_a_full_set_of_answers_and_finds_what_they_say(jining):
    cleaned = checklist.clean_answers(jining, FULL)

    assert list(cleaned) == [i.key for i in jining.items()]
    assert cleaned["mobility"] == "poor"
    assert cleaned["errands_need"] == {"needed": False, "met": None}
    assert cleaned["emergency"] == {"value": "none", "detail": None}
    assert checklist.clean_answers(jining, cleaned) == cleaned
    found = checklist.findings(jining, cleaned)
    assert found.hazards == [HazardFinding("gas_safety", "gas", "燃气安全：不安全")]
    assert found.needs == [NeedFinding("daily_care_need", "daily_care", "生活照料需求")]
    assert found.bad_answers == [
        "行动能力：较差",
        "疾病情况：严重（高血压）",
        "燃气安全：不安全",
        "社会保障政策待遇享受情况：可能符合条件但未享受",
    ]


def test_it_refuses_an_answer_outside_the_schemes_options(jining):
    answers = {**FULL, "emergency": {"value": "occurred"}, "family_support": "好"}

    with pytest.raises(checklist.ValidationError) as caught:
        checklist.clean_answers(jining, answers)

    assert caught.value.message_dict == {
        "answers.emergency": ["突发疾病或重大安全问题：选择“有”时须填写情况及处置。"],
        "answers.family_support": [
            "家庭成员履行赡养扶养义务情况：“好”不是可选项，应为 "
            "履行到位、履行不到位、无分开居住的家庭成员之一。"
        ],
    }


def test_the_answers_schema_names_the_document_for_people(jining):
    schema = checklist.json_schema(jining)

    housing = schema["properties"]["housing_safety"]
    assert housing["description"].startswith(f"{JINING} 二(三)2 居家安全服务")
    assert housing["citation"] == (
        "《济宁市特殊困难老年人分类分级探访关爱服务实施方案》（济民字〔2023〕29号）"
        "二(三)2 居家安全服务"
    )
    assert schema["citation"].startswith("《济宁市特殊困难老年人分类分级探访关爱服务实施方案》")


# --- The phone page -----------------------------------------------------------------------


@pytest.fixture
def elder_in_jining(users, regions, time_machine):
    """An elder of a county that follows Jining's rules, with their visitor."""
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)
    PolicyChoice.objects.create(
        region_id=COUNTY, since=date(2023, 1, 1), profile="jining", changed_by=users["county"]
    )
    elder = make_elder(users, regions, ability="severe")
    VisitTask.objects.filter(elder=elder).delete()
    visitor = make_visitor(users, regions)
    assign(users, elder, visitor)
    assert actions.checklist_for(elder).name == "jining"
    return {"elder": elder, "visitor": visitor}


def page_answers(jining):
    """FULL as the page posts it."""
    data = {}
    for key, value in checklist.clean_answers(jining, FULL).items():
        name = f"answer_{key}"
        if isinstance(value, str):
            data[name] = value
        elif "needed" in value:
            data[name] = "yes" if value["needed"] else "no"
            if value["met"] is not None:
                data[f"{name}_met"] = "yes" if value["met"] else "no"
        else:
            data[name] = value["value"]
            if value["detail"]:
                data[f"{name}_detail"] = value["detail"]
    return data


def test_the_phone_page_is_built_from_jinings_form(client_for, elder_in_jining, jining):
    elder = elder_in_jining["elder"]

    response = client_for("visitor_a").get(f"/visits/new/{elder.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert jining.title in page
    # The form's source, as a document and section, not a file name.
    assert "依据：《济宁市特殊困难老年人分类分级探访关爱服务实施方案》" in page
    for title in SERVICES:
        assert f"<h2>{title}</h2>" in page
    for item in jining.items():
        assert f'name="answer_{item.key}"' in page
    for _, label in jining.modes:
        assert label in page
    # A phone call first: 二(四)2 电话探访 comes first.
    assert re.search(r'<input type="radio" name="mode" value="phone"[^>]*checked', page)
    assert re.search(r'<label class="opt bad"><input[^>]*value="may_be_entitled"', page)


def test_a_phone_visit_on_jinings_form_is_stored_with_its_findings(
    client_for, elder_in_jining, jining
):
    elder = elder_in_jining["elder"]
    data = {
        "uuid": "5b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
        "mode": "phone",
        "visited_at": "2026-11-23T09:30",
        "visitors": [elder_in_jining["visitor"].pk],
        "visitor_signature": PNG,
        **page_answers(jining),
    }

    response = client_for("visitor_a").post(f"/visits/new/{elder.pk}/", data)

    assert response.status_code == 302, response.context["form"].errors
    visit = Visit.objects.get()
    assert (visit.checklist, visit.mode) == ("jining", "phone")
    assert visit.answers == checklist.clean_answers(jining, FULL)
    assert [h.item for h in visit.hazards.all()] == ["gas"]
    assert [n.need_type for n in visit.needs.all()] == ["daily_care"]

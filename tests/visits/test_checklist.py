"""The visit forms as data (FORMS.md "Visit record"): every definition loads and
restates its annex row by row; answers are validated against it, each bad item
named; bad answers on safety items are hazards, needs not met are needs.

Forms: 000_4970ff49482a0570.txt 附件4 (fujian), 001_35a01bee4c628ebd.txt 附件3
(sichuan), 003_fe235aaa23e67560.txt 附件2 and 四 (linzi)."""

import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from tanfang.policy import engine
from tanfang.policy.problems import ConfigError
from tanfang.visits import checklist
from tanfang.visits.checklist import HazardFinding, NeedFinding
from tanfang.visits.checklist_schema import Kind
from tanfang.visits.findings import HazardItem, NeedType
from tanfang.visits.models import VisitMode

FUJIAN = "000_4970ff49482a0570.txt"
SICHUAN = "001_35a01bee4c628ebd.txt"
LINZI = "003_fe235aaa23e67560.txt"

# FORMS.md "Visit record", the rows of each form by section, in the annex's order.
# 000_4970ff49482a0570.txt 附件4 and 001_35a01bee4c628ebd.txt 附件3 (Sichuan calls
# 人口变化 家庭人口, its annex's word).
FUJIAN_SECTIONS = {
    "家庭状况": ["人口变化"],
    "健康状况": ["表达能力", "行动能力", "疾病状况"],
    "精神状态": ["情绪状态"],
    "安全情况": ["燃气安全", "水暖安全", "用电安全"],
    "卫生状况": ["个人卫生", "家庭卫生"],
    "居住环境": ["室内环境"],
}
SICHUAN_SECTIONS = {**FUJIAN_SECTIONS, "家庭状况": ["家庭人口"]}
# 003_fe235aaa23e67560.txt 附件2, with the checks of its text 四 the annex leaves out.
LINZI_SECTIONS = {
    "探视巡访情况": [
        "生活自理",
        "疾病情况",
        "行动情况",
        "个人卫生",
        "室内环境",
        "室外环境",
        "房屋安全",
        "燃气安全",
        "消防（取暖）安全",
        "疫情防控安全",
    ],
    "其他巡访内容": ["情绪状态", "思维状态", "压力状态", "食品安全", "周边卫生", "邻里关系"],
    "老年人需求情况": ["居家服务需求", "精神陪伴需求", "助餐助医需求", "其它需求"],
    "子女情况": ["子女返乡情况", "子女计划返回时间"],
}

# A full answer set a visitor could give on each form, and what is stored.
FULL = {
    "fujian": {
        "population": {"value": "increased", "count": 2},
        "expression": "unchanged",
        "mobility": "poor",
        "disease": {"value": "serious", "detail": " 高血压 "},
        "mood": "fairly_good",
        "gas_safety": "unsafe",
        "water_heating_safety": "fairly_safe",
        "electrical_safety": "safe",
        "personal_hygiene": "unchanged",
        "household_hygiene": "unchanged",
        "indoor_environment": "unchanged",
    },
    "linzi": {
        "self_care": "good",
        "illness": "fair",
        "mobility": "good",
        "personal_hygiene": "good",
        "indoor_environment": "good",
        "outdoor_environment": "fair",
        "housing_safety": "good",
        "gas_safety": "poor",
        "fire_safety": "good",
        "epidemic_safety": "good",
        "thinking": "good",
        "food_safety": "poor",
        "home_service_need": {"needed": True, "met": False},
        "companionship_need": {"needed": True, "met": True},
        "meal_medical_need": {"needed": False},
        "other_needs": "  想要一台助听器\n",
        "children_return": "儿子在外务工",
        "children_return_plan": "",
    },
}
FULL["sichuan"] = FULL["fujian"]
STORED = {
    "fujian": {
        **FULL["fujian"],
        "disease": {"value": "serious", "detail": "高血压"},
    },
    "linzi": {
        **{k: v for k, v in FULL["linzi"].items() if k != "children_return_plan"},
        "meal_medical_need": {"needed": False, "met": None},
        "other_needs": "想要一台助听器",
    },
}
STORED["sichuan"] = STORED["fujian"]

GOOD = {
    "fujian": {
        **FULL["fujian"],
        "population": {"value": "unchanged"},
        "mobility": "fairly_good",
        "disease": {"value": "improved", "detail": None},
        "gas_safety": "safe",
    },
    "linzi": {
        **FULL["linzi"],
        "gas_safety": "good",
        "food_safety": "fair",
        "home_service_need": {"needed": True, "met": True},
    },
}
GOOD["sichuan"] = GOOD["fujian"]


def errors_of(form, answers):
    with pytest.raises(ValidationError) as caught:
        checklist.clean_answers(checklist.load(form), answers)
    return caught.value.message_dict


def changed(form, **answers):
    """The full answer set of `form` with `answers` put in (None takes one out)."""
    result = {**FULL[form], **answers}
    return {k: v for k, v in result.items() if v is not None}


# --- The definitions -------------------------------------------------------------


def test_it_loads_every_definition():
    assert checklist.names() == ["fujian", "jining", "linzi", "sichuan"]
    for name in checklist.names():
        form = checklist.load(name)
        assert form.name == name
        assert checklist.load(name) is form  # cached


@pytest.mark.parametrize("name", ["hunan", "../policy/profiles/national", ""])
def test_it_refuses_an_unknown_name(name):
    with pytest.raises(ConfigError, match="there is no checklist named") as caught:
        checklist.load(name)

    assert caught.value.words().endswith(f"没有名为 {name} 的探访记录表")


@pytest.mark.parametrize("profile", engine.profile_names())
def test_every_profile_names_a_form_that_loads(profile):
    name = engine.load(profile).checklist

    assert checklist.load(name).name == name


def test_the_national_profile_uses_fujians_form_and_jining_its_own():
    # The national annex of 002_8b4fd75972db9bc5.txt is not in the text (FORMS.md);
    # Jining's form restates 004_1657df0ed1e05604.txt 二(三) (test_jining_checklist.py).
    assert engine.load("national").checklist == "fujian"
    assert engine.load("jining").checklist == "jining"


@pytest.mark.parametrize(
    ("name", "source"),
    [("fujian", f"{FUJIAN} 附件4"), ("sichuan", f"{SICHUAN} 附件3"), ("linzi", f"{LINZI} 附件2")],
)
def test_every_item_cites_its_form_and_has_a_unique_ascii_key(name, source):
    form = checklist.load(name)

    assert form.source == source
    keys = [item.key for item in form.items()]
    assert len(keys) == len(set(keys))
    for item in form.items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", item.key), item.key
        assert item.cite.startswith(source.split()[0]), item.key
        assert form.item(item.key) is item


# 000_4970ff49482a0570.txt 附件4, 001_35a01bee4c628ebd.txt 附件3, 003_fe235aaa23e67560.txt 附件2.
@pytest.mark.parametrize(
    ("name", "sections"),
    [("fujian", FUJIAN_SECTIONS), ("sichuan", SICHUAN_SECTIONS), ("linzi", LINZI_SECTIONS)],
)
def test_each_form_restates_the_rows_of_its_annex(name, sections):
    form = checklist.load(name)

    assert {s.title: [i.label for i in s.items] for s in form.sections} == sections
    assert [s.title for s in form.sections] == list(sections)


def test_linzis_extra_checks_come_from_its_text_and_are_not_required():
    # 003_fe235aaa23e67560.txt 四: 精神状态（情绪状态、思维状态、压力状态）, 食品安全,
    # 周边卫生, 邻里关系.
    form = checklist.load("linzi")
    extra = form.sections[1].items

    assert all(item.cite.startswith(f"{LINZI} 四") for item in extra)
    assert not any(item.required for item in extra)
    assert all(item.required for item in form.sections[0].items)


def test_the_option_sets_follow_the_forms():
    fujian, linzi = checklist.load("fujian"), checklist.load("linzi")

    def labels(form, key):
        return [o.label for o in form.item(key).options]

    # 000_4970ff49482a0570.txt 附件4
    assert labels(fujian, "mood") == ["无变化", "较好", "较差"]
    assert labels(fujian, "gas_safety") == ["安全", "较安全", "不安全"]
    assert labels(fujian, "disease") == ["无变化", "严重", "转好"]
    assert fujian.item("disease").detail_label == "疾病名称"
    assert labels(fujian, "population") == ["无变化", "增加", "减少"]
    assert (fujian.item("population").detail_label, fujian.item("population").unit) == (
        "人数",
        "人",
    )
    # 003_fe235aaa23e67560.txt 附件2
    assert {tuple(labels(linzi, item.key)) for item in linzi.sections[0].items} == {
        ("好", "一般", "较差")
    }


@pytest.mark.parametrize("name", ["fujian", "sichuan", "linzi"])
def test_the_bad_answers_are_bad_whatever_the_form_calls_them(name):
    # FORMS.md "What follows for the design": 较差/差/不安全 is a bad answer.
    for item in checklist.load(name).items():
        for option in item.options:
            if option.label in {"较差", "差", "不安全", "严重"}:
                assert option.bad, (item.key, option.label)
            else:
                assert not option.bad, (item.key, option.label)


@pytest.mark.parametrize(
    ("name", "hazards"),
    [
        # 000_4970ff49482a0570.txt 附件4 安全情况
        ("fujian", {"燃气安全": "gas", "水暖安全": "water_heating", "用电安全": "electricity"}),
        # 001_35a01bee4c628ebd.txt 附件3 安全情况
        ("sichuan", {"燃气安全": "gas", "水暖安全": "water_heating", "用电安全": "electricity"}),
        # 003_fe235aaa23e67560.txt 附件2 探视巡访情况, 四 食品安全
        (
            "linzi",
            {
                "房屋安全": "housing",
                "燃气安全": "gas",
                "消防（取暖）安全": "fire_heating",
                "疫情防控安全": "epidemic",
                "食品安全": "food",
            },
        ),
    ],
)
def test_the_safety_items_name_their_hazard(name, hazards):
    form = checklist.load(name)

    assert {i.label: i.hazard for i in form.items() if i.hazard} == hazards
    assert set(hazards.values()) <= set(HazardItem.values)


def test_linzis_need_items_name_their_need_type():
    # 003_fe235aaa23e67560.txt 附件2 老年人需求情况: 是/否, 是否满足 是/否.
    form = checklist.load("linzi")
    needs = {i.label: i.need_type for i in form.items() if i.kind == Kind.NEED}

    assert needs == {
        "居家服务需求": NeedType.DAILY_CARE,
        "精神陪伴需求": NeedType.COMPANIONSHIP,
        "助餐助医需求": NeedType.MEALS,
    }
    assert {form.item(k).detail_label for k in ("home_service_need", "meal_medical_need")} == {
        "是否满足"
    }
    assert [i.key for i in form.items() if i.kind == Kind.TEXT] == [
        "other_needs",
        "children_return",
        "children_return_plan",
    ]


def test_the_modes_are_the_forms_in_the_forms_order():
    # 000_… 附件4 服务方式, 001_… 附件3 探访方式; 003_… 附件2 has no mode row.
    assert checklist.load("fujian").modes == (
        ("home", "上门探访"),
        ("phone", "电话探访"),
        ("video", "互联网音（视）频探访"),
        ("other", "其他"),
    )
    assert checklist.load("sichuan").modes == (
        ("phone", "电话问候"),
        ("home", "上门探访"),
        ("video", "互联网音（视）频探访"),
        ("other", "其他"),
    )
    assert checklist.load("linzi").modes == tuple((m.value, m.label) for m in VisitMode)
    for name in checklist.names():
        assert {v for v, _ in checklist.load(name).modes} <= set(VisitMode.values)


def test_the_footers_signatures_satisfaction_and_text_fields():
    fujian, sichuan, linzi = (checklist.load(n) for n in ("fujian", "sichuan", "linzi"))

    # 000_… 附件4: 服务人员（签字） 服务对象（签字）; 关爱服务需求及落实情况.
    assert fujian.signatures == {"visitor", "elder"}
    assert fujian.satisfaction == ()
    assert fujian.text_fields == (("services_given", "关爱服务需求及落实情况"),)
    # 001_… 附件3: 探访人员（签字） 被探访人（签字）; 老年人服务满意度评价 (FORMS.md default scale).
    assert sichuan.signatures == {"visitor", "elder"}
    assert [(o.label, o.bad) for o in sichuan.satisfaction] == [
        ("非常满意", False),
        ("满意", False),
        ("基本满意", False),
        ("不满意", True),
    ]
    assert sichuan.text_fields == (
        ("services_given", "关爱服务情况"),
        ("notes", "老年人服务需求"),
        ("suggestions", "实施关爱服务建议"),
    )
    # 003_… 附件2: no signature line; 其他需说明的问题.
    assert linzi.signatures == frozenset()
    assert linzi.satisfaction == ()
    assert linzi.text_fields == (("notes", "其他需说明的问题"),)


# --- Validation ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["fujian", "sichuan", "linzi"])
def test_it_accepts_a_full_answer_set(name):
    cleaned = checklist.clean_answers(checklist.load(name), FULL[name])

    assert cleaned == STORED[name]
    assert list(cleaned) == [i.key for i in checklist.load(name).items() if i.key in cleaned]
    assert checklist.clean_answers(checklist.load(name), cleaned) == cleaned


def test_it_accepts_an_options_label_and_stores_its_value():
    cleaned = checklist.clean_answers(
        checklist.load("fujian"),
        changed("fujian", gas_safety="不安全", disease={"value": "无变化"}),
    )

    assert cleaned["gas_safety"] == "unsafe"
    assert cleaned["disease"] == {"value": "unchanged", "detail": None}


def test_it_leaves_out_optional_items_not_answered():
    answers = {k: v for k, v in FULL["linzi"].items() if checklist.load("linzi").item(k).required}

    cleaned = checklist.clean_answers(checklist.load("linzi"), answers)

    assert "other_needs" not in cleaned
    assert "thinking" not in cleaned


@pytest.mark.parametrize(
    ("form", "answers", "key", "message"),
    [
        # an answer outside the option set (issue 5 "Bad input")
        (
            "fujian",
            {"gas_safety": "很好"},
            "gas_safety",
            "燃气安全：“很好”不是可选项，应为 安全、较安全、不安全之一。",
        ),
        (
            "linzi",
            {"fire_safety": "不安全"},
            "fire_safety",
            "消防（取暖）安全：“不安全”不是可选项，应为 好、一般、较差之一。",
        ),
        # required and missing
        ("fujian", {"gas_safety": None}, "gas_safety", "燃气安全：必须填写。"),
        ("sichuan", {"population": " "}, "population", "家庭人口：必须填写。"),
        ("linzi", {"home_service_need": None}, "home_service_need", "居家服务需求：必须填写。"),
        # wrong types
        ("fujian", {"mood": 1}, "mood", "情绪状态：应为 无变化、较好、较差之一。"),
        ("fujian", {"mood": ["poor"]}, "mood", "情绪状态：应为 无变化、较好、较差之一。"),
        (
            "fujian",
            {"disease": "serious"},
            "disease",
            "疾病状况：格式不正确，应为含“value”和“detail”的对象。",
        ),
        (
            "fujian",
            {"population": "increased"},
            "population",
            "人口变化：格式不正确，应为含“value”和“count”的对象。",
        ),
        ("fujian", {"disease": {"detail": "高血压"}}, "disease", "疾病状况：必须填写。"),
        (
            "fujian",
            {"disease": {"value": "serious", "detail": "高血压", "since": 2020}},
            "disease",
            "疾病状况：未知的字段 since。",
        ),
        (
            "fujian",
            {"disease": {"value": "serious", "detail": 5}},
            "disease",
            "疾病状况：疾病名称应为文字。",
        ),
        ("linzi", {"other_needs": 5}, "other_needs", "其它需求：应为文字。"),
        (
            "linzi",
            {"home_service_need": {"needed": "是", "met": False}},
            "home_service_need",
            "居家服务需求：是否有此需求应为 是 或 否（true 或 false）。",
        ),
        (
            "linzi",
            {"home_service_need": {"needed": True, "met": 0}},
            "home_service_need",
            "居家服务需求：是否满足应为 是 或 否（true 或 false）。",
        ),
        (
            "linzi",
            {"home_service_need": True},
            "home_service_need",
            "居家服务需求：格式不正确，应为含“needed”和“met”的对象。",
        ),
        # details that go with an option
        (
            "fujian",
            {"disease": {"value": "serious", "detail": "  "}},
            "disease",
            "疾病状况：选择“严重”时须填写疾病名称。",
        ),
        (
            "fujian",
            {"disease": {"value": "improved", "detail": "感冒"}},
            "disease",
            "疾病状况：选择“转好”时不填写疾病名称。",
        ),
        (
            "fujian",
            {"population": {"value": "unchanged", "count": 1}},
            "population",
            "人口变化：选择“无变化”时不填写人数。",
        ),
        (
            "linzi",
            {"home_service_need": {"needed": True}},
            "home_service_need",
            "居家服务需求：有此需求时须选择是否满足。",
        ),
        (
            "linzi",
            {"meal_medical_need": {"needed": False, "met": True}},
            "meal_medical_need",
            "助餐助医需求：无此需求时不填写是否满足。",
        ),
        (
            "linzi",
            {"meal_medical_need": {"met": True}},
            "meal_medical_need",
            "助餐助医需求：请选择是否有此需求。",
        ),
        # text that cannot be stored
        (
            "fujian",
            {"disease": {"value": "serious", "detail": "病" * 101}},
            "disease",
            "疾病状况：疾病名称不能超过100字。",
        ),
        (
            "fujian",
            {"disease": {"value": "serious", "detail": "高血压\n糖尿病"}},
            "disease",
            "疾病状况：疾病名称含有不可见的控制字符。",
        ),
        ("linzi", {"other_needs": "字" * 501}, "other_needs", "其它需求：不能超过500字。"),
        ("linzi", {"other_needs": "助听器\x00"}, "other_needs", "其它需求：含有不可见的控制字符。"),
        ("linzi", {"other_needs": "\ud800"}, "other_needs", "其它需求：含有不可见的控制字符。"),
        # an item the form does not have
        ("linzi", {"colour": "red"}, "colour", "未知的检查项目“colour”："),
        ("fujian", {"thinking": "good"}, "thinking", "未知的检查项目“thinking”："),
    ],
)
def test_it_refuses_a_bad_answer_naming_the_item(form, answers, key, message):
    errors = errors_of(form, changed(form, **answers))

    assert list(errors) == [f"answers.{key}"]
    assert errors[f"answers.{key}"][0].startswith(message)


# 000_4970ff49482a0570.txt 附件4 家庭状况: □增加 N 人 □减少 N 人.
@pytest.mark.parametrize("count", [0, -1, 100, 1.5, 2.0, "2", True, None])
@pytest.mark.parametrize("value", ["increased", "decreased"])
def test_it_refuses_a_count_that_is_not_a_positive_integer(value, count):
    errors = errors_of("fujian", changed("fujian", population={"value": value, "count": count}))

    label = {"increased": "增加", "decreased": "减少"}[value]
    assert errors == {"answers.population": [f"人口变化：选择“{label}”时人数应为1至99之间的整数。"]}


def test_it_names_every_bad_item_at_once():
    answers = changed("fujian", gas_safety="很好", mood=None, extra="x")

    errors = errors_of("fujian", answers)

    assert set(errors) == {"answers.gas_safety", "answers.mood", "answers.extra"}


@pytest.mark.parametrize("answers", [["gas_safety"], "gas_safety=unsafe", None])
def test_it_refuses_answers_that_are_not_an_object(answers):
    assert errors_of("fujian", answers) == {
        "answers": ["检查项目格式不正确，应为以项目代码为键的对象。"]
    }


# --- Findings --------------------------------------------------------------------


def test_it_finds_a_hazard_for_an_unsafe_answer_on_fujians_form():
    # FORMS.md: a bad answer on a safety item creates a hazard; 较安全 is not one.
    found = checklist.findings(checklist.load("fujian"), STORED["fujian"])

    assert found.hazards == [HazardFinding("gas_safety", "gas", "燃气安全：不安全")]
    assert found.needs == []
    assert found.bad_answers == ["行动能力：较差", "疾病状况：严重（高血压）", "燃气安全：不安全"]


def test_it_finds_hazards_and_needs_on_linzis_form():
    form = checklist.load("linzi")
    answers = checklist.clean_answers(
        form, changed("linzi", fire_safety="poor", housing_safety="较差", illness="poor")
    )

    found = checklist.findings(form, answers)

    assert found.hazards == [
        HazardFinding("housing_safety", "housing", "房屋安全：较差"),
        HazardFinding("gas_safety", "gas", "燃气安全：较差"),
        HazardFinding("fire_safety", "fire_heating", "消防（取暖）安全：较差"),
        HazardFinding("food_safety", "food", "食品安全：较差"),
    ]
    # needed and not met only: companionship is met, meals not needed.
    assert found.needs == [NeedFinding("home_service_need", "daily_care", "居家服务需求")]
    assert found.bad_answers == [
        "疾病情况：较差",
        "房屋安全：较差",
        "燃气安全：较差",
        "消防（取暖）安全：较差",
        "食品安全：较差",
    ]


def test_it_counts_the_size_of_a_change_in_words():
    form = checklist.load("sichuan")
    answers = checklist.clean_answers(
        form, changed("sichuan", population={"value": "decreased", "count": 1})
    )

    assert answers["population"] == {"value": "decreased", "count": 1}
    assert checklist._answer_in_words(form.item("population"), answers["population"])[1] == (
        "减少1人"
    )


@pytest.mark.parametrize("name", ["fujian", "sichuan", "linzi"])
def test_it_finds_nothing_in_good_answers(name):
    form = checklist.load(name)

    found = checklist.findings(form, checklist.clean_answers(form, GOOD[name]))

    assert (found.hazards, found.needs, found.bad_answers) == ([], [], [])


def test_it_passes_over_answers_the_form_does_not_know():
    found = checklist.findings(
        checklist.load("fujian"), {"gas_safety": "exploded", "retired_item": "unsafe"}
    )

    assert (found.hazards, found.needs, found.bad_answers) == ([], [], [])


# --- JSON Schema -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["fujian", "sichuan", "linzi"])
def test_the_json_schema_describes_every_item(name):
    form = checklist.load(name)

    schema = checklist.json_schema(form)

    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert list(schema["properties"]) == [i.key for i in form.items()]
    assert schema["required"] == [i.key for i in form.items() if i.required]
    for item in form.items():
        prop = schema["properties"][item.key]
        assert prop["title"] == item.label
        if item.kind == Kind.CHOICE:
            assert prop["enum"] == [o.value for o in item.options]
        elif item.kind in (Kind.CHOICE_TEXT, Kind.CHOICE_COUNT):
            assert prop["properties"]["value"]["enum"] == [o.value for o in item.options]
            assert prop["if"]["properties"]["value"]["enum"] == sorted(item.detail_options)
        elif item.kind == Kind.NEED:
            assert set(prop["properties"]) == {"needed", "met"}
        else:
            assert prop["type"] == "string"


def test_the_json_schema_gives_the_options_in_words():
    schema = checklist.json_schema(checklist.load("fujian"))

    gas = schema["properties"]["gas_safety"]
    assert gas["enum"] == ["safe", "fairly_safe", "unsafe"]
    assert "unsafe：不安全" in gas["description"]
    population = schema["properties"]["population"]
    assert population["then"]["properties"]["count"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 99,
    }


# --- Properties ------------------------------------------------------------------

details = st.text(
    alphabet=st.characters(blacklist_categories=["Cc", "Cs"]), min_size=1, max_size=100
).filter(str.strip)
texts = st.text(
    alphabet=st.characters(blacklist_categories=["Cc", "Cs"]) | st.sampled_from("\n\r\t"),
    max_size=500,
).filter(lambda t: t.strip() == t)


def answer_for(item):
    """Any answer a visitor can give to `item` from its options."""
    if item.kind == Kind.CHOICE:
        return st.sampled_from(item.options).flatmap(lambda o: st.sampled_from([o.value, o.label]))
    if item.kind == Kind.NEED:
        return st.one_of(
            st.just({"needed": False, "met": None}),
            st.just({"needed": False}),
            st.booleans().map(lambda met: {"needed": True, "met": met}),
        )
    if item.kind == Kind.TEXT:
        return texts
    detail_key = "detail" if item.kind == Kind.CHOICE_TEXT else "count"
    detail = details if item.kind == Kind.CHOICE_TEXT else st.integers(1, checklist.MAX_COUNT)

    def with_detail(option):
        if option.value in item.detail_options:
            return detail.map(lambda d: {"value": option.value, detail_key: d})
        return st.just({"value": option.value})

    return st.sampled_from(item.options).flatmap(with_detail)


@st.composite
def answer_sets(draw, name):
    form = checklist.load(name)
    answers = {}
    for item in form.items():
        if item.required or draw(st.booleans()):
            answers[item.key] = draw(answer_for(item))
    return answers


@pytest.mark.parametrize("name", ["fujian", "sichuan", "linzi"])
@given(data=st.data())
def test_any_answer_from_the_options_is_accepted(name, data):
    form = checklist.load(name)
    answers = data.draw(answer_sets(name))

    cleaned = checklist.clean_answers(form, answers)

    assert checklist.clean_answers(form, cleaned) == cleaned
    found = checklist.findings(form, cleaned)
    bad_safety = [
        key
        for key, value in cleaned.items()
        if form.item(key).hazard and form.item(key).option(value).bad
    ]
    assert [h.item_key for h in found.hazards] == bad_safety


@pytest.mark.parametrize("name", ["fujian", "sichuan", "linzi"])
@given(data=st.data(), given_value=st.text(min_size=1, max_size=20).filter(str.strip))
def test_any_string_not_in_an_option_set_is_refused(name, data, given_value):
    form = checklist.load(name)
    choices = [i for i in form.items() if i.kind == Kind.CHOICE]
    item = data.draw(st.sampled_from(choices))
    words = {o.value for o in item.options} | {o.label for o in item.options}
    if given_value.strip() in words:
        given_value += "？"
    answers = {**data.draw(answer_sets(name)), item.key: given_value}

    errors = errors_of(name, answers)

    assert list(errors) == [f"answers.{item.key}"]
    assert errors[f"answers.{item.key}"][0].startswith(f"{item.label}：“")
    assert "不是可选项" in errors[f"answers.{item.key}"][0]

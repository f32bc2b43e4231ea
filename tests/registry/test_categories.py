"""Proposing the categories (对象类型) of an elder from the facts of the file.

Definitions: 000_4970ff49482a0570.txt 附件2 and 001_35a01bee4c628ebd.txt 附件1 (the
same text), cited below as 附件2 (n). Each test builds the smallest file that
shows one behaviour, starting from an elder of 灵秀镇 who has nothing recorded.
"""

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanfang.registry.categories import (
    Ability,
    Category,
    Child,
    Facts,
    Proposal,
    Relative,
    differences,
    propose,
)

ON = date(2026, 11, 23)
HOME = "350581100000"  # 灵秀镇, 石狮市
HOME_VILLAGE = "350581100201"  # 村A in 灵秀镇
OTHER_TOWNSHIP = "350581101000"  # 宝盖镇, same county
OTHER_COUNTY = "350582000000"  # 晋江市
HOME_COUNTY = "350581000000"  # 石狮市: may or may not be 灵秀镇
GUANGDONG = "440000000000"
LONG_AGO = date(2025, 1, 1)


def facts(**fields):
    return Facts(on_date=ON, township_code=HOME, **fields)


def categories(f):
    return [p.category for p in propose(f)]


def reasons(f, category):
    return next(p.reasons for p in propose(f) if p.category == category)


def solitary(**fields):
    """孤寡: no spouse, no children, nobody caring, unable to work."""
    return facts(has_spouse=False, has_carer=False, able_to_work=False, **fields)


def away(since=LONG_AGO, township_code=GUANGDONG):
    return Child(township_code=township_code, away_since=since)


# The categories


def test_it_lists_the_seven_categories_in_the_order_of_annex_2():
    assert [c.value for c in Category] == [
        "孤寡",
        "独居",
        "空巢",
        "留守",
        "失能",
        "重残",
        "计划生育特殊家庭",
    ]


def test_it_proposes_nothing_for_an_empty_file():
    assert propose(facts()) == ()


def test_it_rejects_a_disability_grade_outside_1_to_4():
    with pytest.raises(ValueError, match="残疾等级"):
        facts(disability_grade=5)


def test_it_rejects_a_residence_that_is_not_a_township():
    with pytest.raises(ValueError, match="乡镇"):
        Facts(on_date=ON, township_code=HOME_COUNTY)


def test_it_rejects_spouse_details_without_a_spouse():
    with pytest.raises(ValueError, match="配偶"):
        facts(has_spouse=False, spouse_lives_with_elder=True)


# 附件2 (1): 孤寡 — 无配偶、无子女，无人照顾，丧失劳动能力


def test_it_proposes_solitary_for_no_spouse_no_children_no_carer_unable_to_work():
    assert reasons(solitary(), Category.SOLITARY_CHILDLESS) == (
        "无配偶、无子女",
        "无人照顾",
        "丧失劳动能力",
    )


def test_it_counts_an_elder_whose_children_all_died_as_childless():
    f = solitary(children=(Child(deceased=True),))

    assert reasons(f, Category.SOLITARY_CHILDLESS)[0] == "无配偶、子女均已去世"


def test_it_does_not_propose_solitary_with_a_spouse():
    assert Category.SOLITARY_CHILDLESS not in categories(replace(solitary(), has_spouse=True))


def test_it_does_not_propose_solitary_with_a_living_child():
    f = solitary(children=(Child(township_code=GUANGDONG),))

    assert Category.SOLITARY_CHILDLESS not in categories(f)


def test_it_does_not_propose_solitary_when_someone_cares_for_the_elder():
    assert Category.SOLITARY_CHILDLESS not in categories(replace(solitary(), has_carer=True))


def test_it_does_not_propose_solitary_when_the_elder_can_work():
    assert Category.SOLITARY_CHILDLESS not in categories(replace(solitary(), able_to_work=True))


def test_it_does_not_propose_solitary_when_the_marital_status_is_not_recorded():
    assert Category.SOLITARY_CHILDLESS not in categories(replace(solitary(), has_spouse=None))


def test_it_proposes_solitary_with_a_request_to_verify_an_unrecorded_ability_to_work():
    # 附件2 (1) points to 特困; 《特困人员认定办法》 counts 60周岁以上 as 无劳动能力.
    f = replace(solitary(), able_to_work=None)

    assert reasons(f, Category.SOLITARY_CHILDLESS)[2] == (
        "劳动能力未登记（60周岁以上老年人视为无劳动能力），请核实"
    )


def test_it_proposes_solitary_with_a_request_to_verify_unrecorded_care():
    f = replace(solitary(), has_carer=None)

    assert reasons(f, Category.SOLITARY_CHILDLESS)[1] == "是否有人照顾未登记，请核实"


# 附件2 (2): 独居 — 孤寡老年人, or 不与子女或其他家属共同居住且子女或其他家属不在同一镇
# （街道）居住


def test_it_proposes_living_alone_for_a_solitary_elder():
    f = solitary(household=(Relative(relation="侄子", lives_with_elder=True),))

    assert reasons(f, Category.LIVING_ALONE) == ("属孤寡老年人",)


def test_it_proposes_living_alone_when_children_live_in_another_township():
    f = facts(has_spouse=False, children=(Child(township_code=OTHER_TOWNSHIP),))

    assert reasons(f, Category.LIVING_ALONE) == (
        "不与子女或其他家属共同居住",
        "子女及其他家属均不在本乡镇居住",
    )


def test_it_does_not_propose_living_alone_when_a_child_lives_in_the_same_township():
    f = facts(
        has_spouse=False,
        children=(Child(township_code=OTHER_TOWNSHIP), Child(township_code=HOME)),
    )

    assert Category.LIVING_ALONE not in categories(f)


def test_it_knows_a_village_of_the_same_township_is_the_same_township():
    f = facts(has_spouse=False, children=(Child(township_code=HOME_VILLAGE),))

    assert Category.LIVING_ALONE not in categories(f)


def test_it_does_not_propose_living_alone_when_living_with_the_spouse():
    f = facts(has_spouse=True, spouse_lives_with_elder=True)

    assert Category.LIVING_ALONE not in categories(f)


def test_it_does_not_propose_living_alone_when_other_family_lives_in_the_same_township():
    f = facts(
        has_spouse=False,
        children=(Child(township_code=GUANGDONG),),
        household=(Relative(relation="孙子女", township_code=HOME_VILLAGE),),
    )

    assert Category.LIVING_ALONE not in categories(f)


def test_it_counts_a_child_known_only_to_be_in_another_province_as_elsewhere():
    f = facts(has_spouse=False, children=(Child(township_code=GUANGDONG),))

    assert Category.LIVING_ALONE in categories(f)


def test_it_does_not_guess_for_a_child_known_only_to_be_in_the_elders_county():
    f = facts(has_spouse=False, children=(Child(township_code=HOME_COUNTY),))

    assert Category.LIVING_ALONE not in categories(f)


def test_it_does_not_propose_living_alone_when_the_marital_status_is_not_recorded():
    f = facts(children=(Child(township_code=GUANGDONG),))

    assert Category.LIVING_ALONE not in categories(f)


def test_it_ignores_a_deceased_child_for_living_alone():
    f = facts(
        has_spouse=False,
        children=(Child(township_code=GUANGDONG), Child(deceased=True, township_code=HOME)),
    )

    assert Category.LIVING_ALONE in categories(f)


# 附件2 (3): 空巢 — 子女相继分离出去，且与子女不在同一镇（街道）居住


def test_it_proposes_empty_nest_when_all_children_live_in_other_townships():
    f = facts(children=(Child(township_code=OTHER_TOWNSHIP), Child(township_code=OTHER_COUNTY)))

    assert reasons(f, Category.EMPTY_NEST) == ("子女均不在本乡镇居住",)


def test_it_does_not_propose_empty_nest_when_a_child_lives_in_the_same_township():
    f = facts(children=(Child(township_code=OTHER_TOWNSHIP), Child(township_code=HOME_VILLAGE)))

    assert Category.EMPTY_NEST not in categories(f)


def test_it_does_not_propose_empty_nest_when_a_child_lives_with_the_elder():
    f = facts(children=(Child(township_code=OTHER_TOWNSHIP), Child(lives_with_elder=True)))

    assert Category.EMPTY_NEST not in categories(f)


def test_it_does_not_count_a_deceased_child_as_a_child_living_elsewhere():
    f = facts(children=(Child(deceased=True, township_code=GUANGDONG),))

    assert Category.EMPTY_NEST not in categories(f)


def test_it_does_not_propose_empty_nest_without_children():
    assert Category.EMPTY_NEST not in categories(facts())


def test_it_does_not_propose_empty_nest_when_a_childs_township_is_not_recorded():
    f = facts(children=(Child(township_code=OTHER_TOWNSHIP), Child()))

    assert Category.EMPTY_NEST not in categories(f)


# 附件2 (4): 留守 — 全部子女长期（通常半年以上）离开户籍地务工或经商…的农村户籍老年人


def test_it_proposes_left_behind_when_all_children_work_away_half_a_year():
    f = facts(rural_registration=True, children=(away(), away()))

    assert reasons(f, Category.LEFT_BEHIND) == ("农村户籍，子女均外出务工半年以上",)


def test_it_counts_exactly_half_a_year_as_half_a_year():
    # 半年以上 includes half a year (《民法典》第1259条).
    f = facts(rural_registration=True, children=(away(date(2026, 5, 23)),))

    assert Category.LEFT_BEHIND in categories(f)


def test_it_does_not_count_a_day_less_than_half_a_year():
    f = facts(rural_registration=True, children=(away(date(2026, 5, 24)),))

    assert Category.LEFT_BEHIND not in categories(f)


def test_it_ends_half_a_year_on_the_last_day_of_a_shorter_month():
    # 《民法典》第202条: no corresponding day, so the last day of the month.
    child = away(date(2026, 8, 31))
    f = Facts(on_date=date(2027, 2, 28), township_code=HOME, rural_registration=True)

    assert Category.LEFT_BEHIND in categories(replace(f, children=(child,)))
    assert Category.LEFT_BEHIND not in categories(
        replace(f, on_date=date(2027, 2, 27), children=(child,))
    )


def test_it_does_not_propose_left_behind_when_one_child_is_at_home():
    f = facts(rural_registration=True, children=(away(), Child(lives_with_elder=True)))

    assert Category.LEFT_BEHIND not in categories(f)


def test_it_does_not_propose_left_behind_for_urban_registration():
    f = facts(rural_registration=False, children=(away(),))

    assert Category.LEFT_BEHIND not in categories(f)


def test_it_does_not_propose_left_behind_when_the_registration_type_is_not_recorded():
    assert Category.LEFT_BEHIND not in categories(facts(children=(away(),)))


def test_it_ignores_a_deceased_child_for_left_behind():
    f = facts(rural_registration=True, children=(away(), Child(deceased=True)))

    assert Category.LEFT_BEHIND in categories(f)


def test_it_does_not_count_a_deceased_child_as_a_child_working_away():
    f = facts(rural_registration=True, children=(Child(deceased=True, away_since=LONG_AGO),))

    assert Category.LEFT_BEHIND not in categories(f)


def test_it_counts_a_child_registered_at_home_but_working_away_as_away():
    # 附件2 (4) is about leaving the place of registration (离开户籍地).
    f = facts(
        rural_registration=True, children=(Child(lives_with_elder=True, away_since=LONG_AGO),)
    )

    assert Category.LEFT_BEHIND in categories(f)


# 附件2 (5): 失能 — 轻度、中度、重度、完全失能


@pytest.mark.parametrize(
    ("ability", "reason"),
    [
        (Ability.MILD, "轻度失能"),
        (Ability.MODERATE, "中度失能"),
        (Ability.SEVERE, "重度失能"),
        (Ability.COMPLETE, "完全失能"),
    ],
)
def test_it_proposes_disabled_for_each_of_the_four_grades(ability, reason):
    # 附件2 (5) names 轻度 as a grade of 失能; the form's "（包括中、重）" marks key objects.
    assert reasons(facts(ability=ability), Category.DISABLED) == (reason,)


def test_it_counts_an_unassessed_bedridden_elder_as_severely_disabled():
    # 004_1657df0ed1e05604.txt 二(一)
    assert reasons(facts(ability=Ability.BEDRIDDEN), Category.DISABLED) == (
        "未评估，因身体原因长期卧床，按重度失能",
    )


def test_it_counts_an_unassessed_elder_moving_with_difficulty_as_moderately_disabled():
    # 004_1657df0ed1e05604.txt 二(一)
    assert reasons(facts(ability=Ability.IMPAIRED_MOBILITY), Category.DISABLED) == (
        "未评估，因身体原因行动不便，按中度失能",
    )


def test_it_does_not_propose_disabled_for_intact_ability():
    assert Category.DISABLED not in categories(facts(ability=Ability.INTACT))


def test_it_does_not_propose_disabled_when_ability_is_not_recorded():
    assert Category.DISABLED not in categories(facts())


def test_it_adds_dementia_to_the_reasons_for_disabled():
    f = facts(ability=Ability.MODERATE, dementia=True)

    assert reasons(f, Category.DISABLED) == ("中度失能", "失智")


def test_it_proposes_disabled_for_unassessed_dementia_asking_for_an_assessment():
    f = facts(dementia=True)

    assert reasons(f, Category.DISABLED) == ("失智，尚未进行能力评估，请评估失能等级",)


def test_it_does_not_propose_disabled_for_dementia_assessed_as_intact():
    assert Category.DISABLED not in categories(facts(ability=Ability.INTACT, dementia=True))


# 附件2 (6): 重残 — 持有效残疾人证，残疾程度为一级、二级


@pytest.mark.parametrize(("grade", "reason"), [(1, "持一级残疾证"), (2, "持二级残疾证")])
def test_it_proposes_severely_handicapped_for_grade_1_or_2(grade, reason):
    f = facts(disability_grade=grade, disability_certificate_valid=True)

    assert reasons(f, Category.SEVERELY_HANDICAPPED) == (reason,)


@pytest.mark.parametrize("grade", [3, 4])
def test_it_does_not_propose_severely_handicapped_for_grade_3_or_4(grade):
    f = facts(disability_grade=grade, disability_certificate_valid=True)

    assert Category.SEVERELY_HANDICAPPED not in categories(f)


def test_it_does_not_propose_severely_handicapped_without_a_valid_certificate():
    f = facts(disability_grade=1, disability_certificate_valid=False)

    assert Category.SEVERELY_HANDICAPPED not in categories(f)


# 附件2 (7): 计划生育特殊家庭 — 独生子女三级以上伤残或死后未再生育或无收养子女


def test_it_proposes_family_planning_when_the_only_child_died():
    f = facts(children=(Child(deceased=True),))

    assert reasons(f, Category.FAMILY_PLANNING) == ("独生子女死亡，未再生育或收养子女",)


@pytest.mark.parametrize(("grade", "name"), [(1, "一级"), (2, "二级"), (3, "三级")])
def test_it_proposes_family_planning_when_the_only_child_has_grade_3_or_worse(grade, name):
    f = facts(children=(Child(disability_grade=grade, lives_with_elder=True),))

    assert reasons(f, Category.FAMILY_PLANNING) == (f"独生子女{name}残疾，未再生育或收养子女",)


def test_it_does_not_propose_family_planning_for_grade_4_of_the_only_child():
    f = facts(children=(Child(disability_grade=4, lives_with_elder=True),))

    assert Category.FAMILY_PLANNING not in categories(f)


def test_it_does_not_propose_family_planning_when_another_child_was_born_or_adopted():
    f = facts(children=(Child(deceased=True), Child(lives_with_elder=True)))

    assert Category.FAMILY_PLANNING not in categories(f)


def test_it_does_not_propose_family_planning_when_the_only_child_is_well():
    f = facts(children=(Child(lives_with_elder=True),))

    assert Category.FAMILY_PLANNING not in categories(f)


def test_it_does_not_propose_family_planning_without_children():
    assert Category.FAMILY_PLANNING not in categories(solitary())


# Several at once


def test_it_proposes_several_categories_in_the_order_of_annex_2():
    f = solitary(
        children=(Child(deceased=True),),
        ability=Ability.SEVERE,
        disability_grade=1,
        disability_certificate_valid=True,
    )

    assert categories(f) == [
        Category.SOLITARY_CHILDLESS,
        Category.LIVING_ALONE,
        Category.DISABLED,
        Category.SEVERELY_HANDICAPPED,
        Category.FAMILY_PLANNING,
    ]


# Differences between proposal and confirmation


def test_it_reports_no_difference_when_the_proposal_is_confirmed():
    f = facts(children=(Child(township_code=GUANGDONG),))

    assert differences(f, [Category.EMPTY_NEST]) == ()


def test_it_warns_about_a_proposal_that_was_not_confirmed():
    f = facts(children=(Child(township_code=GUANGDONG),))

    assert differences(f, []) == ("系统建议“空巢”，但未确认",)


def test_it_warns_about_a_confirmed_category_the_file_contradicts():
    f = facts(has_spouse=False, children=(Child(lives_with_elder=True),))

    assert differences(f, [Category.SOLITARY_CHILDLESS]) == ("已确认“孤寡”，但档案显示有子女",)


def test_it_warns_about_a_confirmed_category_the_file_does_not_show():
    f = facts(disability_grade=3, disability_certificate_valid=True)

    assert differences(f, [Category.SEVERELY_HANDICAPPED]) == (
        "已确认“重残”，但档案显示残疾等级为三级",
    )


def test_it_accepts_confirmed_categories_as_stored_strings():
    f = facts(children=(Child(township_code=GUANGDONG),))

    assert differences(f, ["空巢"]) == ()


def test_it_lists_warnings_in_the_order_of_annex_2():
    f = facts(ability=Ability.MILD, children=(Child(township_code=GUANGDONG),))

    assert differences(f, [Category.SOLITARY_CHILDLESS]) == (
        "已确认“孤寡”，但档案未登记有无配偶",
        "系统建议“空巢”，但未确认",
        "系统建议“失能”，但未确认",
    )


# Properties over any file

CODES = st.sampled_from(
    [None, HOME, HOME_VILLAGE, OTHER_TOWNSHIP, OTHER_COUNTY, HOME_COUNTY, GUANGDONG]
)
DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
GRADES = st.none() | st.integers(min_value=1, max_value=4)
UNKNOWN_BOOL = st.none() | st.booleans()

children_st = st.builds(
    Child,
    deceased=st.booleans(),
    lives_with_elder=st.booleans(),
    township_code=CODES,
    away_since=st.none() | DAYS,
    disability_grade=GRADES,
)
relatives_st = st.builds(
    Relative,
    relation=st.sampled_from(["孙子女", "兄弟姐妹", "儿媳"]),
    lives_with_elder=st.booleans(),
    township_code=CODES,
)


@st.composite
def any_facts(draw):
    has_spouse = draw(UNKNOWN_BOOL)
    return Facts(
        on_date=draw(DAYS),
        township_code=draw(st.sampled_from([HOME, HOME_VILLAGE])),
        has_spouse=has_spouse,
        spouse_lives_with_elder=bool(has_spouse) and draw(st.booleans()),
        spouse_township_code=draw(CODES) if has_spouse else None,
        children=tuple(draw(st.lists(children_st, max_size=4))),
        household=tuple(draw(st.lists(relatives_st, max_size=3))),
        has_carer=draw(UNKNOWN_BOOL),
        able_to_work=draw(UNKNOWN_BOOL),
        rural_registration=draw(UNKNOWN_BOOL),
        ability=draw(st.none() | st.sampled_from(Ability)),
        dementia=draw(st.booleans()),
        disability_grade=draw(GRADES),
        disability_certificate_valid=draw(st.booleans()),
    )


@given(any_facts())
def test_it_never_proposes_a_category_twice(f):
    found = categories(f)

    assert len(found) == len(set(found))


@given(any_facts())
def test_it_always_gives_reasons(f):
    for proposal in propose(f):
        assert isinstance(proposal, Proposal)
        assert proposal.reasons
        assert all(isinstance(r, str) and r for r in proposal.reasons)


@given(any_facts())
def test_it_always_proposes_in_the_order_of_annex_2(f):
    order = list(Category)
    found = categories(f)

    assert found == sorted(found, key=order.index)


@given(any_facts())
def test_it_always_proposes_living_alone_with_solitary(f):
    # 附件2 (2): 无儿无女无老伴的孤寡老年人 are 独居.
    found = categories(f)

    assert Category.SOLITARY_CHILDLESS not in found or Category.LIVING_ALONE in found


@given(any_facts())
def test_it_never_warns_when_the_proposal_is_confirmed(f):
    assert differences(f, categories(f)) == ()


@given(any_facts(), st.sets(st.sampled_from(Category)))
def test_it_warns_once_for_each_category_confirmed_or_proposed_but_not_both(f, confirmed):
    proposed = set(categories(f))

    assert len(differences(f, confirmed)) == len(proposed ^ confirmed)


def test_it_uses_the_same_values_as_the_stored_file():
    # categories.py is pure Python; the model's choices must say the same words,
    # or a stored file could not be read back into Facts.
    from tanfang.registry import models

    assert list(models.Category.values) == [category.value for category in Category]
    assert list(models.Ability.values) == [ability.value for ability in Ability]

"""A file with any bad row is rejected whole: nothing written, every bad row reported."""

from typing import Any

import pytest

from tanfang.regions.actions import ImportRejected, RowError, import_regions
from tests.conftest import COUNTY, PROVINCE, TOWNSHIP_A, VILLAGE_A
from tests.regions.conftest import csv_text, tree_state


def rejected(text: str, **options: Any) -> list[RowError]:
    with pytest.raises(ImportRejected) as raised:
        import_regions(acting_user=None, text=text, **options)
    return raised.value.errors


@pytest.mark.parametrize(
    "code",
    [
        "35058110020",
        "3505811002011",
        "35058110020x",
        "35058110020²",
        "",
        "３５０５８１１００２０２",
    ],
)
def test_it_rejects_a_code_that_is_not_twelve_digits(regions, code):
    before = tree_state()

    errors = rejected(csv_text("350581100202,新村,", f"{code},坏村,"))

    assert errors == [RowError(3, code, "代码应为 12 位数字")]
    assert tree_state() == before


@pytest.mark.parametrize(
    "code",
    [
        "350581000201",  # a village directly under the county: no township segment
        "350000000101",  # no city, county or township segment
        "000000000000",  # no province
        "000581000000",
    ],
)
def test_it_rejects_a_code_with_an_empty_segment_above_its_level(regions, code):
    before = tree_state()

    errors = rejected(csv_text("350581100202,新村,", f"{code},坏村,"))

    assert errors == [RowError(3, code, "代码的省、市、县、乡各段不能为全 0")]
    assert tree_state() == before


def test_it_rejects_a_node_whose_parent_is_neither_in_the_tree_nor_in_the_file(regions):
    before = tree_state()

    errors = rejected(csv_text("350581100202,新村,", "350581109201,孤村,"))

    assert errors == [RowError(3, "350581109201", "上级区划 350581109000 不存在")]
    assert tree_state() == before


def test_it_rejects_a_code_given_twice(regions):
    before = tree_state()

    errors = rejected(csv_text("350581100202,新村,", "350581100203,后村,", "350581100202,新村,"))

    assert errors == [RowError(4, "350581100202", "代码与第 2 行重复")]
    assert tree_state() == before


def test_it_rejects_a_name_change_it_was_not_told_to_apply(regions):
    before = tree_state()

    errors = rejected(csv_text("350581100202,新村,", f"{TOWNSHIP_A},灵秀街道,"))

    assert errors == [
        RowError(
            3,
            TOWNSHIP_A,
            "名称与现有的“灵秀镇”不同；确认更名请选择“应用名称变更”",
        )
    ]
    assert tree_state() == before


def test_it_rejects_a_kind_on_a_node_above_the_village_level(regions):
    before = tree_state()

    errors = rejected(csv_text(f"{TOWNSHIP_A},灵秀镇,农村"))

    assert errors == [RowError(2, TOWNSHIP_A, "城乡属性只适用于村(社区)级")]
    assert tree_state() == before


@pytest.mark.parametrize("word", ["乡下", "x", "100", "130", "199", "300", "22", "2200"])
def test_it_rejects_a_kind_it_does_not_understand(regions, word):
    before = tree_state()

    errors = rejected(csv_text(f"350581100202,新村,{word}"))

    assert errors == [RowError(2, "350581100202", f"城乡属性“{word}”无法识别")]
    assert tree_state() == before


def test_it_rejects_a_row_without_a_name(regions):
    errors = rejected(csv_text("350581100202,,"))

    assert errors == [RowError(2, "350581100202", "名称不能为空")]


def test_it_rejects_a_name_longer_than_a_hundred_characters(regions):
    errors = rejected(csv_text(f"350581100202,{'村' * 101},"))

    assert errors == [RowError(2, "350581100202", "名称不能超过 100 个字")]


@pytest.mark.parametrize(
    ("header", "line"),
    [("code,name,kind", "350581100202,新村,一组,村"), ("code,name", "350581100202,新村,居")],
)
def test_it_rejects_a_row_with_more_cells_than_the_header(regions, header, line):
    # An unquoted comma in a name would otherwise cut it short without a word.
    before = tree_state()

    errors = rejected(csv_text(line, header=header))

    assert RowError(2, "350581100202", "列数多于表头；名称含逗号时请加引号") in errors
    assert tree_state() == before


def test_it_reports_every_bad_row_in_row_order(regions):
    before = tree_state()
    text = csv_text(
        "350581100202,新村,",  # 2: good
        f"{TOWNSHIP_A},灵秀街道,",  # 3: a rename not asked for
        "35058110020,短码村,",  # 4: eleven digits
        "350581109201,孤村,",  # 5: no parent
        "350581100202,新村,",  # 6: repeats row 2
        "",  # 7: blank, skipped
        f"{COUNTY},石狮市,城镇",  # 8: kind above the village level
        "350581100203,,",  # 9: no name
    )

    errors = rejected(text)

    assert [(error.row, error.code) for error in errors] == [
        (3, TOWNSHIP_A),
        (4, "35058110020"),
        (5, "350581109201"),
        (6, "350581100202"),
        (8, COUNTY),
        (9, "350581100203"),
    ]
    assert tree_state() == before


def test_it_reports_each_problem_of_one_row(regions):
    errors = rejected(csv_text(f"{PROVINCE},,村"))

    assert errors == [
        RowError(2, PROVINCE, "名称不能为空"),
        RowError(2, PROVINCE, "城乡属性只适用于村(社区)级"),
    ]


def test_it_writes_nothing_from_the_good_rows_of_a_rejected_file(regions):
    before = tree_state()

    rejected(csv_text("350581100202,新村,", "350581100203,后村,", "bad,坏,"))

    assert tree_state() == before


def test_it_rejects_renames_without_applying_the_other_changes(regions):
    before = tree_state()

    rejected(csv_text(f"{VILLAGE_A},村A,居", f"{TOWNSHIP_A},灵秀街道,"))

    assert tree_state() == before


def test_it_rejects_rows_outside_the_node_it_is_limited_to(regions):
    before = tree_state()

    errors = rejected(
        csv_text("350581100202,新村,", "350582100202,新C,", f"{PROVINCE},福建省,"),
        within=regions[COUNTY],
    )

    assert errors == [
        RowError(3, "350582100202", "不在您的管辖范围内"),
        RowError(4, PROVINCE, "不在您的管辖范围内"),
    ]
    assert tree_state() == before

"""`read_rows`: the CSV as rows, before any check against the tree."""

import pytest

from tanfang.regions.actions import ImportRejected, RegionRow, RowError, read_rows
from tests.regions.conftest import csv_text


def test_it_numbers_rows_counting_the_header_as_row_one():
    rows = read_rows(csv_text("350581100202,新村,村", "350581100203,后村,"))

    assert rows == [
        RegionRow(row=2, code="350581100202", name="新村", kind="村"),
        RegionRow(row=3, code="350581100203", name="后村", kind=""),
    ]


def test_it_accepts_a_file_without_the_kind_column():
    rows = read_rows(csv_text("350581100202,新村", header="code,name"))

    assert rows == [RegionRow(row=2, code="350581100202", name="新村", kind="")]


def test_it_strips_a_byte_order_mark_before_the_header():
    rows = read_rows("\ufeff" + csv_text("350581100202,新村,"))

    assert [row.code for row in rows] == ["350581100202"]


def test_it_accepts_a_header_in_capitals_with_spaces():
    rows = read_rows(csv_text("350581100202,新村,", header=" Code , NAME ,Kind"))

    assert [row.name for row in rows] == ["新村"]


def test_it_skips_blank_lines_and_keeps_the_file_row_numbers():
    text = "code,name,kind\n\n350581100202,新村,\n , ,\n\r\n350581100203,后村,\n"

    rows = read_rows(text)

    assert [(row.row, row.code) for row in rows] == [(3, "350581100202"), (6, "350581100203")]


def test_it_reads_windows_line_endings():
    rows = read_rows("code,name,kind\r\n350581100202,新村,居\r\n")

    assert rows == [RegionRow(row=2, code="350581100202", name="新村", kind="居")]


def test_it_strips_spaces_around_cells():
    rows = read_rows(csv_text(" 350581100202 , 新村 , 农村 "))

    assert rows == [RegionRow(row=2, code="350581100202", name="新村", kind="农村")]


def test_it_reads_a_name_with_a_comma_in_quotes():
    rows = read_rows(csv_text('350581100202,"新村,一组",'))

    assert rows[0].name == "新村,一组"


def test_it_marks_a_row_with_more_cells_than_the_header():
    rows = read_rows(csv_text("350581100202,新村,一组,村"))

    assert rows == [RegionRow(row=2, code="350581100202", name="新村", kind="一组", extra=True)]


def test_it_reads_no_kind_from_a_third_cell_when_the_header_has_two_columns():
    rows = read_rows(csv_text("350581100202,新村,居", header="code,name"))

    assert rows == [RegionRow(row=2, code="350581100202", name="新村", kind="", extra=True)]


def test_it_ignores_empty_trailing_cells_as_spreadsheets_write_them():
    rows = read_rows(csv_text("350581100202,新村,,,"))

    assert rows == [RegionRow(row=2, code="350581100202", name="新村", kind="", extra=False)]


def test_it_pads_a_row_with_missing_cells():
    rows = read_rows(csv_text("350581100202"))

    assert rows == [RegionRow(row=2, code="350581100202", name="", kind="")]


@pytest.mark.parametrize(
    "header",
    ["", "name,code", "code", "code,name,kind,extra", "code,name,type", "代码,名称"],
)
def test_it_rejects_a_file_whose_header_is_not_code_name_kind(header):
    with pytest.raises(ImportRejected) as rejected:
        read_rows(f"{header}\n350581100202,新村\n" if header else "")

    assert rejected.value.errors == [RowError(1, "", "表头应为 code,name 或 code,name,kind")]

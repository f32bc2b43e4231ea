"""The template (issue 3, item 7): the columns of the registration form in
Chinese, the header frozen, drop-downs with the labels of the model's
choices, the user's villages, and the instructions in Chinese."""

import inspect

from tanfang.exchange.columns import BY_TITLE, COLUMNS, Kind, normalise_title
from tanfang.registry.models import Ability, DisabilityType
from tanfang.registry.registration import PLAIN_FIELDS, register_elder
from tests.conftest import VILLAGE_A, VILLAGE_B
from tests.exchange.conftest import TITLES, template_of


def validations(sheet):
    """Column letter -> the drop-down's list."""
    found = {}
    for validation in sheet.data_validations.dataValidation:
        for cells in validation.sqref.ranges:
            found[cells.coord.split(":")[0].rstrip("0123456789")] = validation.formula1
    return found


def letter_of(sheet, title):
    return next(cell.column_letter for cell in sheet[1] if cell.value == title)


def test_it_heads_the_data_sheet_with_the_columns_of_the_form(client_for):
    book = template_of(client_for("liaison_a"))

    sheet = book["老年人信息"]
    assert book.sheetnames == ["老年人信息", "填写说明", "村(社区)代码"]
    assert [cell.value for cell in sheet[1]] == TITLES
    assert TITLES[:6] == ["姓名", "身份证号码", "性别", "出生日期", "民族", "联系电话"]
    assert sheet.freeze_panes == "C2"
    assert sheet.max_row == 1  # no example row among the data
    required = [
        cell.value
        for cell in sheet[1]
        if cell.font.color and cell.font.color.rgb.endswith("B4232A")
    ]
    assert required == ["姓名", "身份证号码", "居住地村(社区)"]
    assert sheet.column_dimensions[letter_of(sheet, "身份证号码")].number_format == "@"


def test_it_offers_drop_downs_with_the_labels_of_the_choices(client_for):
    sheet = template_of(client_for("liaison_a"))["老年人信息"]

    lists = validations(sheet)

    assert lists[letter_of(sheet, "能力程度")] == '"' + ",".join(Ability.labels) + '"'
    assert lists[letter_of(sheet, "残疾类别")] == '"' + ",".join(DisabilityType.labels) + '"'
    assert lists[letter_of(sheet, "残疾等级")] == '"1级,2级,3级,4级"'
    assert lists[letter_of(sheet, "性别")] == '"男,女"'
    for title in ("失智", "低保", "农村户籍", "同意拍照"):
        assert lists[letter_of(sheet, title)] == '"是,否"', title
    assert lists[letter_of(sheet, "居住地村(社区)")] == "'村(社区)代码'!$A$2:$A$2"
    for validation in sheet.data_validations.dataValidation:
        assert len(validation.formula1) <= 255  # Excel's limit for a list typed in


def test_it_lists_the_villages_of_the_users_scope(client_for):
    liaison = template_of(client_for("liaison_a"))["村(社区)代码"]
    county = template_of(client_for("county"))["村(社区)代码"]

    assert [list(r) for r in liaison.iter_rows(min_row=2, values_only=True)] == [
        [f"{VILLAGE_A} 村A", VILLAGE_A, "村A", "灵秀镇"]
    ]
    assert [r[1] for r in county.iter_rows(min_row=2, values_only=True)] == [VILLAGE_A, VILLAGE_B]


def test_it_explains_every_column_in_chinese_with_an_example(client_for):
    sheet = template_of(client_for("liaison_a"))["填写说明"]

    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows.index(["列名", "是否必填", "填写说明", "示例"])
    explained = rows[header + 1 :]
    assert [r[0] for r in explained] == TITLES
    assert explained[0][:2] == ["姓名", "必填"]
    assert "未满 60 周岁的不能登记" in " ".join(str(r[0]) for r in rows[:header])
    assert all(r[2] for r in explained)


def test_it_uses_only_arguments_register_elder_takes():
    named = set(inspect.signature(register_elder).parameters) - {
        "acting_user",
        "request",
        "details",
    }

    assert {column.field for column in COLUMNS} == named | PLAIN_FIELDS


def test_it_reads_the_titles_as_people_type_them():
    assert normalise_title(" *居住地村（社区） ") == "居住地村(社区)"
    assert normalise_title("居民身份证号码") == "身份证号码"
    assert set(BY_TITLE) == set(TITLES)


def test_it_reads_cells_as_excel_holds_them():
    from datetime import date, datetime
    from decimal import Decimal

    by_title = {column.title: column for column in COLUMNS}
    assert by_title["出生日期"].read(datetime(1940, 3, 8))  # noqa: DTZ001 - as Excel holds it == date(1940, 3, 8)
    assert by_title["出生日期"].read("1940年3月8日") == date(1940, 3, 8)
    assert by_title["出生日期"].read("1940/03/08") == date(1940, 3, 8)
    assert by_title["出生日期"].read(19400308.0) == date(1940, 3, 8)
    assert by_title["低保"].read("是") is True
    assert by_title["低保"].read(False) is False
    assert by_title["低保"].read("无") is False
    assert by_title["能力程度"].read("中度失能") == "moderate"
    assert by_title["残疾等级"].read(2.0) == 2
    assert by_title["月可支配收入(元)"].read("1,200元") == Decimal("1200")
    assert by_title["年收入(万元)"].read("1.5万元") == Decimal("1.5")
    assert by_title["联系电话"].read(13812345678.0) == "13812345678"
    assert by_title["对象类型"].read("独居，失能、重残") == ["独居", "失能", "重残"]
    assert by_title["子女个数"].read(3.0) == 3
    assert all(column.kind != Kind.TEXT or column.choices == () for column in COLUMNS)

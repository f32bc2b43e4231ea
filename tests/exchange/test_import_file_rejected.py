"""A file that cannot be imported at all (not an .xlsx, empty, no header, a
column missing, unknown or twice): a clear message in Chinese on the page,
and nothing stored, not even the job."""

import io

import openpyxl
import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.exchange.models import ImportJob
from tanfang.registry.models import Elder
from tests.exchange.conftest import TITLES, filled, id_number, template_of, workbook


def nothing_stored():
    return (
        not ImportJob.objects.exists()
        and not Elder.objects.exists()
        and not AuditEvent.objects.exclude(action=Action.LOGIN).exists()
    )


def errors_of(response):
    assert response.status_code == 200
    return response.context["form"].errors.as_data()


def file_errors(response):
    return [error.messages[0] for error in errors_of(response).get("file", [])]


def test_it_refuses_a_file_not_named_xlsx(client_for, upload):
    response = upload(client_for("liaison_a"), b"name,id\n", name="台账.csv")

    assert file_errors(response) == [
        "请上传 .xlsx 格式的 Excel 文件；.xls、.csv 等格式请先在 Excel 中“另存为”.xlsx。"
    ]
    assert nothing_stored()


def test_it_refuses_a_csv_renamed_to_xlsx(client_for, upload):
    response = upload(client_for("liaison_a"), "姓名,身份证号码\n林秀英,1\n".encode())

    assert "请上传 .xlsx 格式的 Excel 文件" in file_errors(response)[0]
    assert nothing_stored()


def test_it_refuses_a_zip_that_is_not_a_workbook(client_for, upload):
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")

    response = upload(client_for("liaison_a"), out.getvalue())

    assert file_errors(response) == ["无法读取该文件，请确认它是用 Excel 保存的 .xlsx 文件。"]
    assert nothing_stored()


def test_it_refuses_an_empty_file(client_for, upload):
    response = upload(client_for("liaison_a"), b"")

    assert file_errors(response) == ["文件是空的。"]
    assert nothing_stored()


def test_it_refuses_the_template_with_no_rows(client_for, upload):
    client = client_for("liaison_a")

    response = upload(client, filled(template_of(client), []))

    assert file_errors(response) == ["表头下面没有老年人信息，请填写后再上传。"]
    assert nothing_stored()


def test_it_refuses_a_sheet_without_the_header(client_for, upload):
    response = upload(client_for("liaison_a"), workbook([["林秀英", id_number(1), "村A"]]))

    assert file_errors(response)[0].startswith("找不到表头")
    assert nothing_stored()


def test_it_names_a_missing_required_column(client_for, upload):
    data = workbook([["姓名", "联系电话"], ["林秀英", "13812345678"]])

    response = upload(client_for("liaison_a"), data)

    assert file_errors(response) == ["缺少必填列：身份证号码、居住地村(社区)。"]
    assert nothing_stored()


def test_it_names_an_unknown_column(client_for, upload):
    data = workbook(
        [["姓名", "身份证号码", "居住地村(社区)", "微信号"], ["林秀英", id_number(1), "村A", "x"]]
    )

    response = upload(client_for("liaison_a"), data)

    assert file_errors(response) == [
        "模板中没有这些列：“微信号”（第 D 列）。请使用模板的列名，或删除这些列。"
    ]
    assert nothing_stored()


def test_it_names_a_column_given_twice(client_for, upload):
    data = workbook(
        [["姓名", "身份证号码", "居住地村(社区)", "姓名"], ["林秀英", id_number(1), "村A", "林"]]
    )

    response = upload(client_for("liaison_a"), data)

    assert file_errors(response) == ["列名“姓名”出现了两次（第 A 列和第 D 列）。"]
    assert nothing_stored()


def test_it_names_a_column_with_data_but_no_title(client_for, upload):
    data = workbook(
        [["姓名", "身份证号码", "居住地村(社区)"], ["林秀英", id_number(1), "村A", "备注"]]
    )

    response = upload(client_for("liaison_a"), data)

    assert file_errors(response) == [
        "第 D 列没有列名，但第 2 行有内容。请填上模板中的列名，或删除这一列。"
    ]
    assert nothing_stored()


def test_it_accepts_the_columns_in_any_order_with_a_title_row_and_starred_titles(
    client_for, upload
):
    data = workbook(
        [
            ["石狮市灵秀镇特殊困难老年人台账"],
            ["联系电话", "*居住地村（社区）", "姓名*", "居民身份证号码"],
            ["13812345678", "村A", "林秀英", id_number(1)],
        ]
    )

    upload(client_for("liaison_a"), data)

    assert Elder.objects.get().name == "林秀英"


@pytest.mark.parametrize("mode", ["", "everything"])
def test_it_asks_for_the_mode(mode, client_for, upload):
    response = upload(client_for("liaison_a"), workbook([TITLES[:3]]), mode=mode)

    assert "mode" in errors_of(response)
    assert nothing_stored()


def test_it_refuses_a_broken_workbook(client_for, upload):
    client = client_for("liaison_a")
    data = filled(template_of(client), [])
    broken = data[: len(data) // 2]

    response = upload(client, broken)

    assert file_errors(response) == ["无法读取该文件，请确认它是用 Excel 保存的 .xlsx 文件。"]
    assert nothing_stored()


def test_it_reads_the_first_sheet_when_the_template_sheet_was_renamed(client_for, upload):
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    book.active.append(["姓名", "身份证号码", "居住地村(社区)"])
    book.active.append(["林秀英", id_number(1), "村A"])
    out = io.BytesIO()
    book.save(out)

    upload(client_for("liaison_a"), out.getvalue())

    assert Elder.objects.count() == 1

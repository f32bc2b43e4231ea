"""Excel files in and out: the template, reading an upload, the report of an
import and the ledger export.

Written with openpyxl (styles, drop-downs; the ledger in write-only mode, so
that its memory does not grow with the rows), read with python-calamine,
which reads a 100,000-row sheet in a few seconds where openpyxl takes minutes.
"""

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import python_calamine
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from tanfang.exchange.columns import (
    BY_TITLE,
    COLUMNS,
    REQUIRED,
    Column,
    Kind,
    is_blank,
    normalise_title,
)
from tanfang.regions.models import Region

DATA_SHEET = "老年人信息"
HELP_SHEET = "填写说明"
VILLAGE_SHEET = "村(社区)代码"
MAX_ROWS = 200_000
# The header is looked for in the first rows, under a title a county may have added.
_HEADER_SEARCH = 10
_ZIP_MAGIC = b"PK\x03\x04"

_HEADER_FONT = Font(bold=True)
_REQUIRED_FONT = Font(bold=True, color="B4232A")
_HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
_THIN = Side(style="thin", color="BFBFBF")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="center")
_TEXT_FORMAT = "@"
_DATE_FORMAT = "yyyy-mm-dd"
# Kept as text, so that Excel neither rounds an ID number nor drops a leading 0.
_TEXT_KINDS = {Kind.ID_NUMBER, Kind.PHONE, Kind.VILLAGE, Kind.TEXT}


class FileRejected(Exception):
    """A file that cannot be imported at all; the message is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def village_choice(region: Region) -> str:
    """A village as in the template's drop-down: the code, then the name."""
    return f"{region.code} {region.name}"


# The template -----------------------------------------------------------------------


def template(villages: Sequence[Region]) -> bytes:
    """The template for a user whose villages (in their scope) are `villages`."""
    book = Workbook()
    sheet = book.active
    sheet.title = DATA_SHEET
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=column.title)
        cell.font = _REQUIRED_FONT if column.required else _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = _WRAP
        if column.note:
            cell.comment = Comment(column.note, "探访关爱")
        letter = get_column_letter(index)
        dimension = sheet.column_dimensions[letter]
        dimension.width = column.width
        if column.kind in _TEXT_KINDS:
            dimension.number_format = _TEXT_FORMAT
        elif column.kind == Kind.DATE:
            dimension.number_format = _DATE_FORMAT
        cells = f"{letter}2:{letter}{MAX_ROWS + 1}"
        if column.kind in (Kind.YES_NO, Kind.CHOICE):
            listed = DataValidation(
                type="list",
                formula1='"' + ",".join(column.labels) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=column.title,
                error="请从下拉列表选择：" + "、".join(column.labels),
            )
            listed.add(cells)
            sheet.add_data_validation(listed)
        elif column.kind == Kind.VILLAGE and villages:
            listed = DataValidation(
                type="list",
                formula1=f"'{VILLAGE_SHEET}'!$A$2:$A${len(villages) + 1}",
                allow_blank=True,
                # A code or an exact name typed in is accepted too.
                showErrorMessage=True,
                errorStyle="warning",
                errorTitle=column.title,
                error="不在下拉列表中：请确认是 12 位区划代码或本辖区村(社区)的准确名称。",
            )
            listed.add(cells)
            sheet.add_data_validation(listed)
    sheet.row_dimensions[1].height = 32
    sheet.freeze_panes = "C2"
    _help_sheet(book.create_sheet(HELP_SHEET))
    _village_sheet(book.create_sheet(VILLAGE_SHEET), villages)
    return _saved(book)


HELP_LINES = (
    "每行填写一位老年人。第一行是列名，请勿修改列名；不需要的列可以删除（红色的必填列除外）。",
    "红色列名为必填项：" + "、".join(column.title for column in REQUIRED) + "。",
    "身份证号码一列已设为文本格式，请勿改为数字格式，否则后几位会丢失。"
    "出生日期和性别按身份证号码自动得出，可不填；填写时须与身份证号码一致。",
    "未满 60 周岁的不能登记；同一身份证号码只能有一份在册档案。",
    "“是/否”、能力程度、残疾类别等列请从下拉列表选择。",
    f"居住地村(社区)：从下拉列表选择，或填 12 位区划代码，或本辖区内村(社区)的准确名称；"
    f"“{VILLAGE_SHEET}”工作表列出了您辖区的全部村(社区)。",
    "对象类型可以填多个，用逗号或顿号分隔。",
    "导入时可选择“全部正确才导入”（任何一行有误，整个文件都不导入）或“只导入正确的行”。"
    "导入后可下载逐行报告（行号、列名、问题），改正后重新导入同一文件即可："
    "已在册的老年人会跳过，不会重复建档。",
    "下表为各列的填写说明和示例；示例只在本页，不会被导入。",
)


def _help_sheet(sheet: Any) -> None:
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 10
    sheet.column_dimensions["C"].width = 70
    sheet.column_dimensions["D"].width = 24
    sheet.append(["老年人信息导入模板 填写说明"])
    sheet["A1"].font = Font(bold=True, size=14)
    for number, line in enumerate(HELP_LINES, start=1):
        sheet.append([f"{number}. {line}"])
        sheet.merge_cells(
            start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=4
        )
        sheet.cell(row=sheet.max_row, column=1).alignment = Alignment(wrap_text=True)
        sheet.row_dimensions[sheet.max_row].height = 32
    sheet.append([])
    sheet.append(["列名", "是否必填", "填写说明", "示例"])
    for cell in sheet[sheet.max_row]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    for column in COLUMNS:
        sheet.append([column.title, "必填" if column.required else "", column.note, column.example])
        sheet.cell(row=sheet.max_row, column=4).number_format = _TEXT_FORMAT


def _village_sheet(sheet: Any, villages: Sequence[Region]) -> None:
    sheet.append(["下拉选项", "区划代码", "名称", "所属乡镇(街道)"])
    for cell in sheet[1]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    for region in villages:
        parent = region.parent.name if region.parent else ""
        sheet.append([village_choice(region), region.code, region.name, parent])
    for letter, width in zip("ABCD", (30, 16, 16, 16), strict=True):
        sheet.column_dimensions[letter].width = width
        sheet.column_dimensions[letter].number_format = _TEXT_FORMAT
    sheet.freeze_panes = "A2"


def _saved(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# Reading an upload ----------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    columns: list[tuple[int, Column]]  # (index of the cell in a row, column)
    rows: list[tuple[int, list[Any]]]  # (row number in Excel, cells), blank rows left out


def read_upload(data: bytes) -> Upload:
    """The header and the rows of an uploaded file, or FileRejected with a
    message in Chinese: not an .xlsx, no header, a required column missing, an
    unknown column, or no rows."""
    if not data:
        raise FileRejected("文件是空的。")
    if not data.startswith(_ZIP_MAGIC):
        raise FileRejected(
            "请上传 .xlsx 格式的 Excel 文件（用模板填写后保存）；"
            ".xls、.csv 等其他格式请先在 Excel 中“另存为”.xlsx。"
        )
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        name = DATA_SHEET if DATA_SHEET in book.sheet_names else book.sheet_names[0]
        cells: list[list[Any]] = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except python_calamine.PasswordError:
        raise FileRejected("文件设置了密码，请取消密码后再上传。") from None
    except (python_calamine.CalamineError, IndexError, ValueError):
        raise FileRejected("无法读取该文件，请确认它是用 Excel 保存的 .xlsx 文件。") from None
    header_index = _find_header(cells)
    columns = _columns(cells[header_index])
    rows = [
        (number, row)
        for number, row in enumerate(cells[header_index + 1 :], start=header_index + 2)
        if not all(is_blank(value) for value in row)
    ]
    if not rows:
        raise FileRejected("表头下面没有老年人信息，请填写后再上传。")
    if len(rows) > MAX_ROWS:
        raise FileRejected(f"文件有 {len(rows):,} 行，超过 {MAX_ROWS:,} 行，请分成几个文件导入。")
    _check_untitled(columns, rows)
    return Upload(columns, rows)


def _find_header(cells: list[list[Any]]) -> int:
    for index, row in enumerate(cells[:_HEADER_SEARCH]):
        if sum(normalise_title(value) in BY_TITLE for value in row) >= 2:
            return index
    raise FileRejected(
        f"找不到表头：第一行应为模板中的列名（{'、'.join(c.title for c in COLUMNS[:3])}……），"
        "请下载模板填写。"
    )


def _columns(header: list[Any]) -> list[tuple[int, Column]]:
    found: dict[str, int] = {}
    unknown: list[str] = []
    problems: list[str] = []
    for index, value in enumerate(header):
        if is_blank(value):
            continue
        title = normalise_title(value)
        column = BY_TITLE.get(title)
        if column is None:
            unknown.append(f"“{str(value).strip()}”（第 {get_column_letter(index + 1)} 列）")
        elif column.title in found:
            first = get_column_letter(found[column.title] + 1)
            second = get_column_letter(index + 1)
            problems.append(f"列名“{column.title}”出现了两次（第 {first} 列和第 {second} 列）。")
        else:
            found[column.title] = index
    if unknown:
        problems.append(f"模板中没有这些列：{'、'.join(unknown)}。请使用模板的列名，或删除这些列。")
    missing = [column.title for column in REQUIRED if column.title not in found]
    if missing:
        problems.append(f"缺少必填列：{'、'.join(missing)}。")
    if problems:
        raise FileRejected("".join(problems))
    return [(index, BY_TITLE[normalise_title(header[index])]) for index in found.values()]


def _check_untitled(columns: list[tuple[int, Column]], rows: list[tuple[int, list[Any]]]) -> None:
    """A column with data but no title would be dropped without a word."""
    titled = {index for index, _ in columns}
    width = max(len(row) for _, row in rows)
    untitled = [index for index in range(width) if index not in titled]
    for number, row in rows:
        for index in untitled:
            if index < len(row) and not is_blank(row[index]):
                raise FileRejected(
                    f"第 {get_column_letter(index + 1)} 列没有列名，但第 {number} 行有内容。"
                    "请填上模板中的列名，或删除这一列。"
                )


# The report of an import ------------------------------------------------------------

REPORT_HEADER = ("行号", "姓名", "列", "问题")


def report(entries: Iterable[Sequence[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("导入报告")
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCD", (8, 12, 18, 70), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.append(_header_cells(sheet, REPORT_HEADER))
    for entry in entries:
        sheet.append(list(entry))
    return _saved(book)


def _header_cells(sheet: Any, titles: Iterable[str]) -> list[WriteOnlyCell]:
    cells = []
    for title in titles:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cells.append(cell)
    return cells


# The ledger -------------------------------------------------------------------------

LEDGER_EXTRA = ("状态", "建档日期", "最近核查日期")


def ledger(rows: Iterable[Sequence[Any]], out: Any) -> None:
    """The ledger (台账): the template's columns and `LEDGER_EXTRA`, one row
    per elder, written to the file object `out` as rows come."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("老年人台账")
    sheet.freeze_panes = "C2"
    titles = [column.title for column in COLUMNS] + list(LEDGER_EXTRA)
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    for index in range(len(COLUMNS) + 1, len(titles) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 12
    sheet.append(_header_cells(sheet, titles))
    dates = [index for index, column in enumerate(COLUMNS) if column.kind == Kind.DATE] + [
        len(COLUMNS) + 1,
        len(COLUMNS) + 2,
    ]
    for row in rows:
        values = list(row)
        for index in dates:
            if values[index] is not None:
                cell = WriteOnlyCell(sheet, value=values[index])
                cell.number_format = _DATE_FORMAT
                values[index] = cell
        sheet.append(values)
    book.save(out)

"""The report tables and lists as Excel files (台账 for reporting upwards,
DOMAIN.md "Supervision and reports"): a title with the region and the month,
a styled header, the rows, the totals. Names of elders at most: no phone, no
ID number, no address (NONFUNCTIONAL.md "Masking").

Rates are written as numbers formatted as percentages (0.85 shows 85.0%), so
that they can be sorted and summed in Excel; a rate of nobody is "—".
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from tanfang.regions.models import Level
from tanfang.reports.people import Late, MissedRow
from tanfang.reports.queries import (
    NO_RATE,
    Counts,
    Dimensions,
    Quarter,
    Surge,
    Surges,
    Table,
    TrendPoint,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_TITLE_FONT = Font(bold=True, size=14)
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="B4232A")
_TOTAL_FONT = Font(bold=True)
_TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
_THIN = Side(style="thin", color="BFBFBF")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)
_WRAP = Alignment(vertical="top", wrap_text=True)
_PERCENT = "0.0%"
_DATE = "yyyy-mm-dd"
_DATETIME = "yyyy-mm-dd hh:mm"

# The row of the header; the title and the note above it.
HEADER_ROW = 3

LEVEL_NAMES = {
    Level.CITY: "市",
    Level.COUNTY: "县(区)",
    Level.TOWNSHIP: "乡镇(街道)",
    Level.VILLAGE: "村(社区)",
}


@dataclass(frozen=True)
class Column:
    title: str
    width: int = 12
    kind: str = ""  # "percent", "date", "datetime", "text"


def month_words(month: date) -> str:
    return f"{month.year}年{month.month}月"


def _rate_cell(value: Decimal | None) -> Any:
    return NO_RATE if value is None else float(value / 100)


def _count_cells(counts: Counts) -> list[Any]:
    return [
        counts.counted,
        counts.visited,
        counts.unvisited,
        _rate_cell(counts.visit_rate),
        counts.compliant,
        _rate_cell(counts.compliance_rate),
        counts.declined,
    ]


COUNT_COLUMNS = [
    Column("应探访人数", 11),
    Column("已探访人数", 11),
    Column("未探访人数", 11),
    Column("月探访率", 10, "percent"),
    Column("达标人数", 10),
    Column("达标率", 10, "percent"),
    Column("不愿接受探访", 12),
]


def book(
    *,
    title: str,
    note: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    total: Sequence[Any] | None = None,
    sheet_name: str = "统计表",
) -> bytes:
    """One sheet: the title (row 1), a note (row 2), the header (row 3), the
    rows, and the totals in bold when given."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_name[:31]
    last = get_column_letter(len(columns))
    sheet.append([title])
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].font = _TITLE_FONT
    sheet.row_dimensions[1].height = 24
    sheet.append([note])
    sheet.merge_cells(f"A2:{last}2")
    sheet["A2"].alignment = _WRAP
    sheet.row_dimensions[2].height = 30
    sheet.append([column.title for column in columns])
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=index)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = _CENTRE
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.row_dimensions[HEADER_ROW].height = 30
    for values in rows:
        _append(sheet, columns, values)
    if total is not None:
        _append(sheet, columns, total)
        for cell in sheet[sheet.max_row]:
            cell.font = _TOTAL_FONT
            cell.fill = _TOTAL_FILL
    sheet.freeze_panes = f"B{HEADER_ROW + 1}"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _append(sheet: Any, columns: Sequence[Column], values: Sequence[Any]) -> None:
    sheet.append(list(values))
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=sheet.max_row, column=index)
        cell.border = _BORDER
        if column.kind == "percent" and isinstance(cell.value, float):
            cell.number_format = _PERCENT
        elif column.kind == "date" and isinstance(cell.value, date):
            cell.number_format = _DATE
        elif column.kind == "datetime" and isinstance(cell.value, datetime):
            cell.number_format = _DATETIME
        elif column.kind == "text":
            cell.number_format = "@"
            cell.alignment = _WRAP


def _exported() -> str:
    return f"导出时间：{timezone.localtime():%Y-%m-%d %H:%M}。"


_DEFINITIONS = (
    "月探访率＝当月至少接受一次有效探访的老年人数÷在册且愿意接受探访的老年人数；"
    "达标＝当月到期的每项必须的探访（例行探访、重大变故后探访、规定必须开展的节日和特殊时段探访）"
    "均按时完成或经免除。"
)
_COVERAGE = (
    "节日/天气探访覆盖率＝在节日或特殊时段窗口内得到探访的老年人数÷应在该时段探访的老年人数；"
    "“适当增加”的节日、天气探访只计覆盖率，不影响达标，标明“必须探访”的计入达标。"
)


def _surge_title(surge: Surge) -> str:
    if surge.is_mandatory:
        return f"{surge.label}（必须探访）"
    if surge.partly_mandatory:
        return f"{surge.label}（部分必须探访）"
    return surge.label


def _surge_columns(totals: Sequence[Surge]) -> list[Column]:
    columns = []
    for surge in totals:
        title = _surge_title(surge)
        columns += [
            Column(f"{title}：应探访人数", 12),
            Column(f"{title}：已探访人数", 12),
            Column(f"{title}：覆盖率", 12, "percent"),
        ]
    return columns


def _surge_cells(surges: Sequence[Surge]) -> list[Any]:
    cells: list[Any] = []
    for surge in surges:
        cells += [surge.in_scope, surge.covered, _rate_cell(surge.coverage_rate)]
    return cells


# --- The tables --------------------------------------------------------------------------


def children(
    table: Table, *, region_name: str, dimension_label: str, surges: Surges | None = None
) -> bytes:
    """The table; with `surges`, each child's coverage of the month's
    festivals and declared events beside its compliance."""
    level = LEVEL_NAMES.get(table.level, "下级区划")
    scope = "" if not table.dimension else f"（{dimension_label}）"
    totals = surges.totals if surges is not None else []
    note = f"按{level}统计。{_DEFINITIONS}{_COVERAGE if totals else ''}{_exported()}"
    return book(
        title=f"{region_name} {month_words(table.month)} 特殊困难老年人月探访率统计表{scope}",
        note=note,
        columns=[
            Column(level, 18),
            Column("区划代码", 15, "text"),
            *COUNT_COLUMNS,
            *_surge_columns(totals),
        ],
        rows=[
            [
                row.name,
                row.code,
                *_count_cells(row.counts),
                *_surge_cells(surges.of(row.code) if surges is not None else []),
            ]
            for row in table.rows
        ],
        total=["合计", "", *_count_cells(table.total), *_surge_cells(totals)],
    )


def dimensions(dims: Dimensions, *, region_name: str, month: date) -> bytes:
    rows = [["分级", row.label, *_count_cells(row.counts)] for row in dims.tiers]
    rows += [["对象类型", row.label, *_count_cells(row.counts)] for row in dims.categories]
    return book(
        title=f"{region_name} {month_words(month)} 月探访率（按分级、对象类型）",
        note=f"一位老年人属于多个对象类型的，在每个类型中各计一次。{_DEFINITIONS}{_exported()}",
        columns=[Column("分组", 10), Column("名称", 18), *COUNT_COLUMNS],
        rows=rows,
    )


def missed(rows: Sequence[MissedRow], *, region_name: str, month: date) -> bytes:
    return book(
        title=f"{region_name} {month_words(month)} 未探访、未达标老年人名单",
        note=f"共 {len(rows)} 人。{_exported()}",
        columns=[
            Column("序号", 6),
            Column("姓名", 10),
            Column("分级", 10),
            Column("对象类型", 16, "text"),
            Column("情况", 8),
            Column("有效探访次数", 12),
            Column("未达标原因", 40, "text"),
            Column("最近探访时间", 17, "datetime"),
            Column("最近探访方式", 14),
            Column("包干探访人员", 18, "text"),
        ],
        rows=[
            [
                number,
                row.name,
                row.tier,
                "、".join(row.categories),
                row.status,
                row.visits,
                "；".join(row.missing),
                timezone.localtime(row.last_visit_at).replace(tzinfo=None)
                if row.last_visit_at
                else "无",
                row.last_visit_mode,
                "、".join(row.visitors) or "未落实",
            ]
            for number, row in enumerate(rows, start=1)
        ],
        sheet_name="名单",
    )


def trend(points: Sequence[TrendPoint], *, region_name: str, dimension_label: str) -> bytes:
    scope = "" if dimension_label == "全部" else f"（{dimension_label}）"
    first, last = points[0].month, points[-1].month
    return book(
        title=f"{region_name} 月探访率趋势{scope} {month_words(first)}至{month_words(last)}",
        note=f"{_DEFINITIONS}{_exported()}",
        columns=[Column("月份", 10), *COUNT_COLUMNS],
        rows=[[f"{p.month:%Y-%m}", *_count_cells(p.counts)] for p in points],
        sheet_name="趋势",
    )


def quarter(summary: Quarter, *, region_name: str) -> bytes:
    level = LEVEL_NAMES.get(summary.level, "下级区划")
    columns = [Column(level, 18), Column("区划代码", 15, "text")]
    for month in summary.months:
        columns += [
            Column(f"{month.month}月应探访", 10),
            Column(f"{month.month}月已探访", 10),
            Column(f"{month.month}月探访率", 10, "percent"),
            Column(f"{month.month}月达标率", 10, "percent"),
        ]
    columns += [
        Column("季度应探访人次", 12),
        Column("季度已探访人次", 12),
        Column("季度探访率", 10, "percent"),
        Column("人次达标率", 10, "percent"),
        Column(f"{summary.reference.month}月应探访人数", 12),
        Column("季内各月均达标人数", 12),
        Column("季度达标率", 10, "percent"),
    ]

    def cells(per_month: Sequence[Counts], total: Counts, quarter: Counts) -> list[Any]:
        values: list[Any] = []
        for counts in [*per_month, total]:
            values += [
                counts.counted,
                counts.visited,
                _rate_cell(counts.visit_rate),
                _rate_cell(counts.compliance_rate),
            ]
        return [
            *values,
            quarter.counted,
            quarter.quarter_compliant,
            _rate_cell(quarter.quarter_compliance_rate),
        ]

    return book(
        title=f"{region_name} {summary.year}年第{summary.quarter}季度 探访关爱情况调度表",
        note=(
            "按月更新，按季调度。季度探访率＝三个月已探访人次之和÷三个月应探访人次之和；"
            "人次达标率＝三个月达标人次之和÷应探访人次之和；"
            f"季度达标率＝{summary.reference.month}月应探访的老年人中，本季度计入应探访的"
            f"每个月均达标的人数÷{summary.reference.month}月应探访人数。{_exported()}"
        ),
        columns=columns,
        rows=[
            [row.name, row.code, *cells(row.months, row.total, row.quarter)] for row in summary.rows
        ],
        total=["合计", "", *cells(summary.totals, summary.total, summary.quarter_total)],
        sheet_name="季度调度",
    )


def late(found: Late, *, region_name: str, today: date) -> bytes:
    rows = found.rows
    shown = f"（列出前 {len(rows)} 条）" if found.total > len(rows) else ""
    return book(
        title=f"{region_name} 逾期、未完成探访任务 {today:%Y-%m-%d}",
        note=f"已逾期 {found.overdue} 条，本月未完成 {found.missed} 条{shown}。{_exported()}",
        columns=[
            Column("序号", 6),
            Column("姓名", 10),
            Column("村(社区)", 16),
            Column("探访任务", 18),
            Column("开始日期", 11, "date"),
            Column("截止日期", 11, "date"),
            Column("最迟日期", 11, "date"),
            Column("状态", 8),
            Column("包干探访人员", 18, "text"),
        ],
        rows=[
            [
                number,
                row.task.elder.name,
                row.task.elder.village.name,
                row.task.label,
                row.task.window_start,
                row.task.deadline,
                row.task.window_end,
                "已逾期" if row.overdue else "未完成",
                "、".join(row.visitors) or "未落实",
            ]
            for number, row in enumerate(rows, start=1)
        ],
        sheet_name="逾期任务",
    )

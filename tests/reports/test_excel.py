"""Excel files of the report tables and lists (issue 6: "Excel export of each
table and list"; 台账 for reporting upwards, DOMAIN.md "Supervision and
reports"): a title with the region and the month, a styled header, the rows
and the totals, rates as percentages, names at most (no phone, no ID number),
and an audit entry for each export. The clock stands on 2026-11-23.
"""

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import crypto
from tanfang.visits.models import VisitTask
from tests.conftest import COUNTY, OTHER_COUNTY, TOWNSHIP_A, VILLAGE_A, VILLAGE_B, aware
from tests.reports.fill import counter, elder_month, visit_on
from tests.visits.factories import assign, make_elder, make_task, make_visitor

NOVEMBER = date(2026, 11, 1)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def counted(regions):
    counter(
        VILLAGE_A, NOVEMBER, counted=10, visited=8, compliant=6, declined=1, quarter_compliant=4
    )
    counter(VILLAGE_B, NOVEMBER, counted=5, visited=5, compliant=5)
    counter(VILLAGE_A, date(2026, 10, 1), counted=10, visited=10, compliant=9)
    counter(VILLAGE_A, NOVEMBER, "tier:key", counted=4, visited=2, compliant=1)
    counter(VILLAGE_A, NOVEMBER, "category:独居", counted=3, visited=2, compliant=2)


def sheet_of(response):
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    return load_workbook(io.BytesIO(response.content)).active


def rows_of(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def exports():
    return list(AuditEvent.objects.filter(action=Action.REPORT_EXPORTED).order_by("pk"))


def test_it_exports_the_table_of_a_county(client_for, counted, users):
    response = client_for("county").get("/reports/?month=2026-11&format=xlsx&table=children")

    sheet = sheet_of(response)
    rows = rows_of(sheet)
    assert rows[0][0] == "石狮市 2026年11月 特殊困难老年人月探访率统计表"
    assert "月探访率＝" in rows[1][0]
    assert rows[2] == [
        "乡镇(街道)",
        "区划代码",
        "应探访人数",
        "已探访人数",
        "未探访人数",
        "月探访率",
        "达标人数",
        "达标率",
        "不愿接受探访",
    ]
    assert rows[3] == ["灵秀镇", TOWNSHIP_A, 10, 8, 2, 0.8, 6, 0.6, 1]
    assert rows[4][:6] == ["宝盖镇", "350581101000", 5, 5, 0, 1.0]
    assert rows[5][0] == "合计"
    assert rows[5][2:] == [15, 13, 2, pytest.approx(0.867), 11, pytest.approx(0.733), 1]
    # Styled: a bold white header on a coloured fill, rates as percentages.
    assert sheet["A3"].font.bold
    assert sheet["A3"].fill.fgColor.rgb.endswith("B4232A")
    assert sheet["F4"].number_format == "0.0%"
    assert sheet["A6"].font.bold
    assert "%E6%9C%88%E6%8E%A2%E8%AE%BF%E7%8E%87" in response["Content-Disposition"]
    (event,) = exports()
    assert event.actor == users["county"]
    assert event.region_code == COUNTY
    assert event.detail == {"report": "children", "month": "2026-11", "by": ""}


def test_it_exports_the_table_as_sorted_on_the_page(client_for, counted):
    response = client_for("county").get("/reports/?sort=-counted&format=xlsx")

    rows = rows_of(sheet_of(response))
    assert [row[0] for row in rows[3:5]] == ["灵秀镇", "宝盖镇"]
    response = client_for("county").get("/reports/?sort=counted&format=xlsx")
    assert [row[0] for row in rows_of(sheet_of(response))[3:5]] == ["宝盖镇", "灵秀镇"]


def test_it_writes_a_dash_for_nobody_counted(client_for, counted):
    response = client_for("county").get("/reports/?by=tier:key&format=xlsx&table=children")

    rows = rows_of(sheet_of(response))
    assert rows[0][0].endswith("（重点对象）")
    assert rows[4] == ["宝盖镇", "350581101000", 0, 0, 0, "—", 0, "—", 0]


def test_it_exports_the_tiers_and_categories(client_for, counted):
    response = client_for("county").get("/reports/?by=tier&format=xlsx")

    rows = rows_of(sheet_of(response))
    assert rows[0][0] == "石狮市 2026年11月 月探访率（按分级、对象类型）"
    assert rows[3][:4] == ["分级", "重点对象", 4, 2]
    assert ["对象类型", "独居", 3, 2, 1, pytest.approx(0.667), 2, pytest.approx(0.667), 0] in rows
    assert exports()[0].detail["report"] == "dimensions"


def test_it_exports_the_trend(client_for, counted):
    response = client_for("county").get("/reports/?format=xlsx&table=trend")

    rows = rows_of(sheet_of(response))
    assert rows[0][0] == "石狮市 月探访率趋势 2025年12月至2026年11月"
    assert [row[0] for row in rows[3:]] == [
        f"{year}-{month:02d}" for year, month in [(2025, 12)] + [(2026, m) for m in range(1, 12)]
    ]
    assert rows[-1][1:4] == [15, 13, 2]
    assert rows[-2][1:4] == [10, 10, 0]


def test_it_exports_a_villages_missed_elders_without_phone_or_id(
    client_for, users, regions, counted
):
    visitor = make_visitor(users, regions)
    never = make_elder(users, regions, 1, phone="13812345678")
    short = make_elder(users, regions, 2)
    assign(users, never, visitor)
    visit_on(users, short, visitor, aware(2026, 11, 5, 9, 30), mode="phone")
    elder_month(never, NOVEMBER, tier="key", missing=["上半月缺上门探访", "下半月缺上门探访"])
    elder_month(short, NOVEMBER, visited=True, visits=1, missing=["重阳节探访未完成"])

    response = client_for("liaison_a").get("/reports/?format=xlsx")

    sheet = sheet_of(response)
    rows = rows_of(sheet)
    assert rows[0][0] == "村A 2026年11月 未探访、未达标老年人名单"
    assert rows[2][:7] == ["序号", "姓名", "分级", "对象类型", "情况", "有效探访次数", "未达标原因"]
    assert rows[3][:7] == [
        1,
        "老人1",
        "重点对象",
        None,
        "未探访",
        0,
        "上半月缺上门探访；下半月缺上门探访",
    ]
    assert rows[3][7:] == ["无", None, "林秀英"]
    assert rows[4][1] == "老人2"
    assert rows[4][6] == "重阳节探访未完成"
    assert rows[4][7].strftime("%Y-%m-%d %H:%M") == "2026-11-05 09:30"
    assert rows[4][8] == "电话探访"
    assert rows[4][9] == "未落实"
    id_number = crypto.decrypt(never.id_number_token)
    text = " ".join(str(cell) for row in rows for cell in row)
    assert "13812345678" not in text
    assert id_number not in text
    assert id_number[-4:] not in text
    (event,) = exports()
    assert event.region_code == VILLAGE_A
    assert event.detail == {"report": "missed", "month": "2026-11", "by": "", "count": 2}


def test_it_refuses_the_missed_list_above_a_village_in_chinese(client_for, counted):
    response = client_for("county").get("/reports/?format=xlsx&table=missed")

    assert response.status_code == 400
    assert "未探访名单只能按村(社区)导出" in response.content.decode()
    assert exports() == []


def test_it_exports_the_quarter(client_for, counted):
    response = client_for("county").get(f"/reports/{COUNTY}/quarter/?year=2026&q=4&format=xlsx")

    rows = rows_of(sheet_of(response))
    assert rows[0][0] == "石狮市 2026年第4季度 探访关爱情况调度表"
    assert rows[2][2:6] == ["10月应探访", "10月已探访", "10月探访率", "10月达标率"]
    assert rows[2][14:] == [
        "季度应探访人次",
        "季度已探访人次",
        "季度探访率",
        "人次达标率",
        "11月应探访人数",
        "季内各月均达标人数",
        "季度达标率",
    ]
    assert rows[3][:2] == ["灵秀镇", TOWNSHIP_A]
    assert rows[3][2:6] == [10, 10, 1.0, 0.9]
    assert rows[3][10:14] == [0, 0, "—", "—"]
    assert rows[3][14:18] == [20, 18, 0.9, 0.75]
    # The quarter runs: its compliance is read in November, today's month.
    assert rows[3][18:] == [10, 4, 0.4]
    assert rows[5][0] == "合计"
    assert rows[5][14:18] == [25, 23, 0.92, 0.8]
    assert rows[5][18:] == [15, 4, pytest.approx(0.267)]
    assert exports()[0].detail == {"report": "quarter", "year": 2026, "quarter": 4}


def test_it_exports_the_late_tasks(client_for, users, regions):
    late = make_elder(users, regions, 1)
    VisitTask.objects.all().delete()
    make_task(
        late, date(2026, 11, 16), date(2026, 11, 20), date(2026, 11, 30), label="下半月上门探访"
    )

    response = client_for("county").get(f"/reports/{COUNTY}/late/?format=xlsx")

    rows = rows_of(sheet_of(response))
    assert rows[0][0] == "石狮市 逾期、未完成探访任务 2026-11-23"
    assert rows[3][:4] == [1, "老人1", "村A", "下半月上门探访"]
    assert rows[3][5].date() == date(2026, 11, 20)
    assert rows[3][7:] == ["已逾期", "未落实"]
    assert exports()[0].detail == {"report": "late", "day": "2026-11-23", "count": 1}


def test_it_writes_no_file_and_no_entry_outside_the_subtree(client_for, counted):
    client = client_for("township_a")

    assert client.get(f"/reports/{OTHER_COUNTY}/?format=xlsx").status_code == 404
    assert client.get(f"/reports/{VILLAGE_B}/?format=xlsx").status_code == 404
    assert client.get(f"/reports/{COUNTY}/quarter/?format=xlsx").status_code == 404
    assert exports() == []

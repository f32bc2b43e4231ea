"""Bad input in an imported file (issue 3, "Bad input"): each row in error is
reported with its row number, the column's title and the registry's own
message in Chinese; in "全部正确才导入" mode nothing at all is stored."""

from datetime import date

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.exchange.models import State
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder, ElderCategory
from tests.conftest import OTHER_VILLAGE, TOWNSHIP_A, VILLAGE_A, VILLAGE_B
from tests.exchange.conftest import filled, id_number, last_job, report_of, row, template_of


def _bad_checksum() -> str:
    good = id_number(3)
    return good[:-1] + ("0" if good[-1] != "0" else "1")


# (what is wrong, cells of row 3, column, part of the message)
BAD_ROWS = [
    ("bad checksum", {"身份证号码": _bad_checksum()}, "身份证号码", "身份证号码校验位不正确"),
    ("not 18 characters", {"身份证号码": "35058119400308"}, "身份证号码", "应为 18 位"),
    (
        "ID number saved as a number",
        {"身份证号码": 350581194003080000},
        "身份证号码",
        "被存成了数字",
    ),
    (
        "birth date in the future",
        {"身份证号码": make_id_number("350581", date(2027, 1, 1), 3, "女")},
        "身份证号码",
        "出生日期无效",
    ),
    (
        "birth date not the ID's",
        {"出生日期": date(1941, 3, 8)},
        "出生日期",
        "出生日期与身份证号码不一致（身份证为 1940年3月8日）",
    ),
    ("sex not the ID's", {"性别": "男"}, "性别", "性别与身份证号码不一致（身份证为女）"),
    (
        "under 60",
        {"身份证号码": make_id_number("350581", date(1970, 1, 1), 3, "男")},
        "身份证号码",
        "未满 60 周岁",
    ),
    ("not a phone number", {"联系电话": "12345"}, "联系电话", "请输入正确的手机号码或固定电话"),
    (
        "village of another village",
        {"居住地村(社区)": VILLAGE_B},
        "居住地村(社区)",
        "该村(社区)不在您的管辖范围内",
    ),
    (
        "village of another county",
        {"居住地村(社区)": OTHER_VILLAGE},
        "居住地村(社区)",
        "该村(社区)不在您的管辖范围内",
    ),
    (
        "village name outside the scope",
        {"居住地村(社区)": "村B"},
        "居住地村(社区)",
        "您的辖区内没有名为“村B”的村(社区)",
    ),
    (
        "no such code",
        {"居住地村(社区)": "350581100299"},
        "居住地村(社区)",
        "找不到区划代码为 350581100299 的村(社区)",
    ),
    (
        "a township, not a village",
        {"居住地村(社区)": TOWNSHIP_A},
        "居住地村(社区)",
        "请选择村(社区)一级的区划",
    ),
    ("no name", {"姓名": None}, "姓名", "请填写姓名"),
    ("no ID number", {"身份证号码": None}, "身份证号码", "请填写身份证号码"),
    ("no village", {"居住地村(社区)": None}, "居住地村(社区)", "请填写居住地村(社区)"),
    ("name too long", {"姓名": "林" * 51}, "姓名", "50"),
    ("not a listed choice", {"能力程度": "半失能"}, "能力程度", "“半失能”不是可选的值"),
    ("not yes or no", {"低保": "也许"}, "低保", "请填“是”或“否”"),
    ("not a date", {"出生日期": "去年"}, "出生日期", "“去年”不是有效日期"),
    ("not an amount", {"月可支配收入(元)": "很多"}, "月可支配收入(元)", "不是金额"),
    ("not a whole number", {"子女个数": "两个"}, "子女个数", "不是整数"),
    ("unknown category", {"对象类型": "独居、贫困"}, "对象类型", "未知的对象类型：贫困"),
    ("grade out of range", {"残疾等级": "5级"}, "残疾等级", "不是可选的值"),
]


@pytest.mark.parametrize(
    ("case", "cells", "column", "message"), BAD_ROWS, ids=[c[0] for c in BAD_ROWS]
)
def test_it_names_row_column_and_problem_and_stores_nothing(
    case, cells, column, message, client_for, upload
):
    client = client_for("liaison_a")
    rows = [row(2, "村A"), {**row(3, "村A"), **cells}]

    upload(client, filled(template_of(client), rows), mode="whole_file")

    job = last_job()
    assert job.state == State.REJECTED
    assert (job.rows_ok, job.rows_failed, job.rows_skipped) == (0, 1, 0)
    entries = report_of(job)
    assert [(r, c) for r, c, _ in entries] == [(3, column)], entries
    assert message in entries[0][2]
    assert "未导入任何一行" in job.message
    assert not Elder.objects.exists()
    assert not ElderCategory.objects.exists()
    imported = AuditEvent.objects.get(action=Action.ELDERS_IMPORTED)
    assert (imported.detail["state"], imported.detail["created"]) == ("rejected", 0)
    assert not AuditEvent.objects.filter(action=Action.ELDER_REGISTERED).exists()


def test_it_reports_a_duplicate_id_number_inside_the_file(client_for, upload):
    client = client_for("liaison_a")
    rows = [row(2, "村A"), row(3, "村A"), {**row(4, "村A"), "身份证号码": id_number(2)}]

    upload(client, filled(template_of(client), rows))

    job = last_job()
    assert report_of(job) == [(4, "身份证号码", "与第 2 行的身份证号码重复。")]
    assert job.state == State.REJECTED
    assert not Elder.objects.exists()


def test_it_reports_every_problem_of_a_row_in_the_order_of_the_columns(client_for, upload):
    client = client_for("liaison_a")
    rows = [{**row(2, "村A"), "联系电话": "12345", "低保": "也许", "对象类型": "贫困"}]

    upload(client, filled(template_of(client), rows))

    assert [column for _, column, _ in report_of(last_job())] == ["联系电话", "低保", "对象类型"]


def test_it_skips_a_row_already_registered_without_rejecting_the_file(
    client_for, users, regions, upload
):
    from tanfang.registry.registration import register_elder

    register_elder(
        acting_user=users["liaison_a"],
        id_number=id_number(3),
        name="老人003",
        village=regions[VILLAGE_A],
    )
    client = client_for("liaison_a")

    upload(client, filled(template_of(client), [row(2, "村A"), row(3, "村A")]), mode="whole_file")

    job = last_job()
    assert job.state == State.DONE
    assert (job.rows_ok, job.rows_skipped, job.rows_failed) == (1, 1, 0)
    assert report_of(job) == [(3, "身份证号码", "已在册，未导入")]
    assert Elder.objects.count() == 2


def test_it_shows_the_report_on_the_page(client_for, upload):
    client = client_for("liaison_a")
    upload(client, filled(template_of(client), [{**row(2, "村A"), "联系电话": "12345"}]))

    page = client.get(f"/exchange/elders/imports/{last_job().pk}/").content.decode()

    assert (
        "<td>2</td><td>老人002</td><td>联系电话</td><td>请输入正确的手机号码或固定电话（含区号）</td>"
        in page
    )
    assert "有 1 行有误" in page

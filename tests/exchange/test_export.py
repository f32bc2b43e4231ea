"""Exporting the ledger (台账) of the subtree a user can see: the template's
columns and the status, categories and dates, the ID number, phones,
addresses and certificate masked; audited; a fixed number of queries."""

import io
from datetime import date

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tanfang.audit.models import Action, AuditEvent
from tanfang.exchange.columns import COLUMNS
from tanfang.exchange.sheets import LEDGER_EXTRA
from tanfang.registry.actions import change_status
from tanfang.registry.models import Status
from tanfang.registry.registration import register_elder
from tests.conftest import TOWNSHIP_A, VILLAGE_A, VILLAGE_B
from tests.exchange.conftest import id_number

URL = "/exchange/elders/export/"


def make(users, regions, sequence, village=VILLAGE_A, **details):
    registrar = "liaison_a" if village == VILLAGE_A else "liaison_b"
    return register_elder(
        acting_user=users[registrar],
        id_number=id_number(sequence),
        name=f"老人{sequence:03d}",
        village=regions[village],
        phone=f"1381234{sequence:04d}",
        **details,
    )


def ledger(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_it_exports_the_template_columns_and_more_with_secrets_masked(client_for, users, regions):
    make(
        users,
        regions,
        1,
        residence_address="南洋路18号",
        registration_village=regions[VILLAGE_B],
        disability_certificate=id_number(1) + "42",
        disability_grade=2,
        ability="moderate",
        minimum_living=True,
        has_spouse=False,
        categories=["独居", "失能"],
    )

    response = client_for("liaison_a").post(URL)

    (elder,) = ledger(response)
    assert list(elder) == [column.title for column in COLUMNS] + list(LEDGER_EXTRA)
    number = id_number(1)
    assert elder["姓名"] == "老人001"
    assert elder["身份证号码"] == number[:6] + "********" + number[-4:]
    assert (
        elder["残疾证号"] == number[:6] + "**********" + "0042"[-4:]
        or elder["残疾证号"].count("*") == 10
    )
    assert elder["联系电话"] == "138****0001"
    assert elder["居住地址"] == "南洋路****"
    assert elder["居住地村(社区)"] == f"{VILLAGE_A} 村A"
    assert elder["户籍地村(社区)"] == f"{VILLAGE_B} 村B"
    assert (elder["性别"], elder["出生日期"].date()) == ("女", date(1940, 3, 8))
    assert (elder["能力程度"], elder["残疾等级"], elder["低保"], elder["有配偶"]) == (
        "中度失能",
        "2级",
        "是",
        "否",
    )
    assert (elder["失智"], elder["同意拍照"], elder["农村户籍"]) == ("否", "否", None)
    assert elder["患有可能危及生命的慢性病"] == "否"
    assert elder["对象类型"] == "独居、失能"
    assert (elder["状态"], elder["建档日期"].date(), elder["最近核查日期"]) == (
        "在册",
        date(2026, 11, 23),
        None,
    )
    text = str(elder)
    assert number not in text and "13812340001" not in text and "18号" not in text


def test_it_exports_only_the_users_subtree(client_for, users, regions):
    make(users, regions, 1)
    make(users, regions, 2, village=VILLAGE_B)

    names_a = [row["姓名"] for row in ledger(client_for("liaison_a").post(URL))]
    names_county = [row["姓名"] for row in ledger(client_for("county").post(URL))]

    assert names_a == ["老人001"]
    assert names_county == ["老人001", "老人002"]


def test_it_applies_the_filters_of_the_list_page(client_for, users, regions):
    make(users, regions, 1, categories=["独居"])
    make(users, regions, 2, categories=["空巢"])
    gone = make(users, regions, 3, village=VILLAGE_B, categories=["独居"])
    change_status(
        acting_user=users["liaison_b"],
        elder=gone,
        to_status=Status.DECEASED,
        effective_on=date(2026, 11, 1),
        reason="病故",
    )
    client = client_for("county")

    def names(**filters):
        return [row["姓名"] for row in ledger(client.post(URL, filters))]

    assert names() == ["老人001", "老人002"]
    assert names(category="独居") == ["老人001"]
    assert names(category="独居", status="all") == ["老人001", "老人003"]
    assert names(status="deceased") == ["老人003"]
    assert names(subtree=TOWNSHIP_A) == ["老人001", "老人002"]


def test_it_records_who_exported_what(client_for, users, regions):
    make(users, regions, 1)

    client_for("township_a").post(URL, {"subtree": VILLAGE_A, "q": id_number(1)})

    event = AuditEvent.objects.get(action=Action.ELDERS_EXPORTED)
    assert (event.actor, event.region_code) == (users["township_a"], VILLAGE_A)
    assert event.detail == {
        "filters": {
            "q": "*" * 18,
            "subtree": VILLAGE_A,
            "category": "",
            "status": "active",
            "review": "",
            "warnings": "",
        },
        "count": 0,
    }


def test_it_shows_the_count_before_downloading_and_records_nothing(client_for, users, regions):
    make(users, regions, 1)
    make(users, regions, 2)

    response = client_for("liaison_a").get(URL, {"category": ""})

    assert response.status_code == 200
    assert response.context["count"] == 2
    assert "共 <strong>2</strong> 人" in response.content.decode()
    assert not AuditEvent.objects.filter(action=Action.ELDERS_EXPORTED).exists()


def test_it_refuses_a_region_outside_the_scope(client_for, users, regions):
    response = client_for("liaison_a").post(URL, {"subtree": VILLAGE_B})

    assert response.status_code == 200
    assert "区划代码不存在或不在您的管辖范围内" in response.content.decode()
    assert not AuditEvent.objects.filter(action=Action.ELDERS_EXPORTED).exists()


@pytest.mark.parametrize("elders", [2, 7])
def test_it_reads_the_ledger_in_a_fixed_number_of_queries(elders, client_for, users, regions):
    for sequence in range(1, elders + 1):
        make(users, regions, sequence, categories=["独居", "失能"])
    client = client_for("county")

    with CaptureQueriesContext(connection) as queries:
        rows = ledger(client.post(URL))

    assert len(rows) == elders
    # Session, user, OTP device, the user's region (the file's name); the elders
    # with their villages, their categories; the audit entry; the session saved
    # in a savepoint.
    assert len(queries) == 10, "\n".join(q["sql"][:100] for q in queries.captured_queries)

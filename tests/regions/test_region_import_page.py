"""`/regions/import/`: the system administrator uploads a CSV and reads the report."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tanfang.audit.models import Action, AuditEvent
from tanfang.regions.actions import RowError
from tanfang.regions.models import Kind, Level, Region
from tests.conftest import COUNTY, OTHER_VILLAGE, PROVINCE, TOWNSHIP_A, VILLAGE_A
from tests.regions.conftest import NOW, csv_text, tree_state


def upload(text: str, name: str = "regions.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def test_it_shows_the_form_to_the_system_administrator(client_for):
    response = client_for("sysadmin").get("/regions/import/")

    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.content.decode()


@pytest.mark.parametrize(
    "username", ["county", "township_a", "liaison_a", "supervisor", "secadmin", "auditor"]
)
def test_it_refuses_everyone_but_the_system_administrator(client_for, username):
    client = client_for(username)
    before = tree_state()

    assert client.get("/regions/import/").status_code == 403
    response = client.post("/regions/import/", {"file": upload(csv_text("350581100202,新村,"))})

    assert response.status_code == 403
    assert tree_state() == before


def test_it_imports_the_file_and_shows_the_summary(now, client_for):
    text = csv_text("350581100202,新村,", "350581100003,新社区,居", f"{VILLAGE_A},村A,")

    response = client_for("sysadmin").post(
        "/regions/import/", {"file": upload(text, name="灵秀镇2026.csv")}
    )

    assert response.status_code == 200
    assert "新增 2 个，更新 0 个，未变 1 个" in response.content.decode()
    village = Region.objects.get(code="350581100202")
    assert (village.level, village.kind, village.parent_id) == (
        Level.VILLAGE,
        Kind.RURAL,
        TOWNSHIP_A,
    )
    assert Region.objects.get(code="350581100003").kind == Kind.URBAN
    event = AuditEvent.objects.get(action=Action.REGIONS_IMPORTED)
    assert event.action == Action.REGIONS_IMPORTED
    assert event.at == NOW
    assert event.username == "sysadmin"
    assert event.ip_address == "127.0.0.1"
    assert event.detail["source"] == "灵秀镇2026.csv"


def test_it_reads_an_upload_with_a_byte_order_mark(client_for):
    response = client_for("sysadmin").post(
        "/regions/import/", {"file": upload(csv_text("350581100202,新村,"), encoding="utf-8-sig")}
    )

    assert response.context["summary"].created == 1
    assert Region.objects.filter(code="350581100202").exists()


def test_it_shows_every_bad_row_and_writes_nothing(client_for):
    client = client_for("sysadmin")
    before = tree_state()
    text = csv_text("350581100202,新村,", "3505811002,短码,", f"{TOWNSHIP_A},灵秀镇,农村")

    response = client.post("/regions/import/", {"file": upload(text)})

    assert response.status_code == 200
    assert response.context["errors"] == [
        RowError(3, "3505811002", "代码应为 12 位数字"),
        RowError(4, TOWNSHIP_A, "城乡属性只适用于村(社区)级"),
    ]
    body = response.content.decode()
    assert "文件被拒绝：2 行有误，未导入任何数据" in body
    assert "<td>3</td><td>3505811002</td><td>代码应为 12 位数字</td>" in body
    assert "summary" not in response.context
    assert tree_state() == before


def test_it_rejects_rows_outside_the_administrators_subtree(client_for):
    client = client_for("sysadmin")
    before = tree_state()
    text = csv_text(
        f"{PROVINCE},福建省,", "350581100202,新村,", f"{OTHER_VILLAGE},村C,", "350582100202,新C,"
    )

    response = client.post("/regions/import/", {"file": upload(text)})

    assert response.context["errors"] == [
        RowError(2, PROVINCE, "不在您的管辖范围内"),
        RowError(4, OTHER_VILLAGE, "不在您的管辖范围内"),
        RowError(5, "350582100202", "不在您的管辖范围内"),
    ]
    assert tree_state() == before


def test_it_rejects_the_first_county_for_the_administrator_of_the_second(client_for):
    client = client_for("sysadmin_other")
    before = tree_state()

    response = client.post("/regions/import/", {"file": upload(csv_text("350581100202,新村,"))})

    assert response.context["errors"] == [RowError(2, "350581100202", "不在您的管辖范围内")]
    assert tree_state() == before


def test_it_reports_rows_outside_the_subtree_together_with_the_other_bad_rows(client_for):
    text = csv_text(
        f"{OTHER_VILLAGE},村C,",  # 2: outside
        "3505811002,短码,",  # 3: ten digits
        "350581109201,孤村,",  # 4: no parent
    )

    response = client_for("sysadmin").post("/regions/import/", {"file": upload(text)})

    assert response.context["errors"] == [
        RowError(2, OTHER_VILLAGE, "不在您的管辖范围内"),
        RowError(3, "3505811002", "代码应为 12 位数字"),
        RowError(4, "350581109201", "上级区划 350581109000 不存在"),
    ]


def test_it_reports_a_bad_header(client_for):
    response = client_for("sysadmin").post(
        "/regions/import/", {"file": upload("代码,名称\n350581100202,新村\n")}
    )

    assert response.context["errors"] == [RowError(1, "", "表头应为 code,name 或 code,name,kind")]


def test_it_rejects_a_rename_unless_the_box_is_ticked(client_for):
    client = client_for("sysadmin")
    before = tree_state()
    text = csv_text(f"{TOWNSHIP_A},灵秀街道,")

    response = client.post("/regions/import/", {"file": upload(text)})

    assert [error.row for error in response.context["errors"]] == [2]
    assert tree_state() == before


def test_it_applies_a_rename_when_the_box_is_ticked(client_for):
    text = csv_text(f"{TOWNSHIP_A},灵秀街道,")

    response = client_for("sysadmin").post(
        "/regions/import/", {"file": upload(text), "apply_renames": "on"}
    )

    assert response.context["summary"].changed == 1
    assert Region.objects.get(code=TOWNSHIP_A).name == "灵秀街道"
    event = AuditEvent.objects.get(action=Action.REGIONS_IMPORTED)
    assert event.region_code == TOWNSHIP_A
    assert event.detail["renames"] == [[TOWNSHIP_A, "灵秀镇", "灵秀街道"]]


def test_it_refuses_a_file_that_is_not_utf8(client_for):
    client = client_for("sysadmin")
    before = tree_state()

    response = client.post(
        "/regions/import/", {"file": upload(csv_text("350581100202,新村,"), encoding="gb18030")}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"file": ["文件不是 UTF-8 编码的 CSV。"]}
    assert tree_state() == before


def test_it_asks_for_a_file(client_for):
    # A browser sends the form's other fields even when no file was chosen.
    response = client_for("sysadmin").post("/regions/import/", {"apply_renames": "on"})

    assert "file" in response.context["form"].errors
    assert not AuditEvent.objects.filter(action=Action.REGIONS_IMPORTED).exists()


def test_it_lets_the_administrator_rename_their_own_county(client_for):
    text = csv_text(f"{COUNTY},石狮县,")

    client_for("sysadmin").post("/regions/import/", {"file": upload(text), "apply_renames": "on"})

    assert Region.objects.get(code=COUNTY).name == "石狮县"

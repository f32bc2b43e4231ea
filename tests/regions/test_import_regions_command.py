"""`manage.py import_regions FILE.csv [--apply-renames]`."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tanfang.audit.models import AuditEvent
from tanfang.regions.models import Region
from tests.conftest import COUNTY, TOWNSHIP_A, VILLAGE_A
from tests.regions.conftest import csv_text, tree_state


def run(path: Path, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_regions", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "regions.csv"
    path.write_text(text, encoding=encoding)
    return path


def test_it_imports_the_file_and_says_how_many_nodes_changed(regions, tmp_path):
    path = write(tmp_path, csv_text("350581100202,新村,", f"{VILLAGE_A},村A,"))

    out, err = run(path)

    assert out == "导入完成：新增 1，更新 0，未变 1。\n"
    assert err == ""
    assert Region.objects.get(code="350581100202").parent_id == TOWNSHIP_A
    assert AuditEvent.objects.get().detail["source"] == "regions.csv"


def test_it_reads_a_file_saved_by_excel_with_a_byte_order_mark(regions, tmp_path):
    path = write(tmp_path, csv_text("350581100202,新村,"), encoding="utf-8-sig")

    run(path)

    assert Region.objects.get(code="350581100202").name == "新村"


def test_it_reports_every_bad_row_on_stderr_and_fails(regions, tmp_path):
    before = tree_state()
    path = write(
        tmp_path,
        csv_text("350581100202,新村,", "3505811002,短码,", f"{COUNTY},石狮市,村"),
    )
    err = StringIO()

    with pytest.raises(CommandError, match="^文件被拒绝：2 行有误，未导入任何数据。$"):
        call_command("import_regions", str(path), stdout=StringIO(), stderr=err)

    assert err.getvalue().splitlines() == [
        "第 3 行\t3505811002\t代码应为 12 位数字",
        f"第 4 行\t{COUNTY}\t城乡属性只适用于村(社区)级",
    ]
    assert tree_state() == before


def test_it_rejects_a_rename_without_the_flag(regions, tmp_path):
    before = tree_state()
    path = write(tmp_path, csv_text(f"{TOWNSHIP_A},灵秀街道,"))
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("import_regions", str(path), stdout=StringIO(), stderr=err)

    assert "名称与现有的“灵秀镇”不同" in err.getvalue()
    assert tree_state() == before


def test_it_applies_a_rename_with_the_flag(regions, tmp_path):
    path = write(tmp_path, csv_text(f"{TOWNSHIP_A},灵秀街道,"))

    out, _ = run(path, "--apply-renames")

    assert out == "导入完成：新增 0，更新 1，未变 0。\n"
    assert Region.objects.get(code=TOWNSHIP_A).name == "灵秀街道"
    assert AuditEvent.objects.get().detail["renames"] == [[TOWNSHIP_A, "灵秀镇", "灵秀街道"]]


def test_it_reports_a_bad_header_as_row_one(regions, tmp_path):
    path = write(tmp_path, "代码,名称\n350581100202,新村\n")
    err = StringIO()

    with pytest.raises(CommandError, match="1 行有误"):
        call_command("import_regions", str(path), stdout=StringIO(), stderr=err)

    assert err.getvalue() == "第 1 行\t\t表头应为 code,name 或 code,name,kind\n"


def test_it_fails_on_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="无法读取文件"):
        run(tmp_path / "missing.csv")

    assert AuditEvent.objects.count() == 0


def test_it_fails_on_a_file_that_is_not_utf8(regions, tmp_path):
    before = tree_state()
    path = write(tmp_path, csv_text("350581100202,新村,"), encoding="gb18030")

    with pytest.raises(CommandError, match="无法读取文件"):
        run(path)

    assert tree_state() == before

"""The shipped tree of 石狮市 (regions/data/350581.csv) loads as it is."""

from io import StringIO
from pathlib import Path

from django.core.management import call_command

import tanfang.regions
from tanfang.regions.actions import ImportSummary, import_regions
from tanfang.regions.models import Level, Region

SHISHI = Path(tanfang.regions.__file__).parent / "data" / "350581.csv"


def test_it_loads_shishi_and_its_ten_townships_and_streets(db):
    summary = import_regions(acting_user=None, text=SHISHI.read_text(encoding="utf-8"))

    assert summary == ImportSummary(created=13, changed=0, unchanged=0)
    county = Region.objects.get(code="350581000000")
    assert (county.name, county.level, county.parent_id) == ("石狮市", Level.COUNTY, "350500000000")
    assert Region.objects.get(code="350500000000").name == "泉州市"
    assert Region.objects.get(code="350000000000").name == "福建省"
    townships = dict(county.children.values_list("code", "name"))
    assert len(townships) == 10
    assert townships["350581001000"] == "湖滨街道"
    assert townships["350581100000"] == "灵秀镇"
    assert townships["350581106000"] == "永宁镇"
    assert townships["350581400000"] == "石狮高新技术产业开发区"
    assert set(county.children.values_list("level", flat=True)) == {Level.TOWNSHIP}
    assert set(county.children.values_list("kind", flat=True)) == {""}


def test_it_loads_the_shipped_file_with_the_command_twice_without_change(db):
    call_command("import_regions", str(SHISHI), stdout=StringIO())
    out = StringIO()

    call_command("import_regions", str(SHISHI), stdout=out)

    assert out.getvalue() == "导入完成：新增 0，更新 0，未变 13。\n"
    assert Region.objects.count() == 13

"""`import_regions` with a good file: nodes created or updated, one audit row."""

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.regions.actions import ImportSummary, import_regions
from tanfang.regions.models import Kind, Level, Region
from tests.conftest import COUNTY, TOWNSHIP_A, VILLAGE_A
from tests.regions.conftest import NOW, csv_text, tree_state

A_TREE = csv_text(
    "110000000000,北京市,",
    "110100000000,市辖区,",
    "110101000000,东城区,",
    "110101001000,东华门街道,",
    "110101001001,多福巷社区,",
    "110101001201,某某村,",
)


def nodes() -> dict[str, tuple[str, int, str, str | None]]:
    return {
        code: (name, level, kind, parent)
        for code, name, level, kind, parent in Region.objects.values_list(
            "code", "name", "level", "kind", "parent_id"
        )
    }


def test_it_creates_every_node_with_its_level_parent_and_kind(db):
    summary = import_regions(acting_user=None, text=A_TREE)

    assert summary == ImportSummary(created=6, changed=0, unchanged=0)
    assert nodes() == {
        "110000000000": ("北京市", Level.PROVINCE, "", None),
        "110100000000": ("市辖区", Level.CITY, "", "110000000000"),
        "110101000000": ("东城区", Level.COUNTY, "", "110100000000"),
        "110101001000": ("东华门街道", Level.TOWNSHIP, "", "110101000000"),
        "110101001001": ("多福巷社区", Level.VILLAGE, Kind.URBAN, "110101001000"),
        "110101001201": ("某某村", Level.VILLAGE, Kind.RURAL, "110101001000"),
    }


def test_it_changes_nothing_when_the_same_file_is_imported_again(db):
    import_regions(acting_user=None, text=A_TREE)
    before, _ = tree_state()

    summary = import_regions(acting_user=None, text=A_TREE)

    assert summary == ImportSummary(created=0, changed=0, unchanged=6)
    assert tree_state()[0] == before


def test_it_accepts_a_parent_given_later_in_the_same_file(db):
    text = csv_text(
        "110101001001,多福巷社区,",
        "110101001000,东华门街道,",
        "110101000000,东城区,",
        "110100000000,市辖区,",
        "110000000000,北京市,",
    )

    import_regions(acting_user=None, text=text)

    assert Region.objects.get(code="110101001001").parent_id == "110101001000"
    assert Region.objects.get(code="110101001000").parent_id == "110101000000"


def test_it_hangs_new_nodes_under_nodes_already_in_the_tree(regions):
    import_regions(acting_user=None, text=csv_text("350581100202,新村,"))

    village = Region.objects.get(code="350581100202")
    assert village.parent_id == TOWNSHIP_A
    assert village.level == Level.VILLAGE
    assert [child.code for child in regions[TOWNSHIP_A].children.all()] == [
        VILLAGE_A,
        "350581100202",
    ]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("350581100001", Kind.URBAN),
        ("350581100199", Kind.URBAN),
        ("350581100200", Kind.RURAL),
        ("350581100399", Kind.RURAL),
    ],
)
def test_it_derives_the_kind_of_a_village_from_its_code(regions, code, kind):
    # Statistical coding rules: 居委会 are numbered 001–199, 村委会 from 200.
    import_regions(acting_user=None, text=csv_text(f"{code},某地,"))

    assert Region.objects.get(code=code).kind == kind


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("村", Kind.RURAL),
        ("农村", Kind.RURAL),
        ("rural", Kind.RURAL),
        ("Rural", Kind.RURAL),
        ("村委会", Kind.RURAL),
        ("居", Kind.URBAN),
        ("城镇", Kind.URBAN),
        ("urban", Kind.URBAN),
        ("社区", Kind.URBAN),
        ("居委会", Kind.URBAN),
    ],
)
def test_it_reads_the_kind_column_in_words(regions, word, kind):
    # The code alone would say the opposite, so the column is what decides.
    code = "350581100001" if kind == Kind.RURAL else "350581100202"

    import_regions(acting_user=None, text=csv_text(f"{code},某地,{word}"))

    assert Region.objects.get(code=code).kind == kind


@pytest.mark.parametrize(
    ("classification", "kind"),
    [
        ("111", Kind.URBAN),
        ("112", Kind.URBAN),
        ("121", Kind.URBAN),
        ("122", Kind.URBAN),
        ("123", Kind.URBAN),
        ("210", Kind.RURAL),
        ("220", Kind.RURAL),
    ],
)
def test_it_reads_the_kind_column_as_an_urban_rural_classification_code(
    regions, classification, kind
):
    code = "350581100001" if kind == Kind.RURAL else "350581100202"

    import_regions(acting_user=None, text=csv_text(f"{code},某地,{classification}"))

    assert Region.objects.get(code=code).kind == kind


def test_it_changes_the_kind_of_an_existing_village_when_the_column_says_so(regions):
    summary = import_regions(acting_user=None, text=csv_text(f"{VILLAGE_A},村A,居"))

    assert summary == ImportSummary(created=0, changed=1, unchanged=0)
    assert Region.objects.get(code=VILLAGE_A).kind == Kind.URBAN


def test_it_keeps_the_kind_of_an_existing_village_when_the_column_is_empty(regions):
    # 村A is rural although its code alone would not say so.
    Region.objects.filter(code=VILLAGE_A).update(kind=Kind.URBAN)

    summary = import_regions(acting_user=None, text=csv_text(f"{VILLAGE_A},村A,"))

    assert summary == ImportSummary(created=0, changed=0, unchanged=1)
    assert Region.objects.get(code=VILLAGE_A).kind == Kind.URBAN


def test_it_records_the_import_in_the_audit_log(now, users):
    import_regions(
        acting_user=users["sysadmin"],
        text=csv_text("350581100202,新村,", f"{TOWNSHIP_A},灵秀镇,"),
        source="灵秀镇.csv",
    )

    event = AuditEvent.objects.get()
    assert event.action == Action.REGIONS_IMPORTED
    assert event.actor == users["sysadmin"]
    assert event.username == "sysadmin"
    assert event.at == NOW
    # The shallowest node of the file, so the auditor of that subtree sees it.
    assert event.region_code == TOWNSHIP_A
    assert event.detail == {
        "source": "灵秀镇.csv",
        "created": 1,
        "changed": 0,
        "unchanged": 1,
        "renames": [],
    }


def test_it_records_an_import_from_the_command_line_without_an_actor(regions):
    import_regions(acting_user=None, text=csv_text("350581100202,新村,"))

    event = AuditEvent.objects.get()
    assert event.actor is None
    assert event.username == ""
    assert event.region_code == "350581100202"


def test_it_imports_a_file_with_only_a_header_as_nothing(regions):
    before, _ = tree_state()

    summary = import_regions(acting_user=None, text=csv_text(), source="empty.csv")

    assert summary == ImportSummary(created=0, changed=0, unchanged=0)
    assert tree_state()[0] == before
    assert Region.objects.filter(code=COUNTY).exists()

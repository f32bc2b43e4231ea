"""Renames by import: applied only when asked for, and written to the audit log."""

from tanfang.audit.models import Action, AuditEvent
from tanfang.regions.actions import ImportSummary, import_regions
from tanfang.regions.models import Kind, Region
from tests.conftest import TOWNSHIP_A, TOWNSHIP_B, VILLAGE_A
from tests.regions.conftest import NOW, csv_text


def test_it_applies_renames_when_told_to(regions):
    summary = import_regions(
        acting_user=None,
        text=csv_text(f"{TOWNSHIP_A},灵秀街道,", f"{VILLAGE_A},村A,", f"{TOWNSHIP_B},宝盖街道,"),
        apply_renames=True,
    )

    assert summary == ImportSummary(created=0, changed=2, unchanged=1)
    assert Region.objects.get(code=TOWNSHIP_A).name == "灵秀街道"
    assert Region.objects.get(code=TOWNSHIP_B).name == "宝盖街道"
    assert Region.objects.get(code=VILLAGE_A).name == "村A"


def test_it_keeps_level_parent_and_kind_when_renaming(regions):
    import_regions(acting_user=None, text=csv_text(f"{VILLAGE_A},前村,"), apply_renames=True)

    village = Region.objects.get(code=VILLAGE_A)
    assert (village.name, village.parent_id, village.kind) == ("前村", TOWNSHIP_A, Kind.RURAL)


def test_it_records_the_renames_in_the_audit_log(now, users):
    import_regions(
        acting_user=users["sysadmin"],
        text=csv_text(f"{TOWNSHIP_A},灵秀街道,", f"{VILLAGE_A},前村,", "350581100202,新村,"),
        apply_renames=True,
        source="2026.csv",
    )

    event = AuditEvent.objects.get(action=Action.REGIONS_IMPORTED)
    assert event.at == NOW
    assert event.actor == users["sysadmin"]
    assert event.detail == {
        "source": "2026.csv",
        "created": 1,
        "changed": 2,
        "unchanged": 0,
        "renames": [[TOWNSHIP_A, "灵秀镇", "灵秀街道"], [VILLAGE_A, "村A", "前村"]],
    }


def test_it_records_no_rename_for_a_change_of_kind_only(regions):
    import_regions(acting_user=None, text=csv_text(f"{VILLAGE_A},村A,居"), apply_renames=True)

    event = AuditEvent.objects.get()
    assert event.detail["renames"] == []
    assert event.detail["changed"] == 1

"""`rename_region`: one node renamed, with its audit entry."""

import pytest
from django.core.exceptions import ValidationError

from tanfang.audit.models import Action, AuditEvent
from tanfang.regions.actions import rename_region
from tanfang.regions.models import Region
from tests.conftest import TOWNSHIP_A
from tests.regions.conftest import NOW, tree_state


def test_it_renames_the_node_and_records_who_did_it(now, users, regions):
    rename_region(acting_user=users["sysadmin"], region=regions[TOWNSHIP_A], name="灵秀街道")

    assert Region.objects.get(code=TOWNSHIP_A).name == "灵秀街道"
    event = AuditEvent.objects.get()
    assert event.action == Action.REGION_RENAMED
    assert event.at == NOW
    assert event.actor == users["sysadmin"]
    assert event.region_code == TOWNSHIP_A
    assert (event.object_type, event.object_id) == ("region", TOWNSHIP_A)
    assert event.detail == {"from": "灵秀镇", "to": "灵秀街道"}


@pytest.mark.parametrize("name", ["", "镇" * 101])
def test_it_refuses_a_blank_or_too_long_name_and_writes_nothing(users, regions, name):
    before = tree_state()

    with pytest.raises(ValidationError):
        rename_region(acting_user=users["sysadmin"], region=regions[TOWNSHIP_A], name=name)

    assert tree_state() == before

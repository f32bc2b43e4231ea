"""Hazards (安全隐患): found on a visit or entered, graded, the elder and family
reminded (001_35a01bee4c628ebd.txt 二(二)2: 提醒其及时消除隐患), and removed only on
the evidence of a later visit or a photo."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from tanfang.audit.models import Action, AuditEvent
from tanfang.care import hazards, queries
from tanfang.care.models import Hazard
from tanfang.registry.models import Elder
from tests.care.conftest import visit_of
from tests.conftest import aware
from tests.visits.factories import GOOD

UNSAFE_GAS = {**GOOD, "gas_safety": "unsafe"}
JPEG = b"\xff\xd8\xff\xe0" + b"0" * 100


@pytest.fixture
def found(users, elder, visitor):
    """A gas hazard found on a visit at 9:00 on 2026-11-23."""
    visit_of(users, elder, visitor, number=1, answers=UNSAFE_GAS)
    return Hazard.objects.get()


def photo(data=JPEG, name="gas.jpg"):
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def test_a_visit_finds_the_hazard_ordinary_and_open(found):
    assert (found.item, found.severity, found.status) == ("gas", "ordinary", "open")
    assert found.found_at == aware(2026, 11, 23, 9, 0)


def test_a_hazard_entered_by_hand_is_graded_and_audited(users, elder):
    hazard = hazards.raise_hazard(
        acting_user=users["visitor_a"],
        elder=elder,
        item="housing",
        severity="major",
        description="后墙开裂，雨天渗水",
    )

    stored = Hazard.objects.get(pk=hazard.pk)
    assert (stored.item, stored.severity, stored.finding) == (
        "housing",
        "major",
        "后墙开裂，雨天渗水",
    )
    assert AuditEvent.objects.filter(action=Action.HAZARD_RAISED, object_id=str(hazard.pk)).exists()


def test_entering_nonsense_is_refused(users, elder):
    with pytest.raises(ValidationError) as caught:
        hazards.raise_hazard(
            acting_user=users["visitor_a"], elder=elder, item="ghosts", severity="huge"
        )
    assert caught.value.message_dict == {
        "item": ["请选择隐患类别。"],
        "severity": ["请选择严重程度。"],
        "description": ["请填写隐患说明。"],
    }
    assert not Hazard.objects.exists()


def test_the_grade_is_changed_while_open(users, found):
    hazards.update_hazard(
        acting_user=users["visitor_a"], hazard=found, severity="serious", description="软管老化"
    )
    stored = Hazard.objects.get(pk=found.pk)
    assert (stored.severity, stored.description) == ("serious", "软管老化")
    event = AuditEvent.objects.get(action=Action.HAZARD_CHANGED)
    assert event.detail["before"]["severity"] == "ordinary"


def test_reminding_the_elder_and_then_the_family_keeps_both(users, found, time_machine):
    hazards.remind_hazard(acting_user=users["visitor_a"], hazard=found, elder=True, family=False)
    time_machine.move_to(aware(2026, 11, 24, 8, 0), tick=False)
    hazards.remind_hazard(
        acting_user=users["liaison_a"], hazard=found, elder=False, family=True, note="电话告知儿子"
    )

    stored = Hazard.objects.get(pk=found.pk)
    assert (stored.reminded_elder, stored.reminded_family) == (True, True)
    assert stored.reminded_at == aware(2026, 11, 24, 8, 0)
    assert stored.reminded_by == users["liaison_a"]
    assert AuditEvent.objects.filter(action=Action.HAZARD_REMINDED).count() == 2


def test_a_reminder_to_nobody_is_refused(users, found):
    with pytest.raises(ValidationError) as caught:
        hazards.remind_hazard(
            acting_user=users["visitor_a"], hazard=found, elder=False, family=False
        )
    assert caught.value.message_dict == {"elder": ["请选择已提醒的对象：老人或家属。"]}


def test_a_later_visit_confirms_the_removal(users, elder, visitor, found, time_machine):
    time_machine.move_to(aware(2026, 11, 26, 10, 0), tick=False)
    later = visit_of(users, elder, visitor, number=2, visited_at=aware(2026, 11, 26, 9, 0))

    assert queries.removal_candidates(found) == [later]
    hazards.confirm_hazard_removed(
        acting_user=users["visitor_a"], hazard=found, visit=later, note="已换新软管"
    )

    stored = Hazard.objects.get(pk=found.pk)
    assert stored.status == "removed"
    assert stored.removal_visit == later
    assert stored.removed_at == aware(2026, 11, 26, 9, 0)
    assert (stored.removed_by, stored.removal_note) == (users["visitor_a"], "已换新软管")
    assert AuditEvent.objects.get(action=Action.HAZARD_REMOVED).detail["visit"] == later.pk


def test_a_later_visit_still_unsafe_is_not_offered(users, elder, visitor, found, time_machine):
    time_machine.move_to(aware(2026, 11, 26, 10, 0), tick=False)
    visit_of(
        users, elder, visitor, number=2, answers=UNSAFE_GAS, visited_at=aware(2026, 11, 26, 9, 0)
    )
    assert queries.removal_candidates(found) == []


def test_a_photo_confirms_the_removal(users, found, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    hazards.confirm_hazard_removed(acting_user=users["visitor_a"], hazard=found, photo=photo())

    stored = Hazard.objects.get(pk=found.pk)
    assert stored.status == "removed"
    assert stored.removal_visit is None
    assert stored.removed_at == aware(2026, 11, 23, 10, 0)
    assert stored.removal_photo.name.startswith("hazards/2026/11/hazard-")
    assert stored.removal_photo.read() == JPEG


def test_no_removal_on_a_word_alone_nor_on_an_earlier_visit(users, elder, visitor, found):
    with pytest.raises(ValidationError) as caught:
        hazards.confirm_hazard_removed(
            acting_user=users["visitor_a"], hazard=found, note="说已修好"
        )
    assert caught.value.message_dict == {
        "visit": ["请选择之后的一次探访记录，或上传隐患消除后的照片。"]
    }
    # The visit that found it is no evidence that it is gone.
    with pytest.raises(ValidationError) as caught:
        hazards.confirm_hazard_removed(
            acting_user=users["visitor_a"], hazard=found, visit=found.visit
        )
    assert caught.value.message_dict == {"visit": ["请选择发现隐患之后的探访记录。"]}
    assert Hazard.objects.get(pk=found.pk).status == "open"


def test_a_photo_needs_the_elders_consent_and_an_image(users, elder, found):
    with pytest.raises(ValidationError) as caught:
        hazards.confirm_hazard_removed(
            acting_user=users["visitor_a"], hazard=found, photo=photo(b"GIF89a", "x.gif")
        )
    assert caught.value.message_dict == {"photo": ["照片应为 JPEG 或 PNG 图片。"]}

    Elder.objects.filter(pk=elder.pk).update(consents_to_photos=False)
    with pytest.raises(ValidationError) as caught:
        hazards.confirm_hazard_removed(acting_user=users["visitor_a"], hazard=found, photo=photo())
    assert caught.value.message_dict == {
        "photo": ["老人未同意拍照，不能上传照片：请以之后的探访记录确认。"]
    }


def test_a_removed_hazard_is_closed_until_reopened(users, found, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    hazards.confirm_hazard_removed(acting_user=users["visitor_a"], hazard=found, photo=photo())

    with pytest.raises(ValidationError) as caught:
        hazards.remind_hazard(acting_user=users["visitor_a"], hazard=found, elder=True, family=True)
    assert caught.value.message_dict == {"hazard": ["该隐患已消除。"]}
    with pytest.raises(PermissionDenied):
        hazards.reopen_hazard(acting_user=users["visitor_a"], hazard=found, note="又漏气了")
    with pytest.raises(ValidationError) as caught:
        hazards.reopen_hazard(acting_user=users["liaison_a"], hazard=found, note="")
    assert caught.value.message_dict == {"note": ["请填写重新打开的原因。"]}

    hazards.reopen_hazard(acting_user=users["liaison_a"], hazard=found, note="又漏气了")

    stored = Hazard.objects.get(pk=found.pk)
    assert (stored.status, stored.removed_at, stored.removal_photo.name) == ("open", None, "")
    event = AuditEvent.objects.get(action=Action.HAZARD_REOPENED)
    assert event.detail["before"]["removal_photo"].startswith("hazards/")


def test_another_townships_user_gets_404(users, found):
    with pytest.raises(Http404):
        hazards.remind_hazard(
            acting_user=users["township_b"], hazard=found, elder=True, family=False
        )
    with pytest.raises(Http404):
        hazards.confirm_hazard_removed(acting_user=users["liaison_b"], hazard=found, photo=photo())
    assert Hazard.objects.get(pk=found.pk).reminded_at is None

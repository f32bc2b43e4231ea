"""The hazard's pages (tanfang/care/hazard_views.py, views.py): raising one,
reminding the elder and family, confirming it removed by a later visit or a
photo (served only to those in scope), reopening it, and the subtree's list
(隐患清单).

The clock stands on 2026-11-23 10:00 (tests/care/conftest.py).
"""

import base64

from django.core.files.uploadedfile import SimpleUploadedFile

from tanfang.care import hazards
from tanfang.care.models import Hazard, HazardStatus
from tests.care.conftest import visit_of
from tests.conftest import aware
from tests.visits.factories import PNG


def raise_one(users, elder, **kwargs):
    return hazards.raise_hazard(
        acting_user=users["liaison_a"],
        elder=elder,
        item=kwargs.pop("item", "gas"),
        description=kwargs.pop("description", "燃气软管老化"),
        **kwargs,
    )


def png_upload():
    data = base64.b64decode(PNG.split(",", 1)[1])
    return SimpleUploadedFile("done.png", data, content_type="image/png")


def test_a_hazard_is_raised_with_its_grade(client_for, elder):
    response = client_for("visitor_a").post(
        f"/care/elders/{elder.pk}/hazards/new/",
        {"item": "electricity", "severity": "serious", "description": "电线裸露"},
    )

    hazard = Hazard.objects.get(elder=elder)
    assert response["Location"] == f"/care/hazards/{hazard.pk}/"
    assert (hazard.item, hazard.severity, hazard.status) == ("electricity", "serious", "open")


def test_raising_without_a_description_is_refused_next_to_the_field(client_for, elder):
    response = client_for("visitor_a").post(
        f"/care/elders/{elder.pk}/hazards/new/", {"item": "gas", "severity": "major"}
    )

    assert response.status_code == 200
    assert "隐患说明：请填写隐患说明。" in response.content.decode()
    assert not Hazard.objects.exists()


def test_the_elder_and_the_family_are_reminded(client_for, users, elder):
    # 001_35a01bee4c628ebd.txt 二(二)2 提醒其及时消除隐患
    hazard = raise_one(users, elder)
    client = client_for("visitor_a")

    refused = client.post(f"/care/hazards/{hazard.pk}/remind/", {"note": "电话提醒"})
    assert "已提醒老人：请选择已提醒的对象" in refused.content.decode()

    assert client.post(f"/care/hazards/{hazard.pk}/remind/", {"family": "on"}).status_code == 302
    hazard.refresh_from_db()
    assert (hazard.reminded_elder, hazard.reminded_family) == (False, True)
    assert "已提醒家属" in client.get(f"/care/hazards/{hazard.pk}/").content.decode()


def test_a_later_visit_that_found_it_safe_confirms_the_removal(
    client_for, users, elder, visitor, time_machine
):
    time_machine.move_to(aware(2026, 11, 20, 10, 0), tick=False)
    hazard = raise_one(users, elder)
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)
    later = visit_of(users, elder, visitor, number=7)
    client = client_for("visitor_a")

    page = client.get(f"/care/hazards/{hazard.pk}/")
    assert later in page.context["removal_form"].candidates
    assert "第1次探访" in page.content.decode()

    nothing = client.post(f"/care/hazards/{hazard.pk}/remove/", {"note": "已更换"})
    assert "之后的探访记录：请选择之后的一次探访记录" in nothing.content.decode()
    assert "已更换" in nothing.content.decode()

    done = client.post(f"/care/hazards/{hazard.pk}/remove/", {"visit": later.pk})
    assert done.status_code == 302
    hazard.refresh_from_db()
    assert (hazard.status, hazard.removal_visit) == (HazardStatus.REMOVED, later)


def test_a_visit_not_offered_is_refused(client_for, users, elder, visitor):
    visit = visit_of(users, elder, visitor, number=3)  # before the hazard was entered
    hazard = raise_one(users, elder)

    response = client_for("visitor_a").post(
        f"/care/hazards/{hazard.pk}/remove/", {"visit": visit.pk}
    )

    assert response.status_code == 200
    assert "之后的探访记录：选择一个有效的选项" in response.content.decode()
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.OPEN


def test_a_photo_confirms_the_removal_and_is_served_only_in_scope(
    client_for, users, elder, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    hazard = raise_one(users, elder)
    client = client_for("visitor_a")

    done = client.post(f"/care/hazards/{hazard.pk}/remove/", {"photo": png_upload()})
    assert done.status_code == 302
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.REMOVED
    assert hazard.removal_photo

    photo = client.get(f"/care/hazards/{hazard.pk}/photo/")
    assert photo.status_code == 200
    assert photo["Content-Type"] == "image/png"
    assert "no-store" in photo["Cache-Control"]
    assert client_for("liaison_b").get(f"/care/hazards/{hazard.pk}/photo/").status_code == 404


def test_a_file_that_is_not_a_photo_is_refused(client_for, users, elder, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    hazard = raise_one(users, elder)
    bogus = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")

    response = client_for("visitor_a").post(f"/care/hazards/{hazard.pk}/remove/", {"photo": bogus})

    assert "消除后的照片：照片应为 JPEG 或 PNG 图片。" in response.content.decode()


def test_a_removed_hazard_is_reopened_by_the_liaison_only(
    client_for, users, elder, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    hazard = raise_one(users, elder)
    hazards.confirm_hazard_removed(
        acting_user=users["liaison_a"], hazard=hazard, photo=png_upload()
    )
    assert client_for("visitor_a").post(f"/care/hazards/{hazard.pk}/reopen/").status_code == 403
    client = client_for("liaison_a")

    refused = client.post(f"/care/hazards/{hazard.pk}/reopen/", {"note": ""})
    assert "重新打开的原因：请填写重新打开的原因。" in refused.content.decode()
    assert (
        client.post(f"/care/hazards/{hazard.pk}/reopen/", {"note": "软管又漏气"}).status_code == 302
    )
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.OPEN


def test_the_list_filters_and_pins_its_queries(
    client_for, users, elder, django_assert_num_queries, time_machine
):
    time_machine.move_to(aware(2026, 10, 1, 9, 0), tick=False)
    old = raise_one(users, elder, severity="major")
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)
    for _ in range(5):
        raise_one(users, elder, item="food", description="食品过期")
    client = client_for("township_a")

    everything = client.get("/care/hazards/")
    assert everything.context["rows"][0] == (old, 53)
    assert len(everything.context["rows"]) == 6
    assert [h for h, _ in client.get("/care/hazards/", {"severity": "major"}).context["rows"]] == [
        old
    ]
    assert len(client.get("/care/hazards/", {"item": "food"}).context["rows"]) == 5
    assert [h for h, _ in client.get("/care/hazards/", {"age": "30"}).context["rows"]] == [old]
    assert client.get("/care/hazards/", {"status": "removed"}).context["rows"] == []
    # As the needs' list: session, user, OTP device, region (bar and filter),
    # count, the page, last-seen time (3).
    with django_assert_num_queries(10):
        client.get("/care/hazards/")

"""One visit record (/visits/<visit_id>/) and its photo (/visits/<visit_id>/photo/):
the answers in the words of the form with the bad ones marked, the signatures as
images, the tasks it completed or why it did not count; scoped like every record.

The clock stands on 2026-11-23 10:00.
"""

import uuid
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tanfang.registry.models import Elder
from tanfang.visits.actions import checklist_for, record_visit
from tanfang.visits.models import VisitTask
from tests.conftest import VILLAGE_B, aware
from tests.visits.factories import PNG, assign, follow_shishi, make_elder, make_task, make_visitor

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 64


@pytest.fixture(autouse=True)
def frozen(time_machine, settings, tmp_path):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)
    settings.MEDIA_ROOT = tmp_path


def answers_with(definition, **chosen):
    """Every item answered with its first option that is neither bad nor takes a
    detail, but those given (item key -> option value)."""
    answers = {}
    for item in definition.items():
        value = chosen.get(item.key) or next(
            o.value for o in item.options if not o.bad and o.value not in item.detail_options
        )
        if item.kind == "choice_text":
            answers[item.key] = {"value": value, "detail": None}
        elif item.kind == "choice_count":
            answers[item.key] = {"value": value, "count": None}
        else:
            answers[item.key] = value
    return answers


@pytest.fixture
def setting(users, regions):
    follow_shishi(users)
    elder = make_elder(users, regions, ability="severe", consents_to_photos=True)
    VisitTask.objects.filter(elder=elder).delete()
    visitor = make_visitor(users, regions)
    assign(users, elder, visitor)
    task = make_task(elder, date(2026, 11, 16), date(2026, 11, 30))
    definition = checklist_for(elder)
    safety = next(i for i in definition.items() if i.hazard)
    return {"elder": elder, "visitor": visitor, "task": task, "safety": safety, "form": definition}


def record(users, setting, number=1, **overrides):
    values = {
        "acting_user": users["visitor_a"],
        "uuid": uuid.UUID(int=number),
        "elder": setting["elder"],
        "mode": "home",
        "visited_at": aware(2026, 11, 20, 9, 30),
        "visitors": [setting["visitor"]],
        "answers": answers_with(setting["form"], **{setting["safety"].key: "unsafe"}),
        "visitor_signature": PNG,
        "elder_signature": PNG,
        "services_given": "送去大米一袋",
    }
    values.update(overrides)
    return record_visit(**values).visit


def test_it_shows_the_record_with_its_answers_signatures_and_tasks(client_for, users, setting):
    visit = record(users, setting)

    response = client_for("visitor_a").get(f"/visits/{visit.pk}/")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    assert "老人1 · 第1次探访" in text
    assert "上门探访" in text
    assert "林秀英（网格员）" in text
    assert "2026年11月20日 09:30" in text
    # The unsafe answer in the form's words, marked, and the hazard it made.
    safety = setting["safety"]
    assert f'<dt>{safety.label}</dt><dd class="bad">不安全</dd>' in text
    assert f"{safety.label}：不安全（未消除）" in text
    assert "送去大米一袋" in text
    assert f'<img src="{PNG}" alt="探访人员签字">' in text
    assert f'<img src="{PNG}" alt="被探访人签字">' in text
    assert "计入。完成了：" in text
    assert setting["task"].label in text
    assert "/photo/" not in text


def test_it_says_why_a_visit_did_not_count(client_for, users, setting):
    visit = record(users, setting, mode="phone")

    text = client_for("liaison_a").get(f"/visits/{visit.pk}/").content.decode()

    assert "不计入原因" in text
    assert "重点对象，电话探访不计入" in text


def test_it_shows_the_photo_the_elder_consented_to(client_for, users, setting):
    visit = record(users, setting, photo=SimpleUploadedFile("IMG_1.jpg", JPEG))
    client = client_for("township_a")

    page = client.get(f"/visits/{visit.pk}/").content.decode()
    photo = client.get(f"/visits/{visit.pk}/photo/")

    assert f'<img src="/visits/{visit.pk}/photo/" alt="探访照片">' in page
    assert photo.status_code == 200
    assert photo["Content-Type"] == "image/jpeg"
    assert "no-store" in photo["Cache-Control"]
    assert b"".join(photo.streaming_content) == JPEG


def test_it_answers_404_for_a_visit_without_a_photo(client_for, users, setting):
    visit = record(users, setting)

    assert client_for("visitor_a").get(f"/visits/{visit.pk}/photo/").status_code == 404


def test_it_answers_404_to_a_neighbour(client_for, users, regions, setting):
    visit = record(users, setting, photo=SimpleUploadedFile("IMG_1.jpg", JPEG))

    for username in ("liaison_b", "township_b", "county_other"):
        client = client_for(username)
        assert client.get(f"/visits/{visit.pk}/").status_code == 404
        assert client.get(f"/visits/{visit.pk}/photo/").status_code == 404


@pytest.mark.parametrize("username", ["sysadmin", "secadmin", "auditor"])
def test_it_refuses_a_role_that_reads_no_peoples_data(client_for, users, setting, username):
    visit = record(users, setting)

    assert client_for(username).get(f"/visits/{visit.pk}/").status_code == 403
    assert client_for(username).get(f"/visits/{visit.pk}/photo/").status_code == 403


def test_a_visit_stays_with_the_village_where_it_was_made(client_for, users, regions, setting):
    # The elder moved to 村B afterwards: the record is still 村A's (models.Visit.village).
    visit = record(users, setting)
    Elder.objects.filter(pk=setting["elder"].pk).update(village_id=VILLAGE_B)

    assert client_for("liaison_a").get(f"/visits/{visit.pk}/").status_code == 200
    assert client_for("liaison_b").get(f"/visits/{visit.pk}/").status_code == 404


# --- The elder's file lists the recent visits (an htmx fragment) ---------------------


def test_the_elders_file_loads_its_recent_visits(client_for, users, setting):
    elder = setting["elder"]
    record(users, setting)
    second = record(users, setting, 2, mode="phone", visited_at=aware(2026, 11, 21, 9, 0))
    client = client_for("liaison_a")

    page = client.get(f"/elders/{elder.pk}/").content.decode()
    fragment = client.get(f"/visits/elders/{elder.pk}/recent/", HTTP_HX_REQUEST="true")

    assert f'hx-get="/visits/elders/{elder.pk}/recent/"' in page
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert f'<a href="/visits/{second.pk}/">第2次</a> 2026年11月21日 电话探访（不计入）' in text
    assert "第1次" in text
    assert text.index("第2次") < text.index("第1次")
    assert f'href="/visits/new/{elder.pk}/"' in text


def test_the_recent_visits_are_those_made_where_the_user_may_see(
    client_for, users, regions, setting
):
    record(users, setting)
    Elder.objects.filter(pk=setting["elder"].pk).update(village_id=VILLAGE_B)

    response = client_for("liaison_b").get(f"/visits/elders/{setting['elder'].pk}/recent/")

    assert response.status_code == 200
    assert "尚无探访记录" in response.content.decode()
    assert (
        client_for("liaison_a").get(f"/visits/elders/{setting['elder'].pk}/recent/").status_code
        == 404
    )

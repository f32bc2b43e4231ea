"""The file's edit pages: a form per section, the repeated parts, the category
confirmation with the system's reasons, the review and the history, as a
liaison uses them."""

import re
from datetime import date

import pytest

from tanfang.registry import crypto
from tanfang.registry.actions import change_status
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder, ElderCategory, HouseholdMember, Review, Status
from tanfang.registry.registration import register_elder
from tests.conftest import VILLAGE_A, aware


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def elder(users, regions):
    return register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", date(1938, 5, 2), 21, "女"),
        name="蔡阿婆",
        village=regions[VILLAGE_A],
        phone="13800001111",
        rural_registration=True,
        has_spouse=False,
    )


def test_a_section_is_saved_and_the_file_shows_it(client_for, elder):
    liaison = client_for("liaison_a")

    response = liaison.post(
        f"/elders/{elder.pk}/edit/health/",
        {"ability": "severe", "dementia": "on", "disability_grade": "", "health": "poor"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/elders/{elder.pk}/#health"
    stored = Elder.objects.get(pk=elder.pk)
    assert (stored.ability, stored.dementia, stored.health) == ("severe", True, "poor")
    page = liaison.get(f"/elders/{elder.pk}/").content.decode()
    assert "重度失能" in page


def test_the_basic_form_never_shows_the_whole_phone_and_keeps_it_when_left_empty(client_for, elder):
    liaison = client_for("liaison_a")

    form = liaison.get(f"/elders/{elder.pk}/edit/basic/").content.decode()
    assert "13800001111" not in form
    assert "138****1111" in form

    liaison.post(
        f"/elders/{elder.pk}/edit/basic/", {"name": "蔡阿婆", "phone": "", "id_number": ""}
    )
    assert crypto.decrypt(Elder.objects.get(pk=elder.pk).phone_token) == "13800001111"


def test_bad_input_is_named_in_chinese_and_nothing_is_stored(client_for, elder):
    response = client_for("liaison_a").post(
        f"/elders/{elder.pk}/edit/basic/",
        {"name": "", "phone": "12345", "id_number": "350581193805021234"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "姓名：" in page and "联系电话：" in page and "身份证号码：" in page
    assert Elder.objects.get(pk=elder.pk).name == "蔡阿婆"


def test_an_unknown_section_is_404(client_for, elder):
    assert client_for("liaison_a").get(f"/elders/{elder.pk}/edit/secret/").status_code == 404


def test_a_file_no_longer_in_the_registry_cannot_be_edited(users, client_for, elder):
    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status=Status.DECEASED,
        effective_on=date(2026, 11, 20),
        reason="病逝",
    )

    assert client_for("liaison_a").get(f"/elders/{elder.pk}/edit/basic/").status_code == 403


def test_household_members_are_added_changed_and_removed(client_for, elder):
    liaison = client_for("liaison_a")

    liaison.post(
        f"/elders/{elder.pk}/household/new/",
        {"name": "蔡大", "relation": "son", "same_township": "false", "away_since": "2025-03-01"},
    )
    member = HouseholdMember.objects.get(elder=elder)
    assert (member.same_township, member.away_since) == (False, date(2025, 3, 1))

    liaison.post(
        f"/elders/{elder.pk}/household/{member.pk}/",
        {"name": "蔡大", "relation": "son", "same_township": "true"},
    )
    member.refresh_from_db()
    assert member.same_township is True

    assert liaison.get(f"/elders/{elder.pk}/household/{member.pk}/remove/").status_code == 405
    liaison.post(f"/elders/{elder.pk}/household/{member.pk}/remove/")
    member.refresh_from_db()
    assert member.active is False
    assert liaison.get(f"/elders/{elder.pk}/household/{member.pk}/").status_code == 404


def test_the_categories_page_shows_the_proposal_with_reasons_and_confirms(client_for, elder):
    liaison = client_for("liaison_a")
    liaison.post(f"/elders/{elder.pk}/edit/family/", {"has_spouse": "false", "children_count": "0"})

    page = liaison.get(f"/elders/{elder.pk}/categories/").content.decode()
    assert "系统建议：无配偶、无子女" in page
    # Nothing confirmed yet: the proposal is ticked.
    assert re.search(r'value="孤寡"[^>]*checked', page)
    assert not re.search(r'value="失能"[^>]*checked', page)

    liaison.post(f"/elders/{elder.pk}/categories/", {"categories": ["孤寡", "独居"]})
    confirmed = set(
        ElderCategory.objects.filter(elder=elder, withdrawn_at__isnull=True).values_list(
            "category", flat=True
        )
    )
    assert confirmed == {"孤寡", "独居"}
    elder.refresh_from_db()
    assert not [w for w in elder.quality_warnings if "孤寡" in w]


def test_a_review_is_recorded_from_its_page(users, client_for, elder):
    client_for("liaison_a").post(
        f"/elders/{elder.pk}/review/", {"reviewed_on": "2026-11-23", "notes": "入户核实无变化"}
    )

    review = Review.objects.get(elder=elder)
    assert (review.reviewed_by, review.notes) == (users["liaison_a"], "入户核实无变化")


def test_the_history_page_lists_who_changed_what(client_for, elder):
    liaison = client_for("liaison_a")
    liaison.post(f"/elders/{elder.pk}/edit/living/", {"water_safe": "false"})

    page = liaison.get(f"/elders/{elder.pk}/history/").content.decode()
    assert "饮水安全：空 → 否" in page
    assert client_for("liaison_b").get(f"/elders/{elder.pk}/history/").status_code == 404


def test_a_supervisor_reads_the_file_but_sees_no_edit_links(client_for, elder):
    page = client_for("supervisor").get(f"/elders/{elder.pk}/").content.decode()
    assert f"/elders/{elder.pk}/edit/" not in page
    assert client_for("supervisor").get(f"/elders/{elder.pk}/edit/basic/").status_code == 403

"""Household members, contacts and the other repeated parts of the file; the
categories proposed from them, confirmed by the officer, and the data-quality
warnings where the two differ (DOMAIN.md "The seven categories")."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import crypto, quality
from tanfang.registry.actions import (
    confirm_categories,
    remove_item,
    save_item,
    update_elder,
)
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import ElderCategory, EmergencyContact, HouseholdMember
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
        rural_registration=True,
        has_spouse=False,
    )


def add_child(users, elder, **values):
    return save_item(
        acting_user=users["liaison_a"],
        elder=elder,
        kind="household",
        values={"name": "蔡大", "relation": "son", **values},
    )


def proposed(elder):
    return {p.category.value: p.reasons for p in quality.proposals(elder, date(2026, 11, 23))}


def test_nothing_about_children_proposes_no_child_category(elder):
    # 000_4970ff49482a0570.txt 附件2 (1): 孤寡 needs "无子女" to be known, not assumed.
    assert "孤寡" not in proposed(elder)
    assert "空巢" not in proposed(elder)


def test_no_children_and_no_spouse_proposes_solitary_with_reasons(users, elder):
    # 000_4970ff49482a0570.txt 附件2 (1), (2)
    update_elder(acting_user=users["liaison_a"], elder=elder, changes={"children_count": 0})

    found = proposed(elder)
    assert found["孤寡"][0] == "无配偶、无子女"
    assert "独居" in found


def test_children_away_more_than_half_a_year_propose_left_behind(users, elder):
    # 000_4970ff49482a0570.txt 附件2 (4): 全部子女长期（通常半年以上）离开户籍地
    add_child(users, elder, same_township=False, away_since=date(2026, 5, 23))
    add_child(
        users,
        elder,
        name="蔡二",
        relation="daughter",
        same_township=False,
        away_since=date(2025, 1, 1),
    )

    found = proposed(elder)
    assert found["留守"] == ("农村户籍，子女均外出务工半年以上",)
    assert found["空巢"] == ("子女均不在本乡镇居住",)


def test_a_child_in_the_township_stops_empty_nest(users, elder):
    # 000_4970ff49482a0570.txt 附件2 (3)
    add_child(users, elder, same_township=True)

    assert "空巢" not in proposed(elder)


def test_children_counted_but_not_entered_keep_the_place_unknown(users, elder):
    update_elder(acting_user=users["liaison_a"], elder=elder, changes={"children_count": 2})

    assert "空巢" not in proposed(elder)
    assert "孤寡" not in proposed(elder)


def test_confirming_a_set_adds_and_withdraws_without_deleting(users, elder):
    confirm_categories(acting_user=users["liaison_a"], elder=elder, categories=["独居", "失能"])

    added, withdrawn = confirm_categories(
        acting_user=users["township_a"], elder=elder, categories=["独居", "留守"]
    )

    assert (added, withdrawn) == (["留守"], ["失能"])
    rows = ElderCategory.objects.filter(elder=elder).order_by("pk")
    assert [(r.category, r.withdrawn_at is not None) for r in rows] == [
        ("独居", False),
        ("失能", True),
        ("留守", False),
    ]
    assert rows.get(category="失能").withdrawn_by == users["township_a"]
    event = AuditEvent.objects.filter(action=Action.ELDER_CATEGORIES_CONFIRMED).latest("pk")
    assert event.detail == {"added": ["留守"], "withdrawn": ["失能"]}


def test_an_unknown_category_is_refused(users, elder):
    with pytest.raises(ValidationError) as raised:
        confirm_categories(acting_user=users["liaison_a"], elder=elder, categories=["贫困"])

    assert raised.value.message_dict == {"categories": ["未知的对象类型：贫困"]}
    assert not ElderCategory.objects.filter(elder=elder).exists()


def test_a_confirmed_set_that_differs_from_the_proposal_is_a_warning(users, elder):
    update_elder(acting_user=users["liaison_a"], elder=elder, changes={"children_count": 0})
    confirm_categories(acting_user=users["liaison_a"], elder=elder, categories=["空巢"])

    elder.refresh_from_db()
    assert "系统建议“孤寡”，但未确认" in elder.quality_warnings
    assert "已确认“空巢”，但档案显示无子女" in elder.quality_warnings

    confirm_categories(acting_user=users["liaison_a"], elder=elder, categories=["孤寡", "独居"])
    elder.refresh_from_db()
    assert not [w for w in elder.quality_warnings if "建议" in w or "已确认" in w]


def test_a_missing_first_contact_is_a_warning_until_one_is_named(users, elder):
    # 000_4970ff49482a0570.txt 二(三): 第一探访联系人
    elder.refresh_from_db()
    assert "未指定第一探访联系人" in elder.quality_warnings

    contact = save_item(
        acting_user=users["liaison_a"],
        elder=elder,
        kind="contacts",
        values={
            "name": "村委张主任",
            "relation": "村干部",
            "phone": "13700001234",
            "first_contact": True,
            "named_by_township": True,
        },
    )

    elder.refresh_from_db()
    assert "未指定第一探访联系人" not in elder.quality_warnings
    stored = EmergencyContact.objects.get(pk=contact.pk)
    assert crypto.decrypt(stored.phone_token) == "13700001234"
    assert stored.phone_hash == crypto.lookup_hash("13700001234", kind="phone")
    assert "13700001234" not in stored.phone_token


def test_an_emergency_contact_needs_a_valid_phone(users, elder):
    with pytest.raises(ValidationError) as raised:
        save_item(
            acting_user=users["liaison_a"],
            elder=elder,
            kind="contacts",
            values={"name": "蔡大", "phone": ""},
        )
    assert raised.value.message_dict["phone"] == ["请填写联系电话。"]

    with pytest.raises(ValidationError) as raised:
        save_item(
            acting_user=users["liaison_a"],
            elder=elder,
            kind="contacts",
            values={"name": "", "phone": "123"},
        )
    assert set(raised.value.message_dict) == {"name", "phone"}
    assert not EmergencyContact.objects.exists()


def test_a_household_member_id_number_is_checked_and_encrypted(users, elder):
    with pytest.raises(ValidationError) as raised:
        add_child(users, elder, id_number="350581197001011234")
    assert "id_number" in raised.value.message_dict

    number = make_id_number("350581", date(1965, 2, 3), 4, "女")
    member = add_child(users, elder, relation="daughter", id_number=number, sex="")

    stored = HouseholdMember.objects.get(pk=member.pk)
    assert stored.sex == "女"
    assert crypto.decrypt(stored.id_number_token) == number
    assert stored.id_number_hash == crypto.lookup_hash(number, kind="id")


def test_a_deceased_member_cannot_live_with_the_elder(users, elder):
    with pytest.raises(ValidationError) as raised:
        add_child(users, elder, deceased=True, lives_with_elder=True)

    assert "lives_with_elder" in raised.value.message_dict


def test_removing_a_member_keeps_the_row_and_updates_the_proposal(users, elder):
    child = add_child(users, elder, same_township=False)
    assert "空巢" in proposed(elder)

    remove_item(acting_user=users["liaison_a"], elder=elder, item=child)

    child.refresh_from_db()
    assert child.active is False
    assert HouseholdMember.objects.filter(pk=child.pk).exists()
    assert "空巢" not in proposed(elder)


def test_an_item_of_another_file_cannot_be_changed_through_this_one(users, regions, elder):
    other = register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", date(1941, 1, 1), 3, "男"),
        name="王阿伯",
        village=regions[VILLAGE_A],
    )
    child = add_child(users, other)

    with pytest.raises(PermissionDenied):
        save_item(
            acting_user=users["liaison_a"],
            elder=elder,
            kind="household",
            item=child,
            values={"name": "改"},
        )
    with pytest.raises(PermissionDenied):
        remove_item(acting_user=users["liaison_a"], elder=elder, item=child)
    with pytest.raises(PermissionDenied):
        add_child({"liaison_a": users["liaison_b"]}, elder)
    assert not HouseholdMember.objects.filter(elder=elder).exists()

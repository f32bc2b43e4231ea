"""The visitor roster (探访人员 / 服务力量): kept by the township, by kind, with the
villages each visitor serves (001_35a01bee4c628ebd.txt 二(三)1: 乡镇（街道）政府要
分类建立探访人员清单，安排部署探访人员服务内容和半径), and who sees which entries."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Role
from tanfang.audit.models import Action, AuditEvent
from tanfang.regions.models import Kind, Level, Region
from tanfang.registry import crypto
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder
from tanfang.registry.registration import register_elder
from tanfang.visits import roster
from tanfang.visits.models import Assignment, Visitor, VisitorKind
from tests.conftest import (
    PASSWORD,
    TOWNSHIP_A,
    TOWNSHIP_B,
    VILLAGE_A,
    VILLAGE_B,
    aware,
)

# A second village of 宝盖镇, so that "serving 村B" and "serving the whole
# township" can be told apart.
VILLAGE_B2 = "350581101202"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture(autouse=True)
def no_task_refresh(monkeypatch):
    """Visit tasks are tested with their generation; here only that they are refreshed."""
    refreshed: list[int] = []
    monkeypatch.setattr(
        "tanfang.visits.generation.refresh_tasks",
        lambda elder, today: refreshed.append(elder.pk),
    )
    return refreshed


@pytest.fixture
def village_b2(regions):
    return Region.objects.create(
        code=VILLAGE_B2, name="村B2", level=Level.VILLAGE, kind=Kind.RURAL, parent_id=TOWNSHIP_B
    )


def make_visitor(users, regions, name="林秀英", *, township=TOWNSHIP_A, by="township_a", **extra):
    return roster.create_visitor(
        acting_user=users[by],
        township=regions[township],
        name=name,
        kind=extra.pop("kind", VisitorKind.GRID_WORKER),
        **extra,
    )


def make_elder(users, regions, sequence=1, *, village=VILLAGE_A, name=None):
    registrar = users["liaison_a"] if village == VILLAGE_A else users["county"]
    return register_elder(
        acting_user=registrar,
        id_number=make_id_number("350581", date(1940, 3, 1), sequence, "女"),
        name=name or f"老人{sequence}",
        village=regions[village] if village in regions else Region.objects.get(code=village),
    )


def visitor_account(regions, username="tanfang_v1", region=VILLAGE_A, role=Role.VISITOR):
    return User.objects.create_user(
        username, PASSWORD, full_name="探访员账号", role=role, region=regions[region]
    )


def create(users, regions, **overrides):
    data = {
        "acting_user": users["township_a"],
        "township": regions[TOWNSHIP_A],
        "name": "林秀英",
        "kind": VisitorKind.GRID_WORKER,
    }
    data.update(overrides)
    return roster.create_visitor(**data)


def assert_refused(field, text, call):
    visitors, events = Visitor.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        call()
    assert field in caught.value.message_dict, caught.value.message_dict
    assert text in " ".join(caught.value.message_dict[field])
    assert Visitor.objects.count() == visitors
    assert AuditEvent.objects.count() == events
    return caught.value.message_dict


# Creating ---------------------------------------------------------------------------


def test_it_adds_a_visitor_to_the_townships_roster(users, regions):
    visitor = create(
        users,
        regions,
        organisation="灵秀镇社工站",
        kind=VisitorKind.SOCIAL_WORKER,
        villages=[regions[VILLAGE_A]],
    )

    visitor.refresh_from_db()
    assert (visitor.name, visitor.kind, visitor.organisation) == (
        "林秀英",
        "social_worker",
        "灵秀镇社工站",
    )
    assert visitor.township_id == TOWNSHIP_A
    assert list(visitor.villages.values_list("code", flat=True)) == [VILLAGE_A]
    assert visitor.active
    assert visitor.created_by == users["township_a"]


def test_it_stores_the_phone_normalised_and_encrypted(users, regions):
    visitor = create(users, regions, phone="138 1234 5678")

    visitor.refresh_from_db()
    assert "13812345678" not in visitor.phone_token
    assert crypto.decrypt(visitor.phone_token) == "13812345678"
    assert visitor.phone_hash == crypto.lookup_hash("13812345678", kind="phone")


def test_it_audits_the_new_entry_without_the_phone_in_clear(users, regions):
    visitor = create(users, regions, phone="13812345678", villages=[regions[VILLAGE_A]])

    event = AuditEvent.objects.get(action=Action.VISITOR_CREATED)
    assert event.actor == users["township_a"]
    assert event.region_code == TOWNSHIP_A
    assert (event.object_type, event.object_id) == ("visitor", str(visitor.pk))
    assert event.detail["villages"] == [VILLAGE_A]
    assert event.detail["phone"] is True
    assert "13812345678" not in str(event.detail)
    assert "5678" not in str(event.detail)


def test_it_lets_a_county_officer_keep_the_roster_of_any_township_of_the_county(users, regions):
    visitor = create(users, regions, acting_user=users["county"], township=regions[TOWNSHIP_B])

    assert visitor.township_id == TOWNSHIP_B


def test_it_leaves_out_the_phone_when_none_is_given(users, regions):
    visitor = create(users, regions)

    assert (visitor.phone_token, visitor.phone_hash) == ("", "")


@pytest.mark.parametrize("who", ["liaison_a", "visitor_a", "supervisor", "sysadmin"])
def test_it_refuses_roles_that_do_not_keep_the_roster(users, regions, who):
    # 001_35a01bee4c628ebd.txt 二(三)1: the township (and the county above it) keeps the roster.
    with pytest.raises(PermissionDenied):
        create(users, regions, acting_user=users[who])

    assert Visitor.objects.count() == 0


def test_it_refuses_a_township_outside_the_officers_scope(users, regions):
    assert_refused(
        "township",
        "不在您的管辖范围内",
        lambda: create(users, regions, township=regions[TOWNSHIP_B]),
    )


def test_it_refuses_a_node_that_is_not_a_township(users, regions):
    assert_refused(
        "township",
        "请选择乡镇(街道)一级的区划",
        lambda: create(users, regions, acting_user=users["county"], township=regions[VILLAGE_A]),
    )


def test_it_refuses_villages_of_another_township(users, regions):
    assert_refused(
        "villages",
        "服务村(社区)须为灵秀镇的村(社区)：村B不是",
        lambda: create(users, regions, villages=[regions[VILLAGE_A], regions[VILLAGE_B]]),
    )


def test_it_refuses_a_township_as_a_village_served(users, regions):
    assert_refused(
        "villages",
        "灵秀镇不是",
        lambda: create(users, regions, villages=[regions[TOWNSHIP_A]]),
    )


def test_it_refuses_a_bad_phone(users, regions):
    assert_refused(
        "phone",
        "请输入正确的手机号码或固定电话",
        lambda: create(users, regions, phone="1381234"),
    )


def test_it_refuses_an_empty_name(users, regions):
    assert_refused("name", "请填写姓名", lambda: create(users, regions, name="  "))


def test_it_refuses_a_name_too_long(users, regions):
    assert_refused("name", "不能超过 50 个字", lambda: create(users, regions, name="林" * 51))


def test_it_refuses_an_unknown_kind(users, regions):
    assert_refused("kind", "请选择探访人员类别", lambda: create(users, regions, kind="robot"))


def test_it_names_every_bad_field_at_once(users, regions):
    errors = assert_refused(
        "name",
        "请填写姓名",
        lambda: create(users, regions, name="", kind="", phone="12"),
    )

    assert set(errors) == {"name", "kind", "phone"}


# Students (004_1657df0ed1e05604.txt 二(二)7: 开展在校生志愿服务计学分活动) --------------


def test_it_records_a_student_volunteer_with_the_school(users, regions):
    visitor = create(
        users, regions, kind=VisitorKind.VOLUNTEER, is_student=True, school="石狮市第一中学"
    )

    assert (visitor.is_student, visitor.school) == (True, "石狮市第一中学")


def test_it_refuses_a_student_without_a_school(users, regions):
    assert_refused(
        "school",
        "学生志愿者请填写学校",
        lambda: create(users, regions, kind=VisitorKind.VOLUNTEER, is_student=True),
    )


def test_it_refuses_the_student_flag_for_other_kinds(users, regions):
    assert_refused(
        "is_student",
        "只有“志愿者”类别可以标记为学生志愿者",
        lambda: create(
            users, regions, kind=VisitorKind.GRID_WORKER, is_student=True, school="某中学"
        ),
    )


def test_it_keeps_a_school_only_for_students(users, regions):
    visitor = create(users, regions, kind=VisitorKind.VOLUNTEER, school="某中学")

    assert (visitor.is_student, visitor.school) == (False, "")


# A login for the visitor -----------------------------------------------------------


def test_it_links_a_visitor_account_of_the_township(users, regions):
    account = visitor_account(regions)

    visitor = create(users, regions, user=account)

    assert Visitor.objects.get(pk=visitor.pk).user == account


def test_it_refuses_an_account_of_another_role(users, regions):
    assert_refused(
        "user",
        "须为“探访人员”角色",
        lambda: create(users, regions, user=users["liaison_a"]),
    )


def test_it_refuses_an_account_of_another_township(users, regions):
    account = visitor_account(regions, region=VILLAGE_B)

    assert_refused(
        "user",
        "登录账号须属于灵秀镇",
        lambda: create(users, regions, acting_user=users["county"], user=account),
    )


def test_it_refuses_an_account_already_linked_to_another_visitor(users, regions):
    account = visitor_account(regions)
    create(users, regions, name="陈明", user=account)

    assert_refused(
        "user",
        "该登录账号已关联探访人员“陈明”",
        lambda: create(users, regions, user=account),
    )


def test_it_refuses_a_disabled_account(users, regions):
    account = visitor_account(regions)
    User.objects.filter(pk=account.pk).update(is_active=False)
    account.refresh_from_db()

    assert_refused("user", "该登录账号已停用", lambda: create(users, regions, user=account))


# Changing -----------------------------------------------------------------------------


def test_it_changes_fields_and_audits_their_names(users, regions):
    visitor = create(users, regions, phone="13812345678")

    changed = roster.update_visitor(
        acting_user=users["township_a"],
        visitor=visitor,
        changes={"name": "林秀梅", "phone": "13900001111", "villages": [regions[VILLAGE_A]]},
    )

    assert changed == ["name", "phone", "villages"]
    visitor.refresh_from_db()
    assert visitor.name == "林秀梅"
    assert crypto.decrypt(visitor.phone_token) == "13900001111"
    assert visitor.phone_hash == crypto.lookup_hash("13900001111", kind="phone")
    event = AuditEvent.objects.get(action=Action.VISITOR_CHANGED)
    assert event.detail == {"fields": ["name", "phone", "villages"], "villages": [VILLAGE_A]}
    assert "1390000" not in str(event.detail)


def test_it_removes_the_phone_given_as_empty(users, regions):
    visitor = create(users, regions, phone="13812345678")

    roster.update_visitor(acting_user=users["township_a"], visitor=visitor, changes={"phone": ""})

    visitor.refresh_from_db()
    assert (visitor.phone_token, visitor.phone_hash) == ("", "")


def test_it_records_nothing_when_nothing_changes(users, regions):
    visitor = create(users, regions, phone="13812345678")

    changed = roster.update_visitor(
        acting_user=users["township_a"],
        visitor=visitor,
        changes={"name": "林秀英", "phone": "138-1234-5678", "villages": []},
    )

    assert changed == []
    assert not AuditEvent.objects.filter(action=Action.VISITOR_CHANGED).exists()


def test_it_refuses_a_field_that_cannot_change(users, regions):
    visitor = create(users, regions)

    with pytest.raises(ValidationError) as caught:
        roster.update_visitor(
            acting_user=users["county"], visitor=visitor, changes={"township": regions[TOWNSHIP_B]}
        )

    assert caught.value.message_dict == {"township": ["该字段不能修改。"]}
    assert Visitor.objects.get(pk=visitor.pk).township_id == TOWNSHIP_A


def test_it_checks_changes_like_a_new_entry(users, regions):
    visitor = create(users, regions)

    with pytest.raises(ValidationError) as caught:
        roster.update_visitor(
            acting_user=users["township_a"],
            visitor=visitor,
            changes={"name": "", "phone": "12", "is_student": True},
        )

    assert set(caught.value.message_dict) == {"name", "phone", "is_student", "school"}
    visitor.refresh_from_db()
    assert (visitor.name, visitor.is_student) == ("林秀英", False)


def test_it_refuses_an_officer_of_another_township(users, regions):
    visitor = create(users, regions)

    with pytest.raises(PermissionDenied):
        roster.update_visitor(
            acting_user=users["township_b"], visitor=visitor, changes={"name": "改名"}
        )

    assert Visitor.objects.get(pk=visitor.pk).name == "林秀英"


def test_it_keeps_a_village_the_visitor_still_has_elders_in(users, regions, village_b2):
    visitor = create(
        users,
        regions,
        acting_user=users["township_b"],
        township=regions[TOWNSHIP_B],
        villages=[regions[VILLAGE_B], village_b2],
    )
    elder = make_elder(users, regions, village=VILLAGE_B, name="蔡阿伯")
    roster.assign_visitor(acting_user=users["township_b"], elder=elder, visitor=visitor)

    with pytest.raises(ValidationError) as caught:
        roster.update_visitor(
            acting_user=users["township_b"], visitor=visitor, changes={"villages": [village_b2]}
        )

    assert "仍包干蔡阿伯（村B）" in caught.value.message_dict["villages"][0]
    assert set(visitor.villages.values_list("code", flat=True)) == {VILLAGE_B, VILLAGE_B2}


def test_it_refuses_to_change_a_visitor_off_duty(users, regions):
    visitor = create(users, regions)
    roster.deactivate_visitor(acting_user=users["township_a"], visitor=visitor, reason="调离")

    with pytest.raises(ValidationError) as caught:
        roster.update_visitor(
            acting_user=users["township_a"], visitor=visitor, changes={"name": "改名"}
        )

    assert caught.value.message_dict == {"visitor": ["该探访人员已停用，不能修改。"]}


# Taking a visitor off duty ---------------------------------------------------------------


def test_it_deactivates_with_the_reason_who_and_when(users, regions):
    visitor = create(users, regions)

    roster.deactivate_visitor(acting_user=users["township_a"], visitor=visitor, reason="调离本镇")

    visitor.refresh_from_db()
    assert not visitor.active
    assert visitor.deactivation_reason == "调离本镇"
    assert visitor.deactivated_by == users["township_a"]
    assert visitor.deactivated_at == aware(2026, 11, 23, 10, 0)
    event = AuditEvent.objects.get(action=Action.VISITOR_DEACTIVATED)
    assert event.detail == {
        "reason": "调离本镇",
        "assignments_ended": 0,
        "elders_without_visitor": [],
    }


def test_it_ends_the_assignments_and_names_the_elders_left_without_a_visitor(
    users, regions, no_task_refresh
):
    leaving = create(users, regions, name="陈明")
    staying = create(users, regions, name="王芳")
    alone = make_elder(users, regions, 1, name="林阿婆")
    shared = make_elder(users, regions, 2, name="蔡阿伯")
    roster.assign_visitor(acting_user=users["liaison_a"], elder=alone, visitor=leaving)
    roster.assign_visitor(acting_user=users["liaison_a"], elder=shared, visitor=leaving)
    roster.assign_visitor(acting_user=users["liaison_a"], elder=shared, visitor=staying)
    no_task_refresh.clear()

    uncovered = roster.deactivate_visitor(
        acting_user=users["township_a"], visitor=leaving, reason="调离本镇"
    )

    assert [e.name for e in uncovered] == ["林阿婆"]
    ended = Assignment.objects.filter(visitor=leaving)
    assert ended.count() == 2  # history kept: the rows stay, ended
    assert all(a.ended_at and a.end_reason == "调离本镇" for a in ended)
    assert {a.ended_by for a in ended} == {users["township_a"]}
    assert Assignment.objects.filter(visitor=staying, ended_at__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action=Action.ASSIGNMENT_ENDED).count() == 2
    event = AuditEvent.objects.get(action=Action.VISITOR_DEACTIVATED)
    assert event.detail["elders_without_visitor"] == [alone.pk]
    assert sorted(no_task_refresh) == sorted([alone.pk, shared.pk])


def test_it_does_not_name_an_elder_no_longer_in_the_registry(users, regions):
    from tanfang.registry.actions import change_status

    visitor = create(users, regions)
    elder = make_elder(users, regions)
    roster.assign_visitor(acting_user=users["liaison_a"], elder=elder, visitor=visitor)
    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status="deceased",
        effective_on=date(2026, 11, 20),
        reason="病逝",
    )

    uncovered = roster.deactivate_visitor(
        acting_user=users["township_a"], visitor=visitor, reason="调离"
    )

    assert uncovered == []


def test_it_requires_a_reason_to_deactivate(users, regions):
    visitor = create(users, regions)
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as caught:
        roster.deactivate_visitor(acting_user=users["township_a"], visitor=visitor, reason=" ")

    assert caught.value.message_dict == {"reason": ["请填写停用原因。"]}
    assert Visitor.objects.get(pk=visitor.pk).active
    assert AuditEvent.objects.count() == events


def test_it_refuses_a_reason_too_long(users, regions):
    visitor = create(users, regions)

    with pytest.raises(ValidationError) as caught:
        roster.deactivate_visitor(
            acting_user=users["township_a"], visitor=visitor, reason="长" * 201
        )

    assert "停用原因不能超过 200 个字" in caught.value.message_dict["reason"][0]
    assert Visitor.objects.get(pk=visitor.pk).active


def test_it_refuses_to_deactivate_twice(users, regions):
    visitor = create(users, regions)
    roster.deactivate_visitor(acting_user=users["township_a"], visitor=visitor, reason="调离")

    with pytest.raises(ValidationError) as caught:
        roster.deactivate_visitor(acting_user=users["township_a"], visitor=visitor, reason="再次")

    assert caught.value.message_dict == {"visitor": ["该探访人员已停用。"]}
    assert Visitor.objects.get(pk=visitor.pk).deactivation_reason == "调离"


def test_it_refuses_to_deactivate_a_visitor_of_another_township(users, regions):
    visitor = create(users, regions)

    with pytest.raises(PermissionDenied):
        roster.deactivate_visitor(acting_user=users["township_b"], visitor=visitor, reason="调离")

    assert Visitor.objects.get(pk=visitor.pk).active


# Who sees which entries -------------------------------------------------------------------


@pytest.fixture
def roster_of_both(users, regions, village_b2):
    """Visitors of 灵秀镇 (serving 村A, or the whole township) and of 宝盖镇
    (serving 村B, 村B2 only, or the whole township)."""
    a_village = create(users, regions, name="甲村A", villages=[regions[VILLAGE_A]])
    a_all = create(users, regions, name="甲全镇")
    b = {"acting_user": users["township_b"], "township": regions[TOWNSHIP_B]}
    b_village = create(users, regions, name="乙村B", villages=[regions[VILLAGE_B]], **b)
    b_other = create(users, regions, name="乙村B2", villages=[village_b2], **b)
    b_all = create(users, regions, name="乙全镇", **b)
    return {v.name: v for v in [a_village, a_all, b_village, b_other, b_all]}


def visible(user):
    return set(Visitor.objects.visible_to(user).values_list("name", flat=True))


def test_a_township_officer_sees_the_whole_roster_of_the_township(users, roster_of_both):
    assert visible(users["township_b"]) == {"乙村B", "乙村B2", "乙全镇"}


def test_a_county_officer_and_a_supervisor_see_every_township_below(users, roster_of_both):
    assert visible(users["county"]) == set(roster_of_both)
    assert visible(users["supervisor"]) == set(roster_of_both)


def test_a_village_liaison_sees_the_visitors_serving_the_village_or_the_whole_township(
    users, roster_of_both
):
    assert visible(users["liaison_b"]) == {"乙村B", "乙全镇"}
    assert visible(users["liaison_a"]) == {"甲村A", "甲全镇"}
    assert visible(users["visitor_a"]) == {"甲村A", "甲全镇"}


def test_an_officer_of_another_county_sees_none(users, roster_of_both):
    assert visible(users["county_other"]) == set()


def test_it_answers_404_for_a_visitor_outside_the_scope(users, roster_of_both):
    from django.http import Http404

    visitors = Visitor.objects.visible_to(users["liaison_b"])
    with pytest.raises(Http404):
        access.get_or_404(visitors, pk=roster_of_both["乙村B2"].pk)
    with pytest.raises(Http404):
        access.get_or_404(visitors, pk=roster_of_both["甲全镇"].pk)
    assert access.get_or_404(visitors, pk=roster_of_both["乙全镇"].pk).name == "乙全镇"


def test_administrators_read_no_roster(users, roster_of_both):
    with pytest.raises(PermissionDenied):
        Visitor.objects.visible_to(users["sysadmin"])


def test_elders_are_untouched_by_roster_changes(users, regions):
    elder = make_elder(users, regions)
    before = Elder.objects.values().get(pk=elder.pk)

    visitor = create(users, regions)
    roster.update_visitor(acting_user=users["township_a"], visitor=visitor, changes={"name": "改"})

    assert Elder.objects.values().get(pk=elder.pk) == before

"""Assignments (包干): a responsible visitor for each active elder, named by the
village or township (003_fe235aaa23e67560.txt 三: 就近就便、分片包干负责具体实施，确定
巡访责任人; 000_4970ff49482a0570.txt 三(二)), kept as history, and the reads
that show who has none."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tanfang.audit.models import Action, AuditEvent
from tanfang.regions.models import Kind, Level, Region
from tanfang.registry.actions import change_status
from tanfang.registry.models import Elder
from tanfang.visits import queries, roster
from tanfang.visits.models import Assignment, VisitorKind, VisitTask
from tests.conftest import COUNTY, TOWNSHIP_A, TOWNSHIP_B, VILLAGE_A, VILLAGE_B, aware
from tests.visits.test_roster import VILLAGE_B2, make_elder, make_visitor

NOW = aware(2026, 11, 23, 10, 0)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def village_b2(regions):
    return Region.objects.create(
        code=VILLAGE_B2, name="村B2", level=Level.VILLAGE, kind=Kind.RURAL, parent_id=TOWNSHIP_B
    )


@pytest.fixture
def refreshed(monkeypatch):
    """The elders whose visit tasks were refreshed, in order."""
    seen: list[int] = []
    monkeypatch.setattr(
        "tanfang.visits.generation.refresh_tasks", lambda elder, today: seen.append(elder.pk)
    )
    return seen


@pytest.fixture
def elder(users, regions):
    return make_elder(users, regions, 1, name="林阿婆")


@pytest.fixture
def visitor(users, regions):
    return make_visitor(users, regions, "陈明", villages=[regions[VILLAGE_A]])


def assign(users, elder, visitor, who="liaison_a"):
    return roster.assign_visitor(acting_user=users[who], elder=elder, visitor=visitor)


def assert_refused(field, text, call):
    rows, events = Assignment.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        call()
    assert field in caught.value.message_dict, caught.value.message_dict
    assert text in " ".join(caught.value.message_dict[field])
    assert Assignment.objects.count() == rows
    assert AuditEvent.objects.count() == events
    return caught.value.message_dict


# Assigning ---------------------------------------------------------------------------------


def test_it_makes_the_visitor_responsible_for_the_elder(users, elder, visitor, refreshed):
    refreshed.clear()

    assignment = assign(users, elder, visitor)

    assignment.refresh_from_db()
    assert (assignment.elder, assignment.visitor) == (elder, visitor)
    assert (assignment.started_at, assignment.started_by) == (NOW, users["liaison_a"])
    assert assignment.ended_at is None
    event = AuditEvent.objects.get(action=Action.ELDER_ASSIGNED)
    assert event.region_code == VILLAGE_A
    assert (event.object_type, event.object_id) == ("elder", str(elder.pk))
    assert event.detail == {"visitor": visitor.pk, "assignment": assignment.pk}
    assert refreshed == [elder.pk]


def test_it_refreshes_the_elders_visit_tasks_for_real(users, elder, visitor):
    """Without the stand-in: tanfang.visits.generation.refresh_tasks runs inside
    the same transaction and leaves the elder's tasks in place."""
    assign(users, elder, visitor)

    assert Assignment.objects.filter(elder=elder, ended_at__isnull=True).count() == 1
    assert VisitTask.objects.filter(elder=elder, cancelled_at__isnull=True).exists()


@pytest.mark.parametrize("who", ["liaison_a", "township_a", "county"])
def test_it_lets_the_liaison_the_township_and_the_county_assign(
    users, elder, visitor, refreshed, who
):
    assign(users, elder, visitor, who)

    assert Assignment.objects.filter(elder=elder, visitor=visitor).exists()


def test_it_gives_an_elder_several_visitors(users, regions, elder, visitor, refreshed):
    doctor = make_visitor(users, regions, "王医生", kind=VisitorKind.FAMILY_DOCTOR)

    assign(users, elder, visitor)
    assign(users, elder, doctor)

    assert set(queries.visitors_of_elder(elder).values_list("name", flat=True)) == {
        "陈明",
        "王医生",
    }


def test_it_refuses_the_same_visitor_twice(users, elder, visitor, refreshed):
    assign(users, elder, visitor)

    assert_refused("visitor", "陈明已是林阿婆的包干探访人员", lambda: assign(users, elder, visitor))


def test_it_assigns_again_after_the_first_assignment_ended_and_keeps_both(
    users, elder, visitor, refreshed
):
    first = assign(users, elder, visitor)
    roster.end_assignment(acting_user=users["liaison_a"], assignment=first, reason="暂停")

    second = assign(users, elder, visitor)

    rows = list(queries.history_of_elder(elder))
    assert rows == [second, first]
    assert rows[1].end_reason == "暂停"


def test_it_refuses_a_visitor_off_duty(users, elder, visitor, refreshed):
    roster.deactivate_visitor(acting_user=users["township_a"], visitor=visitor, reason="调离")

    assert_refused("visitor", "陈明已停用", lambda: assign(users, elder, visitor))


def test_it_refuses_a_visitor_of_another_township(users, regions, elder, refreshed):
    other = make_visitor(users, regions, "郑华", township=TOWNSHIP_B, by="township_b")

    assert_refused(
        "visitor",
        "郑华属于宝盖镇，不能包干村A的老人",
        lambda: assign(users, elder, other, "county"),
    )


def test_it_refuses_a_visitor_who_does_not_serve_the_elders_village(
    users, regions, village_b2, refreshed
):
    elder = make_elder(users, regions, 2, village=VILLAGE_B, name="蔡阿伯")
    elsewhere = make_visitor(
        users, regions, "郑华", township=TOWNSHIP_B, by="township_b", villages=[village_b2]
    )

    assert_refused(
        "visitor",
        "郑华的服务村(社区)不包括村B",
        lambda: assign(users, elder, elsewhere, "township_b"),
    )


def test_it_lets_a_visitor_serving_the_whole_township_take_any_village(
    users, regions, elder, refreshed
):
    township_wide = make_visitor(users, regions, "全镇网格员")

    assign(users, elder, township_wide)

    assert queries.visitors_of_elder(elder).get() == township_wide


def test_it_refuses_an_elder_no_longer_in_the_registry(users, elder, visitor, refreshed):
    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status="moved_away",
        effective_on=NOW.date(),
        reason="随子女迁居",
        destination="厦门",
    )

    assert_refused("elder", "林阿婆的档案为“迁出”，不在册", lambda: assign(users, elder, visitor))


def test_a_liaison_of_another_village_cannot_assign_the_elder(users, elder, visitor):
    # 村B's liaison and 村A's elder: outside the scope, as if it did not exist.
    with pytest.raises(PermissionDenied):
        assign(users, elder, visitor, "liaison_b")

    assert not Assignment.objects.exists()


def test_a_liaison_cannot_use_a_visitor_outside_their_roster(users, regions, village_b2, refreshed):
    elder = make_elder(users, regions, 2, village=VILLAGE_B)
    of_a = make_visitor(users, regions, "林秀英")
    of_b2 = make_visitor(
        users, regions, "郑华", township=TOWNSHIP_B, by="township_b", villages=[village_b2]
    )

    for visitor in (of_a, of_b2):
        assert_refused(
            "visitor",
            "该探访人员不在您的管辖范围内",
            lambda visitor=visitor: assign(users, elder, visitor, "liaison_b"),
        )


@pytest.mark.parametrize("who", ["visitor_a", "supervisor", "sysadmin"])
def test_it_refuses_roles_that_do_not_assign(users, elder, visitor, who):
    with pytest.raises(PermissionDenied):
        assign(users, elder, visitor, who)

    assert not Assignment.objects.exists()


# Ending -----------------------------------------------------------------------------------


def test_it_ends_an_assignment_and_keeps_it_as_history(users, elder, visitor, refreshed):
    assignment = assign(users, elder, visitor)
    refreshed.clear()

    left_without = roster.end_assignment(
        acting_user=users["township_a"], assignment=assignment, reason="老人要求更换"
    )

    assert left_without is True
    assignment.refresh_from_db()
    assert (assignment.ended_at, assignment.ended_by, assignment.end_reason) == (
        NOW,
        users["township_a"],
        "老人要求更换",
    )
    assert Assignment.objects.filter(elder=elder).count() == 1
    event = AuditEvent.objects.get(action=Action.ASSIGNMENT_ENDED)
    assert event.detail == {
        "visitor": visitor.pk,
        "assignment": assignment.pk,
        "reason": "老人要求更换",
    }
    assert event.region_code == VILLAGE_A
    assert refreshed == [elder.pk]


def test_it_says_the_elder_still_has_a_visitor(users, regions, elder, visitor, refreshed):
    assignment = assign(users, elder, visitor)
    assign(users, elder, make_visitor(users, regions, "王芳"))

    assert (
        roster.end_assignment(acting_user=users["liaison_a"], assignment=assignment, reason="调整")
        is False
    )


def test_it_requires_a_reason_to_end(users, elder, visitor, refreshed):
    assignment = assign(users, elder, visitor)
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as caught:
        roster.end_assignment(acting_user=users["liaison_a"], assignment=assignment, reason="")

    assert caught.value.message_dict == {"reason": ["请填写结束原因。"]}
    assignment.refresh_from_db()
    assert assignment.ended_at is None
    assert AuditEvent.objects.count() == events


def test_it_refuses_to_end_twice(users, elder, visitor, refreshed):
    assignment = assign(users, elder, visitor)
    roster.end_assignment(acting_user=users["liaison_a"], assignment=assignment, reason="调整")

    with pytest.raises(ValidationError) as caught:
        roster.end_assignment(acting_user=users["liaison_a"], assignment=assignment, reason="再次")

    assert caught.value.message_dict == {"assignment": ["该包干已经结束。"]}
    assert Assignment.objects.get(pk=assignment.pk).end_reason == "调整"


def test_a_liaison_of_another_village_cannot_end_it(users, elder, visitor, refreshed):
    assignment = assign(users, elder, visitor)

    with pytest.raises(PermissionDenied):
        roster.end_assignment(acting_user=users["liaison_b"], assignment=assignment, reason="x")

    assert Assignment.objects.get(pk=assignment.pk).ended_at is None


# Many at once ------------------------------------------------------------------------------


def test_it_assigns_many_elders_at_once(users, regions, visitor, refreshed):
    elders = [make_elder(users, regions, n, name=f"老人{n}") for n in (1, 2, 3)]
    refreshed.clear()

    made = roster.assign_many(acting_user=users["liaison_a"], elders=elders, visitor=visitor)

    assert len(made) == 3
    assert (
        set(queries.elders_without_visitor(Elder.objects.visible_to(users["liaison_a"]))) == set()
    )
    events = AuditEvent.objects.filter(action=Action.ELDER_ASSIGNED)
    assert events.count() == 3
    assert all(e.detail["bulk"] is True for e in events)
    assert sorted(refreshed) == sorted(e.pk for e in elders)


def test_it_assigns_none_when_one_elder_cannot_be_assigned(users, regions, visitor, refreshed):
    free = make_elder(users, regions, 1, name="林阿婆")
    taken = make_elder(users, regions, 2, name="蔡阿伯")
    gone = make_elder(users, regions, 3, name="黄阿公")
    assign(users, taken, visitor)
    change_status(
        acting_user=users["liaison_a"],
        elder=gone,
        to_status="deceased",
        effective_on=NOW.date(),
        reason="病逝",
    )

    errors = assert_refused(
        "elders",
        "蔡阿伯：陈明已是蔡阿伯的包干探访人员",
        lambda: roster.assign_many(
            acting_user=users["liaison_a"], elders=[free, taken, gone], visitor=visitor
        ),
    )

    assert len(errors["elders"]) == 2
    assert "黄阿公：黄阿公的档案为“去世”" in errors["elders"][1]
    assert not Assignment.objects.filter(elder=free).exists()


def test_it_requires_at_least_one_elder(users, visitor):
    assert_refused(
        "elders",
        "请选择要包干的老人",
        lambda: roster.assign_many(acting_user=users["liaison_a"], elders=[], visitor=visitor),
    )


def test_it_refuses_many_for_a_visitor_off_duty(users, regions, elder, visitor, refreshed):
    roster.deactivate_visitor(acting_user=users["township_a"], visitor=visitor, reason="调离")

    assert_refused(
        "visitor",
        "陈明已停用",
        lambda: roster.assign_many(acting_user=users["liaison_a"], elders=[elder], visitor=visitor),
    )


def test_it_refuses_many_when_one_elder_is_outside_the_scope(users, regions, visitor):
    mine = make_elder(users, regions, 1)
    theirs = make_elder(users, regions, 2, village=VILLAGE_B)

    with pytest.raises(PermissionDenied):
        roster.assign_many(acting_user=users["liaison_a"], elders=[mine, theirs], visitor=visitor)

    assert not Assignment.objects.exists()


# Reads --------------------------------------------------------------------------------------


def test_it_lists_the_active_elders_without_a_visitor(users, regions, visitor, refreshed):
    assigned = make_elder(users, regions, 1, name="有人包干")
    ended = make_elder(users, regions, 2, name="包干已结束")
    none = make_elder(users, regions, 3, name="从未包干")
    gone = make_elder(users, regions, 4, name="已去世")
    assign(users, assigned, visitor)
    roster.end_assignment(
        acting_user=users["liaison_a"], assignment=assign(users, ended, visitor), reason="调整"
    )
    change_status(
        acting_user=users["liaison_a"],
        elder=gone,
        to_status="deceased",
        effective_on=NOW.date(),
        reason="病逝",
    )

    without = queries.elders_without_visitor(Elder.objects.visible_to(users["liaison_a"]))

    assert {e.name for e in without} == {"包干已结束", "从未包干"}
    assert none in without


def test_it_counts_per_village_in_one_query(
    users, regions, village_b2, visitor, refreshed, django_assert_num_queries
):
    assign(users, make_elder(users, regions, 1), visitor)
    make_elder(users, regions, 2)
    make_elder(users, regions, 3, village=VILLAGE_B)
    make_elder(users, regions, 4, village=VILLAGE_B2)
    elders = Elder.objects.visible_to(users["county"])

    with django_assert_num_queries(1):
        counts = queries.counts_by_village(regions[COUNTY], elders)

    assert [(c.village.name, c.active, c.without_visitor) for c in counts] == [
        ("村A", 2, 1),
        ("村B", 1, 1),
        ("村B2", 1, 1),
    ]
    assert counts[0].village.parent.name == "灵秀镇"


def test_it_counts_only_the_elders_the_user_sees(users, regions, refreshed):
    make_elder(users, regions, 1)
    make_elder(users, regions, 2, village=VILLAGE_B)

    counts = queries.counts_by_village(
        regions[TOWNSHIP_A], Elder.objects.visible_to(users["liaison_a"])
    )

    assert [(c.village.code, c.active) for c in counts] == [(VILLAGE_A, 1)]

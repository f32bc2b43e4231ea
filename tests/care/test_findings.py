"""What a visit found, entered by care (`record_findings`): the hazards and needs
of the visit's answers and named needs, one need per type, with the checks of
care's own actions; made once per visit, even when the phone sends it again."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from tanfang.care.findings import record_findings
from tanfang.care.models import Hazard, Need, NeedEvent
from tanfang.visits.checklist import Findings, HazardFinding, NeedFinding
from tests.care.conftest import visit_of
from tests.visits.factories import GOOD

NOTHING = Findings(hazards=[], needs=[], bad_answers=[])


@pytest.fixture
def visit(users, elder, visitor):
    return visit_of(users, elder, visitor, number=1)


def found(*, hazards=(), needs=()):
    return Findings(
        hazards=[HazardFinding("gas_safety", item, f"燃气安全：{word}") for item, word in hazards],
        needs=[NeedFinding("need_meals", kind, label) for kind, label in needs],
        bad_answers=[],
    )


def test_it_makes_a_hazard_for_each_hazard_found(users, visit):
    recorded = record_findings(
        visit, acting_user=users["visitor_a"], found=found(hazards=[("gas", "不安全")])
    )

    hazard = Hazard.objects.get()
    assert recorded.hazards == [hazard]
    assert (hazard.visit, hazard.elder_id, hazard.item) == (visit, visit.elder_id, "gas")
    assert (hazard.finding, hazard.status, hazard.created_by) == (
        "燃气安全：不安全",
        "open",
        users["visitor_a"],
    )


def test_it_makes_one_need_per_type_with_its_first_event(users, visit):
    recorded = record_findings(
        visit,
        acting_user=users["visitor_a"],
        found=found(needs=[("meals", "助餐需求")]),
        named_needs=[
            {"type": "meals", "met": False, "note": "又写了一次"},
            {"type": "medical", "met": False, "note": "要人陪同复诊"},
            {"type": "errands", "met": True, "note": "已代购"},
        ],
    )

    needs = {n.need_type: n for n in Need.objects.all()}
    assert sorted(needs) == ["meals", "medical"]
    assert {n.pk for n in recorded.needs} == {n.pk for n in needs.values()}
    assert needs["meals"].description == "助餐需求"
    assert needs["medical"].description == "要人陪同复诊"
    assert {n.source for n in needs.values()} == {"visit"}
    assert {n.visit for n in needs.values()} == {visit}
    events = NeedEvent.objects.filter(need__in=needs.values())
    assert sorted(events.values_list("from_status", "to_status")) == [("", "open")] * 2


def test_it_makes_nothing_when_nothing_was_found(users, visit):
    recorded = record_findings(visit, acting_user=users["visitor_a"], found=NOTHING)

    assert recorded.hazards == recorded.needs == []
    assert not Hazard.objects.exists()
    assert not Need.objects.exists()


def test_it_refuses_a_kind_the_forms_do_not_know(users, visit):
    with pytest.raises(ValidationError) as caught:
        record_findings(
            visit,
            acting_user=users["visitor_a"],
            found=found(hazards=[("asbestos", "不安全")]),
            named_needs=[{"type": "pets", "met": False, "note": ""}],
        )

    assert set(caught.value.message_dict) == {"hazard", "needs_found"}
    assert not Hazard.objects.exists()
    assert not Need.objects.exists()


def test_it_requires_the_permission_to_raise(users, visit):
    with pytest.raises(PermissionDenied):
        record_findings(visit, acting_user=users["auditor"], found=found(hazards=[("gas", "差")]))

    assert not Hazard.objects.exists()


def test_it_is_404_outside_the_users_subtree(users, visit):
    with pytest.raises(Http404):
        record_findings(visit, acting_user=users["liaison_b"], found=found(hazards=[("gas", "差")]))

    assert not Hazard.objects.exists()


def test_a_visit_sent_again_makes_its_findings_once(users, elder, visitor):
    answers = {**GOOD, "gas_safety": "unsafe"}
    needs = [{"type": "meals", "met": False, "note": "做饭困难"}]
    first = visit_of(users, elder, visitor, number=7, answers=answers, needs_found=needs)

    again = visit_of(users, elder, visitor, number=7, answers=answers, needs_found=needs)

    assert again.pk == first.pk
    assert Hazard.objects.filter(visit=first).count() == 1
    assert Need.objects.filter(visit=first).count() == 1
    assert NeedEvent.objects.filter(need__visit=first).count() == 1

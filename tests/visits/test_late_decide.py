"""Deciding a late entry (补录, issue 16 "Closed months"): a township or county
officer approves it — it completes the tasks open on its day, counts in its
month, the month is re-frozen and audited with the figures before and after —
or refuses it, with a note; a liaison or a visitor may not, an officer of
another township does not even see it; deciding twice is refused in words and
changes nothing."""

import uuid
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from tanfang.audit.models import Action, AuditEvent
from tanfang.reports.models import ElderMonth, VillageMonth
from tanfang.visits.actions import record_visit
from tanfang.visits.late import approve_late, refuse_late
from tanfang.visits.models import LateState, Visit, VisitTask
from tests.conftest import VILLAGE_A, aware
from tests.visits.factories import (
    GOOD,
    PNG,
    assign,
    follow_shishi,
    make_elder,
    make_task,
    make_visitor,
)

NOVEMBER = date(2026, 11, 1)
NOTE = "已电话核实，确于当日上门探访"


@pytest.fixture
def setting(users, regions, time_machine):
    time_machine.move_to(aware(2026, 11, 1, 8, 0), tick=False)
    follow_shishi(users)
    elder = make_elder(users, regions, ability="severe")
    VisitTask.objects.filter(elder=elder).delete()
    visitor = make_visitor(users, regions)
    assign(users, elder, visitor)
    first = make_task(elder, date(2026, 11, 1), date(2026, 11, 15), key="regular:1")
    make_task(elder, date(2026, 11, 16), date(2026, 11, 30), key="regular:1")
    time_machine.move_to(aware(2026, 12, 7, 9, 0), tick=False)
    late = record_visit(
        acting_user=users["visitor_a"],
        uuid=uuid.UUID(int=1),
        elder=elder,
        mode="home",
        visited_at=aware(2026, 11, 14, 10, 0),
        visitors=[visitor],
        answers=GOOD,
        visitor_signature=PNG,
        elder_signature=PNG,
        late_reason="村里没有信号，回镇上才提交",
    ).visit
    time_machine.move_to(aware(2026, 12, 8, 10, 30), tick=False)
    return {"elder": elder, "visitor": visitor, "first": first, "late": late}


def village_figures():
    row = VillageMonth.objects.filter(village_id=VILLAGE_A, month=NOVEMBER, dimension="").first()
    return (row.counted, row.visited, row.compliant) if row else (0, 0, 0)


@pytest.mark.parametrize("officer", ["township_a", "county"])
def test_an_officer_approves_it_and_the_month_is_refrozen_with_it(users, setting, officer):
    before = village_figures()
    assert before == (1, 0, 0)

    decided = approve_late(acting_user=users[officer], visit=setting["late"], note=f" {NOTE} ")

    visit = Visit.objects.get(pk=setting["late"].pk)
    assert visit.late_state == LateState.APPROVED
    assert visit.counted
    assert visit.not_counted_reason == ""
    assert (visit.late_decided_by, visit.late_decision_note) == (users[officer], NOTE)
    assert visit.late_decided_at == aware(2026, 12, 8, 10, 30)
    # The first half's home visit (000_4970ff49482a0570.txt 四(二)), done by the visit.
    assert VisitTask.objects.get(pk=setting["first"].pk).done_by_visit == visit
    assert ElderMonth.objects.get(elder=setting["elder"], month=NOVEMBER).visits == 1
    assert village_figures() == (1, 1, 0)
    assert decided.months == (NOVEMBER,)
    event = AuditEvent.objects.get(action=Action.LATE_VISIT_APPROVED)
    assert (event.actor, event.object_id, event.region_code) == (
        users[officer],
        str(visit.pk),
        VILLAGE_A,
    )
    assert event.detail == {
        "elder": setting["elder"].pk,
        "visited_on": "2026-11-14",
        "note": NOTE,
        "tasks_done": [setting["first"].pk],
        "refrozen": ["2026-11-01"],
        "refrozen_at": "2026-12-08T10:30:00+08:00",
        "before": {"counted": 1, "visited": 0, "compliant": 0},
        "after": {"counted": 1, "visited": 1, "compliant": 0},
    }


def test_an_officer_refuses_it_and_it_never_counts(users, setting):
    before = village_figures()

    refuse_late(acting_user=users["county"], visit=setting["late"], note="探访时间与定位不符")

    visit = Visit.objects.get(pk=setting["late"].pk)
    assert visit.late_state == LateState.REFUSED
    assert not visit.counted
    assert visit.not_counted_reason == "补录不予计入：探访时间与定位不符"
    assert VisitTask.objects.get(pk=setting["first"].pk).done_at is None
    assert village_figures() == before
    assert ElderMonth.objects.get(elder=setting["elder"], month=NOVEMBER).visits == 0
    event = AuditEvent.objects.get(action=Action.LATE_VISIT_REFUSED)
    assert event.detail == {
        "elder": setting["elder"].pk,
        "visited_on": "2026-11-14",
        "note": "探访时间与定位不符",
    }


@pytest.mark.parametrize("decide", [approve_late, refuse_late])
def test_deciding_twice_is_refused_in_words_and_changes_nothing(users, setting, decide):
    approve_late(acting_user=users["township_a"], visit=setting["late"], note=NOTE)
    audited = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as refused:
        decide(acting_user=users["county"], visit=setting["late"], note="再审一次")

    assert refused.value.message_dict == {
        "visit": [
            "这条补录已于2026年12月08日 10:30由"
            f"{users['township_a'].full_name}审核（已同意计入），未作修改。"
        ]
    }
    visit = Visit.objects.get(pk=setting["late"].pk)
    assert (visit.late_state, visit.late_decided_by) == (LateState.APPROVED, users["township_a"])
    assert AuditEvent.objects.count() == audited


def test_a_visit_entered_in_time_is_no_late_entry_to_decide(users, setting, time_machine):
    time_machine.move_to(aware(2026, 12, 9, 9, 0), tick=False)
    in_time = record_visit(
        acting_user=users["visitor_a"],
        uuid=uuid.UUID(int=2),
        elder=setting["elder"],
        mode="home",
        visited_at=aware(2026, 12, 9, 8, 0),
        visitors=[setting["visitor"]],
        answers=GOOD,
        visitor_signature=PNG,
        elder_signature=PNG,
    ).visit

    with pytest.raises(ValidationError) as refused:
        approve_late(acting_user=users["county"], visit=in_time, note=NOTE)

    assert refused.value.message_dict == {
        "visit": ["这份探访记录是按时录入的，不是补录，无需审核。"]
    }


def test_a_decision_needs_a_note(users, setting):
    for note in ("", "  "):
        with pytest.raises(ValidationError) as refused:
            approve_late(acting_user=users["county"], visit=setting["late"], note=note)
        assert refused.value.message_dict == {"note": ["请填写审核意见。"]}
    with pytest.raises(ValidationError) as refused:
        refuse_late(acting_user=users["county"], visit=setting["late"], note="很" * 501)
    assert refused.value.message_dict == {"note": ["审核意见不能超过500字。"]}
    assert Visit.objects.get(pk=setting["late"].pk).late_state == LateState.PENDING


@pytest.mark.parametrize("who", ["liaison_a", "visitor_a", "supervisor", "auditor"])
@pytest.mark.parametrize("decide", [approve_late, refuse_late])
def test_a_liaison_a_visitor_and_the_others_may_not_decide(users, setting, who, decide):
    with pytest.raises(PermissionDenied):
        decide(acting_user=users[who], visit=setting["late"], note=NOTE)

    assert Visit.objects.get(pk=setting["late"].pk).late_state == LateState.PENDING
    assert not AuditEvent.objects.filter(action__startswith="late_visit").exists()


@pytest.mark.parametrize("who", ["township_b", "county_other"])
def test_an_officer_elsewhere_does_not_see_it(users, setting, who):
    with pytest.raises(Http404):
        approve_late(acting_user=users[who], visit=setting["late"], note=NOTE)

    assert Visit.objects.get(pk=setting["late"].pk).late_state == LateState.PENDING


def test_approving_completes_only_what_is_still_open_on_its_day(users, setting):
    # Another late entry of the same window, approved first, took the task.
    other = record_visit(
        acting_user=users["visitor_a"],
        uuid=uuid.UUID(int=3),
        elder=setting["elder"],
        mode="home",
        visited_at=aware(2026, 11, 15, 8, 0),
        visitors=[setting["visitor"]],
        answers=GOOD,
        visitor_signature=PNG,
        elder_signature=PNG,
        late_reason="手机没电，今天才补录",
    ).visit
    approve_late(acting_user=users["county"], visit=other, note=NOTE)

    approve_late(acting_user=users["county"], visit=setting["late"], note=NOTE)

    visit = Visit.objects.get(pk=setting["late"].pk)
    assert visit.late_state == LateState.APPROVED
    assert not visit.counted
    assert "没有待完成的探访任务" in visit.not_counted_reason
    assert VisitTask.objects.get(pk=setting["first"].pk).done_by_visit == other
    # A valid visit of November all the same: two of them now.
    assert ElderMonth.objects.get(elder=setting["elder"], month=NOVEMBER).visits == 2

"""`seed_demo` gives the demo county's history its closed loop (issue 7): what
became of the needs and hazards the visits found, and a few emergencies, made
through care's actions and dated when they happened, deterministic and
idempotent.

The tests seed 40 elders (tests/demo/conftest.py); the full county, where
every state shows, is seeded and checked by bench/bench_demo.py.
"""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from tanfang.accounts.models import User
from tanfang.audit.models import Action, AuditEvent
from tanfang.care import queries
from tanfang.care.follow_up import CONFIRMED_NOTE, FOLLOW_UP_DAYS, FOLLOW_UP_GRACE_DAYS
from tanfang.care.models import (
    Emergency,
    EmergencyOutcome,
    EmergencyStep,
    Hazard,
    HazardStatus,
    Need,
    NeedEvent,
    NeedStatus,
    StepKind,
)
from tanfang.demo import care as demo_care
from tanfang.visits.models import TaskKind, Visit, VisitTask

SEED = "302"
NOW = "2026-11-23 15:00 +0800"
TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--seed", SEED, *args, stdout=out)
    return out.getvalue()


def loop_state() -> dict[str, object]:
    """The closed loop by natural keys (visit uuids, kinds, times), not by rows."""
    return {
        "needs": sorted(
            (
                str(n.visit.uuid),
                n.need_type,
                n.status,
                n.measure,
                n.responsible_unit,
                n.responsible_person,
                n.due_on,
                n.created_at,
                n.resolved_at,
                n.confirmed_at,
                tuple(n.events.values_list("from_status", "to_status", "at", "note")),
            )
            for n in Need.objects.select_related("visit")
        ),
        "hazards": sorted(
            (
                str(h.visit.uuid),
                h.item,
                h.status,
                h.severity,
                h.reminded_elder,
                h.reminded_family,
                h.reminded_at,
                h.removed_at,
            )
            for h in Hazard.objects.select_related("visit")
        ),
        "emergencies": sorted(
            (
                e.kind,
                e.raised_at,
                e.closed_at,
                e.outcome_kind,
                tuple(e.steps.values_list("kind", "at", "recorded_at")),
            )
            for e in Emergency.objects.all()
        ),
    }


def counts() -> dict[str, int]:
    return {
        "needs": Need.objects.count(),
        "events": NeedEvent.objects.count(),
        "hazards": Hazard.objects.count(),
        "emergencies": Emergency.objects.count(),
        "steps": EmergencyStep.objects.count(),
        "follow_ups": VisitTask.objects.filter(kind=TaskKind.FOLLOW_UP).count(),
        "audit": AuditEvent.objects.count(),
    }


def first_follow_up_visit(task: VisitTask) -> Visit | None:
    """The visit that makes a follow-up when it is recorded: the elder's first
    visit not refused, by a mode of the task, on a day of its window
    (tanfang.visits.counting)."""
    end = min(task.window_end, TODAY)
    for visit in Visit.objects.filter(elder_id=task.elder_id, refused=False).order_by(
        "visited_at", "pk"
    ):
        day = timezone.localdate(visit.visited_at)
        if visit.mode in task.modes and task.window_start <= day <= end:
            return visit
    return None


def test_it_summarises_the_closed_loop_once(db):
    out = seed()

    assert "闭环：帮扶需求 " in out
    line = next(row for row in out.splitlines() if row.startswith("闭环："))
    assert f"帮扶需求 {Need.objects.count()} 项" in line
    assert f"已解决 {Need.objects.filter(status=NeedStatus.RESOLVED).count()}" in line
    assert f"安全隐患 {Hazard.objects.count()} 处" in line
    assert f"应急事件 {Emergency.objects.count()} 起（处置中 1）" in line

    again = seed()

    assert "闭环：" not in again


def test_it_can_run_again_without_change(db):
    seed()
    before = counts(), loop_state()

    seed()

    assert (counts(), loop_state()) == before


def test_it_draws_the_same_history_from_the_same_seed(db):
    with transaction.atomic():
        seed()
        first = loop_state()
        transaction.set_rollback(True)
    assert not Need.objects.exists()

    seed()

    assert loop_state() == first
    assert first["needs"] and first["hazards"] and first["emergencies"]


def test_it_gives_each_need_taken_in_hand_its_one_measure(db):
    seed()

    needs = list(Need.objects.all())
    assert needs
    for need in needs:
        events = list(need.events.order_by("at", "pk"))
        assert events[0].from_status == "" and events[0].to_status == NeedStatus.OPEN
        if need.status in {NeedStatus.REFERRED, NeedStatus.IN_PROGRESS, NeedStatus.RESOLVED}:
            # 001_35a01bee4c628ebd.txt 二(二)5: 帮扶需求和帮扶措施要一一对应.
            assert need.measure and need.responsible_unit and need.responsible_person
            assert need.due_on >= timezone.localdate(need.created_at)
        if need.status == NeedStatus.DECLINED:
            assert events[-1].note
        if need.status == NeedStatus.RESOLVED:
            assert need.follow_up_task is not None
        else:
            assert need.follow_up_task is None and need.resolved_at is None
    assert any(n.status != NeedStatus.OPEN for n in needs)


def test_it_dates_every_step_after_its_cause_and_none_in_the_future(db):
    seed()
    now = timezone.now()

    for need in Need.objects.select_related("visit"):
        # Entered when the visit that found it was recorded.
        assert need.created_at == need.visit.recorded_at
        times = list(need.events.order_by("pk").values_list("at", flat=True))
        assert times[0] == need.created_at
        assert times == sorted(times)
        assert times[-1] <= now
        assert need.created_at <= need.updated_at <= now
        if need.resolved_at:
            resolving = need.events.exclude(from_status=NeedStatus.RESOLVED)
            assert need.resolved_at == resolving.get(to_status=NeedStatus.RESOLVED).at
        if need.confirmed_at:
            assert need.resolved_at < need.confirmed_at == need.updated_at <= now
    for hazard in Hazard.objects.select_related("visit", "removal_visit"):
        assert hazard.created_at == hazard.visit.recorded_at
        if hazard.reminded_at:
            assert hazard.created_at <= hazard.reminded_at <= now
        if hazard.status == HazardStatus.REMOVED:
            assert hazard.removed_at == hazard.removal_visit.visited_at
            assert hazard.created_at < hazard.removed_at <= now
            assert hazard.reminded_at is None or hazard.reminded_at < hazard.removed_at
    for emergency in Emergency.objects.prefetch_related("steps"):
        steps = list(emergency.steps.all())
        assert emergency.raised_at <= emergency.created_at <= now
        for step in steps:
            assert emergency.raised_at <= step.at <= step.recorded_at <= now
            assert step.recorded_at >= emergency.created_at
        if emergency.closed_at:
            assert max(s.recorded_at for s in steps) < emergency.closed_at <= now
        if emergency.visit_id:
            assert emergency.raised_at == emergency.visit.visited_at


def test_it_confirms_a_need_by_the_first_visit_of_its_follow_up_window(db):
    """A follow-up (跟踪回访, 000_4970ff49482a0570.txt 四(三)三是) is made by the
    elder's first visit in its window, as record_visit would have made it, and
    that confirms the need."""
    seed()

    tasks = VisitTask.objects.filter(kind=TaskKind.FOLLOW_UP)
    assert tasks.exists()
    for task in tasks:
        made_by = first_follow_up_visit(task)
        assert task.done_by_visit == made_by
        if made_by is not None:
            assert task.done_at == made_by.recorded_at
            entry = AuditEvent.objects.get(action=Action.VISIT_RECORDED, object_id=str(made_by.pk))
            assert task.pk in entry.detail["tasks_done"]
            assert made_by.counted
    for need in Need.objects.filter(status=NeedStatus.RESOLVED).select_related("follow_up_task"):
        task = need.follow_up_task
        resolved_on = timezone.localdate(need.resolved_at)
        assert task.window_start == resolved_on + timedelta(days=1)
        assert task.deadline == resolved_on + timedelta(days=FOLLOW_UP_DAYS)
        assert task.window_end == task.deadline + timedelta(days=FOLLOW_UP_GRACE_DAYS)
        assert need.confirmed_at == task.done_at
        if task.done_at:
            confirmation = need.events.get(note=CONFIRMED_NOTE)
            assert confirmation.visit_id == task.done_by_visit_id
            assert confirmation.at == task.done_at
            assert AuditEvent.objects.filter(
                action=Action.NEED_CONFIRMED, object_id=str(need.pk)
            ).exists()
    assert Need.objects.filter(confirmed_at__isnull=False).exists()


def test_it_handles_emergencies_step_by_step_with_the_townships_follow_up(db):
    seed()

    emergencies = list(Emergency.objects.prefetch_related("steps"))
    assert 3 <= len(emergencies) <= 5
    closed = [e for e in emergencies if e.closed_at]
    assert len(closed) == len(emergencies) - 1
    assert {e.source for e in closed} == {"visit", "phone"}
    for emergency in closed:
        kinds = {s.kind for s in emergency.steps.all()}
        # 001_35a01bee4c628ebd.txt 二(五)1: 拨打紧急求助电话、联系家庭成员、报告村（社区）.
        assert StepKind.VILLAGE_INFORMED in kinds
        assert kinds & {StepKind.FAMILY_NOTIFIED, StepKind.CONTACT_NOTIFIED}
        assert StepKind.HELP_CALLED in kinds or emergency.outcome_kind == EmergencyOutcome.CLEARED
        assert emergency.outcome
        task = emergency.follow_up_task
        closed_on = timezone.localdate(emergency.closed_at)
        assert task.window_start == closed_on + timedelta(days=1)
        assert task.done_by_visit == first_follow_up_visit(task)
    assert any(e.follow_up_task.done_at for e in closed)


def test_it_leaves_an_emergency_open_on_the_demo_liaisons_board(db):
    seed()
    liaison = User.objects.get(username="liaison")

    board = queries.village_open_items(liaison, liaison.region_id, TODAY)

    [aged] = board.emergencies
    emergency = aged.item
    assert aged.age_days == 0
    assert timezone.now() - emergency.raised_at == timedelta(hours=demo_care.OPEN_HOURS_AGO)
    assert emergency.raised_by == liaison
    assert emergency.steps.count() == 2
    assert emergency.follow_up_task is None
    assert Emergency.objects.filter(closed_at__isnull=True).get() == emergency


def test_it_counts_every_need_resolved_and_hazard_found_in_the_months_reports(db):
    seed()

    counts_of = [
        queries.care_counts("350581000000", month, TODAY)
        for month in (date(2026, m, 1) for m in range(5, 12))
    ]
    resolved = Need.objects.filter(status=NeedStatus.RESOLVED).count()
    assert sum(c.resolved_in_month for c in counts_of) == resolved
    assert sum(c.hazards_found for c in counts_of) == Hazard.objects.count()
    assert counts_of[-1].emergencies_open == 1

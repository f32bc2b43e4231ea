"""`seed_demo` adds visitors of every kind, assignments and six months of visits
to the demo county, through the visit actions, deterministic and idempotent.

The default tests seed 40 elders (tests/demo/conftest.py) with the seed 302,
under which three of them live in the demo community, so that the demo
visitor has a caseload; the full county is seeded and checked by
bench/bench_demo.py.
"""

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from tanfang.accounts.models import User
from tanfang.audit.models import Action, AuditEvent
from tanfang.care.models import Hazard, Need
from tanfang.demo import plans as demo_plans
from tanfang.demo import roster as demo_roster
from tanfang.demo import store as demo_store
from tanfang.jurisdiction.models import DeclaredEvent
from tanfang.months import bounds, months_between
from tanfang.regions.models import Kind, Level, Region
from tanfang.registry import crypto, identity
from tanfang.registry.models import Elder, Status
from tanfang.reports.models import ElderMonth, VillageMonth
from tanfang.visits import checklist, page_queries
from tanfang.visits.actions import checklist_for, record_visit
from tanfang.visits.models import (
    Assignment,
    TaskKind,
    TaskState,
    Visit,
    VisitMode,
    Visitor,
    VisitorKind,
    VisitTask,
)
from tanfang.visits.queries import elders_without_visitor
from tests.reports.test_rollups import assert_same_as_recomputed, tables

SEED = "302"
# A Monday afternoon: the second half of November is under way and visits were
# made this morning.
NOW = "2026-11-23 15:00 +0800"
TODAY = date(2026, 11, 23)
COUNTY = "350581"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--seed", SEED, *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "visitors": Visitor.objects.count(),
        "assignments": Assignment.objects.count(),
        "tasks": VisitTask.objects.count(),
        "done": VisitTask.objects.filter(done_at__isnull=False).count(),
        "excused": VisitTask.objects.filter(excused_at__isnull=False).count(),
        "visits": Visit.objects.count(),
        "hazards": Hazard.objects.count(),
        "needs": Need.objects.count(),
        "events": DeclaredEvent.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def states(today: date = TODAY) -> Counter[TaskState]:
    """The states of the visit tasks the county's rules make (the follow-ups of
    the closed loop have their own deadline: tests/demo/test_seed_care.py)."""
    tasks = VisitTask.objects.exclude(kind__in=[TaskKind.REVIEW, TaskKind.FOLLOW_UP])
    return Counter(t.state_on(today) for t in tasks)


def test_it_adds_visitors_of_every_kind_to_every_township(db):
    out = seed()

    assert "探访：新增探访人员" in out
    # The township keeps a roster of visitors by kind (001_35a01bee4c628ebd.txt 二(三)1:
    # 分类建立探访人员清单).
    visitors = list(Visitor.objects.prefetch_related("villages").select_related("township"))
    assert {v.kind for v in visitors} == set(VisitorKind.values)
    for township in Region.objects.filter(code__startswith=COUNTY, level=Level.TOWNSHIP):
        villages = set(township.children.values_list("code", flat=True))
        grid = [v for v in visitors if v.township_id == township.code and v.kind == "grid_worker"]
        # A grid worker (网格员) for each village of the township.
        assert sorted(c for v in grid for c in v.villages.values_list("code", flat=True)) == sorted(
            villages
        )
        for visitor in visitors:
            if visitor.township_id == township.code:
                assert {v.code for v in visitor.villages.all()} <= villages
    for visitor in visitors:
        # Encrypted like the registry's phones, and found by the keyed hash.
        phone = crypto.decrypt(visitor.phone_token)
        assert phone not in visitor.phone_token
        assert identity.normalise_phone(phone) == phone
        assert visitor.phone_hash == crypto.lookup_hash(phone, kind="phone")
        assert visitor.is_student == bool(visitor.school)
        if visitor.is_student:
            assert visitor.kind == VisitorKind.VOLUNTEER
        if visitor.kind == VisitorKind.PROPERTY_STAFF:
            # 物业 serve urban communities.
            assert {v.kind for v in visitor.villages.all()} == {Kind.URBAN}
    assert any(v.is_student for v in visitors)
    assert AuditEvent.objects.filter(action=Action.VISITOR_CREATED).count() == len(visitors)


def test_it_links_the_demo_visitor_account_to_the_grid_worker_of_its_community(db):
    seed()

    account = User.objects.get(username="visitor")
    visitor = Visitor.objects.get(user=account)
    assert visitor.kind == VisitorKind.GRID_WORKER
    assert visitor.name == account.full_name
    assert list(visitor.villages.values_list("code", flat=True)) == [account.region_id]
    caseload = Elder.objects.filter(assignments__visitor=visitor, assignments__ended_at=None)
    assert caseload.exists()
    assert set(caseload.values_list("village_id", flat=True)) == {account.region_id}


def test_it_gives_every_active_elder_a_visitor_but_a_chosen_few(db):
    seed()

    # 000_4970ff49482a0570.txt 三(二): 落实包干责任人.
    active = Elder.objects.filter(status=Status.ACTIVE)
    without = set(elders_without_visitor(active).values_list("pk", flat=True))
    facts = demo_roster.elder_facts()
    demo_village = User.objects.get(username="visitor").region_id
    assert without == demo_roster.left_unassigned(facts, demo_village)
    assert 1 <= len(without) <= demo_roster.UNASSIGNED
    # The demo liaison's list of elders without a visitor is not empty.
    assert Elder.objects.filter(pk__in=without, village_id=demo_village).exists()
    # Nobody unassigned was visited.
    assert not Visit.objects.filter(elder__in=without).exists()
    # Every assignment is of a visitor of the elder's township who serves the
    # village (003_fe235aaa23e67560.txt 三: 就近就便、分片包干).
    for assignment in Assignment.objects.select_related("elder", "visitor"):
        assert assignment.visitor.township_id == assignment.elder.village_id[:9] + "000"
        served = set(assignment.visitor.villages.values_list("code", flat=True))
        assert not served or assignment.elder.village_id in served


def test_it_shows_the_demo_visitor_tasks_due_today_and_this_period(db):
    seed()

    account = User.objects.get(username="visitor")
    home = page_queries.home(account, page_queries.visitor_of(account), TODAY)

    # The cold wave declared for the last four days ends today: its extra visit
    # (000_4970ff49482a0570.txt 四(二) 极端天气适当增加探访频次) is due today.
    assert home.due_today
    assert {row.task.kind for row in home.due_today} == {TaskKind.EVENT}
    assert home.this_period or home.done
    event = DeclaredEvent.objects.get()
    assert (event.kind, event.starts_on, event.ends_on) == ("cold", date(2026, 11, 20), TODAY)


def test_it_leaves_the_county_with_done_due_and_missed_tasks_today(db):
    seed()

    found = states()
    assert found[TaskState.DONE] > 0
    assert found[TaskState.DUE] > 0
    assert found[TaskState.MISSED] > 0
    assert found[TaskState.EXCUSED] > 0
    # 石狮 sets no deadline day inside a period (000_4970ff49482a0570.txt 四(二):
    # 每半月 / 每月至少上门探访1次), so a task is due until its period ends and
    # never overdue.
    assert (
        not VisitTask.objects.exclude(kind=TaskKind.FOLLOW_UP)
        .filter(deadline__lt=F("window_end"))
        .exists()
    )
    assert found[TaskState.OVERDUE] == 0
    # Every past month has missed tasks beside the done ones: realistic gaps.
    for month in range(6, 11):
        regular = VisitTask.objects.filter(kind=TaskKind.REGULAR, window_start__month=month)
        month_states = Counter(t.state_on(TODAY) for t in regular)
        assert month_states[TaskState.DONE] > month_states[TaskState.MISSED] > 0, month


def test_it_records_hazards_and_needs_found_on_visits(db):
    seed()

    hazards = list(Hazard.objects.select_related("visit"))
    assert len(hazards) >= demo_plans.FEW
    for hazard in hazards:
        # An unsafe answer on a safety item of the Fujian form (000_… 附件4 安全情况).
        form = checklist.load(hazard.visit.checklist)
        found = checklist.findings(form, hazard.visit.answers)
        assert hazard.item in {h.hazard for h in found.hazards}
        assert hazard.elder_id == hazard.visit.elder_id
    needs = list(Need.objects.select_related("visit"))
    assert len(needs) >= demo_plans.FEW
    for need in needs:
        unmet = {n["type"] for n in need.visit.needs_found if not n["met"]}
        assert need.need_type in unmet
        assert need.elder_id == need.visit.elder_id


def test_it_records_calls_to_key_elders_that_did_not_count_and_refusals(db):
    seed()

    # 000_4970ff49482a0570.txt 四(二): 重点对象每半月至少上门探访1次.
    calls = Visit.objects.filter(
        mode=VisitMode.PHONE,
        refused=False,
        elder__tier="key",
        not_counted_reason__startswith="该老人为重点对象，电话探访不计入",
    )
    assert calls.count() >= demo_plans.FEW
    # A call inside a festival's window is that festival's visit (its coverage,
    # 000_… 四(二) 适当增加探访频次), a call may confirm a follow-up; never is it
    # the half-month's home visit.
    assert not VisitTask.objects.filter(done_by_visit__in=calls, kind=TaskKind.REGULAR).exists()
    refused = Visit.objects.filter(refused=True)
    assert refused.count() >= demo_plans.FEW
    assert not refused.filter(counted=True).exists()
    assert all(answers == {} for answers in refused.values_list("answers", flat=True))


def test_it_breaks_no_rule_of_a_visit(db):
    seed()
    now = timezone.now()

    visits = list(
        Visit.objects.select_related("elder").prefetch_related(
            "visitors__villages", "completed_tasks"
        )
    )
    assert visits
    assignments = defaultdict(list)
    for assignment in Assignment.objects.all():
        assignments[(assignment.elder_id, assignment.visitor_id)].append(assignment)
    sequences = defaultdict(list)
    for visit in visits:
        elder = visit.elder
        day = timezone.localdate(visit.visited_at)
        assert visit.visited_at <= now
        assert visit.ended_at is None or visit.ended_at <= now
        assert visit.recorded_at <= now
        assert day >= elder.registered_on
        assert elder.status == Status.ACTIVE
        assert visit.village_id == elder.village_id
        if visit.mode == VisitMode.HOME and not visit.refused:
            assert elder.consents_to_home_visits
        for visitor in visit.visitors.all():
            # Responsible for the elder since before the visit (包干).
            held = assignments[(elder.pk, visitor.pk)]
            assert any(a.started_at <= visit.visited_at for a in held), visit.uuid
            assert visitor.active
        if not visit.refused:
            form = checklist_for(elder, day)
            assert visit.checklist == form.name
            assert checklist.clean_answers(form, visit.answers) == visit.answers
            assert visit.visitor_signature.startswith("data:image/png;base64,")
            assert visit.elder_signature.startswith("data:image/png;base64,")
        for task in visit.completed_tasks.all():
            # Counted only inside the window and in a mode the rule accepts.
            assert task.window_start <= day <= task.window_end
            assert visit.mode in task.modes
            assert task.done_at == visit.recorded_at
        assert visit.counted == visit.completed_tasks.exists()
        sequences[elder.pk].append((visit.visited_at, visit.sequence))
    for pairs in sequences.values():
        # 第 N 次 follows the dates.
        assert [n for _, n in sorted(pairs)] == list(range(1, len(pairs) + 1))
    # One regular visit a period at most counts.
    regular = Counter(
        VisitTask.objects.filter(kind=TaskKind.REGULAR, done_by_visit__isnull=False).values_list(
            "done_by_visit_id", flat=True
        )
    )
    assert max(regular.values()) == 1
    assert AuditEvent.objects.filter(action=Action.VISIT_RECORDED).count() == len(visits)


def test_it_stores_the_older_visits_as_record_visit_would(db):
    seed()
    cutoff = timezone.make_aware(
        datetime.combine(TODAY - timedelta(days=demo_store.RECENT_DAYS), time())
    )
    # Stored in bulk: older than the recent weeks, found nothing.
    old = (
        Visit.objects.filter(visited_at__lt=cutoff, refused=False, hazards=None, needs=None)
        .exclude(latitude=None)
        .first()
    )
    before = counts()

    replay = record_visit(
        acting_user=old.recorded_by,
        uuid=old.uuid,
        elder=old.elder,
        mode=old.mode,
        visited_at=old.visited_at,
        visitors=list(old.visitors.all()),
        answers=old.answers,
        refused=old.refused,
        needs_found=old.needs_found,
        services_given=old.services_given,
        visitor_signature=old.visitor_signature,
        elder_signature=old.elder_signature,
        started_at=old.started_at,
        ended_at=old.ended_at,
        latitude=old.latitude,
        longitude=old.longitude,
        location_accuracy=old.location_accuracy,
    )

    # The same content hash: a replay, not a conflict, and nothing changes.
    assert replay.created is False
    assert replay.visit.pk == old.pk
    assert counts() == before
    entry = AuditEvent.objects.get(action=Action.VISIT_RECORDED, object_id=str(old.pk))
    assert entry.detail["sequence"] == old.sequence
    assert sorted(entry.detail["tasks_done"]) == sorted(
        old.completed_tasks.values_list("pk", flat=True)
    )


def test_it_can_run_again_without_change(db):
    seed()
    before = counts()

    out = seed()

    assert "探访：新增探访人员 0 名，包干 0 条，历史探访任务 0 项，探访记录 0 条" in out
    assert counts() == before


def test_it_adds_no_second_roster_or_history_for_another_seed(db):
    seed()
    before = counts()

    out = StringIO()
    call_command("seed_demo", "--seed", "303", stdout=out)

    assert "探访：新增探访人员 0 名，包干 0 条，历史探访任务 0 项，探访记录 0 条" in out.getvalue()
    # The villages were renamed (an audit entry), nothing else changed.
    assert {k: v for k, v in counts().items() if k != "audit"} == {
        k: v for k, v in before.items() if k != "audit"
    }


def test_it_draws_the_same_visits_from_the_same_seed(db):
    seed()
    stored = {
        v.uuid: (v.elder_id, v.visited_at, v.mode, v.refused, v.answers)
        for v in Visit.objects.all()
    }

    again = demo_plans.plan_visits(seed=int(SEED), today=TODAY, now=timezone.now())
    other = demo_plans.plan_visits(seed=int(SEED) + 1, today=TODAY, now=timezone.now())

    drawn = {
        v.uuid: (v.elder_id, v.visited_at, v.mode, v.refused, v.answers)
        for plan in again
        for v in plan.visits
    }
    assert drawn == stored
    assert {v.uuid for plan in other for v in plan.visits}.isdisjoint(stored)


def test_it_counts_every_month_of_the_history_in_the_rate_reports(db):
    """The history is stored in bulk, past the actions' hooks; the seed counts
    each of its months afresh, so the county's report shows them (issue 6)."""
    seed()
    start = demo_plans.history_start(TODAY)
    months = months_between(start, TODAY)
    incremental = tables()

    for month in months:
        counters = VillageMonth.objects.filter(month=month, dimension="")
        counted = sum(counters.values_list("counted", flat=True))
        visited = sum(counters.values_list("visited", flat=True))
        first, end = bounds(month)
        # By hand from the raw rows: the elders of the county counted that
        # month who had a visit that was not refused.
        by_hand = (
            Visit.objects.filter(
                visited_at__gte=first,
                visited_at__lt=end,
                refused=False,
                elder__in=ElderMonth.objects.filter(month=month, counted=True).values("elder_id"),
            )
            .values("elder_id")
            .distinct()
            .count()
        )
        assert counted > 0, month
        assert visited == by_hand, month

    # What the seed stored is what a recompute gives, and a second seed keeps it.
    assert_same_as_recomputed(months, TODAY)
    seed()
    assert tables() == incremental

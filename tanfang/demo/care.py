"""The demo county's closed loop (issue 7): what became of the needs and hazards
its visits found, and a few emergencies, so that the open-items board, the lists
and the rate report's numbers show a county at work.

Everything is done through care's actions (tanfang.care.needs, .hazards,
.emergencies), by the account that would have
done it (`actor_for` of tanfang.demo.actors: the liaison in the demo community,
the township or county officer elsewhere), and then dated when it happened
(tanfang.care.bulk, tanfang.visits.bulk): the actions stamp "now", and the
demo's six months are in the past.

- Needs (001_35a01bee4c628ebd.txt 二(二)5: 帮扶需求和帮扶措施一一对应，闭环管理): most
  of the older ones got a measure, a responsible unit and a due date, were
  referred or taken in hand and resolved; a few were declined, a few are past
  their due date, a few were never taken in hand, the recent ones are mostly
  still open.
- A resolved need owes a follow-up (跟踪回访, 000_4970ff49482a0570.txt 四(三)三是).
  Its task exists before the elder's later visits are stored, so that the first
  of them inside its window completes it exactly as `record_visit` would (the
  bulk variant calls `confirm_follow_ups` like record_visit does): this is why the
  history is made while the visits are stored (`after_record`), not after.
- Hazards (001_… 二(二)2): most reminded to the elder or the family at the visit,
  a few graded serious or major, many confirmed removed by a later visit that
  found the item safe, some still open.
- Emergencies (001_… 二(五)1): a few over the six months, raised from a visit or a
  call, with their steps and outcome, each with the township's follow-up; one
  still open, raised a few hours ago in the demo community.

The audit log is append-only: its entries keep the time they were written (as
the bulk-stored visits' entries do).
"""

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from tanfang.accounts.models import User
from tanfang.care import emergencies, hazards, needs, queries
from tanfang.care.bulk import (
    date_confirmations,
    date_emergency,
    date_findings,
    date_need_moves,
    date_reminder,
)
from tanfang.care.follow_up import FOLLOW_UP_DAYS, FOLLOW_UP_GRACE_DAYS
from tanfang.care.models import (
    NEED_CLOSED,
    Emergency,
    EmergencySource,
    Hazard,
    HazardSeverity,
    HazardStatus,
    Need,
    NeedStatus,
)
from tanfang.demo.actors import COUNTY, local
from tanfang.demo.care_texts import (
    DECLINED_NOTES,
    GENERIC_MEASURE,
    GIVEN,
    MEASURES,
    OPEN_SCRIPT,
    PHONE_SCRIPTS,
    REMINDER_NOTES,
    REMOVAL_NOTES,
    SEVERE,
    SURNAMES,
    VISIT_SCRIPTS,
    Script,
)
from tanfang.demo.plans import ElderPlan
from tanfang.regions.models import Kind, Region
from tanfang.registry import crypto
from tanfang.registry.models import Elder, Status
from tanfang.visits.bulk import date_window
from tanfang.visits.findings import HazardItem
from tanfang.visits.models import Visit, VisitTask

# Nothing is dated later than this before now: the demo's "now" is when it was seeded.
MARGIN = timedelta(minutes=10)
# Needs found fewer days ago than this are mostly still open.
RECENT_NEED_DAYS = 14

# Days before today the phone emergencies were raised (a late one and an early one).
PHONE_DAYS_AGO = (130, 40)
# Hours before now the open emergency was raised.
OPEN_HOURS_AGO = 3


@dataclass
class CareSeeded:
    needs: Counter[str] = field(default_factory=Counter)
    overdue: int = 0
    hazards: Counter[str] = field(default_factory=Counter)
    emergencies: int = 0
    emergencies_open: int = 0

    def __str__(self) -> str:
        n = self.needs
        working = n[NeedStatus.REFERRED] + n[NeedStatus.IN_PROGRESS]
        return (
            f"闭环：帮扶需求 {n.total()} 项（已解决 {n[NeedStatus.RESOLVED]}、处理中 {working}、"
            f"待处理 {n[NeedStatus.OPEN]}、老人谢绝 {n[NeedStatus.DECLINED]}，"
            f"逾期 {self.overdue}），"
            f"安全隐患 {self.hazards.total()} 处（已消除 {self.hazards[HazardStatus.REMOVED]}、"
            f"未消除 {self.hazards[HazardStatus.OPEN]}），"
            f"应急事件 {self.emergencies} 起（处置中 {self.emergencies_open}）。"
        )


def _office_time(after: datetime, days: int, rng: random.Random) -> datetime:
    """A moment in office hours `days` days after `after`; later that day when
    `days` is 0 and the office hours are over."""
    day = timezone.localdate(after) + timedelta(days=days)
    moment = local(day, time(rng.randrange(8, 17), rng.randrange(60)))
    return max(moment, after + timedelta(minutes=rng.randrange(10, 60)))


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


class CareHistory:
    """The closed loop of the demo's history, made while its visits are stored:
    `before_visits` (the emergencies reported by phone), `after_record` for
    every visit stored through `record_visit` (the needs, hazards and
    emergencies it found), `finish` once every visit is there."""

    def __init__(
        self,
        *,
        actor: Callable[[str], User],
        demo_village: str,
        seed: int,
        today: date,
        now: datetime,
    ) -> None:
        self.actor = actor
        self.demo_village = demo_village
        self.seed = seed
        self.today = today
        self.now = now
        self.latest = now - MARGIN
        self.places = {r.code: r for r in Region.objects.filter(code__startswith=COUNTY)}
        self.visit_scripts: dict[str, Script] = {}

    # --- Before the visits ------------------------------------------------------------

    def before_visits(self, plans: Sequence[ElderPlan], cutoff: date) -> None:
        """The emergencies reported by phone, and the visits that will find the
        others (visits older than `cutoff` that find something are stored by
        `record_visit`, so `after_record` sees them)."""
        rng = random.Random(f"{self.seed}:care:emergencies")  # noqa: S311 - demo data
        finding = sorted(
            (
                v
                for plan in plans
                for v in plan.visits
                if v.finds
                and not v.refused
                and v.mode == "home"
                and timezone.localdate(v.visited_at) < cutoff
            ),
            key=lambda v: str(v.uuid),
        )
        for script in VISIT_SCRIPTS:
            left = [v for v in finding if str(v.uuid) not in self.visit_scripts]
            # The gas leak on a visit that found the gas unsafe, where there is one.
            fitting = [v for v in left if v.answers.get(script.answer) == "unsafe"]
            if fitting or left:
                self.visit_scripts[str(rng.choice(fitting or left).uuid)] = script
        taken = {v.elder_id for v in finding if str(v.uuid) in self.visit_scripts}
        for script, days in zip(PHONE_SCRIPTS, PHONE_DAYS_AGO, strict=True):
            day = self.today - timedelta(days=days)
            elder_id = self._visited_around(plans, day, taken, rng)
            if elder_id is None:
                continue
            taken.add(elder_id)
            raised = local(day, time(rng.randrange(7, 20), rng.randrange(60)))
            self._emergency(Elder.objects.get(pk=elder_id), script, raised, rng)

    def _visited_around(
        self, plans: Sequence[ElderPlan], day: date, taken: set[int], rng: random.Random
    ) -> int | None:
        """An elder visited before `day` and after it (whose file was open then)."""
        around = sorted(
            (
                plan
                for plan in plans
                if plan.elder_id not in taken
                and any(timezone.localdate(v.visited_at) < day for v in plan.visits)
                and any(
                    timezone.localdate(v.visited_at) > day + timedelta(days=2) for v in plan.visits
                )
            ),
            key=lambda plan: str(plan.visits[0].uuid),
        )
        return rng.choice(around).elder_id if around else None

    # --- While the visits are stored ----------------------------------------------------

    def after_record(self, visit: Visit, recorded_at: datetime) -> list[VisitTask]:
        """What became of what `visit` found (it was recorded at `recorded_at`);
        returns the follow-up tasks made, which the elder's later visits may complete."""
        tasks: list[VisitTask] = []
        hazards = list(Hazard.objects.filter(visit=visit).select_related("elder", "visit"))
        needs = list(Need.objects.filter(visit=visit).select_related("elder"))
        # Entered when the visit was recorded, as record_visit does it "now".
        date_findings(visit, recorded_at)
        for hazard in hazards:
            hazard.created_at = recorded_at
            self._hazard_at_visit(hazard, visit)
        for need in needs:
            need.created_at = need.updated_at = recorded_at
            task = self._need(need, visit)
            if task is not None:
                tasks.append(task)
        script = self.visit_scripts.get(str(visit.uuid))
        if script is not None:
            rng = random.Random(f"{self.seed}:care:emergency:{visit.uuid}")  # noqa: S311
            emergency = self._emergency(
                visit.elder, script, visit.visited_at, rng, visit=visit, entered=recorded_at
            )
            if emergency.follow_up_task is not None:
                tasks.append(emergency.follow_up_task)
        return tasks

    def _need(self, need: Need, visit: Visit) -> VisitTask | None:
        """The need's measure and moves, dated; its follow-up task when resolved."""
        rng = random.Random(f"{self.seed}:care:need:{visit.uuid}:{need.need_type}")  # noqa: S311
        actor = self.actor(need.elder.village_id)
        found = need.created_at
        age = (self.today - timezone.localdate(found)).days
        draw = rng.random()
        fate: str
        if age < RECENT_NEED_DAYS:
            fate = NeedStatus.OPEN if draw < 0.65 else NeedStatus.IN_PROGRESS
        elif draw < 0.08:
            fate = NeedStatus.DECLINED
        elif draw < 0.13:
            fate = NeedStatus.OPEN  # nobody has taken it in hand yet
        elif draw < 0.27:
            fate = "overdue"
        else:
            fate = NeedStatus.RESOLVED
        if fate == NeedStatus.OPEN:
            return None
        measure, unit, done = rng.choice(MEASURES.get(need.need_type, GENERIC_MEASURE))
        measured = _office_time(found, rng.randrange(0, 3), rng)
        moves: list[tuple[str, datetime, str]] = []
        if fate == NeedStatus.DECLINED:
            at = _office_time(found, rng.randrange(1, 4), rng)
            moves.append((NeedStatus.DECLINED, at, rng.choice(DECLINED_NOTES)))
            return self._move(need, actor, moves, None)
        if measured > self.latest:
            return None
        measured_on = timezone.localdate(measured)
        if fate == "overdue":
            due = measured_on + timedelta(days=rng.randrange(7, 15))
        else:
            due = measured_on + timedelta(days=rng.randrange(15, 31))
        needs.set_measure(
            acting_user=actor,
            need=need,
            measure=measure,
            responsible_unit=self._unit(unit, need.elder.village_id),
            responsible_person=_person(rng),
            due_on=due,
        )
        need.updated_at = measured
        referred = rng.random() < 0.5
        if referred:
            moves.append((NeedStatus.REFERRED, measured, ""))
        started = _office_time(measured, rng.randrange(0 if not referred else 1, 4), rng)
        moves.append((NeedStatus.IN_PROGRESS, started, ""))
        if fate == NeedStatus.RESOLVED:
            resolved = _office_time(started, rng.randrange(2, 20), rng)
            moves.append((NeedStatus.RESOLVED, resolved, done))
        return self._move(need, actor, moves, measured)

    def _unit(self, template: str, village_code: str) -> str:
        village = self.places[village_code]
        township = self.places[village.parent_id or ""]
        committee = "居委会" if village.kind == Kind.URBAN else "村委会"
        return template.format(township=township.name, committee=f"{village.name}{committee}")

    def _move(
        self,
        need: Need,
        actor: User,
        moves: Sequence[tuple[str, datetime, str]],
        measured: datetime | None,
    ) -> VisitTask | None:
        """Make the moves that are past by now, then date them."""
        made = [(status, at, note) for status, at, note in moves if at <= self.latest]
        for status, _, note in made:
            need = needs.change_need_status(
                acting_user=actor, need=need, to_status=status, note=note
            )
        if not made and measured is None:
            return None
        last = max([at for _, at, _ in made] + ([measured] if measured else []))
        task = need.follow_up_task
        resolved = need.status == NeedStatus.RESOLVED and task is not None
        date_need_moves(
            need,
            [at for _, at, _ in made],
            updated_at=last,
            resolved_at=last if resolved else None,
        )
        if resolved and task is not None:
            self._date_follow_up(task, last)
        return task if need.status == NeedStatus.RESOLVED else None

    def _date_follow_up(self, task: VisitTask, done: datetime) -> None:
        """The follow-up's window as `follow_up_task_for` makes it on the day
        `done` (the resolution, the closing)."""
        day = timezone.localdate(done)
        deadline = day + timedelta(days=FOLLOW_UP_DAYS)
        date_window(
            task,
            window_start=day + timedelta(days=1),
            deadline=deadline,
            window_end=deadline + timedelta(days=FOLLOW_UP_GRACE_DAYS),
        )

    def _hazard_at_visit(self, hazard: Hazard, visit: Visit) -> None:
        """Reminded on the spot, mostly; now and then graded serious or major."""
        rng = random.Random(f"{self.seed}:care:hazard:{visit.uuid}:{hazard.item}")  # noqa: S311
        actor = self.actor(hazard.elder.village_id)
        draw = rng.random()
        if draw < 0.05:
            severity = HazardSeverity.MAJOR
        elif draw < 0.2:
            severity = HazardSeverity.SERIOUS
        else:
            severity = HazardSeverity.ORDINARY
        if severity != HazardSeverity.ORDINARY:
            hazards.update_hazard(
                acting_user=actor,
                hazard=hazard,
                severity=severity,
                description=SEVERE.get(HazardItem(hazard.item), visit.services_given),
            )
        if rng.random() < 0.85:
            family = rng.random() < 0.6
            hazards.remind_hazard(
                acting_user=actor,
                hazard=hazard,
                elder=not family or rng.random() < 0.7,
                family=family,
                note=rng.choice(REMINDER_NOTES),
            )
            reminded = min(hazard.created_at + timedelta(minutes=rng.randrange(1, 120)), self.now)
            date_reminder(hazard, reminded)

    def _emergency(
        self,
        elder: Elder,
        script: Script,
        raised: datetime,
        rng: random.Random,
        *,
        visit: Visit | None = None,
        entered: datetime | None = None,
    ) -> Emergency:
        """Raise, step through and (unless the script is still running) close
        an emergency, then date what the actions stamped now. One found on a
        visit is entered once the visit is (`entered`)."""
        actor = self.actor(elder.village_id)
        emergency = emergencies.raise_emergency(
            acting_user=actor,
            elder=elder,
            kind=script.kind,
            source=EmergencySource.VISIT if visit else EmergencySource.PHONE,
            description=script.description,
            raised_at=raised,
            visit=visit,
        )
        entered = max(raised + timedelta(minutes=rng.randrange(2, 5)), entered or raised)
        steps = []
        for step in script.steps:
            at = raised + timedelta(minutes=step.minutes)
            steps.append(
                emergencies.record_step(
                    acting_user=actor,
                    emergency=emergency,
                    kind=step.kind,
                    at=at,
                    number=step.number,
                    whom=step.whom,
                    how=step.how,
                    answered=step.answered,
                    note=step.note,
                )
            )
        recorded = {
            step_row: max(step_row.at, entered) + timedelta(minutes=rng.randrange(1, 6))
            for step_row in steps
        }
        closed_at = None
        if script.outcome:
            emergency = emergencies.close_emergency(
                acting_user=actor,
                emergency=emergency,
                outcome_kind=script.outcome_kind,
                outcome=script.outcome,
            )
            closed_at = max(recorded.values()) + timedelta(minutes=script.closed_after)
            if emergency.follow_up_task is not None:
                self._date_follow_up(emergency.follow_up_task, closed_at)
        date_emergency(emergency, created_at=entered, closed_at=closed_at, steps=recorded)
        return emergency

    # --- Once every visit is there ------------------------------------------------------

    def finish(self) -> CareSeeded:
        """Date the follow-ups' confirmations, confirm hazards removed by later
        visits, raise the open emergency of the demo community; count."""
        self._date_confirmations()
        self._remove_hazards()
        self._open_emergency()
        return self._summary()

    def _date_confirmations(self) -> None:
        """A need is confirmed when the visit that made its follow-up was
        recorded (confirm_follow_ups stamped now)."""
        date_confirmations(
            Need.objects.filter(
                confirmed_at__isnull=False,
                follow_up_task__done_at__isnull=False,
                elder__village__code__startswith=COUNTY,
            ).select_related("follow_up_task")
        )

    def _remove_hazards(self) -> None:
        """Most hazards were seen gone on a later visit that found the item safe."""
        for hazard in (
            Hazard.objects.filter(
                status=HazardStatus.OPEN,
                visit__isnull=False,
                elder__village__code__startswith=COUNTY,
            )
            .select_related("elder", "visit")
            .order_by("visit__uuid", "item")
        ):
            found_by = hazard.visit.uuid if hazard.visit else hazard.pk
            rng = random.Random(f"{self.seed}:care:removal:{found_by}:{hazard.item}")  # noqa: S311
            # Seen after it was entered and the elder reminded.
            told = max(hazard.created_at, hazard.reminded_at or hazard.created_at)
            later = [v for v in queries.removal_candidates(hazard) if v.visited_at > told]
            if not later or rng.random() < 0.25:
                continue
            # The first visit after the repair; the latest ones come first.
            visit = later[-min(len(later), rng.randrange(1, 3))]
            hazards.confirm_hazard_removed(
                acting_user=self.actor(hazard.elder.village_id),
                hazard=hazard,
                visit=visit,
                note=REMOVAL_NOTES.get(HazardItem(hazard.item), ""),
            )

    def _open_emergency(self) -> None:
        """Raised a few hours ago in the demo community, still being handled:
        the liaison's open-items board shows it."""
        rng = random.Random(f"{self.seed}:care:open")  # noqa: S311 - demo data
        raised = self.now - timedelta(hours=OPEN_HOURS_AGO)
        elders = sorted(
            Elder.objects.filter(
                village_id=self.demo_village,
                status=Status.ACTIVE,
                registered_on__lte=timezone.localdate(raised),
            ),
            # By the person, not the row (as the visits are drawn).
            key=lambda e: crypto.decrypt(e.id_number_token),
        )
        if elders:
            self._emergency(rng.choice(elders), OPEN_SCRIPT, raised, rng)

    def _summary(self) -> CareSeeded:
        county = {"elder__village__code__startswith": COUNTY}
        seeded = CareSeeded()
        seeded.needs = Counter(Need.objects.filter(**county).values_list("status", flat=True))
        seeded.overdue = (
            Need.objects.filter(**county, due_on__lt=self.today)
            .exclude(status__in=NEED_CLOSED)
            .count()
        )
        seeded.hazards = Counter(Hazard.objects.filter(**county).values_list("status", flat=True))
        emergencies = Emergency.objects.filter(**county)
        seeded.emergencies = emergencies.count()
        seeded.emergencies_open = emergencies.filter(closed_at__isnull=True).count()
        return seeded

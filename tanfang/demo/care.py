"""The demo county's closed loop (issue 7): what became of the needs and hazards
its visits found, and a few emergencies, so that the open-items board, the lists
and the rate report's numbers show a county at work.

Everything is done through tanfang.care.actions, by the account that would have
done it (`_actor` of tanfang.demo.visits: the liaison in the demo community, the
township or county officer elsewhere), and then dated when it happened: the
actions stamp "now", and the demo's six months are in the past.

- Needs (001_35a01bee4c628ebd.txt 二(二)5: 帮扶需求和帮扶措施一一对应，闭环管理): most
  of the older ones got a measure, a responsible unit and a due date, were
  referred or taken in hand and resolved; a few were declined, a few are past
  their due date, a few were never taken in hand, the recent ones are mostly
  still open.
- A resolved need owes a follow-up (跟踪回访, 000_4970ff49482a0570.txt 四(三)三是).
  Its task exists before the elder's later visits are stored, so that the first
  of them inside its window completes it exactly as `record_visit` would (the
  bulk store calls `confirm_follow_ups` like record_visit does): this is why the
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

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from tanfang.accounts.models import User
from tanfang.care import actions, queries
from tanfang.care.follow_up import CONFIRMED_NOTE, FOLLOW_UP_DAYS, FOLLOW_UP_GRACE_DAYS
from tanfang.care.models import (
    NEED_CLOSED,
    ContactMeans,
    Emergency,
    EmergencyKind,
    EmergencyOutcome,
    EmergencySource,
    EmergencyStep,
    Hazard,
    HazardItem,
    HazardSeverity,
    HazardStatus,
    Need,
    NeedEvent,
    NeedStatus,
    NeedType,
    StepKind,
)
from tanfang.regions.models import Kind, Region
from tanfang.registry import crypto
from tanfang.registry.models import Elder, Status
from tanfang.visits.models import Visit, VisitTask

if TYPE_CHECKING:
    from tanfang.demo.visits import ElderPlan

COUNTY = "350581"
# Nothing is dated later than this before now: the demo's "now" is when it was seeded.
MARGIN = timedelta(minutes=10)
# Needs found fewer days ago than this are mostly still open.
RECENT_NEED_DAYS = 14

SURNAMES = "陈林黄张吴王蔡郑李许杨洪"
GIVEN = ["志强", "秀琴", "丽华", "建明", "美珍", "国平", "玉兰", "文杰", "淑芬", "海峰"]

# need type: (measure, responsible unit, what was done when resolved). The unit
# names the township ({township}), the village committee ({committee}) or a
# county body.
MEASURES: dict[str, list[tuple[str, str, str]]] = {
    NeedType.MEALS: [
        ("纳入长者食堂助餐名单，每日午餐送餐上门。", "{township}长者食堂", "已开始每日送餐上门。"),
        (
            "申请助餐补贴，由配餐员每日送餐。",
            "{township}社会事务服务中心",
            "助餐补贴已批准，按日送餐。",
        ),
    ],
    NeedType.HOME_ADAPTATION: [
        (
            "申报居家适老化改造，安装卫生间扶手和防滑垫。",
            "石狮市民政局",
            "扶手和防滑垫已安装完毕。",
        ),
        ("联系施工单位上门评估，加装床边扶手。", "{committee}", "改造完成，老人试用良好。"),
    ],
    NeedType.MEDICAL: [
        (
            "家庭医生预约复诊号，安排志愿者陪同就医。",
            "{township}卫生院",
            "已陪同到卫生院完成复诊。",
        ),
        ("协调石狮市医院门诊预约，村里派车接送。", "石狮市医院", "已接送老人完成门诊复查。"),
    ],
    NeedType.POLICY_APPLICATION: [
        ("协助准备材料，代为申请高龄津贴。", "{committee}", "高龄津贴已审批，按月发放。"),
        (
            "帮助办理长期护理评估申请。",
            "{township}社会事务服务中心",
            "评估已完成，结果已告知老人。",
        ),
    ],
    NeedType.COMPANIONSHIP: [
        (
            "安排社工每周上门陪伴聊天，联系子女多打电话。",
            "{township}社工站",
            "社工每周上门，老人情绪好转。",
        ),
        (
            "邀请老人参加老年协会活动，志愿者结对陪伴。",
            "{committee}",
            "老人已参加协会活动，志愿者定期陪伴。",
        ),
    ],
    NeedType.CLEANING: [
        (
            "购买助洁服务，每两周上门打扫一次。",
            "石狮市颐年居家养老服务中心",
            "助洁服务已开始，家中卫生改善。",
        ),
        (
            "组织志愿者上门大扫除，联系子女定期清理。",
            "{committee}",
            "已完成大扫除，子女每周回家清理。",
        ),
    ],
}
GENERIC_MEASURE = [
    ("由村（社区）协调相关单位上门服务。", "{committee}", "已上门服务，老人表示满意。"),
    ("转介社工站跟进，制定帮扶计划。", "{township}社工站", "帮扶计划已落实。"),
]
DECLINED_NOTES = [
    "老人表示子女会安排，谢绝帮扶。",
    "老人不愿他人上门，暂不需要。",
    "家属已自行解决，老人谢绝。",
]
REMINDER_NOTES = ["已当面提醒老人注意安全。", "已提醒老人并电话告知子女尽快处理。", ""]
REMOVAL_NOTES = {
    HazardItem.GAS: "复访查看，燃气软管已由子女更换。",
    HazardItem.WATER_HEATING: "复访查看，热水器排气管已重新安装固定。",
    HazardItem.ELECTRICITY: "复访查看，已更换插线板，裸露电线已处理。",
}
SEVERE = {
    HazardItem.GAS: "软管开裂处有轻微漏气，老人独居且嗅觉减退。",
    HazardItem.WATER_HEATING: "排气管脱落，浴室通风差，有一氧化碳中毒风险。",
    HazardItem.ELECTRICITY: "插线板发烫、有焦痕，靠近床铺。",
}


@dataclass(frozen=True)
class Step:
    minutes: int  # after the emergency was raised
    kind: str
    number: str = ""
    whom: str = ""
    how: str = ""
    answered: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class Script:
    """One emergency as it was handled: what happened, its steps, how it ended."""

    kind: str
    description: str
    steps: tuple[Step, ...]
    outcome_kind: str
    outcome: str
    # Closed this many minutes after the last step.
    closed_after: int = 180
    # The form's answer a visit that finds it has unsafe, if any.
    answer: str = ""


PHONE_SCRIPTS = [
    Script(
        EmergencyKind.FALL,
        "邻居来电：老人在家中卫生间跌倒，无法自行起身。",
        (
            Step(6, StepKind.HELP_CALLED, number="120"),
            Step(
                9, StepKind.FAMILY_NOTIFIED, whom="老人之子", how=ContactMeans.PHONE, answered=True
            ),
            Step(15, StepKind.VILLAGE_INFORMED, how=ContactMeans.PHONE),
            Step(40, StepKind.TOWNSHIP_INFORMED, how=ContactMeans.PHONE),
        ),
        EmergencyOutcome.HOSPITAL,
        "120送石狮市医院急诊，诊断为右髋部骨折，住院治疗，儿子陪护。",
    ),
    Script(
        EmergencyKind.ILLNESS,
        "老人来电称胸闷气短、头晕，说话断续。",
        (
            Step(3, StepKind.HELP_CALLED, number="120"),
            Step(
                7, StepKind.FAMILY_NOTIFIED, whom="老人女儿", how=ContactMeans.PHONE, answered=False
            ),
            Step(
                10,
                StepKind.CONTACT_NOTIFIED,
                whom="紧急联系人（邻居）",
                how=ContactMeans.PHONE,
                answered=True,
            ),
            Step(18, StepKind.VILLAGE_INFORMED, how=ContactMeans.WECHAT),
        ),
        EmergencyOutcome.HOSPITAL,
        "邻居陪同，120送石狮市医院急诊，留观一日后由女儿接回家。",
        closed_after=1500,
    ),
]
VISIT_SCRIPTS = [
    Script(
        EmergencyKind.GAS_LEAK,
        "探访时闻到厨房有明显燃气味，老人未察觉。",
        (
            Step(2, StepKind.OTHER, note="关闭燃气总阀，开窗通风，带老人到屋外。"),
            Step(
                8, StepKind.FAMILY_NOTIFIED, whom="老人之子", how=ContactMeans.PHONE, answered=True
            ),
            Step(12, StepKind.VILLAGE_INFORMED, how=ContactMeans.IN_PERSON),
        ),
        EmergencyOutcome.CLEARED,
        "燃气公司上门检修，更换老化软管，排除险情，无需救援。",
        answer="gas_safety",
    ),
    Script(
        EmergencyKind.MISSING,
        "探访时老人不在家，邻居称其早上外出至今未归，老人有轻度认知障碍。",
        (
            Step(
                5, StepKind.FAMILY_NOTIFIED, whom="老人女儿", how=ContactMeans.PHONE, answered=True
            ),
            Step(20, StepKind.HELP_CALLED, number="110"),
            Step(25, StepKind.VILLAGE_INFORMED, how=ContactMeans.PHONE),
            Step(30, StepKind.TOWNSHIP_INFORMED, how=ContactMeans.PHONE),
        ),
        EmergencyOutcome.FAMILY,
        "派出所和村干部分头寻找，傍晚在镇区菜市场附近找到老人，由女儿接回家。",
    ),
]
OPEN_SCRIPT = Script(
    EmergencyKind.FALL,
    "老人女儿来电：老人在家中跌倒，腿部疼痛无法行走，女儿在外地。",
    (
        Step(5, StepKind.HELP_CALLED, number="120"),
        Step(12, StepKind.FAMILY_NOTIFIED, whom="老人之子", how=ContactMeans.PHONE, answered=False),
    ),
    EmergencyOutcome.HOSPITAL,
    "",
)
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


def _local(day: date, moment: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, moment))


def _office_time(after: datetime, days: int, rng: random.Random) -> datetime:
    """A moment in office hours `days` days after `after`; later that day when
    `days` is 0 and the office hours are over."""
    day = timezone.localdate(after) + timedelta(days=days)
    moment = _local(day, time(rng.randrange(8, 17), rng.randrange(60)))
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
            raised = _local(day, time(rng.randrange(7, 20), rng.randrange(60)))
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
        Hazard.objects.filter(visit=visit).update(created_at=recorded_at)
        Need.objects.filter(visit=visit).update(created_at=recorded_at, updated_at=recorded_at)
        NeedEvent.objects.filter(need__visit=visit, from_status="").update(at=recorded_at)
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
        actions.set_measure(
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
            need = actions.change_need_status(
                acting_user=actor, need=need, to_status=status, note=note
            )
        if not made and measured is None:
            return None
        events = list(NeedEvent.objects.filter(need=need).exclude(from_status="").order_by("pk"))
        for event, (_, at, _) in zip(events, made, strict=True):
            event.at = at
        NeedEvent.objects.bulk_update(events, ["at"])
        last = max([at for _, at, _ in made] + ([measured] if measured else []))
        need.updated_at = last
        fields = ["updated_at"]
        task = need.follow_up_task
        if need.status == NeedStatus.RESOLVED and task is not None:
            need.resolved_at = last
            fields.append("resolved_at")
            self._date_follow_up(task, last)
        need.save(update_fields=fields)
        return task if need.status == NeedStatus.RESOLVED else None

    def _date_follow_up(self, task: VisitTask, done: datetime) -> None:
        """The follow-up's window as `follow_up_task_for` makes it on the day
        `done` (the resolution, the closing)."""
        day = timezone.localdate(done)
        task.window_start = day + timedelta(days=1)
        task.deadline = day + timedelta(days=FOLLOW_UP_DAYS)
        task.window_end = task.deadline + timedelta(days=FOLLOW_UP_GRACE_DAYS)
        task.save(update_fields=["window_start", "deadline", "window_end"])

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
            actions.update_hazard(
                acting_user=actor,
                hazard=hazard,
                severity=severity,
                description=SEVERE.get(HazardItem(hazard.item), visit.services_given),
            )
        if rng.random() < 0.85:
            family = rng.random() < 0.6
            actions.remind_hazard(
                acting_user=actor,
                hazard=hazard,
                elder=not family or rng.random() < 0.7,
                family=family,
                note=rng.choice(REMINDER_NOTES),
            )
            reminded = min(hazard.created_at + timedelta(minutes=rng.randrange(1, 120)), self.now)
            Hazard.objects.filter(pk=hazard.pk).update(reminded_at=reminded)

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
        emergency = actions.raise_emergency(
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
                actions.record_step(
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
        for step_row in steps:
            step_row.recorded_at = max(step_row.at, entered) + timedelta(
                minutes=rng.randrange(1, 6)
            )
        EmergencyStep.objects.bulk_update(steps, ["recorded_at"])
        emergency.created_at = entered
        fields = ["created_at"]
        if script.outcome:
            emergency = actions.close_emergency(
                acting_user=actor,
                emergency=emergency,
                outcome_kind=script.outcome_kind,
                outcome=script.outcome,
            )
            last = max(s.recorded_at for s in steps)
            emergency.closed_at = last + timedelta(minutes=script.closed_after)
            emergency.created_at = entered
            fields.append("closed_at")
            if emergency.follow_up_task is not None:
                self._date_follow_up(emergency.follow_up_task, emergency.closed_at)
        emergency.save(update_fields=fields)
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
        confirmed = Need.objects.filter(
            confirmed_at__isnull=False,
            follow_up_task__done_at__isnull=False,
            elder__village__code__startswith=COUNTY,
        ).values_list("pk", "follow_up_task__done_at", "follow_up_task__done_by_visit_id")
        needs = []
        for pk, done_at, visit_id in confirmed:
            assert done_at is not None  # noqa: S101 - for mypy: filtered so
            needs.append(Need(pk=pk, confirmed_at=done_at, updated_at=done_at))
            NeedEvent.objects.filter(need_id=pk, note=CONFIRMED_NOTE, visit_id=visit_id).update(
                at=done_at
            )
        Need.objects.bulk_update(needs, ["confirmed_at", "updated_at"])

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
            actions.confirm_hazard_removed(
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

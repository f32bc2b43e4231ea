"""Drawing the demo county's visits: every visit of the history, from the
seed, the files, the assignments and the tasks' windows (not their state),
elder by elder.

Visits are drawn per task with each visitor's own reliability, so that the
county today has done, due and missed tasks (with 石狮's rules every deadline
is the period's last day, so nothing is ever overdue); a few phone calls to
key elders that did not count, a few refusals at the door, a few unsafe
answers (hazards) and unmet needs. Everything is drawn from the seed (per
elder and per visitor, so the draw does not depend on database keys).
"""

import random
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from tanfang.demo.actors import local
from tanfang.demo.roster import NEEDS_DOCTOR, ElderFacts, active_roster, elder_facts
from tanfang.months import add_months
from tanfang.policy.engine import EventKind
from tanfang.visits.findings import HazardItem, NeedType
from tanfang.visits.models import (
    Assignment,
    ExcuseReason,
    TaskKind,
    VisitMode,
    Visitor,
    VisitorKind,
    VisitTask,
)

# Months of history before the current one.
HISTORY_MONTHS = 6
# At least this many visits found a hazard, an unmet need, were a call to a key
# elder that did not count, were refused (however few the elders).
FEW = 3
# Fixed, so that the same seed gives the same visit ids.
UUID_NAMESPACE = uuid.UUID("6f1d7a52-3c1e-4b8e-9a57-5d0c2b1e7a10")

ROUTINE_SERVICES = [
    "了解近况，叮嘱按时服药。",
    "测量血压，提醒注意保暖。",
    "陪老人聊天，了解生活需求。",
    "帮助整理房间、打扫卫生。",
    "讲解防范电信诈骗知识。",
    "检查家中用电用气情况，提醒出门关好煤气。",
    "",
]
FESTIVAL_SERVICES = {
    "春节": "春节慰问，送去春联和慰问品。",
    "元宵": "元宵节慰问，送去汤圆。",
    "清明": "清明节前探望，了解老人身体和出行情况。",
    "端午": "端午节慰问，送去粽子。",
    "中秋": "中秋节慰问，送去月饼。",
    "重阳": "重阳节慰问，送去慰问品并测量血压。",
}
DISEASES = ["高血压", "糖尿病", "慢阻肺", "脑梗后遗症", "冠心病", "骨关节炎"]
HAZARDS = {
    "gas_safety": (HazardItem.GAS, "燃气软管老化开裂，已关闭阀门并告知子女尽快更换。"),
    "water_heating_safety": (HazardItem.WATER_HEATING, "热水器排气管脱落，已联系村委会安排维修。"),
    "electrical_safety": (HazardItem.ELECTRICITY, "插线板超负荷使用、电线裸露，已提醒不要再用。"),
}
UNMET_NEEDS = [
    (NeedType.MEALS, "行动不便，希望长者食堂送餐上门。"),
    (NeedType.HOME_ADAPTATION, "卫生间没有扶手，需要适老化改造。"),
    (NeedType.MEDICAL, "需要有人陪同到卫生院复诊。"),
    (NeedType.POLICY_APPLICATION, "咨询高龄津贴申领，需村里协助办理。"),
    (NeedType.COMPANIONSHIP, "子女长期在外，情绪低落，希望多来陪伴。"),
    (NeedType.CLEANING, "家中卫生较差，需要助洁服务。"),
]
MET_NEEDS = [
    (NeedType.ERRANDS, "代购降压药，已送到。"),
    (NeedType.ANTI_FRAUD, "讲解防诈骗知识，老人已了解。"),
]
REFUSALS = ["老人称身体不适，不愿开门。", "老人表示家里有人照顾，不需要探访。"]
PHONE_ONLY = ["电话询问近况，老人说身体还好。", "电话联系，提醒按时吃药、注意安全。"]
# The season's extreme weather (000_4970ff49482a0570.txt 四(二) 极端天气适当增加探访频次).
WEATHER = {
    **dict.fromkeys((11, 12, 1, 2, 3), (EventKind.COLD, "寒潮蓝色预警")),
    **dict.fromkeys((4, 5, 6), (EventKind.FLOOD, "强降雨防汛应急响应")),
    **dict.fromkeys((7, 8, 9, 10), (EventKind.TYPHOON, "台风防御应急响应")),
}
WEATHER_CALLS = {
    EventKind.COLD: "寒潮降温，电话提醒老人添衣保暖、取暖注意用电安全。",
    EventKind.FLOOD: "强降雨期间电话了解房屋是否漏水，提醒不要外出。",
    EventKind.TYPHOON: "台风期间电话了解门窗是否关好，提醒不要外出。",
}


def history_start(today: date) -> date:
    """The first day of the month HISTORY_MONTHS before today's."""
    return add_months(today.replace(day=1), -HISTORY_MONTHS)


@dataclass
class PlannedVisit:
    uuid: uuid.UUID
    elder_id: int
    visitor_ids: tuple[int, ...]
    mode: str
    visited_at: datetime
    refused: bool
    answers: dict[str, Any]
    needs_found: list[dict[str, Any]]
    services_given: str
    started_at: datetime | None
    ended_at: datetime | None
    latitude: Decimal | None
    longitude: Decimal | None
    location_accuracy: float | None
    recorded_at: datetime
    # Whether the answers or the needs found make a hazard or a need record.
    finds: bool = False


@dataclass
class ElderPlan:
    elder_id: int
    visits: list[PlannedVisit] = field(default_factory=list)
    # (task pk, reason, note): tasks a liaison excuses (in hospital, away).
    excuses: list[tuple[int, str, str]] = field(default_factory=list)


def plan_visits(*, seed: int, today: date, now: datetime) -> list[ElderPlan]:
    """Every visit of the history, drawn from the seed, the files, the
    assignments and the tasks' windows (not their state), elder by elder."""
    start = history_start(today)
    facts = {e.pk: e for e in elder_facts()}
    roster, _ = active_roster()
    visitors = {v.pk: v for v in roster}
    assigned: dict[int, list[Visitor]] = defaultdict(list)
    for elder_id, visitor_id in (
        Assignment.objects.filter(elder_id__in=facts, ended_at__isnull=True)
        .order_by("elder_id", "started_at", "pk")
        .values_list("elder_id", "visitor_id")
    ):
        assigned[elder_id].append(visitors[visitor_id])
    tasks: dict[int, list[VisitTask]] = defaultdict(list)
    for task in (
        VisitTask.objects.filter(
            elder_id__in=facts,
            cancelled_at__isnull=True,
            window_start__lte=today,
            window_end__gte=start,
        )
        .exclude(kind=TaskKind.REVIEW)
        .order_by("elder_id", "window_start", "key")
    ):
        tasks[task.elder_id].append(task)
    plans = []
    for pk, elder in facts.items():
        # In an order of their own, not of the rows.
        mine = sorted(assigned[pk], key=lambda v: (v.kind, v.name))
        if mine:
            plans.append(_plan_elder(seed, elder, mine, tasks[pk], start, today, now))
    _a_few_of_each(seed, plans, facts, tasks, today)
    return plans


def _a_few_of_each(
    seed: int,
    plans: Sequence[ElderPlan],
    facts: Mapping[int, ElderFacts],
    tasks: Mapping[int, Sequence[VisitTask]],
    today: date,
) -> None:
    """However small the demo, a few past visits found a hazard, a few an unmet
    need, a few key elders were only called (which does not count: their rule
    asks for a home visit) and a few refused: when the draws made fewer than
    FEW of one, more past visits are drawn to be so."""
    rng = random.Random(f"{seed}:a-few")  # noqa: S311 - demo data
    past = sorted(
        (v for plan in plans for v in plan.visits if timezone.localdate(v.visited_at) < today),
        key=lambda v: v.uuid,
    )

    def plain(visit: PlannedVisit) -> bool:
        return visit.mode == VisitMode.HOME and not visit.refused and not visit.finds

    def outside_extras(visit: PlannedVisit) -> bool:
        day = timezone.localdate(visit.visited_at)
        return not any(
            t.extra and t.window_start <= day <= t.window_end for t in tasks[visit.elder_id]
        )

    def pick(have: int, eligible: list[PlannedVisit]) -> list[PlannedVisit]:
        return rng.sample(eligible, min(max(FEW - have, 0), len(eligible)))

    for visit in pick(
        sum(1 for v in past if "unsafe" in v.answers.values()),
        [v for v in past if plain(v)],
    ):
        item = rng.choice(sorted(HAZARDS))
        visit.answers[item] = "unsafe"
        visit.services_given = HAZARDS[item][1]
        visit.finds = True
    for visit in pick(
        sum(1 for v in past if any(not n["met"] for n in v.needs_found)),
        [v for v in past if plain(v)],
    ):
        kind, note = rng.choice(UNMET_NEEDS)
        visit.needs_found = [{"type": str(kind), "met": False, "note": note}]
        visit.finds = True
    called = [
        v
        for v in past
        if v.mode == VisitMode.PHONE and facts[v.elder_id].tier == "key" and outside_extras(v)
    ]
    for visit in pick(
        len(called),
        [v for v in past if plain(v) and facts[v.elder_id].tier == "key" and outside_extras(v)],
    ):
        visit.mode = VisitMode.PHONE
        visit.services_given = rng.choice(PHONE_ONLY)
        visit.started_at = visit.ended_at = visit.latitude = visit.longitude = None
        visit.location_accuracy = None
    for visit in pick(sum(1 for v in past if v.refused), [v for v in past if plain(v)]):
        visit.refused = True
        visit.answers = {}
        visit.needs_found = []
        visit.services_given = rng.choice(REFUSALS)
        visit.started_at = visit.ended_at = visit.latitude = visit.longitude = None
        visit.location_accuracy = None


def _reliability(seed: int, visitor: Visitor) -> float:
    """How often this visitor makes the visits due: most do nearly all, a few lag."""
    if visitor.user_id is not None:
        return 0.88
    rng = random.Random(f"{seed}:reliability:{visitor.township_id}:{visitor.name}")  # noqa: S311
    return rng.choice([0.72, 0.8, 0.85, 0.9, 0.92, 0.95, 0.97])


class _Drawer:
    """The draws of one elder's visits."""

    def __init__(
        self,
        seed: int,
        elder: ElderFacts,
        visitors: Sequence[Visitor],
        start: date,
        today: date,
        now: datetime,
    ) -> None:
        self.rng = random.Random(f"{seed}:visits:{elder.key}")  # noqa: S311 - demo data
        self.seed = seed
        self.elder = elder
        self.visitors = list(visitors)
        self.primary = next(
            (v for v in visitors if v.kind == VisitorKind.GRID_WORKER), self.visitors[0]
        )
        self.others = [v for v in self.visitors if v is not self.primary]
        self.first = max(start, elder.registered_on)
        self.today = today
        self.now = timezone.localtime(now)
        # Where the phone says the house is, when the visitor lets it.
        spot = random.Random(f"{seed}:place:{elder.key}")  # noqa: S311
        self.place = (
            Decimal("24.66") + Decimal(spot.randrange(14000)) / Decimal(100000),
            Decimal("118.58") + Decimal(spot.randrange(18000)) / Decimal(100000),
        )

    def day_in(self, first: date, last: date) -> date | None:
        """A day from `first` to `last` no earlier than the file; None if the
        draw falls after today (not visited yet) or the span is empty."""
        first = max(first, self.first)
        if last < first:
            return None
        day = first + timedelta(days=self.rng.randrange((last - first).days + 1))
        return day if day <= self.today else None

    def moment(self, day: date, earliest: time, latest: time) -> datetime | None:
        """A time of day on `day` between the two, an hour and a half before now
        at the latest; None when the day is today and it is too early."""
        first = earliest.hour * 60 + earliest.minute
        last = latest.hour * 60 + latest.minute
        if day == self.today:
            last = min(last, self.now.hour * 60 + self.now.minute - 90)
        if last < first:
            return None
        minutes = first + self.rng.randrange(last - first + 1)
        return local(day, time(minutes // 60, minutes % 60))

    def who(self, joint_chance: float = 0.1, other_chance: float = 0.2) -> tuple[Visitor, ...]:
        draw = self.rng.random()
        if self.others and draw < joint_chance:
            return (self.primary, self.rng.choice(self.others))
        if self.others and draw < joint_chance + other_chance:
            return (self.rng.choice(self.others),)
        return (self.primary,)

    def answers(self, hazard: str | None) -> dict[str, Any]:
        rng = self.rng

        def change(poor: float) -> str:
            draw = rng.random()
            return "poor" if draw < poor else "fairly_good" if draw < poor + 0.08 else "unchanged"

        def safety(key: str) -> str:
            if key == hazard:
                return "unsafe"
            return "fairly_safe" if rng.random() < 0.15 else "safe"

        frail = self.elder.ability in NEEDS_DOCTOR
        population: dict[str, Any] = {"value": "unchanged", "count": None}
        if rng.random() < 0.02:
            population = {"value": rng.choice(["increased", "decreased"]), "count": 1}
        disease: dict[str, Any] = {"value": "unchanged", "detail": None}
        draw = rng.random()
        if draw < (0.08 if frail else 0.03):
            disease = {"value": "serious", "detail": rng.choice(DISEASES)}
        elif draw < 0.1:
            disease = {"value": "improved", "detail": None}
        return {
            "population": population,
            "expression": change(0.08 if self.elder.dementia else 0.02),
            "mobility": change(0.1 if frail else 0.02),
            "disease": disease,
            "mood": change(0.04),
            "gas_safety": safety("gas_safety"),
            "water_heating_safety": safety("water_heating_safety"),
            "electrical_safety": safety("electrical_safety"),
            "personal_hygiene": change(0.03),
            "household_hygiene": change(0.03),
            "indoor_environment": change(0.02),
        }

    def visit(
        self,
        day: date,
        *,
        mode: str,
        visitors: tuple[Visitor, ...],
        refused: bool = False,
        services: str = "",
        findings: bool = True,
    ) -> PlannedVisit | None:
        phone = mode != VisitMode.HOME
        moment = self.moment(day, time(9) if phone else time(8, 30), time(19 if phone else 17, 30))
        if moment is None:
            return None
        rng = self.rng
        hazard = None
        needs: list[dict[str, Any]] = []
        answers: dict[str, Any] = {}
        if not refused:
            if findings and not phone and rng.random() < 0.002:
                hazard = rng.choice(sorted(HAZARDS))
                services = HAZARDS[hazard][1]
            answers = self.answers(hazard)
            draw = rng.random()
            if findings and draw < 0.003:
                kind, note = rng.choice(UNMET_NEEDS)
                needs = [{"type": str(kind), "met": False, "note": note}]
            elif draw < 0.02:
                kind, note = rng.choice(MET_NEEDS)
                needs = [{"type": str(kind), "met": True, "note": note}]
        minutes = rng.randrange(5, 15) if phone else rng.randrange(20, 60)
        ended = moment + timedelta(minutes=minutes)
        located = not phone and not refused and rng.random() < 0.7
        recorded = min(ended + timedelta(minutes=rng.randrange(1, 90)), self.now)
        return PlannedVisit(
            uuid=uuid.UUID(int=0),  # numbered once the elder's visits are in order
            elder_id=self.elder.pk,
            visitor_ids=tuple(sorted({v.pk for v in visitors})),
            mode=mode,
            visited_at=moment,
            refused=refused,
            answers=answers,
            needs_found=needs,
            services_given=services,
            started_at=moment if located else None,
            ended_at=ended if located else None,
            latitude=self.place[0] + Decimal(rng.randrange(-20, 21)) / Decimal(100000)
            if located
            else None,
            longitude=self.place[1] + Decimal(rng.randrange(-20, 21)) / Decimal(100000)
            if located
            else None,
            location_accuracy=float(rng.randrange(8, 40)) if located else None,
            recorded_at=recorded,
            finds=bool(hazard) or any(not n["met"] for n in needs),
        )


def _plan_elder(
    seed: int,
    elder: ElderFacts,
    visitors: Sequence[Visitor],
    tasks: Sequence[VisitTask],
    start: date,
    today: date,
    now: datetime,
) -> ElderPlan:
    drawer = _Drawer(seed, elder, visitors, start, today, now)
    rng = drawer.rng
    plan = ElderPlan(elder.pk)
    home = VisitMode.HOME if elder.home_consent else VisitMode.PHONE
    reliability = _reliability(seed, drawer.primary)
    if not elder.home_consent:
        # Called now and then; the home visits the rule asks for are missed.
        reliability /= 2
    # A few elders were in hospital or away for one period: excused, not missed.
    past = [t for t in tasks if t.kind == TaskKind.REGULAR and t.window_end < today]
    absent = rng.choice(past).pk if past and rng.random() < 0.02 else None
    visits: list[PlannedVisit | None] = []
    for task in tasks:
        over = task.window_end < today
        if task.pk == absent:
            reason = rng.choice([ExcuseReason.HOSPITAL, ExcuseReason.AWAY])
            note = "住院治疗" if reason == ExcuseReason.HOSPITAL else "随子女外出小住"
            plan.excuses.append((task.pk, str(reason), note))
            continue
        if task.kind == TaskKind.REGULAR:
            draw = rng.random()
            day = drawer.day_in(task.window_start, task.window_end)
            if draw < reliability:
                if day is not None:
                    services = (
                        rng.choice(ROUTINE_SERVICES)
                        if home == VisitMode.HOME
                        else rng.choice(PHONE_ONLY)
                    )
                    visits.append(
                        drawer.visit(day, mode=home, visitors=drawer.who(), services=services)
                    )
            elif over and draw < reliability + 0.04 and elder.tier == "key":
                # A call instead of the home visit the rule asks for: recorded, not counted.
                day = drawer.day_in(task.window_start, task.window_end)
                if day is not None:
                    visits.append(
                        drawer.visit(
                            day,
                            mode=VisitMode.PHONE,
                            visitors=(drawer.primary,),
                            services=rng.choice(PHONE_ONLY),
                        )
                    )
            elif over and draw < reliability + 0.06:
                day = drawer.day_in(task.window_start, task.window_end)
                if day is not None:
                    visits.append(
                        drawer.visit(
                            day,
                            mode=home,
                            visitors=(drawer.primary,),
                            refused=True,
                            services=rng.choice(REFUSALS),
                        )
                    )
        elif task.kind == TaskKind.FESTIVAL:
            if rng.random() < (0.7 if elder.tier == "key" else 0.55):
                day = drawer.day_in(task.window_start, task.window_end)
                festival = task.key.split(":")[1]
                if day is not None:
                    visits.append(
                        drawer.visit(
                            day,
                            mode=home,
                            visitors=drawer.who(joint_chance=0.4, other_chance=0.1),
                            services=FESTIVAL_SERVICES.get(festival, "节日慰问。"),
                        )
                    )
        elif task.kind == TaskKind.EVENT and rng.random() < (0.5 if elder.tier == "key" else 0.25):
            day = drawer.day_in(task.window_start, task.window_end)
            kind = WEATHER[today.month][0]
            if day is not None:
                visits.append(
                    drawer.visit(
                        day,
                        mode=VisitMode.PHONE,
                        visitors=(drawer.primary,),
                        services=WEATHER_CALLS[kind],
                        findings=False,
                    )
                )
    plan.visits = sorted((v for v in visits if v is not None), key=lambda v: v.visited_at)
    for number, visit in enumerate(plan.visits, start=1):
        visit.uuid = uuid.uuid5(UUID_NAMESPACE, f"{seed}:{elder.key}:{number}")
    return plan

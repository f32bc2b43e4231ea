"""The demo county's visitors, who is responsible for whom, and six months of
visits (issue 5 item 9), made through the same actions as real ones.

- The roster (`tanfang.visits.roster.create_visitor`): in every township a grid
  worker (网格员) per village, family doctors, a social worker, purchased
  home-care staff, student and other volunteers, an old-age association member,
  property staff where there are urban communities, a party member paired with
  elders (结对帮扶), a neighbour, a public-welfare post, the meal deliverer and
  a village work-team member. The demo account `visitor` is the grid worker of
  the demo community.
- Assignments (`assign_many`): every active elder has the grid worker of the
  village, and some a second visitor by need (a family doctor for the disabled,
  a social worker for the childless ...), except a handful of the newest files
  left without anyone on purpose, so that the "without a visitor" lists show
  something.
- Tasks: the past months' tasks are made by `generate_tasks` as the daily run
  would have made them on each day, from each file's 建档日期 on; a cold wave (or
  the season's extreme weather) declared for the last days ends today, so that
  visitors have tasks due today.
- Visits: drawn per task with each visitor's own reliability, so that the
  county today has done, due and missed tasks (with 石狮's rules every deadline
  is the period's last day, so nothing is ever overdue); a few phone calls to
  key elders that did not count, a few refusals at the door, a few unsafe
  answers (hazards) and unmet needs. The recent weeks, which the pages show, and
  every visit that finds something are stored by `record_visit`; the older ones
  by `_BulkStore` (see there why), with the same rules.
- What became of the hazards and needs found, and a few emergencies: made
  by tanfang.demo.care while the visits are stored, so that the follow-ups it
  owes are made by the elders' later visits.

Everything is drawn from the seed (per elder and per visitor, so the draw does
not depend on database keys); a second run adds nothing.
"""

import random
import struct
import uuid
import zlib
from base64 import b64encode
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection
from django.db.models import Max
from django.utils import timezone

from tanfang.accounts.models import User
from tanfang.audit.models import Action, AuditEvent
from tanfang.care import follow_up
from tanfang.care.models import Hazard, HazardItem, Need, NeedType
from tanfang.demo.care import CareHistory, CareSeeded
from tanfang.jurisdiction import tiers
from tanfang.jurisdiction.actions import declare_event
from tanfang.jurisdiction.models import DeclaredEvent
from tanfang.policy import engine
from tanfang.policy.engine import EventKind
from tanfang.regions.models import Kind, Level, Region
from tanfang.registry import crypto
from tanfang.registry.models import Ability, Elder, ElderCategory, Status
from tanfang.reports.rollups import months_between, recompute_month
from tanfang.visits import checklist, counting
from tanfang.visits.actions import digest, fingerprint, modes_for, record_visit
from tanfang.visits.generation import excuse_task, generate_tasks
from tanfang.visits.models import (
    Assignment,
    ExcuseReason,
    TaskKind,
    Visit,
    VisitMode,
    Visitor,
    VisitorKind,
    VisitTask,
)
from tanfang.visits.roster import assign_many, create_visitor
from tanfang.visits.schedule import add_months

COUNTY = "350581"
# Months of history before the current one.
HISTORY_MONTHS = 6
# Visits of the last days are stored through `record_visit`, the older in bulk.
RECENT_DAYS = 14
# Active elders left without a visitor on purpose (fewer in a small demo).
UNASSIGNED = 5
# At least this many visits found a hazard, an unmet need, were a call to a key
# elder that did not count, were refused (however few the elders).
FEW = 3
# Visits begin at 08:30; a file's assignments start the morning it was opened.
ASSIGNED_AT = time(8, 0)
# Fixed, so that the same seed gives the same visit ids.
UUID_NAMESPACE = uuid.UUID("6f1d7a52-3c1e-4b8e-9a57-5d0c2b1e7a10")

SURNAMES = "陈林黄张吴王蔡郑李许杨洪邱施苏曾谢柯庄卢"
GIVEN = [
    "志伟", "晓燕", "丽娟", "建华", "海燕", "雅婷", "俊杰", "思琪", "文静", "鸿斌",
    "艺玲", "少华", "巧玲", "金龙", "惠珍", "家豪", "梦婷", "振宇", "淑惠", "清泉",
]  # fmt: skip
SCHOOLS = ["闽南理工学院", "泉州纺织服装职业学院", "石狮市第一中学", "泉州医学高等专科学校"]
SOCIAL_WORK = ["石狮市暖阳社会工作服务中心", "石狮市同心社会工作服务中心", "石狮市益家社工站"]
CARE_PROVIDERS = ["石狮市颐年居家养老服务中心", "石狮市福寿康养老服务有限公司"]
PROPERTY_FIRMS = ["石狮市宏达物业服务有限公司", "石狮市嘉和物业服务有限公司"]

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
# Abilities of elders a family doctor is asked to visit (中度以上失能).
NEEDS_DOCTOR = {
    Ability.MODERATE,
    Ability.SEVERE,
    Ability.COMPLETE,
    Ability.BEDRIDDEN,
    Ability.IMPAIRED_MOBILITY,
}


@dataclass
class Seeded:
    visitors: int = 0
    assignments: int = 0
    tasks: int = 0
    visits: int = 0
    hazards: int = 0
    needs: int = 0
    excused: int = 0
    # The closed loop of the history, when it was made by this run.
    care: CareSeeded | None = None

    def __str__(self) -> str:
        visits = (
            f"探访：新增探访人员 {self.visitors} 名，包干 {self.assignments} 条，"
            f"历史探访任务 {self.tasks} 项，探访记录 {self.visits} 条"
            f"（发现安全隐患 {self.hazards} 处、未满足需求 {self.needs} 项），"
            f"免除任务 {self.excused} 项。"
        )
        return visits if self.care is None else f"{visits}\n{self.care}"


@dataclass(frozen=True)
class Accounts:
    """The demo accounts that act: each records where a real one would."""

    county: User
    township: User
    liaison: User
    visitor: User


def seed_visits(*, accounts: Accounts, seed: int, today: date, now: datetime) -> Seeded:
    """Add the roster, the assignments and the history; safe to run again."""
    seeded = Seeded()
    seeded.visitors = _seed_roster(accounts, seed)
    seeded.assignments = _seed_assignments(accounts, seed)
    elders = _county_elders()
    county = Region.objects.get(code=COUNTY.ljust(12, "0"))
    if (
        Visit.objects.filter(elder__in=elders).exists()
        or DeclaredEvent.objects.filter(region=county).exists()
    ):
        return seeded  # The history is there: a second run adds nothing.
    _declare_weather(accounts, county, today)
    start = history_start(today)
    seeded.tasks = _generate_past_tasks(elders, start, today)
    plans = plan_visits(seed=seed, today=today, now=now)
    # What became of what the visits found (tanfang.demo.care): made while they
    # are stored, so that later visits make the follow-ups it owes.
    care = CareHistory(
        actor=partial(_actor, accounts),
        demo_village=accounts.liaison.region_id,
        seed=seed,
        today=today,
        now=now,
    )
    care.before_visits(plans, cutoff=today - timedelta(days=RECENT_DAYS))
    stored = _store(plans, accounts, seed, today, now, care)
    seeded.visits, seeded.hazards, seeded.needs = stored
    seeded.excused = _excuse(plans, accounts, now)
    seeded.care = care.finish()
    # The visits were stored in bulk, past the actions' rollup hooks: every
    # month of the history is counted afresh (tanfang.reports.rollups).
    for month in months_between(start, today):
        recompute_month(month, today)
    return seeded


def history_start(today: date) -> date:
    """The first day of the month HISTORY_MONTHS before today's."""
    return add_months(today.replace(day=1), -HISTORY_MONTHS)


def _county_elders() -> Any:
    return Elder.objects.filter(village__code__startswith=COUNTY, status=Status.ACTIVE)


def _local(day: date, moment: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, moment))


# --- The roster ---------------------------------------------------------------------


@dataclass(frozen=True)
class VisitorDraw:
    name: str
    kind: VisitorKind
    organisation: str
    phone: str
    villages: tuple[str, ...]  # empty: the whole township
    school: str = ""
    demo_account: bool = False


def draw_roster(
    seed: int, township: Region, villages: Sequence[Region], demo: User
) -> list[VisitorDraw]:
    """The visitors of one township, the same for the same seed."""
    rng = random.Random(f"{seed}:roster:{township.code}")  # noqa: S311 - demo data
    used: set[str] = set()

    def name() -> str:
        while True:
            drawn = rng.choice(SURNAMES) + rng.choice(GIVEN)
            if drawn not in used and drawn != demo.full_name:
                used.add(drawn)
                return drawn

    def phone() -> str:
        return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"

    codes = [v.code for v in villages]
    urban = [v for v in villages if v.kind == Kind.URBAN]
    rural = [v for v in villages if v.kind == Kind.RURAL]
    town = township.name.endswith(("镇", "乡"))
    draws: list[VisitorDraw] = []
    for village in villages:
        mine = village.code == demo.region_id
        committee = "居委会" if village.kind == Kind.URBAN else "村委会"
        draws.append(
            VisitorDraw(
                demo.full_name if mine else name(),
                VisitorKind.GRID_WORKER,
                f"{village.name}{committee}",
                phone(),
                (village.code,),
                demo_account=mine,
            )
        )
    clinic = f"{township.name}{'卫生院' if town else '社区卫生服务中心'}"
    half = len(codes) // 2
    draws += [
        VisitorDraw(name(), VisitorKind.FAMILY_DOCTOR, clinic, phone(), tuple(part))
        for part in (codes[:half], codes[half:])
    ]
    draws.append(
        VisitorDraw(name(), VisitorKind.SOCIAL_WORKER, rng.choice(SOCIAL_WORK), phone(), ())
    )
    draws.append(
        VisitorDraw(name(), VisitorKind.CARE_STAFF, rng.choice(CARE_PROVIDERS), phone(), ())
    )
    for school in rng.sample(SCHOOLS, 2):
        served = tuple(sorted(rng.sample(codes, 3)))
        draws.append(
            VisitorDraw(
                name(), VisitorKind.VOLUNTEER, f"{school}青年志愿者协会", phone(), served, school
            )
        )
    draws.append(
        VisitorDraw(
            name(),
            VisitorKind.VOLUNTEER,
            "石狮市义工联合会",
            phone(),
            tuple(sorted(rng.sample(codes, 3))),
        )
    )
    association = sorted(
        rng.sample(rural or list(villages), min(3, len(rural or villages))), key=lambda v: v.code
    )
    draws.append(
        VisitorDraw(
            name(),
            VisitorKind.ELDERS_ASSOCIATION,
            f"{association[0].name}老年协会",
            phone(),
            tuple(v.code for v in association),
        )
    )
    if urban:
        draws.append(
            VisitorDraw(
                name(),
                VisitorKind.PROPERTY_STAFF,
                rng.choice(PROPERTY_FIRMS),
                phone(),
                tuple(v.code for v in urban[:2]),
            )
        )
    draws.append(
        VisitorDraw(name(), VisitorKind.PARTY_MEMBER, f"{township.name}机关党支部", phone(), ())
    )
    neighbourhood = rng.choice(list(villages))
    draws.append(
        VisitorDraw(name(), VisitorKind.RELATIVE_NEIGHBOUR, "", phone(), (neighbourhood.code,))
    )
    draws.append(
        VisitorDraw(
            name(), VisitorKind.WELFARE_POST, f"{township.name}社会事务服务中心", phone(), ()
        )
    )
    draws.append(VisitorDraw(name(), VisitorKind.DELIVERY, f"{township.name}长者食堂", phone(), ()))
    draws.append(
        VisitorDraw(
            name(),
            VisitorKind.OTHER,
            f"石狮市派驻{township.name}工作队",
            phone(),
            (rng.choice(codes),),
        )
    )
    return draws


def _townships() -> list[tuple[Region, list[Region]]]:
    villages: dict[str, list[Region]] = defaultdict(list)
    for village in Region.objects.filter(code__startswith=COUNTY, level=Level.VILLAGE).order_by(
        "code"
    ):
        villages[village.parent_id or ""].append(village)
    townships = Region.objects.filter(code__startswith=COUNTY, level=Level.TOWNSHIP).order_by(
        "code"
    )
    return [(t, villages[t.code]) for t in townships if villages[t.code]]


def _seed_roster(accounts: Accounts, seed: int) -> int:
    """The rosters, once: a later run, with this seed or another, adds none."""
    if Visitor.objects.filter(township__code__startswith=COUNTY).exists():
        return 0
    created = 0
    for township, villages in _townships():
        # The township keeps its roster (001_35a01bee4c628ebd.txt 二(三)1).
        officer = (
            accounts.township if township.code == accounts.township.region_id else accounts.county
        )
        by_code = {v.code: v for v in villages}
        for draw in draw_roster(seed, township, villages, accounts.visitor):
            create_visitor(
                acting_user=officer,
                township=township,
                name=draw.name,
                kind=draw.kind,
                organisation=draw.organisation,
                phone=draw.phone,
                is_student=bool(draw.school),
                school=draw.school,
                villages=[by_code[c] for c in draw.villages],
                user=accounts.visitor if draw.demo_account else None,
            )
            created += 1
    return created


# --- Assignments (包干) ---------------------------------------------------------------


@dataclass(frozen=True)
class ElderFacts:
    pk: int
    # The (synthetic) ID number: draws follow the person, not the row nor the
    # install's keys, so that the same seed gives the same visits everywhere.
    key: str
    village: str
    village_kind: str
    registered_on: date
    tier: str
    categories: frozenset[str]
    ability: str
    disability_grade: int | None
    dementia: bool
    poor: bool
    home_consent: bool


def elder_facts() -> list[ElderFacts]:
    categories: dict[int, set[str]] = defaultdict(set)
    for elder_id, category in ElderCategory.objects.filter(
        elder__in=_county_elders(), withdrawn_at__isnull=True
    ).values_list("elder_id", "category"):
        categories[elder_id].add(category)
    return [
        ElderFacts(
            pk=row["pk"],
            key=crypto.decrypt(row["id_number_token"]),
            village=row["village_id"],
            village_kind=row["village__kind"],
            registered_on=row["registered_on"],
            tier=row["tier_override"] or row["tier"],
            categories=frozenset(categories[row["pk"]]),
            ability=row["ability"],
            disability_grade=row["disability_grade"],
            dementia=row["dementia"],
            poor=row["extreme_poverty"] or row["minimum_living"],
            home_consent=row["consents_to_home_visits"],
        )
        for row in _county_elders()
        .order_by("pk")
        .values(
            "pk",
            "id_number_token",
            "village_id",
            "village__kind",
            "registered_on",
            "tier",
            "tier_override",
            "ability",
            "disability_grade",
            "dementia",
            "extreme_poverty",
            "minimum_living",
            "consents_to_home_visits",
        )
    ]


def left_unassigned(elders: Sequence[ElderFacts], demo_village: str) -> set[int]:
    """The newest files, not yet given a visitor: one in the demo community (its
    liaison's list), the rest anywhere in the county."""
    count = min(UNASSIGNED, max(1, len(elders) // 50))
    newest = sorted(elders, key=lambda e: (e.registered_on, e.key), reverse=True)
    chosen = [e.pk for e in newest if e.village == demo_village][:1]
    chosen += [e.pk for e in newest if e.village != demo_village][: count - len(chosen)]
    return set(chosen)


def _serves(visitor: Visitor, served: Mapping[int, set[str]], village: str) -> bool:
    codes = served[visitor.pk]
    return not codes or village in codes


def draw_assignments(
    seed: int, elder: ElderFacts, roster: Sequence[Visitor], served: Mapping[int, set[str]]
) -> list[Visitor]:
    """Who is responsible for `elder`: the village's grid worker, and a second
    visitor where the file calls for one (003_fe235aaa23e67560.txt 三:
    就近就便、分片包干; 000_4970ff49482a0570.txt 三(二))."""
    rng = random.Random(f"{seed}:assign:{elder.key}")  # noqa: S311 - demo data
    mine = [v for v in roster if _serves(v, served, elder.village)]

    def of(kind: VisitorKind) -> list[Visitor]:
        return [v for v in mine if v.kind == kind]

    chosen = of(VisitorKind.GRID_WORKER)[:1]
    key = elder.tier == "key"
    wishes = [
        # Family doctors sign the disabled and the severely handicapped (失能、重残).
        (
            VisitorKind.FAMILY_DOCTOR,
            0.7 if elder.ability in NEEDS_DOCTOR or (elder.disability_grade or 9) <= 2 else 0.05,
        ),
        (VisitorKind.SOCIAL_WORKER, 0.5 if "孤寡" in elder.categories else 0.02),
        # Home care bought by the government for the poor (政府购买服务).
        (VisitorKind.CARE_STAFF, 0.5 if elder.poor and key else 0.01),
        (VisitorKind.PROPERTY_STAFF, 0.3 if "独居" in elder.categories else 0.03),
        (VisitorKind.PARTY_MEMBER, 0.1 if key else 0.02),
        (VisitorKind.ELDERS_ASSOCIATION, 0.1 if not key else 0.02),
        (VisitorKind.VOLUNTEER, 0.08),
        (VisitorKind.RELATIVE_NEIGHBOUR, 0.08),
        (VisitorKind.WELFARE_POST, 0.04),
        (VisitorKind.DELIVERY, 0.1 if elder.ability in NEEDS_DOCTOR else 0.02),
        (VisitorKind.OTHER, 0.1),
    ]
    for kind, chance in wishes:
        draw = rng.random()
        candidates = of(kind)
        if candidates and draw < chance and len(chosen) < 3:
            chosen.append(rng.choice(candidates))
    return chosen


def _roster() -> tuple[list[Visitor], dict[int, set[str]]]:
    roster = list(
        Visitor.objects.filter(township__code__startswith=COUNTY, active=True)
        .select_related("township")
        .order_by("township_id", "kind", "name", "pk")
    )
    served: dict[int, set[str]] = {v.pk: set() for v in roster}
    for visitor_id, code in Visitor.villages.through.objects.filter(visitor__in=roster).values_list(
        "visitor_id", "region_id"
    ):
        served[visitor_id].add(code)
    return roster, served


def _seed_assignments(accounts: Accounts, seed: int) -> int:
    """Assign the elders that never had anyone, the chosen few apart."""
    facts = elder_facts()
    touched = set(Assignment.objects.values_list("elder_id", flat=True).distinct())
    skipped = left_unassigned(facts, accounts.visitor.region_id)
    roster, served = _roster()
    by_township: dict[str, list[Visitor]] = defaultdict(list)
    for visitor in roster:
        by_township[visitor.township_id].append(visitor)
    wanted: dict[tuple[int, int], list[int]] = defaultdict(list)
    opened = {e.pk: e.registered_on for e in facts}
    for elder in facts:
        if elder.pk in touched or elder.pk in skipped:
            continue
        township = elder.village[:9] + "000"
        for visitor in draw_assignments(seed, elder, by_township[township], served):
            actor = _actor(accounts, elder.village)
            wanted[(visitor.pk, actor.pk)].append(elder.pk)
    if not wanted:
        return 0
    visitors = {v.pk: v for v in roster}
    actors = {u.pk: u for u in (accounts.county, accounts.township, accounts.liaison)}
    elders = Elder.objects.in_bulk([pk for pks in wanted.values() for pk in pks])
    made: list[Assignment] = []
    for (visitor_id, actor_id), pks in sorted(wanted.items()):
        made += assign_many(
            acting_user=actors[actor_id],
            elders=[elders[pk] for pk in pks],
            visitor=visitors[visitor_id],
        )
    # 包干 is set up when the file is opened: the history starts then.
    for assignment in made:
        assignment.started_at = _local(opened[assignment.elder_id], ASSIGNED_AT)
    Assignment.objects.bulk_update(made, ["started_at"], batch_size=500)
    return len(made)


def _actor(accounts: Accounts, village: str) -> User:
    """Who records for a village: its liaison in the demo community, the
    township officer in the demo township, the county officer elsewhere (the
    liaisons of the other villages have no demo account)."""
    if village == accounts.liaison.region_id:
        return accounts.liaison
    if village.startswith(accounts.township.region_id[:9]):
        return accounts.township
    return accounts.county


# --- Tasks ----------------------------------------------------------------------------


def _declare_weather(accounts: Accounts, county: Region, today: date) -> None:
    """Extreme weather for the last four days, ending today: its extra visit
    (any mode) is due today, as the visitor's home page shows it."""
    kind, title = WEATHER[today.month]
    declare_event(
        acting_user=accounts.county,
        region=county,
        kind=str(kind),
        title=f"{today.month}月{title}",
        starts_on=today - timedelta(days=3),
        ends_on=today,
    )


def _generate_past_tasks(elders: Any, start: date, today: date) -> int:
    """The tasks the daily run would have made since `start`: each month's on
    its first day for the files opened by then, and for a file opened later in
    the month, on the day it was opened (`generate_tasks` only makes tasks whose
    window has not ended, so none before the file existed)."""
    created = 0
    month = start
    while month <= today:
        created += generate_tasks(
            today=month, months=1, elders=elders.filter(registered_on__lte=month)
        )
        end = min(add_months(month, 1) - timedelta(days=1), today - timedelta(days=1))
        opened = (
            elders.filter(registered_on__gt=month, registered_on__lte=end)
            .order_by("registered_on")
            .values_list("registered_on", flat=True)
            .distinct()
        )
        for day in opened:
            created += generate_tasks(today=day, months=1, elders=elders.filter(registered_on=day))
        month = add_months(month, 1)
    return created


# --- Drawing the visits -----------------------------------------------------------------


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
    roster, _ = _roster()
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
        return _local(day, time(minutes // 60, minutes % 60))

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


# --- Storing the visits -----------------------------------------------------------------


def _signature(key: str) -> str:
    """A small drawn stroke as the phone sends a signature (a PNG data URL),
    the same for the same person."""
    rng = random.Random(f"signature:{key}")  # noqa: S311 - demo data
    width, height = 96, 32
    ink: set[tuple[int, int]] = set()
    x, y = 6, 16 + rng.randrange(-4, 5)
    while x < width - 6:
        step_y = rng.choice([-3, -2, -1, 0, 1, 2, 3])
        for _ in range(rng.randrange(2, 5)):
            y = max(3, min(height - 4, y + (1 if step_y > 0 else -1 if step_y < 0 else 0)))
            ink.update({(x, y), (x, y + 1), (x + 1, y)})
            x += 1
    rows = b""
    for row in range(height):
        bits = 0
        line = bytearray()
        for column in range(width):
            # One bit a pixel, 1 white, 0 ink.
            bits = (bits << 1) | (0 if (column, row) in ink else 1)
            if column % 8 == 7:
                line.append(bits)
                bits = 0
        rows += b"\x00" + bytes(line)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + b64encode(png).decode()


class _Context:
    """What storing a visit reads, read once."""

    def __init__(self, plans: Sequence[ElderPlan], accounts: Accounts, seed: int) -> None:
        self.accounts = accounts
        self.elders = Elder.objects.in_bulk([p.elder_id for p in plans])
        ids = {pk for p in plans for v in p.visits for pk in v.visitor_ids}
        self.visitors = Visitor.objects.in_bulk(ids)
        self.assigned = set(
            Assignment.objects.filter(elder__in=self.elders, ended_at__isnull=True).values_list(
                "elder_id", "visitor_id"
            )
        )
        self.demo_visitor = (
            Visitor.objects.filter(user=accounts.visitor).values_list("pk", flat=True).first()
        )
        self.choices = tiers.all_choices()
        self.seed = seed
        self._visitor_signatures: dict[int, str] = {}
        self._elder_signatures: dict[int, str] = {}
        self._modes: dict[str, set[str]] = {}

    def actor(self, planned: PlannedVisit) -> User:
        """The visitor records their own visits; a liaison or officer records
        for those without a login (record_visit: 代为录入)."""
        if self.demo_visitor in planned.visitor_ids:
            return self.accounts.visitor
        return _actor(self.accounts, self.elders[planned.elder_id].village_id)

    def visitors_of(self, planned: PlannedVisit) -> list[Visitor]:
        return [self.visitors[pk] for pk in planned.visitor_ids]

    def signatures(self, planned: PlannedVisit) -> tuple[str, str]:
        """Each person signs alike every time."""
        if planned.refused:
            return "", ""
        visitor = self.visitors[planned.visitor_ids[0]]
        elder = self.elders[planned.elder_id]
        if visitor.pk not in self._visitor_signatures:
            key = f"{self.seed}:{visitor.township_id}:{visitor.name}"
            self._visitor_signatures[visitor.pk] = _signature(key)
        if elder.pk not in self._elder_signatures:
            key = f"{self.seed}:{crypto.decrypt(elder.id_number_token)}"
            self._elder_signatures[elder.pk] = _signature(key)
        return self._visitor_signatures[visitor.pk], self._elder_signatures[elder.pk]

    def form(self, elder: Elder, day: date) -> checklist.Checklist:
        """`record_visit`'s `checklist_for`, with the choices read once."""
        profile, _ = tiers.choice_for(elder.village_id, day, self.choices)
        return checklist.load(engine.load(profile).checklist)

    def modes(self, elder: Elder, form: checklist.Checklist) -> set[str]:
        if elder.village_id not in self._modes:
            self._modes[elder.village_id] = {value for value, _ in modes_for(elder, form)}
        return self._modes[elder.village_id]

    def record(self, planned: PlannedVisit) -> Visit:
        visitor_signature, elder_signature = self.signatures(planned)
        return record_visit(
            acting_user=self.actor(planned),
            uuid=planned.uuid,
            elder=self.elders[planned.elder_id],
            mode=planned.mode,
            visited_at=planned.visited_at,
            visitors=self.visitors_of(planned),
            answers=planned.answers,
            refused=planned.refused,
            needs_found=planned.needs_found,
            services_given=planned.services_given,
            visitor_signature=visitor_signature,
            elder_signature=elder_signature,
            started_at=planned.started_at,
            ended_at=planned.ended_at,
            latitude=planned.latitude,
            longitude=planned.longitude,
            location_accuracy=planned.location_accuracy,
        ).visit


def _store(
    plans: Sequence[ElderPlan],
    accounts: Accounts,
    seed: int,
    today: date,
    now: datetime,
    care: CareHistory,
) -> tuple[int, int, int]:
    """Store the planned visits, elder by elder and each elder's in order, so
    that the sequence numbers (第 N 次) follow the dates; after each visit that
    `record_visit` stores, `care` handles what it found. Returns the visits,
    hazards and needs made."""
    context = _Context(plans, accounts, seed)
    cutoff = today - timedelta(days=RECENT_DAYS)
    bulk = _BulkStore(context, now)
    recent: list[PlannedVisit] = []
    through_record: list[tuple[int, datetime]] = []
    for plan in plans:
        for planned in plan.visits:
            if timezone.localdate(planned.visited_at) >= cutoff:
                recent.append(planned)
            elif planned.finds:
                # Hazards and needs are made by record_visit alone, whatever the visit's age.
                bulk.flush()
                visit = context.record(planned)
                bulk.recorded(visit)
                bulk.owed(care.after_record(visit, planned.recorded_at))
                through_record.append((visit.pk, planned.recorded_at))
            else:
                bulk.add(planned)
    bulk.flush()
    for planned in sorted(recent, key=lambda v: (v.visited_at, v.elder_id)):
        visit = context.record(planned)
        care.after_record(visit, planned.recorded_at)
        through_record.append((visit.pk, planned.recorded_at))
    _as_recorded_then(through_record)
    visits = Visit.objects.filter(elder__in=context.elders)
    return (
        visits.count(),
        Hazard.objects.filter(visit__in=visits).count(),
        Need.objects.filter(visit__in=visits).count(),
    )


class _BulkStore:
    """Visits stored without `record_visit`, a thousand to a statement.

    Why: six months of visits for 2,000 elders are some 20,000 records, and
    `record_visit` takes about 6 ms each on SQLite (a dozen queries: scope,
    lock, form, visitors, open tasks, sequence, audit), two minutes in all,
    where the visits may add a minute at most to the first `make run`. So the visits older than
    RECENT_DAYS that find nothing are written here, with the same rules:

    - the open tasks of the visit's day are those of `counting.open_tasks_on`
      (window holds the day, not done, excused or cancelled, not a file review;
      due first), kept in memory as visits complete them, and
      `counting.decide` says which the visit completes and why not;
    - the sequence number is the elder's last plus one; the content hash is
      `record_visit`'s own fingerprint of the same arguments, so the same
      visit sent again through the API is a replay, not a conflict;
    - the answers are those `checklist.clean_answers` returns, under the form
      `record_visit` would use; the visitors are assigned to the elder; the
      visit is not in the future nor before the file was opened; home visits
      only where the elder consents; both signatures where the form asks;
    - a completed task is done at the time the visit was recorded, and each
      visit has its VISIT_RECORDED audit entry with the same detail;
    - a follow-up (跟踪回访) the visit completes confirms its need through
      `confirm_follow_ups`, as `record_visit` does.

    Visits that find a hazard or an unmet need never come here: those records
    are made by `record_visit` only.
    """

    BATCH = 1000

    def __init__(self, context: _Context, now: datetime) -> None:
        self.context = context
        self.now = now
        elders = list(context.elders)
        self.tasks: dict[int, list[VisitTask]] = defaultdict(list)
        for task in (
            VisitTask.objects.filter(elder_id__in=elders, cancelled_at__isnull=True)
            .exclude(kind=TaskKind.REVIEW)
            .order_by("pk")
        ):
            self.tasks[task.elder_id].append(task)
        self.sequence: dict[int, int] = dict(
            Visit.objects.filter(elder_id__in=elders)
            .values("elder_id")
            .annotate(n=Max("sequence"))
            .values_list("elder_id", "n")
        )
        self.pending: list[tuple[Visit, PlannedVisit, User, tuple[VisitTask, ...]]] = []

    def open_tasks(self, elder_id: int, day: date) -> list[VisitTask]:
        """`counting.open_tasks_on`, read from memory."""
        return sorted(
            (
                t
                for t in self.tasks[elder_id]
                if t.window_start <= day <= t.window_end
                and t.done_at is None
                and t.excused_at is None
                and t.cancelled_at is None
            ),
            key=lambda t: (t.deadline, t.window_start, t.pk),
        )

    def recorded(self, visit: Visit) -> None:
        """A visit stored by `record_visit` meanwhile: its tasks are done."""
        done = set(visit.completed_tasks.values_list("pk", flat=True))
        for task in self.tasks[visit.elder_id]:
            if task.pk in done:
                task.done_at = visit.recorded_at
        self.sequence[visit.elder_id] = visit.sequence

    def owed(self, tasks: Iterable[VisitTask]) -> None:
        """Follow-ups made meanwhile (tanfang.demo.care): later visits may make them."""
        for task in tasks:
            self.tasks[task.elder_id].append(task)

    def add(self, planned: PlannedVisit) -> None:
        context = self.context
        elder = context.elders[planned.elder_id]
        day = timezone.localdate(planned.visited_at)
        form = context.form(elder, day)
        visitors = context.visitors_of(planned)
        visitor_signature, elder_signature = context.signatures(planned)
        cleaned = checklist.clean_answers(form, planned.answers) if planned.answers else {}
        problems = [
            elder.status != Status.ACTIVE,
            planned.mode not in context.modes(elder, form),
            planned.mode == VisitMode.HOME
            and not elder.consents_to_home_visits
            and not planned.refused,
            planned.visited_at > self.now or (planned.ended_at or planned.visited_at) > self.now,
            day < elder.registered_on,
            not visitors
            or any(not v.active or (elder.pk, v.pk) not in context.assigned for v in visitors),
            not planned.refused
            and any(
                not signature
                for who, signature in (("visitor", visitor_signature), ("elder", elder_signature))
                if who in form.signatures
            ),
            cleaned != planned.answers,
            planned.finds,
        ]
        if any(problems):
            raise ValueError(f"demo visit {planned.uuid} breaks the rules of record_visit")
        outcome = counting.decide(
            self.open_tasks(elder.pk, day),
            mode=planned.mode,
            refused=planned.refused,
            tier_label=counting.tier_label_of(elder),
        )
        self.sequence[elder.pk] = self.sequence.get(elder.pk, 0) + 1
        visit = Visit(
            uuid=planned.uuid,
            content_hash=fingerprint(
                elder=elder.pk,
                mode=planned.mode,
                visited_at=planned.visited_at,
                visitors=sorted(planned.visitor_ids),
                answers=planned.answers,
                refused=planned.refused,
                needs_found=list(planned.needs_found),
                texts=[planned.services_given, "", "", ""],
                signatures=[digest(visitor_signature.encode()), digest(elder_signature.encode())],
                photo="",
                evidence=[
                    planned.started_at,
                    planned.ended_at,
                    planned.latitude,
                    planned.longitude,
                    planned.location_accuracy,
                ],
            ),
            elder_id=elder.pk,
            village_id=elder.village_id,
            sequence=self.sequence[elder.pk],
            mode=planned.mode,
            refused=planned.refused,
            visited_at=planned.visited_at,
            recorded_by=context.actor(planned),
            recorded_at=planned.recorded_at,
            checklist=form.name,
            answers=cleaned,
            needs_found=[dict(n) for n in planned.needs_found],
            services_given=planned.services_given.strip(),
            visitor_signature=visitor_signature,
            elder_signature=elder_signature,
            started_at=planned.started_at,
            ended_at=planned.ended_at,
            latitude=planned.latitude,
            longitude=planned.longitude,
            location_accuracy=planned.location_accuracy,
            counted=outcome.counts,
            not_counted_reason="\n".join(outcome.reasons),
        )
        for task in outcome.completes:
            task.done_at = planned.recorded_at
        self.pending.append((visit, planned, context.actor(planned), outcome.completes))
        if len(self.pending) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        Visit.objects.bulk_create([visit for visit, *_ in self.pending])
        Visit.visitors.through.objects.bulk_create(
            Visit.visitors.through(visit_id=visit.pk, visitor_id=visitor_id)
            for visit, planned, _, _ in self.pending
            for visitor_id in planned.visitor_ids
        )
        done = [
            (task.done_at, visit.pk, task.pk)
            for visit, _, _, completes in self.pending
            for task in completes
        ]
        table = VisitTask._meta.db_table
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET done_at = %s, done_by_visit_id = %s WHERE id = %s",  # noqa: S608
                [
                    (connection.ops.adapt_datetimefield_value(at), visit, task)
                    for at, visit, task in done
                ],
            )
        AuditEvent.objects.bulk_create(
            AuditEvent(
                action=Action.VISIT_RECORDED,
                actor=actor,
                username=actor.get_username(),
                region_code=visit.village_id,
                object_type="visit",
                object_id=str(visit.pk),
                detail={
                    "elder": visit.elder_id,
                    "sequence": visit.sequence,
                    "mode": visit.mode,
                    "refused": visit.refused,
                    "tasks_done": [t.pk for t in completes],
                    "photo_name": "",
                },
            )
            for visit, _, actor, completes in self.pending
        )
        for visit, _, _, completes in self.pending:
            if any(task.kind == TaskKind.FOLLOW_UP for task in completes):
                follow_up.confirm_follow_ups(visit, completes)
        self.pending = []


def _as_recorded_then(visits: Iterable[tuple[int, datetime]]) -> None:
    """A visit stored by `record_visit` now, as if its visitor had sent it from
    the phone just after the visit: its record time, and the time its tasks
    were done, are then (the bulk ones are stored so)."""
    rows = [Visit(pk=pk, recorded_at=at) for pk, at in visits]
    Visit.objects.bulk_update(rows, ["recorded_at"], batch_size=500)
    done = [(connection.ops.adapt_datetimefield_value(at), pk) for pk, at in visits]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {VisitTask._meta.db_table} SET done_at = %s WHERE done_by_visit_id = %s",  # noqa: S608
            done,
        )


def _excuse(plans: Sequence[ElderPlan], accounts: Accounts, now: datetime) -> int:
    """The periods a few elders spent in hospital or away, excused by the
    village (`excuse_task`), dated the last day of the period."""
    wanted = {pk: (reason, note) for plan in plans for pk, reason, note in plan.excuses}
    excused = []
    for task in VisitTask.objects.filter(pk__in=wanted).select_related("elder").order_by("pk"):
        if not task.is_open():
            continue
        reason, note = wanted[task.pk]
        excused.append(
            excuse_task(
                acting_user=_actor(accounts, task.elder.village_id),
                task=task,
                reason=reason,
                note=note,
            )
        )
    for task in excused:
        task.excused_at = min(_local(task.window_end, time(17, 0)), now)
    VisitTask.objects.bulk_update(excused, ["excused_at"], batch_size=500)
    return len(excused)

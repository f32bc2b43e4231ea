"""The demo county's visitors and who is responsible for whom (issue 5 item 9),
made through the roster's actions.

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
  something; each dated the morning its file was opened
  (`tanfang.visits.bulk.date_assignments`).
"""

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time

from tanfang.accounts.models import User
from tanfang.demo.actors import COUNTY, Accounts, actor_for, county_elders, local
from tanfang.regions.models import Kind, Level, Region
from tanfang.registry import crypto
from tanfang.registry.models import Ability, Elder, ElderCategory
from tanfang.visits.bulk import date_assignments
from tanfang.visits.models import Assignment, Visitor, VisitorKind
from tanfang.visits.roster import assign_many, create_visitor

# Active elders left without a visitor on purpose (fewer in a small demo).
UNASSIGNED = 5
# Visits begin at 08:30; a file's assignments start the morning it was opened.
ASSIGNED_AT = time(8, 0)
SURNAMES = "陈林黄张吴王蔡郑李许杨洪邱施苏曾谢柯庄卢"
GIVEN = [
    "志伟", "晓燕", "丽娟", "建华", "海燕", "雅婷", "俊杰", "思琪", "文静", "鸿斌",
    "艺玲", "少华", "巧玲", "金龙", "惠珍", "家豪", "梦婷", "振宇", "淑惠", "清泉",
]  # fmt: skip
SCHOOLS = ["闽南理工学院", "泉州纺织服装职业学院", "石狮市第一中学", "泉州医学高等专科学校"]
SOCIAL_WORK = ["石狮市暖阳社会工作服务中心", "石狮市同心社会工作服务中心", "石狮市益家社工站"]
CARE_PROVIDERS = ["石狮市颐年居家养老服务中心", "石狮市福寿康养老服务有限公司"]
PROPERTY_FIRMS = ["石狮市宏达物业服务有限公司", "石狮市嘉和物业服务有限公司"]

# Abilities of elders a family doctor is asked to visit (中度以上失能).
NEEDS_DOCTOR = {
    Ability.MODERATE,
    Ability.SEVERE,
    Ability.COMPLETE,
    Ability.BEDRIDDEN,
    Ability.IMPAIRED_MOBILITY,
}


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


def seed_roster(accounts: Accounts, seed: int) -> int:
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
        elder__in=county_elders(), withdrawn_at__isnull=True
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
        for row in county_elders()
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


def active_roster() -> tuple[list[Visitor], dict[int, set[str]]]:
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


def seed_assignments(accounts: Accounts, seed: int) -> int:
    """Assign the elders that never had anyone, the chosen few apart."""
    facts = elder_facts()
    touched = set(Assignment.objects.values_list("elder_id", flat=True).distinct())
    skipped = left_unassigned(facts, accounts.visitor.region_id)
    roster, served = active_roster()
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
            actor = actor_for(accounts, elder.village)
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
    date_assignments({a: local(opened[a.elder_id], ASSIGNED_AT) for a in made})
    return len(made)

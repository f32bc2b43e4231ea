"""About 2,000 synthetic elders for the demo county, registered through
`register_elder` like any other file. Names, ID numbers, phones and addresses
are invented; ID numbers are valid (checksum, birth date) and issued in 石狮市.

Each elder gets a household drawn first (spouse, children at home, in the
township or away working, some deceased), and the categories the officer
confirms are the system's proposal from those facts, except for a few files
confirmed otherwise, which show the data-quality warnings a real county has.
Files were opened over the last two years; most were reviewed in the last half
year, the rest are overdue.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from django.db import transaction

from tanfang.accounts.models import User
from tanfang.refresh import deferred as warnings_deferred
from tanfang.regions.models import Level, Region, in_subtree
from tanfang.registry import categories as rules
from tanfang.registry.actions import confirm_categories, review_elder, save_item
from tanfang.registry.crypto import lookup_hash
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Ability, Elder
from tanfang.registry.registration import date_registered, register_elder

T = TypeVar("T")

COUNTY = "350581"
ELDERS = 2000

SURNAMES = "陈林黄张吴王蔡郑李许杨洪邱施苏曾谢柯庄卢"
GIVEN_FEMALE = ["秀英", "玉兰", "淑珍", "桂英", "美玉", "丽珠", "雪梅", "阿婷", "素娥", "宝珠"]
GIVEN_MALE = ["建国", "金水", "国栋", "文华", "志强", "天福", "明德", "炳坤", "永泉", "清河"]
STREETS = ["南洋路", "大仑街", "新湖路", "古卿街", "塔前路", "锦江路", "龙穴路", "港塘街"]

# Ages 60–100, most between 65 and 85, as in a county's registry of elders in difficulty.
AGE_WEIGHTS = [(range(60, 65), 14), (range(65, 75), 34), (range(75, 85), 34), (range(85, 101), 18)]
ABILITY_WEIGHTS = [
    (Ability.INTACT, 40),
    (Ability.MILD, 20),
    (Ability.MODERATE, 15),
    (Ability.SEVERE, 10),
    (Ability.COMPLETE, 5),
    (Ability.BEDRIDDEN, 5),
    (Ability.IMPAIRED_MOBILITY, 5),
]


def _pick_weighted(rng: random.Random, pairs: Sequence[tuple[T, int]]) -> T:
    return rng.choices([value for value, _ in pairs], weights=[w for _, w in pairs])[0]


@dataclass
class Family:
    has_spouse: bool
    spouse_at_home: bool
    # (relation, deceased, at home, in the township, away since)
    children: list[tuple[str, bool, bool, bool, date | None]]


def _family(rng: random.Random, rural: bool, today: date) -> Family:
    kind = rng.choices(["solitary", "alone", "empty", "left", "home"], weights=[6, 26, 34, 14, 20])[
        0
    ]
    has_spouse = kind not in {"solitary", "alone"} and rng.random() < 0.5
    children: list[tuple[str, bool, bool, bool, date | None]] = []
    count = 0 if kind == "solitary" else rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
    for _ in range(count):
        relation = rng.choice(["son", "daughter"])
        if kind == "left" and rural:
            away = today - timedelta(days=rng.randrange(200, 3000))
            children.append((relation, False, False, False, away))
        elif kind == "home" and not children:
            children.append((relation, False, True, True, None))
        else:
            children.append((relation, False, False, rng.random() < 0.2 and kind == "home", None))
    if kind == "solitary" and rng.random() < 0.3:
        children.append(("son", True, False, False, None))  # 子女均已去世
    return Family(has_spouse, has_spouse, children)


def _facts(
    family: Family,
    township: str,
    today: date,
    ability: str,
    grade: int | None,
    dementia: bool,
    rural: bool,
) -> rules.Facts:
    return rules.Facts(
        on_date=today,
        township_code=township,
        has_spouse=family.has_spouse,
        spouse_lives_with_elder=family.spouse_at_home,
        spouse_township_code=township if family.has_spouse else None,
        children=tuple(
            rules.Child(
                deceased=deceased,
                lives_with_elder=home,
                township_code=None if deceased else (township if home or near else rules.ELSEWHERE),
                away_since=away,
            )
            for _, deceased, home, near, away in family.children
        ),
        has_carer=False if not family.children and not family.has_spouse else None,
        able_to_work=False,
        rural_registration=rural,
        ability=rules.Ability(ability),
        dementia=dementia,
        disability_grade=grade,
        disability_certificate_valid=grade is not None,
    )


@dataclass
class Draw:
    """Everything drawn for one elder, before anything is written."""

    id_number: str
    name: str
    village: Region
    phone: str
    address: str
    ability: str
    grade: int | None
    dementia: bool
    flags: list[float]
    family: Family
    spouse_name: str
    child_names: list[str]
    away_where: list[str]
    contact_phone: str
    confirmed: list[str]
    opened: date
    reviewed: date | None


def seed_elders(*, acting_user: User, seed: int, today: date) -> int:
    """Register the demo elders that are not there yet; returns how many were added."""
    villages = list(
        Region.objects.filter(in_subtree("code", COUNTY), level=Level.VILLAGE).order_by("code")
    )
    if Elder.objects.filter(village__in=villages).count() >= ELDERS:
        return 0
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    added = 0
    for number in range(ELDERS):
        draw = _draw(rng, number, villages, today)
        # Every draw is made before this check, so that a second run draws the
        # same elders and skips exactly those already registered.
        if Elder.objects.filter(id_number_hash=lookup_hash(draw.id_number, kind="id")).exists():
            continue
        with transaction.atomic(), warnings_deferred():
            _register(acting_user, draw, today)
        added += 1
    return added


def _draw(rng: random.Random, number: int, villages: list[Region], today: date) -> Draw:
    sex = "女" if rng.random() < 0.58 else "男"
    age_range = _pick_weighted(rng, AGE_WEIGHTS)
    # A birthday between one and 364 days after the same day `age + 1`
    # years ago: exactly `age` years old today.
    age = rng.choice(age_range)
    start = date(today.year - age - 1, today.month, min(today.day, 28))
    birth = start + timedelta(days=rng.randrange(1, 365))
    id_number = make_id_number(COUNTY, birth, number % 499, sex)
    village = rng.choice(villages)
    ability = str(_pick_weighted(rng, ABILITY_WEIGHTS))
    grade = rng.choice([None] * 12 + [1, 2, 3, 4])
    name = rng.choice(SURNAMES) + rng.choice(GIVEN_FEMALE if sex == "女" else GIVEN_MALE)
    phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    address = f"{rng.choice(STREETS)}{rng.randrange(1, 300)}号"
    flags = [rng.random() for _ in range(4)]
    rural = village.kind == "rural"
    family = _family(rng, rural, today)
    dementia = flags[0] < 0.06
    township = village.code[:9] + "000"
    facts = _facts(family, township, today, ability, grade, dementia, rural)
    proposed = [str(p.category) for p in rules.propose(facts)]
    opened = today - timedelta(days=rng.randrange(30, 730))
    return Draw(
        id_number=id_number,
        name=name,
        village=village,
        phone=phone,
        address=address,
        ability=ability,
        grade=grade,
        dementia=dementia,
        flags=flags,
        family=family,
        spouse_name=rng.choice(SURNAMES) + rng.choice(GIVEN_MALE + GIVEN_FEMALE),
        child_names=[
            rng.choice(SURNAMES) + rng.choice(GIVEN_MALE + GIVEN_FEMALE) for _ in family.children
        ],
        away_where=[rng.choice(["厦门", "泉州", "广州", "上海", "深圳"]) for _ in family.children],
        contact_phone=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
        # A few files confirmed otherwise than proposed: the warnings of a real county.
        confirmed=proposed[1:] if proposed and flags[3] < 0.04 else proposed,
        opened=opened,
        # Most reviewed within the last half year (000_4970ff49482a0570.txt
        # 三(四) 每半年动态更新一次), never before the file was opened.
        reviewed=(
            # randrange(0, 200) as the draws before: another bound takes
            # another number of random bits, and every later draw would change.
            max(opened, today - timedelta(days=rng.randrange(0, 200) * 7 // 8))
            if rng.random() < 0.85
            else None
        ),
    )


def _register(acting_user: User, draw: Draw, today: date) -> None:
    family = draw.family
    elder = register_elder(
        acting_user=acting_user,
        id_number=draw.id_number,
        name=draw.name,
        village=draw.village,
        phone=draw.phone,
        residence_address=draw.address,
        ability=draw.ability,
        disability_grade=draw.grade,
        # 残疾人证号: the ID number, then the type (4 肢体) and the grade.
        disability_certificate=f"{draw.id_number}4{draw.grade}" if draw.grade else "",
        disability_type="physical" if draw.grade else "",
        dementia=draw.dementia,
        rural_registration=draw.village.kind == "rural",
        has_spouse=family.has_spouse,
        children_count=sum(1 for child in family.children if not child[1]),
        has_carer=False if not family.children and not family.has_spouse else None,
        able_to_work=False,
        extreme_poverty=draw.flags[1] < 0.05,
        minimum_living=draw.flags[2] < 0.15,
        consents_to_home_visits=draw.flags[3] > 0.03,
    )
    date_registered(elder, draw.opened)

    def add(kind: str, **values: object) -> None:
        save_item(acting_user=acting_user, elder=elder, kind=kind, values=values)

    if family.has_spouse:
        add("household", name=draw.spouse_name, relation="spouse", lives_with_elder=True)
    for (relation, deceased, home, near, away), child, where in zip(
        family.children, draw.child_names, draw.away_where, strict=True
    ):
        add(
            "household",
            name=child,
            relation=relation,
            deceased=deceased,
            lives_with_elder=home,
            same_township=None if deceased else (home or near),
            away_since=away,
            away_where=where if away else "",
        )
    living = [name for name, c in zip(draw.child_names, family.children, strict=True) if not c[1]]
    # 000_4970ff49482a0570.txt 二(三): a child, or for an elder without children a
    # person named by the township and the village.
    add(
        "contacts",
        name=living[0] if living else f"{draw.village.name}村委会",
        relation="子女" if living else "村委会",
        phone=draw.contact_phone,
        first_contact=True,
        named_by_township=not living,
    )
    confirm_categories(acting_user=acting_user, elder=elder, categories=draw.confirmed)
    if draw.reviewed is not None:
        review_elder(acting_user=acting_user, elder=elder, reviewed_on=draw.reviewed)

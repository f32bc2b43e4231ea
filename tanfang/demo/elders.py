"""About 2,000 synthetic elders for the demo county, registered through
`register_elder` like any other file. Names, ID numbers, phones and addresses
are invented; ID numbers are valid (checksum, birth date) and issued in 石狮市.
"""

import random
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TypeVar

from tanfang.accounts.models import User
from tanfang.regions.models import Level, Region, in_subtree
from tanfang.registry.actions import register_elder
from tanfang.registry.crypto import lookup_hash
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Ability, Category, Elder

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


def _categories(rng: random.Random, ability: str, grade: int | None, rural: bool) -> list[str]:
    chosen = []
    if ability not in {Ability.INTACT, Ability.MILD}:
        chosen.append(Category.DISABLED)
    if grade in {1, 2}:
        chosen.append(Category.SEVERELY_HANDICAPPED)
    living = rng.choices(
        [Category.SOLITARY_CHILDLESS, Category.LIVING_ALONE, Category.EMPTY_NEST, None],
        weights=[6, 30, 34, 30],
    )[0]
    if living == Category.SOLITARY_CHILDLESS:
        chosen += [Category.SOLITARY_CHILDLESS, Category.LIVING_ALONE]
    elif living is not None:
        chosen.append(living)
    if rural and living is None and rng.random() < 0.5:
        chosen.append(Category.LEFT_BEHIND)
    if rng.random() < 0.03:
        chosen.append(Category.FAMILY_PLANNING)
    return [str(category) for category in chosen] or [str(Category.EMPTY_NEST)]


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
        categories = _categories(rng, ability, grade, village.kind == "rural")
        # Every draw is made before this check, so that a second run draws the
        # same elders and skips exactly those already registered.
        if Elder.objects.filter(id_number_hash=lookup_hash(id_number, kind="id")).exists():
            continue
        register_elder(
            acting_user=acting_user,
            id_number=id_number,
            name=name,
            village=village,
            phone=phone,
            residence_address=address,
            ability=ability,
            disability_grade=grade,
            dementia=flags[0] < 0.06,
            rural_registration=village.kind == "rural",
            extreme_poverty=flags[1] < 0.05,
            minimum_living=flags[2] < 0.15,
            consents_to_home_visits=flags[3] > 0.03,
            categories=categories,
        )
        added += 1
    return added

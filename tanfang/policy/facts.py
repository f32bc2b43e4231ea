"""The facts of an elder's file that rules may read, each declared once with
the field of the file it comes from (docs/规则配置.md lists them for the
counties who write profiles).

A profile's tier condition is a table of these keys; a key that is not
declared here is refused when the profile loads (tanfang.policy.schema), never
ignored: a misspelt key must not match every elder. A new condition means a new
declared fact here, a field in `Facts`, a check in `Condition.holds`, and the
place the file provides it (tanfang.jurisdiction.tiers.facts_of).

Also: the facts of one elder as JSON, for `manage.py policy_eval` and
`POST /api/v1/policy/evaluate` (the schema is in README.md "Policy engine").
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

ABILITIES = frozenset(
    {"intact", "mild", "moderate", "severe", "complete", "bedridden", "impaired_mobility"}
)
HEALTH = frozenset({"good", "fair", "poor"})
CATEGORIES = frozenset({"孤寡", "独居", "空巢", "留守", "失能", "重残", "计划生育特殊家庭"})


@dataclass(frozen=True, kw_only=True)
class Facts:
    """What the elder's file says, as the rules read it (the fields of
    `CONDITION_FACTS`, and the consent the modes depend on)."""

    birth_date: date
    categories: frozenset[str] = frozenset()
    ability: str | None = None
    dementia: bool = False
    disability_grade: int | None = None
    health: str | None = None  # good / fair / poor
    consents_to_home_visits: bool = True
    life_threatening_illness: bool = False
    # The local day of the newest 住院 or 出院 recorded on the file.
    last_hospital_day: date | None = None
    # None: not known (no household recorded).
    lives_alone: bool | None = None
    rural: bool | None = None
    extreme_poverty: bool = False
    dispersed_support: bool = False
    children_asked_for_visits: bool = False


@dataclass(frozen=True)
class Fact:
    """A condition key: what it tests, and where the file holds it."""

    key: str
    label: str  # what a county reads in docs/规则配置.md and the rules page
    source: str  # the field(s) of the elder's file it is read from
    value: str  # the value a condition gives, in words


# The condition keys of a tier's `when`, besides `reason` (the words shown).
CONDITION_FACTS: Mapping[str, Fact] = {
    f.key: f
    for f in (
        Fact(
            "category", "已确认的对象类型", "对象类型（乡镇确认的七类对象）", '七类之一，如 "独居"'
        ),
        Fact("age_at_least", "年龄不低于", "出生日期（身份证号码）", "周岁，整数或 @参数"),
        Fact("age_below", "年龄低于", "出生日期（身份证号码）", "周岁，整数或 @参数"),
        Fact(
            "ability",
            "能力程度",
            "健康情况·能力程度（含未评估但长期卧床、行动不便）",
            "列表：intact、mild、moderate、severe、complete、bedridden、impaired_mobility",
        ),
        Fact("disability_grade_at_most", "残疾等级不高于", "残疾证·残疾等级（1–4级）", "1–4"),
        Fact("dementia", "失智", "健康情况·失智", "true 或 false"),
        Fact("health", "健康状况", "健康情况·健康状况", "列表：good、fair、poor"),
        Fact(
            "life_threatening_illness",
            "患有可能危及生命的慢性病",
            "健康情况·患有可能危及生命的慢性病",
            "true 或 false",
        ),
        Fact(
            "hospitalised_within_days",
            "近期住院",
            "重大变故·住院、出院的发生时间",
            "天数：最近一次住院或出院在这么多天以内",
        ),
        Fact(
            "lives_alone",
            "独自居住",
            "家庭成员·共同居住（登记了家庭成员且无人与老人同住）",
            "true 或 false",
        ),
        Fact("rural", "农村户籍", "户籍类别", "true 或 false"),
        Fact("extreme_poverty", "特困人员", "经济情况·特困人员", "true 或 false"),
        Fact("dispersed_support", "分散供养特困", "经济情况·分散供养", "true 或 false"),
        Fact(
            "children_asked_for_visits",
            "子女委托定期巡访",
            "子女申请定期探访",
            "true 或 false",
        ),
    )
}


FIELDS = frozenset(
    {
        "birth_date",
        "categories",
        "ability",
        "dementia",
        "disability_grade",
        "health",
        "consents_to_home_visits",
        "life_threatening_illness",
        "last_hospital_day",
        "lives_alone",
        "rural",
        "extreme_poverty",
        "dispersed_support",
        "children_asked_for_visits",
    }
)


class FactsError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_facts(data: Mapping[str, Any], *, extra: frozenset[str] = frozenset()) -> Facts:
    """Facts from a JSON object; a FactsError names the first bad field."""
    unknown = set(data) - FIELDS - extra
    if unknown:
        raise FactsError(sorted(unknown)[0], "未知字段")
    raw_birth = data.get("birth_date")
    if not isinstance(raw_birth, str):
        raise FactsError("birth_date", "请填写出生日期（YYYY-MM-DD）")
    try:
        birth = date.fromisoformat(raw_birth)
    except ValueError:
        raise FactsError("birth_date", "出生日期格式应为 YYYY-MM-DD") from None
    categories = data.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise FactsError("categories", "对象类型应为字符串列表")
    if bad := [c for c in categories if c not in CATEGORIES]:
        raise FactsError("categories", f"未知的对象类型：{'、'.join(bad)}")
    ability = data.get("ability")
    if ability is not None and ability not in ABILITIES:
        raise FactsError("ability", f"能力程度应为 {'、'.join(sorted(ABILITIES))} 之一")
    health = data.get("health")
    if health is not None and health not in HEALTH:
        raise FactsError("health", "健康状况应为 good、fair、poor 之一")
    grade = data.get("disability_grade")
    if grade is not None and (isinstance(grade, bool) or grade not in (1, 2, 3, 4)):
        raise FactsError("disability_grade", "残疾等级应为 1 至 4")
    flags = (
        "dementia",
        "consents_to_home_visits",
        "life_threatening_illness",
        "extreme_poverty",
        "dispersed_support",
        "children_asked_for_visits",
    )
    for flag in (*flags, "lives_alone", "rural"):
        if data.get(flag) is not None and not isinstance(data[flag], bool):
            raise FactsError(flag, "应为 true 或 false")
        if flag in flags and flag in data and data[flag] is None:
            raise FactsError(flag, "应为 true 或 false")
    hospital = data.get("last_hospital_day")
    if hospital is not None:
        if not isinstance(hospital, str):
            raise FactsError("last_hospital_day", "日期格式应为 YYYY-MM-DD")
        try:
            hospital = date.fromisoformat(hospital)
        except ValueError:
            raise FactsError("last_hospital_day", "日期格式应为 YYYY-MM-DD") from None
    return Facts(
        birth_date=birth,
        categories=frozenset(categories),
        ability=ability,
        dementia=data.get("dementia", False),
        disability_grade=grade,
        health=health,
        consents_to_home_visits=data.get("consents_to_home_visits", True),
        life_threatening_illness=data.get("life_threatening_illness", False),
        last_hospital_day=hospital,
        lives_alone=data.get("lives_alone"),
        rural=data.get("rural"),
        extreme_poverty=data.get("extreme_poverty", False),
        dispersed_support=data.get("dispersed_support", False),
        children_asked_for_visits=data.get("children_asked_for_visits", False),
    )

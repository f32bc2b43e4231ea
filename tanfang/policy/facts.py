"""The facts of one elder as JSON, for `manage.py policy_eval` and
`POST /api/v1/policy/evaluate` (the schema is in README.md "Policy engine")."""

from collections.abc import Mapping
from datetime import date
from typing import Any

from tanfang.policy.engine import Facts

ABILITIES = frozenset(
    {"intact", "mild", "moderate", "severe", "complete", "bedridden", "impaired_mobility"}
)
HEALTH = frozenset({"good", "fair", "poor"})
CATEGORIES = frozenset({"孤寡", "独居", "空巢", "留守", "失能", "重残", "计划生育特殊家庭"})
FIELDS = frozenset(
    {
        "birth_date",
        "categories",
        "ability",
        "dementia",
        "disability_grade",
        "health",
        "consents_to_home_visits",
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
    for flag in ("dementia", "consents_to_home_visits"):
        if flag in data and not isinstance(data[flag], bool):
            raise FactsError(flag, "应为 true 或 false")
    return Facts(
        birth_date=birth,
        categories=frozenset(categories),
        ability=ability,
        dementia=data.get("dementia", False),
        disability_grade=grade,
        health=health,
        consents_to_home_visits=data.get("consents_to_home_visits", True),
    )

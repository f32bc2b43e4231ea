"""Profiles, tiers and visit rules (POLICIES.md "What every profile must be able
to express").

A profile is a TOML file in `profiles/`: versions with the day they apply from,
named parameters (the numbers the documents leave open are marked
`default = true` and may be overridden by a county), the tiers in order (the
first whose condition holds is the elder's; the last has none and takes
everyone else), each with its visit rule, and the special periods (festivals and
declared events). Every rule carries its citation.

A tier's `when` is a list of conditions, any of which suffices; a condition is
a table whose keys must all hold:

    category = "独居"            the confirmed category
    age_at_least = "@advanced_age"  (or a number) age on the day, exact to the day
    ability = ["severe", ...]    ability level, with the not-assessed variants
    disability_grade_at_most = 2  disability certificate grade 1..N
    dementia = true
    reason = "年满{advanced_age}周岁且独居"   the words shown; {name} is a parameter

Pure Python without Django; `tier()` and `evaluate()` take `Facts`.
"""

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

PROFILES_DIR = Path(__file__).parent / "profiles"


class Mode(StrEnum):
    HOME = "home"  # 上门/入户
    PHONE = "phone"  # 电话
    VIDEO = "video"  # 互联网音视频/线上
    STREET = "street"  # 路遇
    MONITORING = "monitoring"  # 远程监测


MODE_LABELS = {
    Mode.HOME: "上门/入户",
    Mode.PHONE: "电话",
    Mode.VIDEO: "视频/线上",
    Mode.STREET: "路遇",
    Mode.MONITORING: "远程监测",
}
REMOTE_MODES = frozenset({Mode.PHONE, Mode.VIDEO, Mode.STREET, Mode.MONITORING})


class Period(StrEnum):
    HALF_MONTH = "half_month"
    MONTH = "month"
    DAYS = "days"


class EventKind(StrEnum):
    HEAT = "heat"
    COLD = "cold"
    TYPHOON = "typhoon"
    FLOOD = "flood"
    EPIDEMIC = "epidemic"


EVENT_LABELS = {
    EventKind.HEAT: "高温",
    EventKind.COLD: "寒潮",
    EventKind.TYPHOON: "台风",
    EventKind.FLOOD: "洪涝",
    EventKind.EPIDEMIC: "公共卫生事件",
}


@dataclass(frozen=True, kw_only=True)
class Facts:
    """What the elder's file says, as the rules read it."""

    birth_date: date
    categories: frozenset[str] = frozenset()
    ability: str | None = None
    dementia: bool = False
    disability_grade: int | None = None
    health: str | None = None  # good / fair / poor
    consents_to_home_visits: bool = True


@dataclass(frozen=True)
class Param:
    name: str
    value: Any
    label: str
    default: bool
    cite: str


@dataclass(frozen=True)
class VisitRule:
    period: Period
    count: int
    modes: frozenset[Mode]
    days: int | None = None  # the length of a Period.DAYS period
    deadline_day: int | None = None  # visits of the month done by this day
    home_needs_consent: bool = False
    remote_only_if_healthy: bool = False
    cite: str = ""

    def describe(self) -> str:
        per = {
            Period.HALF_MONTH: "每半月",
            Period.MONTH: "每月",
            Period.DAYS: f"每{self.days}天",
        }[self.period]
        modes = "、".join(MODE_LABELS[m] for m in Mode if m in self.modes)
        text = f"{per}至少探访{self.count}次（{modes}）"
        if self.deadline_day:
            text += f"，每月{self.deadline_day}日前完成"
        return text


@dataclass(frozen=True)
class Condition:
    reason: str
    category: str | None = None
    age_at_least: int | None = None
    ability: frozenset[str] | None = None
    disability_grade_at_most: int | None = None
    dementia: bool | None = None

    def holds(self, facts: Facts, age: int) -> bool:
        return (
            (self.category is None or self.category in facts.categories)
            and (self.age_at_least is None or age >= self.age_at_least)
            and (self.ability is None or facts.ability in self.ability)
            and (
                self.disability_grade_at_most is None
                or (
                    facts.disability_grade is not None
                    and facts.disability_grade <= self.disability_grade_at_most
                )
            )
            and (self.dementia is None or facts.dementia == self.dementia)
        )


@dataclass(frozen=True)
class Tier:
    key: str
    label: str
    cite: str
    when: tuple[Condition, ...]
    rule: VisitRule
    otherwise_reason: str = ""


@dataclass(frozen=True)
class SpecialRule:
    """What a festival or a declared event asks for inside its window."""

    kind: str  # "extra": one more visit; "mandatory": a visit inside the window
    count: int
    remote_counts_as_home: bool
    cite: str
    default: bool

    def describe(self) -> str:
        text = "窗口期内必须探访" if self.kind == "mandatory" else f"窗口期内增加探访{self.count}次"
        if self.remote_counts_as_home:
            text += "，电话、视频探访计入上门探访"
        return text


@dataclass(frozen=True)
class Version:
    since: date
    source: str
    params: Mapping[str, Param]
    tiers: tuple[Tier, ...]
    festival_spans: Mapping[str, tuple[int, int]]
    festival_rule: SpecialRule
    event_rules: Mapping[EventKind, SpecialRule]
    # The version as written, rebuilt with a county's parameters (`with_params`).
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    checklist: str
    versions: tuple[Version, ...]  # oldest first

    def version_on(self, day: date) -> Version:
        """The rules in force on `day` (POLICIES.md: last year's reports with last year's rules)."""
        found = [v for v in self.versions if v.since <= day]
        if not found:
            raise ValueError(f"{self.title}的探访规则自{self.versions[0].since}起施行，{day}无规则")
        return found[-1]

    def tier_keys(self) -> list[tuple[str, str]]:
        return [(t.key, t.label) for t in self.versions[-1].tiers]


@dataclass(frozen=True)
class Evaluation:
    tier: str
    tier_label: str
    reasons: tuple[str, ...]
    rule: VisitRule
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "tier_label": self.tier_label,
            "reasons": list(self.reasons),
            "visit_rule": rule_dict(self.rule),
            "notes": list(self.notes),
        }


@cache
def rule_dict(rule: VisitRule) -> dict[str, Any]:
    """The rule as JSON (the same few rules for every elder: computed once each)."""
    return {
        "period": str(rule.period),
        "days": rule.days,
        "count": rule.count,
        "modes": sorted(str(m) for m in rule.modes),
        "deadline_day": rule.deadline_day,
        "home_needs_consent": rule.home_needs_consent,
        "description": rule.describe(),
        "cite": rule.cite,
    }


def age_on(birth_date: date, day: date) -> int:
    """Full years on `day`; 29 February birthdays count from 1 March in common
    years (the same rule as tanfang.registry.identity.age_on)."""
    years = day.year - birth_date.year
    birthday = (birth_date.month, birth_date.day)
    if birthday == (2, 29) and not _leap(day.year):
        birthday = (3, 1)
    if (day.month, day.day) < birthday:
        years -= 1
    return years


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def tier(
    profile: Profile,
    facts: Facts,
    on_date: date,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Tier, tuple[str, ...]]:
    """The elder's tier on `on_date` and the reasons in words."""
    version = _with_overrides(profile.version_on(on_date), overrides or {})
    age = age_on(facts.birth_date, on_date)
    for candidate in version.tiers:
        if not candidate.when:
            return candidate, (candidate.otherwise_reason,) if candidate.otherwise_reason else ()
        reasons = tuple(c.reason for c in candidate.when if c.holds(facts, age))
        if reasons:
            return candidate, reasons
    raise ValueError(f"{profile.title}的规则没有兜底的分级")


def evaluate(
    profile: Profile,
    facts: Facts,
    on_date: date,
    overrides: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Tier, reasons and the visit rule that applies to this elder."""
    found, reasons = tier(profile, facts, on_date, overrides)
    rule = found.rule
    notes: list[str] = []
    if rule.remote_only_if_healthy and not _healthy_and_self_caring(facts):
        # 004_1657df0ed1e05604.txt 二(四): 电话、线上、路遇 only for elders in good
        # health who look after themselves.
        rule = _replace_modes(rule, rule.modes - REMOTE_MODES or frozenset({Mode.HOME}))
        notes.append("身体状况不佳或不能自理，须入户探访，电话、线上、路遇不计入")
    if Mode.HOME in rule.modes and not facts.consents_to_home_visits:
        notes.append("老人未同意入户探访：入户探访前须征得本人或赡养人同意，可改为电话探访")
    return Evaluation(found.key, found.label, reasons, rule, tuple(notes))


def _healthy_and_self_caring(facts: Facts) -> bool:
    return (
        facts.ability in {None, "intact"}
        and facts.health in {None, "good"}
        and not (facts.dementia)
    )


def _replace_modes(rule: VisitRule, modes: frozenset[Mode]) -> VisitRule:
    return VisitRule(
        rule.period,
        rule.count,
        modes,
        rule.days,
        rule.deadline_day,
        rule.home_needs_consent,
        rule.remote_only_if_healthy,
        rule.cite,
    )


# --- Loading ---------------------------------------------------------------------


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


@cache
def load(name: str) -> Profile:
    path = PROFILES_DIR / f"{name}.toml"
    if not path.is_file():
        raise ValueError(f"未知的探访规则：{name}")
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return parse(name, data)


def parse(name: str, data: Mapping[str, Any]) -> Profile:
    versions = tuple(sorted((_version(v) for v in data["versions"]), key=lambda v: v.since))
    if not versions:
        raise ValueError(f"{name}: no versions")
    return Profile(name, data["title"], data.get("checklist", "fujian"), versions)


def _version(data: Mapping[str, Any]) -> Version:
    params = {
        key: Param(key, value["value"], value["label"], value.get("default", False), value["cite"])
        for key, value in data.get("params", {}).items()
    }
    return _build(data, params)


def _build(data: Mapping[str, Any], params: Mapping[str, Param]) -> Version:
    def value(raw: Any) -> Any:
        if isinstance(raw, str) and raw.startswith("@"):
            return params[raw[1:]].value
        return raw

    def words(text: str) -> str:
        return text.format(**{k: p.value for k, p in params.items()})

    tiers = []
    for raw in data["tiers"]:
        visits = raw["visits"]
        rule = VisitRule(
            period=Period(visits["per"]),
            count=int(value(visits["count"])),
            modes=frozenset(Mode(m) for m in visits["modes"]),
            days=value(visits.get("days")),
            deadline_day=value(visits.get("deadline_day")),
            home_needs_consent=visits.get("home_needs_consent", False),
            remote_only_if_healthy=visits.get("remote_only_if_healthy", False),
            cite=visits.get("cite", raw["cite"]),
        )
        when = tuple(
            Condition(
                reason=words(c["reason"]),
                category=c.get("category"),
                age_at_least=value(c.get("age_at_least")),
                ability=frozenset(c["ability"]) if "ability" in c else None,
                disability_grade_at_most=value(c.get("disability_grade_at_most")),
                dementia=c.get("dementia"),
            )
            for c in raw.get("when", [])
        )
        tiers.append(
            Tier(raw["key"], raw["label"], raw["cite"], when, rule, raw.get("otherwise", ""))
        )
    special = data["special"]
    festival = special["festivals"]
    return Version(
        since=data["since"],
        source=data["source"],
        params=params,
        tiers=tuple(tiers),
        festival_spans={
            name: (int(value(span[0])), int(value(span[1])))
            for name, span in festival["windows"].items()
        },
        festival_rule=_special(festival, value),
        event_rules={
            EventKind(kind): _special(rule, value) for kind, rule in special["events"].items()
        },
        raw=data,
    )


def _special(data: Mapping[str, Any], value: Any) -> SpecialRule:
    return SpecialRule(
        kind=data["kind"],
        count=int(value(data.get("count", 1))),
        remote_counts_as_home=data.get("remote_counts_as_home", False),
        cite=data["cite"],
        default=data.get("default", False),
    )


def _with_overrides(version: Version, overrides: Mapping[str, Any]) -> Version:
    """The version with a county's values for the open numbers."""
    if not overrides:
        return version
    unknown = set(overrides) - set(version.params)
    if unknown:
        raise ValueError(f"不能调整的参数：{'、'.join(sorted(unknown))}")
    closed = [k for k in overrides if not version.params[k].default]
    if closed:
        raise ValueError(f"文件已明确规定，不能调整：{'、'.join(sorted(closed))}")
    return with_params(version, overrides)


def with_params(version: Version, overrides: Mapping[str, Any]) -> Version:
    params = {
        k: Param(p.name, overrides.get(k, p.value), p.label, p.default, p.cite)
        for k, p in version.params.items()
    }
    return _build(version.raw, params)


def open_params(profile: Profile, on_date: date) -> Sequence[Param]:
    """The numbers the documents leave open, which a county may change."""
    return [p for p in profile.version_on(on_date).params.values() if p.default]

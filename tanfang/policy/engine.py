"""Profiles, tiers and visit rules (POLICIES.md "What every profile must be able
to express"; docs/规则配置.md says it for the counties who write them).

A profile is a TOML file: versions with the day they apply from, named
parameters (the numbers the documents leave open are marked `open = true`, with
the range a county may choose from), the tiers in order (the first whose
condition holds is the elder's; the last has none and takes everyone else),
each with its visit rules, the festivals and declared events, and the trigger
rules on major changes recorded on the file. Every rule carries its citation.

Every file is checked against the declared schema (tanfang.policy.schema)
before any of it is used: a wrong file raises `ConfigError` naming the file,
the path inside it and the reason, and nothing of it is loaded. Profiles are
looked up in the built-in `profiles/` folder and in the folders a deployment
adds (`configure`, from the TANFANG_PROFILE_DIRS setting): a county adds its
own rules as one file, with no code change.

Pure Python without Django; `tier()` and `evaluate()` take `Facts`.
"""

import calendar
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from tanfang.policy import documents, schema
from tanfang.policy.changes import CHANGE_LABELS, Change
from tanfang.policy.facts import Facts
from tanfang.policy.problems import ConfigError, OverridesRefused, Problem

__all__ = ["ConfigError", "Facts", "OverridesRefused"]

PROFILES_DIR = Path(__file__).parent / "profiles"
_extra_dirs: tuple[Path, ...] = ()

# A month's figures are locked at midnight starting this day of the next month
# unless the rules say otherwise (issue 16 "Closed months": "default the 5th").
# None of the documents names such a day; Linzi's 20th (003_fe235aaa23e67560.txt
# 五(二) 每月20日前完成巡访) is the deadline of the month's own visits, not this.
DEFAULT_CLOSE_DAY = 5


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
    WEEK = "week"  # Monday to Sunday
    HALF_MONTH = "half_month"  # 1st–15th, 16th–last day (POLICIES.md)
    MONTH = "month"
    QUARTER = "quarter"  # calendar quarters
    HALF_YEAR = "half_year"  # January–June, July–December
    YEAR = "year"
    DAYS = "days"  # every N days from a fixed anchor


PERIOD_WORDS = {
    Period.WEEK: "每周",
    Period.HALF_MONTH: "每半月",
    Period.MONTH: "每月",
    Period.QUARTER: "每季度",
    Period.HALF_YEAR: "每半年",
    Period.YEAR: "每年",
}


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


@dataclass(frozen=True)
class Param:
    name: str
    value: int
    label: str
    default: bool  # left open by the document: a county may change it
    cite: str
    min: int | None = None
    max: int | None = None

    def range_words(self) -> str:
        return f"{self.min}–{self.max}" if self.min is not None else ""


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
    # Names the rule's tasks ("regular:1"); a tier with two rules (Linzi's key
    # objects: mostly home visits) has two keys.
    key: str = "regular"
    label: str = ""

    def describe(self) -> str:
        per = PERIOD_WORDS.get(self.period) or f"每{self.days}天"
        modes = "、".join(MODE_LABELS[m] for m in Mode if m in self.modes)
        text = f"{per}至少{self.label or '探访'}{self.count}次（{modes}）"
        if self.deadline_day:
            text += f"，每月{self.deadline_day}日前完成"
        return text


@dataclass(frozen=True)
class Condition:
    reason: str
    category: str | None = None
    age_at_least: int | None = None
    age_below: int | None = None
    ability: frozenset[str] | None = None
    disability_grade_at_most: int | None = None
    dementia: bool | None = None
    health: frozenset[str] | None = None
    life_threatening_illness: bool | None = None
    hospitalised_within_days: int | None = None
    lives_alone: bool | None = None
    rural: bool | None = None
    extreme_poverty: bool | None = None
    dispersed_support: bool | None = None
    children_asked_for_visits: bool | None = None

    def holds(self, facts: Facts, age: int, on_date: date) -> bool:
        """Every fact the condition names holds; a fact the file does not know
        (None) does not hold."""
        return (
            (self.category is None or self.category in facts.categories)
            and (self.age_at_least is None or age >= self.age_at_least)
            and (self.age_below is None or age < self.age_below)
            and (self.ability is None or facts.ability in self.ability)
            and (
                self.disability_grade_at_most is None
                or (
                    facts.disability_grade is not None
                    and facts.disability_grade <= self.disability_grade_at_most
                )
            )
            and (self.dementia is None or facts.dementia == self.dementia)
            and (self.health is None or facts.health in self.health)
            and _flag(self.life_threatening_illness, facts.life_threatening_illness)
            and (
                self.hospitalised_within_days is None
                or (
                    facts.last_hospital_day is not None
                    and on_date - facts.last_hospital_day
                    < timedelta(days=self.hospitalised_within_days)
                    and facts.last_hospital_day <= on_date
                )
            )
            and _flag(self.lives_alone, facts.lives_alone)
            and _flag(self.rural, facts.rural)
            and _flag(self.extreme_poverty, facts.extreme_poverty)
            and _flag(self.dispersed_support, facts.dispersed_support)
            and _flag(self.children_asked_for_visits, facts.children_asked_for_visits)
        )


def _flag(wanted: bool | None, known: bool | None) -> bool:
    return wanted is None or (known is not None and known == wanted)


@dataclass(frozen=True)
class Tier:
    key: str
    label: str
    cite: str
    when: tuple[Condition, ...]
    rules: tuple[VisitRule, ...]
    otherwise_reason: str = ""

    @property
    def rule(self) -> VisitRule:
        """The tier's first (main) visit rule."""
        return self.rules[0]


@dataclass(frozen=True)
class SpecialRule:
    """What a festival or a declared event asks for inside its window."""

    mandatory: bool
    count: int
    remote_counts_as_home: bool
    cite: str
    # None: any mode when not mandatory, the regular rule's modes when mandatory.
    modes: frozenset[Mode] | None = None

    @property
    def kind(self) -> str:
        return "mandatory" if self.mandatory else "extra"

    def describe(self) -> str:
        if self.mandatory:
            text = "窗口期内必须探访（计入达标）"
        else:
            text = f"窗口期内增加探访{self.count}次（单独统计覆盖率，不影响达标）"
        if self.modes:
            text += "，须" + "、".join(MODE_LABELS[m] for m in Mode if m in self.modes)
        if self.remote_counts_as_home:
            text += "，电话、视频探访计入上门探访"
        return text


@dataclass(frozen=True)
class TriggerRule:
    """A visit owed within `within_hours` of a major change recorded on the file."""

    changes: frozenset[Change]
    within_hours: int
    modes: frozenset[Mode]
    tiers: frozenset[str] | None
    cite: str
    label: str = ""

    def applies_to(self, tier: str) -> bool:
        return self.tiers is None or tier in self.tiers

    def describe(self) -> str:
        changes = "、".join(CHANGE_LABELS[c] for c in Change if c in self.changes)
        modes = "、".join(MODE_LABELS[m] for m in Mode if m in self.modes)
        return f"登记{changes}后{self.within_hours}小时内探访（{modes}）"


@dataclass(frozen=True)
class Version:
    since: date
    source: str  # the document's key
    params: Mapping[str, Param]
    tiers: tuple[Tier, ...]
    festival_spans: Mapping[str, tuple[int, int]]
    festival_rule: SpecialRule | None
    event_rules: Mapping[EventKind, SpecialRule]
    triggers: tuple[TriggerRule, ...] = ()
    # The day of the next month on which a month's figures are locked.
    close_day: int = DEFAULT_CLOSE_DAY
    # The version as written and its profile's own documents, to rebuild it
    # with a county's parameters (`with_params`).
    raw: Any = field(repr=False, compare=False, default=None)
    own_documents: tuple[documents.Document, ...] = field(repr=False, compare=False, default=())

    def document(self) -> documents.Document | None:
        return {**documents.SEEDS, **{d.key: d for d in self.own_documents}}.get(self.source)


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    checklist: str
    versions: tuple[Version, ...]  # oldest first
    maintainer: str = ""
    # The raw declaration, for validating a county's numbers (`check_overrides`).
    raw: Any = field(repr=False, compare=False, default=None)

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
    rules: tuple[VisitRule, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def rule(self) -> VisitRule:
        return self.rules[0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "tier_label": self.tier_label,
            "reasons": list(self.reasons),
            "visit_rule": rule_dict(self.rule),
            "visit_rules": [rule_dict(r) for r in self.rules],
            "notes": list(self.notes),
        }


@cache
def rule_dict(rule: VisitRule) -> dict[str, Any]:
    """The rule as JSON (the same few rules for every elder: computed once each)."""
    return {
        "key": rule.key,
        "period": str(rule.period),
        "days": rule.days,
        "count": rule.count,
        "modes": sorted(str(m) for m in rule.modes),
        "deadline_day": rule.deadline_day,
        "home_needs_consent": rule.home_needs_consent,
        "description": rule.describe(),
        "cite": rule.cite,
        "citation": documents.label(rule.cite),
    }


def age_on(birth_date: date, day: date) -> int:
    """Full years on `day`; 29 February birthdays count from 1 March in common
    years (the same rule as tanfang.registry.identity.age_on)."""
    years = day.year - birth_date.year
    birthday = (birth_date.month, birth_date.day)
    if birthday == (2, 29) and not calendar.isleap(day.year):
        birthday = (3, 1)
    if (day.month, day.day) < birthday:
        years -= 1
    return years


def tier(
    profile: Profile,
    facts: Facts,
    on_date: date,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Tier, tuple[str, ...]]:
    """The elder's tier on `on_date` and the reasons in words."""
    version = _with_overrides(profile, profile.version_on(on_date), overrides or {})
    age = age_on(facts.birth_date, on_date)
    for candidate in version.tiers:
        if not candidate.when:
            return candidate, (candidate.otherwise_reason,) if candidate.otherwise_reason else ()
        reasons = tuple(c.reason for c in candidate.when if c.holds(facts, age, on_date))
        if reasons:
            return candidate, reasons
    raise ValueError(f"{profile.title}的规则没有兜底的分级")


def evaluate(
    profile: Profile,
    facts: Facts,
    on_date: date,
    overrides: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Tier, reasons and the visit rules that apply to this elder."""
    found, reasons = tier(profile, facts, on_date, overrides)
    return _adjusted(found, facts, reasons)


def adjusted_rules(found: Tier, facts: Facts) -> tuple[VisitRule, ...]:
    """The tier's rules as they apply to an elder with `facts` (the modes)."""
    return _adjusted(found, facts, ()).rules


def _adjusted(found: Tier, facts: Facts, reasons: tuple[str, ...]) -> Evaluation:
    rules: list[VisitRule] = []
    notes: list[str] = []
    for rule in found.rules:
        if rule.remote_only_if_healthy and not _healthy_and_self_caring(facts):
            # 004_1657df0ed1e05604.txt 二(四)2: 电话、线上、路遇 only for elders in
            # good health who look after themselves.
            rule = replace(rule, modes=rule.modes - REMOTE_MODES or frozenset({Mode.HOME}))
            note = "身体状况不佳或不能自理，须入户探访，电话、线上、路遇不计入"
            if note not in notes:
                notes.append(note)
        rules.append(rule)
    if any(Mode.HOME in r.modes for r in rules) and not facts.consents_to_home_visits:
        notes.append("老人未同意入户探访：入户探访前须征得本人或赡养人同意，可改为电话探访")
    return Evaluation(found.key, found.label, reasons, tuple(rules), tuple(notes))


def _healthy_and_self_caring(facts: Facts) -> bool:
    return (
        facts.ability in {None, "intact"} and facts.health in {None, "good"} and not facts.dementia
    )


# --- Loading ---------------------------------------------------------------------


def configure(extra_dirs: Iterable[Path | str]) -> None:
    """Also look for profiles in `extra_dirs` (a deployment's own rules), after
    the built-in folder; forgets what was loaded."""
    global _extra_dirs
    _extra_dirs = tuple(Path(d) for d in extra_dirs)
    load.cache_clear()


def profile_dirs() -> tuple[Path, ...]:
    return (PROFILES_DIR, *_extra_dirs)


def profile_paths() -> dict[str, Path]:
    """Every profile file by name; a built-in name is not replaced by a
    deployment's file of the same name (`check_all` reports it)."""
    found: dict[str, Path] = {}
    for folder in profile_dirs():
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            found.setdefault(path.stem, path)
    return found


def profile_names() -> list[str]:
    return sorted(profile_paths())


def problem_of(name: str, error: Exception) -> str:
    """What a page says when `name` cannot be used."""
    words = error.words() if isinstance(error, ConfigError) else str(error)
    return f"探访规则“{name}”无法读取：{words}"


def maintainer_of(name: str) -> str:
    """Who keeps the file `name`, read even from a file that fails its checks
    (the pages of a county whose rules cannot be read say whom to tell)."""
    path = profile_paths().get(name)
    try:
        with path.open("rb") as handle:  # type: ignore[union-attr]
            value = tomllib.load(handle).get("maintainer")
    except (AttributeError, OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ""
    return value.strip()[:100] if isinstance(value, str) else ""


@cache
def load(name: str) -> Profile:
    """The profile `name`, checked against the schema; ConfigError otherwise.
    Only a profile that loads is kept (a file fixed on disk is read again)."""
    path = profile_paths().get(name)
    if path is None:
        raise ConfigError(
            [
                Problem(
                    f"{name}.toml",
                    "",
                    f"没有名为“{name}”的探访规则文件",
                    f"no profile named {name!r} in {', '.join(map(str, profile_dirs()))}",
                )
            ]
        )
    return read(path)


def read(path: Path) -> Profile:
    """A profile file anywhere (`manage.py policy_lint`), checked."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            [Problem(path.name, "", f"不是有效的 TOML：{error}", f"not valid TOML: {error}")]
        ) from error
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            [Problem(path.name, "", f"无法读取文件：{error}", f"cannot read: {error}")]
        ) from error
    return parse(path.stem, data, file=path.name)


def parse(name: str, data: Mapping[str, Any], *, file: str | None = None) -> Profile:
    """A profile from parsed TOML, checked; ConfigError with every problem."""
    declared, problems = schema.check(file or f"{name}.toml", data)
    if declared is None:
        raise ConfigError(problems)
    own = tuple(d.document() for d in declared.documents)
    versions = tuple(
        sorted(
            (_build(v, _params(v), own) for v in declared.versions),
            key=lambda v: v.since,
        )
    )
    return Profile(
        name,
        declared.title,
        declared.checklist,
        versions,
        declared.maintainer or "",
        raw=declared,
    )


def check_all() -> list[Problem]:
    """Every profile file of every folder, checked (`manage.py check`)."""
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for folder in profile_dirs():
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            if path.stem in seen:
                problems.append(
                    Problem(
                        path.name,
                        "",
                        f"与 {seen[path.stem]} 同名，不会被使用",
                        f"same name as {seen[path.stem]}: never used",
                    )
                )
                continue
            seen[path.stem] = path
            try:
                read(path)
            except ConfigError as error:
                problems.extend(error.problems)
    return problems


def _params(version: schema.VersionIn) -> dict[str, Param]:
    return {
        key: Param(key, p.value, p.label, p.open, p.cite, p.min, p.max)
        for key, p in version.params.items()
    }


def _build(
    raw: schema.VersionIn, params: Mapping[str, Param], own: tuple[documents.Document, ...]
) -> Version:
    values = {k: p.value for k, p in params.items()}

    def number(value: int | str | None) -> int | None:
        return schema.resolve(value, values)

    def words(text: str | None) -> str:
        return (text or "").format(**values)

    def modes(names: Sequence[str] | None) -> frozenset[Mode] | None:
        return None if names is None else frozenset(Mode(m) for m in names)

    tiers = []
    for t in raw.tiers:
        rules = tuple(
            VisitRule(
                period=Period(r.per),
                count=number(r.count) or 1,
                modes=frozenset(Mode(m) for m in r.modes),
                days=number(r.days),
                deadline_day=number(r.deadline_day),
                home_needs_consent=r.home_needs_consent,
                remote_only_if_healthy=r.remote_only_if_healthy,
                cite=r.cite,
                key=r.key or ("regular" if index == 0 else f"regular{index + 1}"),
                label=r.label or "",
            )
            for index, r in enumerate(t.visits)
        )
        when = tuple(
            Condition(
                reason=words(c.reason),
                category=c.category,
                age_at_least=number(c.age_at_least),
                age_below=number(c.age_below),
                ability=frozenset(c.ability) if c.ability is not None else None,
                disability_grade_at_most=number(c.disability_grade_at_most),
                dementia=c.dementia,
                health=frozenset(c.health) if c.health is not None else None,
                life_threatening_illness=c.life_threatening_illness,
                hospitalised_within_days=number(c.hospitalised_within_days),
                lives_alone=c.lives_alone,
                rural=c.rural,
                extreme_poverty=c.extreme_poverty,
                dispersed_support=c.dispersed_support,
                children_asked_for_visits=c.children_asked_for_visits,
            )
            for c in t.when
        )
        tiers.append(Tier(t.key, t.label, t.cite, when, rules, words(t.otherwise)))

    def special(surge: schema.SurgeIn) -> SpecialRule:
        return SpecialRule(
            mandatory=surge.mandatory,
            count=number(surge.count) or 1,
            remote_counts_as_home=surge.remote_counts_as_home,
            cite=surge.cite,
            modes=modes(surge.modes),
        )

    festivals = raw.festivals
    return Version(
        since=raw.since,
        source=raw.document,
        params=params,
        tiers=tuple(tiers),
        festival_spans=(
            {
                name: (number(span[0]) or 0, number(span[1]) or 0)
                for name, span in festivals.windows.items()
            }
            if festivals is not None
            else {}
        ),
        festival_rule=special(festivals) if festivals is not None else None,
        event_rules={EventKind(kind): special(rule) for kind, rule in raw.events.items()},
        triggers=tuple(
            TriggerRule(
                changes=frozenset(Change(c) for c in trigger.changes),
                within_hours=number(trigger.within_hours) or 1,
                modes=frozenset(Mode(m) for m in trigger.modes),
                tiers=frozenset(trigger.tiers) if trigger.tiers is not None else None,
                cite=trigger.cite,
                label=trigger.label or "",
            )
            for trigger in raw.triggers
        ),
        close_day=number(raw.close_day) or DEFAULT_CLOSE_DAY,
        raw=raw,
        own_documents=own,
    )


# --- A county's numbers ------------------------------------------------------------------


def check_overrides(profile: Profile, on_date: date, overrides: Mapping[str, Any]) -> list[Problem]:
    """Problems with a county's values for the open numbers of the version in
    force on `on_date` (unknown, fixed by the document, not an integer, out of
    range, or making the version invalid); [] when they may be stored."""
    version = profile.version_on(max(on_date, profile.versions[0].since))
    declared: schema.ProfileIn = profile.raw
    index = next(i for i, v in enumerate(declared.versions) if v.since == version.since)
    return schema.validate_overrides(f"{profile.name}.toml", declared, index, overrides)


def _with_overrides(profile: Profile, version: Version, overrides: Mapping[str, Any]) -> Version:
    """The version with a county's values for the open numbers."""
    # A number stored for another version of the profile, which this one does
    # not have, plays no part here.
    overrides = {k: v for k, v in overrides.items() if k in version.params}
    if not overrides:
        return version
    problems = check_overrides(profile, version.since, overrides)
    if problems:
        raise OverridesRefused(problems)
    return with_params(version, overrides)


def with_params(version: Version, overrides: Mapping[str, Any]) -> Version:
    """The version rebuilt with `overrides` for its parameters (of those it has:
    a number stored for an earlier version that this one lacks is left out)."""
    params = {
        k: replace(p, value=overrides[k]) if k in overrides else p
        for k, p in version.params.items()
    }
    if params == dict(version.params):
        return version
    return _build(version.raw, params, version.own_documents)


def close_day(profile: Profile, month: date, overrides: Mapping[str, Any]) -> int:
    """The day of the month after `month` on which `month`'s figures are locked,
    under the version its tasks are made with (in force on its first day) and a
    county's numbers; numbers the version refuses leave its own day."""
    version = profile.version_on(max(month.replace(day=1), profile.versions[0].since))
    try:
        return _with_overrides(profile, version, overrides).close_day
    except ConfigError:
        return version.close_day


def open_params(profile: Profile, on_date: date) -> Sequence[Param]:
    """The numbers the documents leave open, which a county may change."""
    version = profile.version_on(max(on_date, profile.versions[0].since))
    return [p for p in version.params.values() if p.default]

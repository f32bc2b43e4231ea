"""The declared shape of a policy profile (`profiles/*.toml`), checked before
anything of a file is used (docs/规则配置.md describes every key in Chinese).

Two passes, both reporting every problem with the file and the path inside it:

1. the structure (pydantic, extra keys forbidden everywhere): types, ranges,
   the enumerations of categories, abilities, modes, periods, festivals, events
   and life changes;
2. what a structure cannot say: every `@param` names a parameter of its
   version and its value fits where it is used, every citation names a known
   document and a section it has, the last tier takes everyone the others do
   not, a version starts no earlier than its document, words use only known
   `{parameters}`, a trigger names only the version's tiers.

`check(name, data)` returns the problems; `validate_overrides` checks a
county's numbers against the same declarations.
"""

import re
import string
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
)
from pydantic import ValidationError as PydanticError

from tanfang.policy import documents
from tanfang.policy.changes import Change
from tanfang.policy.facts import CONDITION_FACTS
from tanfang.policy.festivals import Festival
from tanfang.policy.problems import Problem, from_pydantic

KEY = r"^[a-z][a-z0-9_]*$"
Key = Annotated[str, StringConstraints(pattern=KEY, max_length=30)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Cite = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _number(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.match(r"^@[a-z][a-z0-9_]*$", value):
        return value
    raise ValueError(
        '应为整数，或以 @ 开头的参数名（如 "@advanced_age"）'
        f'|must be an integer or "@parameter", got {value!r}'
    )


# A number written in the file, or "@name" of one of the version's parameters.
Number = Annotated[int | str, BeforeValidator(_number)]

ModeName = Literal["home", "phone", "video", "street", "monitoring"]
PeriodName = Literal["week", "half_month", "month", "quarter", "half_year", "year", "days"]
EventName = Literal["heat", "cold", "typhoon", "flood", "epidemic"]
# The same values as tanfang.policy.facts ABILITIES, HEALTH and CATEGORIES
# (tests/policy/test_profile_schema.py keeps them so).
AbilityName = Literal[
    "intact", "mild", "moderate", "severe", "complete", "bedridden", "impaired_mobility"
]
HealthName = Literal["good", "fair", "poor"]
CategoryName = Literal["孤寡", "独居", "空巢", "留守", "失能", "重残", "计划生育特殊家庭"]
FestivalName = Festival
ChangeName = Change


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DocumentIn(_Strict):
    """A county's own document, cited as `<key> <section> words`."""

    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+$", max_length=60)]
    title: Text
    number: str = ""
    issued_on: date
    effective_on: date | None = None
    sections: list[Annotated[str, StringConstraints(min_length=1, max_length=20)]] = []

    def document(self) -> documents.Document:
        return documents.Document(
            self.key,
            self.title,
            self.number,
            self.issued_on,
            self.effective_on or self.issued_on,
            frozenset(documents.normalise(s) for s in self.sections),
        )


class ParamIn(_Strict):
    value: StrictInt
    label: Text
    cite: Cite
    # Left open by the document: a county may set its own value, within min..max.
    open: StrictBool = False
    min: StrictInt | None = None
    max: StrictInt | None = None


class ConditionIn(_Strict):
    """One way into a tier: every key given must hold (the keys are the facts of
    tanfang.policy.facts.CONDITION_FACTS)."""

    reason: Text
    category: CategoryName | None = None
    age_at_least: Number | None = None
    age_below: Number | None = None
    ability: Annotated[list[AbilityName], Field(min_length=1)] | None = None
    disability_grade_at_most: Number | None = None
    dementia: StrictBool | None = None
    health: Annotated[list[HealthName], Field(min_length=1)] | None = None
    life_threatening_illness: StrictBool | None = None
    hospitalised_within_days: Number | None = None
    lives_alone: StrictBool | None = None
    rural: StrictBool | None = None
    extreme_poverty: StrictBool | None = None
    dispersed_support: StrictBool | None = None
    children_asked_for_visits: StrictBool | None = None


class VisitsIn(_Strict):
    """A visit rule of a tier: `count` visits in every period, of `modes`."""

    key: Key | None = None
    per: PeriodName
    days: Number | None = None  # the length of a "days" period
    count: Number
    modes: Annotated[list[ModeName], Field(min_length=1)]
    deadline_day: Number | None = None  # per = "month": the month's visits by this day
    home_needs_consent: StrictBool = False
    remote_only_if_healthy: StrictBool = False
    label: Text | None = None
    cite: Cite


class TierIn(_Strict):
    key: Key
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    cite: Cite
    when: list[ConditionIn] = []
    otherwise: Text | None = None
    visits: Annotated[list[VisitsIn], Field(min_length=1)]


class SurgeIn(_Strict):
    """What a festival or a declared event asks for inside its window."""

    # "必须开展" (001_35a01bee4c628ebd.txt 二(五)2): part of compliance; else
    # "适当增加": its own coverage measure only.
    mandatory: StrictBool
    count: Number = 1
    remote_counts_as_home: StrictBool = False
    # The modes that count; by default any mode for a surge that is not
    # mandatory, the regular rule's modes for a mandatory one.
    modes: Annotated[list[ModeName], Field(min_length=1)] | None = None
    cite: Cite


class FestivalsIn(SurgeIn):
    # Days before and after each festival day: [before, after].
    windows: Annotated[
        dict[FestivalName, Annotated[list[Number], Field(min_length=2, max_length=2)]],
        Field(min_length=1),
    ]


class TriggerIn(_Strict):
    """A visit owed within `within_hours` of a major change recorded on the file."""

    changes: Annotated[list[ChangeName], Field(min_length=1)]
    within_hours: Number
    modes: Annotated[list[ModeName], Field(min_length=1)]
    tiers: list[Key] | None = None  # all tiers when absent
    label: Text | None = None
    cite: Cite


class VersionIn(_Strict):
    since: date
    document: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    # The day of the next month on which a month's figures are locked (issue 16
    # "Closed months"); engine.DEFAULT_CLOSE_DAY when absent.
    close_day: Number | None = None
    params: dict[Key, ParamIn] = {}
    tiers: Annotated[list[TierIn], Field(min_length=1)]
    festivals: FestivalsIn | None = None
    events: dict[EventName, SurgeIn] = {}
    triggers: list[TriggerIn] = []


class ProfileIn(_Strict):
    title: Text
    checklist: Key
    # Who keeps this file: named on the pages when it cannot be read.
    maintainer: Text | None = None
    documents: list[DocumentIn] = []
    versions: Annotated[list[VersionIn], Field(min_length=1)]


# Where a number may stand, the range it must fall in (resolved `@param` included).
RANGES: Mapping[str, tuple[int, int]] = {
    "age_at_least": (0, 150),
    "age_below": (1, 150),
    "disability_grade_at_most": (1, 4),
    "hospitalised_within_days": (1, 366),
    "days": (1, 366),
    "count": (1, 31),
    "deadline_day": (1, 31),
    "within_hours": (1, 720),
    "window": (0, 60),
    "surge_count": (1, 10),
    # Every month has a 28th.
    "close_day": (1, 28),
}


# --- The second pass -------------------------------------------------------------------


def check(file: str, data: Mapping[str, Any]) -> tuple[ProfileIn | None, list[Problem]]:
    """The profile read from `data` (parsed TOML), or None, and every problem."""
    try:
        profile = ProfileIn.model_validate(data)
    except PydanticError as error:
        return None, from_pydantic(file, [dict(e) for e in error.errors()])
    problems = list(_semantics(file, profile))
    return (profile if not problems else None), problems


def _semantics(file: str, profile: ProfileIn) -> Iterator[Problem]:
    own = [d.document() for d in profile.documents]
    keys = [d.key for d in profile.documents]
    for index, key in enumerate(keys):
        if key in documents.SEEDS or keys.index(key) != index:
            yield Problem(
                file,
                f"documents[{index}].key",
                f"文件名“{key}”重复",
                f"document key {key!r} is declared twice",
            )
    known = {**documents.SEEDS, **{d.key: d for d in own}}
    since = [v.since for v in profile.versions]
    if len(set(since)) != len(since):
        yield Problem(
            file, "versions", "两个版本的施行日期相同", "two versions start on the same day"
        )
    for index, version in enumerate(profile.versions):
        yield from _version(file, f"versions[{index}]", version, known, own, {})


def _version(
    file: str,
    at: str,
    version: VersionIn,
    known: Mapping[str, documents.Document],
    own: Sequence[documents.Document],
    overrides: Mapping[str, int],
) -> Iterator[Problem]:
    document = known.get(version.document)
    if document is None:
        yield Problem(
            file,
            f"{at}.document",
            f"未知的文件“{version.document}”（在 [[documents]] 中声明本地文件）",
            f"unknown document {version.document!r} (declare your own in [[documents]])",
        )
    elif version.since < document.effective_on:
        yield Problem(
            file,
            f"{at}.since",
            f"施行日期 {version.since} 早于{document.label()}的施行日期 {document.effective_on}",
            f"since {version.since} is before {document.key} took effect ({document.effective_on})",
        )
    values = {name: overrides.get(name, p.value) for name, p in version.params.items()}
    # Where each parameter is used, to check a county's whole range against it.
    uses: dict[str, set[str]] = {}

    def cite(path: str, text: str | None) -> Iterator[Problem]:
        if text is None:
            return
        try:
            documents.parse(text, own)
        except documents.CitationError as error:
            yield Problem(file, path, error.zh, error.en)

    def number(path: str, value: int | str | None, kind: str) -> Iterator[Problem]:
        if value is None:
            return
        if isinstance(value, str):
            name = value[1:]
            uses.setdefault(name, set()).add(kind)
            if name not in values:
                yield Problem(
                    file,
                    path,
                    f"参数“{value}”未在本版本的 params 中声明",
                    f"parameter {value!r} is not declared in this version's params",
                )
                return
            value = values[name]
        low, high = RANGES[kind]
        if not isinstance(value, int) or not low <= value <= high:
            yield Problem(
                file,
                path,
                f"应为 {low} 至 {high} 之间的整数（现为 {value}）",
                f"must be an integer from {low} to {high} (is {value})",
            )

    def words(path: str, text: str | None) -> Iterator[Problem]:
        if text is None:
            return
        try:
            fields = [name for _, name, _, _ in string.Formatter().parse(text) if name]
        except ValueError:
            fields = ["{"]
        for name in fields:
            if name not in values:
                yield Problem(
                    file,
                    path,
                    f"文字中的“{{{name}}}”不是本版本的参数",
                    f"{{{name}}} in the words is not a parameter of this version",
                )

    for name, param in version.params.items():
        path = f"{at}.params.{name}"
        yield from cite(f"{path}.cite", param.cite)
        if param.open and (param.min is None or param.max is None):
            yield Problem(
                file,
                path,
                "县可调整的参数（open = true）须写明 min 和 max",
                "an open parameter needs min and max",
            )
        if param.min is not None and param.max is not None and param.min > param.max:
            yield Problem(file, path, "min 不能大于 max", "min is greater than max")
        value = values[name]
        if (param.min is not None and value < param.min) or (
            param.max is not None and value > param.max
        ):
            yield Problem(
                file,
                f"{path}.value",
                f"取值 {value} 超出 {param.min} 至 {param.max} 的范围",
                f"value {value} is outside {param.min}..{param.max}",
            )
    yield from number(f"{at}.close_day", version.close_day, "close_day")
    tier_keys = [t.key for t in version.tiers]
    for index, tier in enumerate(version.tiers):
        path = f"{at}.tiers[{index}]"
        last = index == len(version.tiers) - 1
        if tier_keys.index(tier.key) != index:
            yield Problem(
                file, f"{path}.key", f"分级“{tier.key}”重复", f"tier {tier.key!r} is repeated"
            )
        yield from cite(f"{path}.cite", tier.cite)
        if last and tier.when:
            yield Problem(
                file,
                f"{path}.when",
                "最后一级不写条件（when），它接收不属于前面各级的所有老人",
                "the last tier has no `when`: it takes everyone the others do not",
            )
        if last and not tier.otherwise:
            yield Problem(
                file,
                f"{path}.otherwise",
                "最后一级须写明 otherwise（不属于前面各级时显示的理由）",
                "the last tier needs `otherwise`, the reason shown for it",
            )
        if not last and not tier.when:
            yield Problem(
                file,
                f"{path}.when",
                "除最后一级外，每一级都须写明条件（when）",
                "every tier but the last needs `when`",
            )
        if not last and tier.otherwise:
            yield Problem(
                file,
                f"{path}.otherwise",
                "只有最后一级写 otherwise",
                "only the last tier has `otherwise`",
            )
        yield from words(f"{path}.otherwise", tier.otherwise)
        for number_, condition in enumerate(tier.when):
            where = f"{path}.when[{number_}]"
            given = [k for k in CONDITION_FACTS if getattr(condition, k) is not None]
            if not given:
                yield Problem(
                    file,
                    where,
                    "条件至少要有一项（如 category、age_at_least）",
                    "a condition needs at least one fact",
                )
            yield from words(f"{where}.reason", condition.reason)
            for key in ("age_at_least", "age_below", "disability_grade_at_most"):
                yield from number(f"{where}.{key}", getattr(condition, key), key)
            yield from number(
                f"{where}.hospitalised_within_days",
                condition.hospitalised_within_days,
                "hospitalised_within_days",
            )
        rule_keys = []
        for number_, rule in enumerate(tier.visits):
            where = f"{path}.visits[{number_}]"
            rule_keys.append(rule.key or ("regular" if number_ == 0 else f"regular{number_ + 1}"))
            yield from cite(f"{where}.cite", rule.cite)
            yield from number(f"{where}.count", rule.count, "count")
            if rule.per == "days":
                if rule.days is None:
                    yield Problem(
                        file,
                        f"{where}.days",
                        'per = "days" 须写明 days（每几天）',
                        'per = "days" needs days',
                    )
                yield from number(f"{where}.days", rule.days, "days")
            elif rule.days is not None:
                yield Problem(
                    file,
                    f"{where}.days",
                    '只有 per = "days" 才写 days',
                    'days is only for per = "days"',
                )
            if rule.deadline_day is not None:
                if rule.per != "month":
                    yield Problem(
                        file,
                        f"{where}.deadline_day",
                        'deadline_day（每月几日前完成）只用于 per = "month"',
                        'deadline_day is only for per = "month"',
                    )
                yield from number(f"{where}.deadline_day", rule.deadline_day, "deadline_day")
            if rule.remote_only_if_healthy and "home" not in rule.modes:
                yield Problem(
                    file,
                    f"{where}.modes",
                    "remote_only_if_healthy 要求方式中含 home（不健康时只计上门）",
                    "remote_only_if_healthy needs home among the modes",
                )
        for number_, key in enumerate(rule_keys):
            if rule_keys.index(key) != number_:
                yield Problem(
                    file,
                    f"{path}.visits[{number_}].key",
                    f"同一分级的探访规则 key“{key}”重复",
                    f"rule key {key!r} is repeated in this tier",
                )
    surges: list[tuple[str, SurgeIn]] = []
    if version.festivals is not None:
        surges.append((f"{at}.festivals", version.festivals))
        for festival, span in version.festivals.windows.items():
            for side, days in zip(("[0]", "[1]"), span, strict=True):
                yield from number(f"{at}.festivals.windows.{festival}{side}", days, "window")
    surges.extend((f"{at}.events.{kind}", rule) for kind, rule in version.events.items())
    for path, surge in surges:
        yield from cite(f"{path}.cite", surge.cite)
        yield from number(f"{path}.count", surge.count, "surge_count")
    for index, trigger in enumerate(version.triggers):
        path = f"{at}.triggers[{index}]"
        yield from cite(f"{path}.cite", trigger.cite)
        yield from number(f"{path}.within_hours", trigger.within_hours, "within_hours")
        for key in trigger.tiers or ():
            if key not in tier_keys:
                yield Problem(
                    file,
                    f"{path}.tiers",
                    f"没有分级“{key}”（本版本的分级：{'、'.join(tier_keys)}）",
                    f"no tier {key!r} in this version ({', '.join(tier_keys)})",
                )
    # A county may choose any value from min to max: each must fit every use.
    for name, param in version.params.items():
        if not param.open or param.min is None or param.max is None:
            continue
        for kind in sorted(uses.get(name, ())):
            low, high = RANGES[kind]
            if param.min < low or param.max > high:
                yield Problem(
                    file,
                    f"{at}.params.{name}",
                    f"可调整范围 {param.min} 至 {param.max} 超出其用处允许的 {low} 至 {high}",
                    f"the range {param.min}..{param.max} exceeds {low}..{high} where it is used",
                )


def resolve(value: int | str | None, params: Mapping[str, int]) -> int | None:
    """A number of the file with the version's (or the county's) parameter values."""
    if isinstance(value, str):
        return params[value[1:]]
    return value


# --- A county's numbers --------------------------------------------------------------------


def validate_overrides(
    file: str,
    profile: ProfileIn,
    version_index: int,
    overrides: Mapping[str, Any],
) -> list[Problem]:
    """A county's values for the open parameters of one version: each a known,
    open parameter, an integer (not true/false, not null) inside its declared
    range; and the version must still hold with them."""
    version = profile.versions[version_index]
    problems = []
    for name, value in overrides.items():
        param = version.params.get(name) if re.match(KEY, str(name)) else None
        path = f"overrides.{name}"
        if param is None:
            problems.append(
                Problem(
                    file,
                    path,
                    f"不能调整的参数“{name}”（可调整：{_open_names(version)}）",
                    f"unknown parameter {name!r}",
                )
            )
        elif not param.open:
            problems.append(
                Problem(
                    file,
                    path,
                    f"“{param.label}”由文件明确规定，不能调整",
                    f"{name} is fixed by the document",
                )
            )
        elif (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not (param.min or 0) <= value <= (param.max or 0)
        ):
            problems.append(
                Problem(
                    file,
                    path,
                    f"“{param.label}”应为 {param.min} 至 {param.max} 之间的整数",
                    f"{name} must be an integer from {param.min} to {param.max}, got {value!r}",
                )
            )
    if problems:
        return problems
    own = [d.document() for d in profile.documents]
    known = {**documents.SEEDS, **{d.key: d for d in own}}
    return list(_version(file, f"versions[{version_index}]", version, known, own, dict(overrides)))


def _open_names(version: VersionIn) -> str:
    names = [f"{name}（{p.label}）" for name, p in version.params.items() if p.open]
    return "、".join(names) or "无"

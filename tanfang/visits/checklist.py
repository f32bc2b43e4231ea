"""The visit form as data (FORMS.md "Visit record", "What follows for the design").

A form definition is a TOML file in `checklists/`: the title and the annex it
restates, the visit modes the form offers with its own labels, named option
sets, sections of items in the annex's order, the signatures it asks for, the
satisfaction scale (if any) and the labels of its free-text fields. One
definition drives the phone page, the API schema, validation and the findings,
so a fourth province's form is a new file, not new code.

Every option carries `bad`: "较差/差/不安全" is a bad answer whatever the form
calls it, so reports count bad answers across forms. An item with `hazard`
(a `tanfang.visits.findings.HazardItem` value) turns a bad answer into a hazard; a
`need` item (with a `tanfang.visits.findings.NeedType` value) answered "needed, not
met" turns into a need.

How answers are stored (`clean_answers` returns this shape, keyed by item key,
in the form's order; an unanswered optional item is left out):

    choice        "unsafe"                                  the option's value
    choice_text   {"value": "serious", "detail": "高血压"}   detail null unless the
                                                            option takes one (疾病名称)
    choice_count  {"value": "increased", "count": 2}        count null unless the
                                                            option takes one (增加 N 人)
    need          {"needed": true, "met": false}            met null when not needed
    text          "子女春节返乡"                             stripped, never empty

A choice may also be sent as its option's label ("不安全"), as a person types it
or an Excel sheet holds it; it is stored as the value. Nothing else is guessed:
a count is a JSON integer, a need's answers are booleans.

A definition file is checked against a declared schema (`ChecklistFile`, in
tanfang.visits.checklist_schema) before anything of it is used: its keys, types
and enumerations, then what must hold together (an item's option set exists,
keys are unique, a safety item has a bad option), and every citation against
the documents (tanfang.policy.documents). A file that fails raises `ConfigError` naming every
problem with its path in the file (`sections[2].items[1].hazrd`), in Chinese and
English; nothing of it is loaded. `check_all` and `lint` report the problems
without raising.

Pure Python; Django only for `ValidationError` and the enumerations of the models.
"""

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from pydantic import ValidationError as SchemaError

from tanfang.inputs import TYPED_CONTROLS, has_unstorable
from tanfang.policy import documents
from tanfang.policy.problems import ConfigError, Problem, from_pydantic
from tanfang.visits.checklist_schema import ChecklistFile, ItemEntry, Kind, holds_together, shown

CHECKLISTS_DIR = Path(__file__).parent / "checklists"

MAX_COUNT = 99
TEXT_MAX_LENGTH = 500
DETAIL_MAX_LENGTH = 100


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    bad: bool = False


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    kind: Kind
    options: tuple[Option, ...]
    required: bool
    hazard: str | None
    need_type: str | None
    cite: str
    # The options that take a detail (疾病名称 for 严重, 人数 for 增加/减少), and
    # what the detail is called; for a need item, the label of its second
    # question (是否满足).
    detail_options: frozenset[str] = frozenset()
    detail_label: str = ""
    # Shown after a count ("增加 2 人").
    unit: str = ""
    # Of a text answer or a text detail.
    max_length: int = TEXT_MAX_LENGTH

    def option(self, value: str) -> Option | None:
        """The option whose value (or label) is `value`."""
        for option in self.options:
            if value in (option.value, option.label):
                return option
        return None

    def option_labels(self) -> str:
        return "、".join(o.label for o in self.options)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Checklist:
    name: str
    title: str
    source: str
    # (VisitMode value, the form's label), in the form's order.
    modes: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    # Who signs the paper form: a subset of {"visitor", "elder"}.
    signatures: frozenset[str]
    # The satisfaction scale; empty if the form does not ask, required if it does.
    satisfaction: tuple[Option, ...]
    # (Visit field: services_given / suggestions / notes, the form's label).
    text_fields: tuple[tuple[str, str], ...]
    _by_key: Mapping[str, Item] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {item.key: item for item in self.items()})

    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    def item(self, key: str) -> Item:
        """The item `key`; KeyError if the form has none."""
        return self._by_key[key]


@dataclass(frozen=True)
class HazardFinding:
    item_key: str
    hazard: str
    finding: str  # "燃气安全：不安全"


@dataclass(frozen=True)
class NeedFinding:
    item_key: str
    need_type: str
    label: str


@dataclass(frozen=True)
class Findings:
    hazards: list[HazardFinding]
    needs: list[NeedFinding]
    bad_answers: list[str]  # every bad answer in words, for reports


# --- Loading ---------------------------------------------------------------------


def names() -> list[str]:
    return sorted(p.stem for p in CHECKLISTS_DIR.glob("*.toml"))


@cache
def load(name: str) -> Checklist:
    """The definition `name` of `checklists/`; ConfigError if there is none or it
    is wrong. A valid definition is read once."""
    if name not in names():
        raise ConfigError(
            [
                Problem(
                    f"{shown(name)}.toml",
                    "",
                    f"没有名为 {shown(name)} 的探访记录表",
                    f"there is no checklist named {shown(name)!r}",
                )
            ]
        )
    definition, problems = _read(CHECKLISTS_DIR / f"{name}.toml")
    if definition is None:
        raise ConfigError(problems)
    return definition


def check_all() -> list[Problem]:
    """Every problem of every definition in `checklists/`; empty when all load."""
    return [problem for path in sorted(CHECKLISTS_DIR.glob("*.toml")) for problem in lint(path)]


def lint(path: Path) -> list[Problem]:
    """The problems of one definition file, wherever it is (before it is put in
    `checklists/`); empty when it would load."""
    return _read(path)[1]


def parse(name: str, data: Mapping[str, Any]) -> Checklist:
    """Build a checklist from its definition; ConfigError names every problem."""
    definition, problems = _build(name, f"{name}.toml", data)
    if definition is None:
        raise ConfigError(problems)
    return definition


def unavailable_words(error: ConfigError) -> str:
    """What a page or the API tells the visitor whose county's form cannot be read."""
    return f"本县的探访记录表无法读取，暂不能录入探访：{error.words()}。请告知系统管理员。"


_TOML_WHERE = re.compile(r"\(at line (\d+), column (\d+)\)")


def _read(path: Path) -> tuple[Checklist | None, list[Problem]]:
    file = path.name
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        return None, [Problem(file, "", "文件无法读取", f"cannot read the file: {error.strerror}")]
    except UnicodeDecodeError:
        return None, [Problem(file, "", "文件不是 UTF-8 编码", "the file is not UTF-8")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        where = _TOML_WHERE.search(str(error))
        place = f"第 {where.group(1)} 行第 {where.group(2)} 列" if where else "文件末尾"
        return None, [
            Problem(file, "", f"不是有效的 TOML：{place}有语法错误", f"invalid TOML: {error}")
        ]
    return _build(path.stem, file, data)


def _build(name: str, file: str, data: Mapping[str, Any]) -> tuple[Checklist | None, list[Problem]]:
    if not data:
        return None, [
            Problem(
                file,
                "",
                "文件是空的（应有 title、source、modes 和 sections）",
                "the file is empty (title, source, modes and sections expected)",
            )
        ]
    spec: ChecklistFile | None = None
    try:
        spec = ChecklistFile.model_validate(data)
    except SchemaError as error:
        problems = from_pydantic(file, [dict(e) for e in error.errors()])
    else:
        problems = []
    problems += holds_together(file, data)
    if spec is None or problems:
        return None, problems
    return _checklist(name, spec), []


def _checklist(name: str, spec: ChecklistFile) -> Checklist:
    option_sets = {
        set_name: tuple(Option(o.value, o.label, o.bad) for o in entries)
        for set_name, entries in spec.options.items()
    }
    satisfaction = spec.satisfaction.options if spec.satisfaction is not None else []
    return Checklist(
        name=name,
        title=spec.title,
        source=spec.source,
        modes=tuple((m.value, m.label) for m in spec.modes),
        sections=tuple(
            Section(s.key, s.title, tuple(_item(i, option_sets) for i in s.items))
            for s in spec.sections
        ),
        signatures=frozenset(spec.signatures),
        satisfaction=tuple(Option(o.value, o.label, o.bad) for o in satisfaction),
        text_fields=tuple((t.field, t.label) for t in spec.text_fields),
    )


def _item(entry: ItemEntry, option_sets: Mapping[str, tuple[Option, ...]]) -> Item:
    kind = Kind(entry.kind)
    default_length = DETAIL_MAX_LENGTH if kind == Kind.CHOICE_TEXT else TEXT_MAX_LENGTH
    return Item(
        key=entry.key,
        label=entry.label,
        kind=kind,
        options=option_sets[entry.options] if entry.options is not None else (),
        required=entry.required,
        hazard=entry.hazard,
        need_type=entry.need_type,
        cite=entry.cite,
        detail_options=frozenset(entry.detail_options),
        detail_label=entry.detail_label,
        unit=entry.unit,
        max_length=entry.max_length if entry.max_length is not None else default_length,
    )


# --- Validation ------------------------------------------------------------------


def clean_answers(checklist: Checklist, answers: Mapping[str, Any]) -> dict[str, Any]:
    """`answers` in the stored shape (module docstring), or ValidationError keyed
    `answers.<item key>` with every bad item at once, each message naming the item."""
    if not isinstance(answers, Mapping):
        raise ValidationError({"answers": ["检查项目格式不正确，应为以项目代码为键的对象。"]})
    errors: dict[str, list[str]] = {}
    for key in answers:
        if not isinstance(key, str) or key not in checklist._by_key:
            shown = str(key)[:50]
            errors[f"answers.{shown}"] = [f"未知的检查项目“{shown}”：{checklist.title}没有此项。"]
    cleaned: dict[str, Any] = {}
    for item in checklist.items():
        raw = answers.get(item.key)
        if _is_blank(raw):
            if item.required:
                errors[f"answers.{item.key}"] = [f"{item.label}：必须填写。"]
            continue
        problems: list[str] = []
        value = _CLEANERS[item.kind](item, raw, problems.append)
        if problems:
            errors[f"answers.{item.key}"] = [f"{item.label}：{p}" for p in problems]
        elif value is not None:
            cleaned[item.key] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def _is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _choice(item: Item, raw: Any, problem: Callable[[str], None]) -> str | None:
    option = _chosen(item, raw, problem)
    return None if option is None else option.value


def _chosen(item: Item, raw: Any, problem: Callable[[str], None]) -> Option | None:
    if not isinstance(raw, str):
        problem(f"应为 {item.option_labels()}之一。")
        return None
    option = item.option(raw.strip())
    if option is None:
        problem(f"“{raw[:50]}”不是可选项，应为 {item.option_labels()}之一。")
    return option


def _choice_with_detail(item: Item, raw: Any, problem: Callable[[str], None]) -> Any:
    detail_key = "detail" if item.kind == Kind.CHOICE_TEXT else "count"
    if not isinstance(raw, Mapping):
        problem(f"格式不正确，应为含“value”和“{detail_key}”的对象。")
        return None
    unknown = sorted(str(k)[:50] for k in raw if k not in ("value", detail_key))
    if unknown:
        problem(f"未知的字段 {'、'.join(unknown)}。")
        return None
    if _is_blank(raw.get("value")):
        problem("必须填写。")
        return None
    option = _chosen(item, raw["value"], problem)
    if option is None:
        return None
    value = option.value
    detail = raw.get(detail_key)
    if value not in item.detail_options:
        if not _is_blank(detail):
            problem(f"选择“{option.label}”时不填写{item.detail_label}。")
            return None
        return {"value": value, detail_key: None}
    if item.kind == Kind.CHOICE_COUNT:
        if isinstance(detail, bool) or not isinstance(detail, int) or not 1 <= detail <= MAX_COUNT:
            problem(f"选择“{option.label}”时{item.detail_label}应为1至{MAX_COUNT}之间的整数。")
            return None
        return {"value": value, "count": detail}
    if _is_blank(detail):
        problem(f"选择“{option.label}”时须填写{item.detail_label}。")
        return None
    text = _text(item, detail, problem, multiline=False, what=item.detail_label)
    return None if text is None else {"value": value, "detail": text}


def _need(item: Item, raw: Any, problem: Callable[[str], None]) -> Any:
    if not isinstance(raw, Mapping):
        problem("格式不正确，应为含“needed”和“met”的对象。")
        return None
    unknown = sorted(str(k)[:50] for k in raw if k not in ("needed", "met"))
    if unknown:
        problem(f"未知的字段 {'、'.join(unknown)}。")
        return None
    needed, met = raw.get("needed"), raw.get("met")
    if needed is None:
        problem("请选择是否有此需求。")
        return None
    if not isinstance(needed, bool):
        problem("是否有此需求应为 是 或 否（true 或 false）。")
        return None
    if not needed:
        if met is not None:
            problem(f"无此需求时不填写{item.detail_label}。")
            return None
        return {"needed": False, "met": None}
    if met is None:
        problem(f"有此需求时须选择{item.detail_label}。")
        return None
    if not isinstance(met, bool):
        problem(f"{item.detail_label}应为 是 或 否（true 或 false）。")
        return None
    return {"needed": True, "met": met}


def _free_text(item: Item, raw: Any, problem: Callable[[str], None]) -> str | None:
    return _text(item, raw, problem, multiline=True, what="")


def _text(
    item: Item, raw: Any, problem: Callable[[str], None], *, multiline: bool, what: str
) -> str | None:
    if not isinstance(raw, str):
        problem(f"{what}应为文字。")
        return None
    text = raw.strip()
    if len(text) > item.max_length:
        problem(f"{what}不能超过{item.max_length}字。")
        return None
    # NUL and lone surrogates cannot be stored (PostgreSQL jsonb, UTF-8).
    if has_unstorable(text, allowed=TYPED_CONTROLS if multiline else frozenset()):
        problem(f"{what}含有不可见的控制字符。")
        return None
    return text


_CLEANERS: dict[Kind, Callable[[Item, Any, Callable[[str], None]], Any]] = {
    Kind.CHOICE: _choice,
    Kind.CHOICE_TEXT: _choice_with_detail,
    Kind.CHOICE_COUNT: _choice_with_detail,
    Kind.NEED: _need,
    Kind.TEXT: _free_text,
}


# --- Findings --------------------------------------------------------------------


def findings(checklist: Checklist, answers: Mapping[str, Any]) -> Findings:
    """What the answers (as stored) found: a hazard for every bad answer on a safety
    item, a need for every need item needed and not met, and every bad answer in
    words. Answers the form no longer knows are passed over."""
    hazards: list[HazardFinding] = []
    needs: list[NeedFinding] = []
    bad_answers: list[str] = []
    for item in checklist.items():
        raw = answers.get(item.key)
        if item.kind == Kind.NEED:
            if (
                isinstance(raw, Mapping)
                and raw.get("needed") is True
                and raw.get("met") is False
                and item.need_type
            ):
                needs.append(NeedFinding(item.key, item.need_type, item.label))
            continue
        option, words = _answer_in_words(item, raw)
        if option is None or not option.bad:
            continue
        finding = f"{item.label}：{words}"
        bad_answers.append(finding)
        if item.hazard:
            hazards.append(HazardFinding(item.key, item.hazard, finding))
    return Findings(hazards=hazards, needs=needs, bad_answers=bad_answers)


def _answer_in_words(item: Item, raw: Any) -> tuple[Option | None, str]:
    if item.kind == Kind.CHOICE and isinstance(raw, str):
        option = item.option(raw)
        return option, option.label if option else ""
    if item.kind in (Kind.CHOICE_TEXT, Kind.CHOICE_COUNT) and isinstance(raw, Mapping):
        value = raw.get("value")
        option = item.option(value) if isinstance(value, str) else None
        if option is None:
            return None, ""
        detail = raw.get("detail") if item.kind == Kind.CHOICE_TEXT else raw.get("count")
        if detail in (None, ""):
            return option, option.label
        if item.kind == Kind.CHOICE_COUNT:
            return option, f"{option.label}{detail}{item.unit}"
        return option, f"{option.label}（{detail}）"
    return None, ""


# --- JSON Schema -----------------------------------------------------------------


def json_schema(checklist: Checklist) -> dict[str, Any]:
    """The JSON Schema (2020-12) of the answers object, for the API docs."""
    properties = {item.key: _item_schema(item) for item in checklist.items()}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{checklist.title}：检查项目",
        "description": f"依据 {checklist.source}。键为项目代码；未填写的非必填项可省略。",
        "citation": documents.label(checklist.source),
        "type": "object",
        "properties": properties,
        "required": [item.key for item in checklist.items() if item.required],
        "additionalProperties": False,
    }


def _item_schema(item: Item) -> dict[str, Any]:
    # `citation`: the cite as people read it, 《title》（number）section words.
    common = {"title": item.label, "description": item.cite, "citation": documents.label(item.cite)}
    if item.kind == Kind.TEXT:
        return {**common, "type": "string", "maxLength": item.max_length}
    if item.kind == Kind.NEED:
        return {
            **common,
            "type": "object",
            "properties": {
                "needed": {"type": "boolean", "title": "是否有此需求"},
                "met": {"type": ["boolean", "null"], "title": item.detail_label},
            },
            "required": ["needed"],
            "additionalProperties": False,
            "if": {"properties": {"needed": {"const": True}}},
            "then": {"properties": {"met": {"type": "boolean"}}, "required": ["met"]},
            "else": {"properties": {"met": {"type": "null"}}},
        }
    choice = {
        "type": "string",
        "enum": [o.value for o in item.options],
        "description": "；".join(f"{o.value}：{o.label}" for o in item.options),
    }
    if item.kind == Kind.CHOICE:
        return {**common, **choice, "description": f"{item.cite}。{choice['description']}"}
    detail_key = "detail" if item.kind == Kind.CHOICE_TEXT else "count"
    detail: dict[str, Any]
    required_detail: dict[str, Any]
    if item.kind == Kind.CHOICE_TEXT:
        detail = {"type": ["string", "null"], "maxLength": item.max_length}
        required_detail = {"type": "string", "minLength": 1, "maxLength": item.max_length}
    else:
        detail = {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_COUNT}
        required_detail = {"type": "integer", "minimum": 1, "maximum": MAX_COUNT}
    return {
        **common,
        "type": "object",
        "properties": {
            "value": {**choice, "title": item.label},
            detail_key: {**detail, "title": item.detail_label},
        },
        "required": ["value"],
        "additionalProperties": False,
        "if": {"properties": {"value": {"enum": sorted(item.detail_options)}}},
        "then": {"properties": {detail_key: required_detail}, "required": [detail_key]},
        "else": {"properties": {detail_key: {"type": "null"}}},
    }

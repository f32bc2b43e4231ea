"""The declared schema of a visit form's definition file (`checklists/*.toml`):
what `tanfang.visits.checklist.load` reads, and what must hold together in it.

A key the schema does not know is refused (a misspelt `hazrd` would otherwise be
a safety item that never finds a hazard). `ChecklistFile` declares the keys,
types and enumerations, and every citation is read against the documents
(tanfang.policy.documents); `holds_together` says what the types cannot
(references, uniqueness, which fields go with which kind of item). Each problem
names its path in the file (`sections[2].items[1].hazrd`), in Chinese and
English (tanfang.policy.problems).

Also the words a file is written in: the kinds of item, who may sign, the
visit's text fields a form may label.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from tanfang.policy import documents
from tanfang.policy.problems import Problem
from tanfang.visits.findings import HazardItem, NeedType
from tanfang.visits.models import VisitMode

# Who may sign, and the visit's free-text fields a form may label (tanfang.visits.models.Visit).
SIGNATURE_LABELS = {"visitor": "探访人员签字", "elder": "被探访人签字"}
TEXT_FIELD_LABELS = {
    "services_given": "关爱服务情况",
    "suggestions": "实施关爱服务建议",
    "notes": "其他需说明的问题",
}
SIGNATURES = frozenset(SIGNATURE_LABELS)
TEXT_FIELDS = frozenset(TEXT_FIELD_LABELS)
_KEY = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


class Kind(StrEnum):
    CHOICE = "choice"
    CHOICE_TEXT = "choice_text"
    CHOICE_COUNT = "choice_count"
    NEED = "need"
    TEXT = "text"


# A longer text answer belongs in the visit's own text fields (2000 characters).
MAX_LENGTH_LIMIT = 2000

KIND_LABELS = {
    Kind.CHOICE: "单选",
    Kind.CHOICE_TEXT: "单选并填写说明",
    Kind.CHOICE_COUNT: "单选并填写人数",
    Kind.NEED: "需求（是否有、是否满足）",
    Kind.TEXT: "文字",
}


def shown(value: str) -> str:
    # "|" separates the Chinese from the English of a validator's message.
    return value[:40].replace("|", "｜")


def _is_key(value: str) -> str:
    if not _KEY.fullmatch(value):
        raise ValueError(
            f"代码“{shown(value)}”应由小写英文字母、数字和下划线组成（如 gas_safety）"
            f"|key {shown(value)!r} is not ASCII snake_case"
        )
    return value


def _is_words(value: str) -> str:
    if not value.strip():
        raise ValueError("不能为空|must not be empty")
    return value


def _is_citation(value: str) -> str:
    try:
        documents.parse(value)
    except documents.CitationError as error:
        raise ValueError(str(error)) from None
    return value


def _one_of(choices: Mapping[str, str], zh: str, en: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            listed = "、".join(f"{v}（{label}）" for v, label in choices.items())
            raise ValueError(
                f"“{shown(value)}”不是{zh}，应为 {listed} 之一"
                f"|{shown(value)!r} is not {en}: expected one of {', '.join(choices)}"
            )
        return value

    return check


Key = Annotated[StrictStr, AfterValidator(_is_key)]
Words = Annotated[StrictStr, AfterValidator(_is_words)]
Citation = Annotated[StrictStr, AfterValidator(_is_citation)]
KindName = Annotated[
    StrictStr, AfterValidator(_one_of(KIND_LABELS, "项目类型（kind）", "an item kind"))
]
ModeName = Annotated[
    StrictStr,
    AfterValidator(_one_of(dict(VisitMode.choices), "探访方式（VisitMode）", "a visit mode")),
]
HazardName = Annotated[
    StrictStr,
    AfterValidator(_one_of(dict(HazardItem.choices), "隐患类别（HazardItem）", "a hazard item")),
]
NeedName = Annotated[
    StrictStr,
    AfterValidator(_one_of(dict(NeedType.choices), "需求类型（NeedType）", "a need type")),
]
SignatureName = Annotated[
    StrictStr, AfterValidator(_one_of(SIGNATURE_LABELS, "签字人", "a signature"))
]
TextFieldName = Annotated[
    StrictStr,
    AfterValidator(_one_of(TEXT_FIELD_LABELS, "探访记录的文字栏", "a text field of the visit")),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OptionEntry(_Strict):
    value: Key
    label: Words
    bad: StrictBool = False


class ItemEntry(_Strict):
    key: Key
    label: Words
    kind: KindName
    # The name of an option set of `[options]`; choice items only.
    options: Key | None = None
    detail_options: list[Key] = Field(default_factory=list)
    detail_label: StrictStr = ""
    unit: StrictStr = ""
    required: StrictBool = False
    hazard: HazardName | None = None
    need_type: NeedName | None = None
    cite: Citation
    max_length: Annotated[StrictInt, Field(ge=1, le=MAX_LENGTH_LIMIT)] | None = None


class SectionEntry(_Strict):
    key: Key
    title: Words
    items: list[ItemEntry] = Field(min_length=1)


class ModeEntry(_Strict):
    value: ModeName
    label: Words


class TextFieldEntry(_Strict):
    field: TextFieldName
    label: Words


class SatisfactionEntry(_Strict):
    # The scale comes from a document, or it is not asked (no invented scales).
    cite: Citation
    options: list[OptionEntry] = Field(min_length=1)


class ChecklistFile(_Strict):
    """A file of `checklists/`, as declared."""

    title: Words
    source: Citation
    signatures: list[SignatureName] = Field(default_factory=list)
    text_fields: list[TextFieldEntry] = Field(default_factory=list)
    modes: list[ModeEntry] = Field(min_length=1)
    options: dict[Key, Annotated[list[OptionEntry], Field(min_length=1)]] = Field(
        default_factory=dict
    )
    satisfaction: SatisfactionEntry | None = None
    sections: list[SectionEntry] = Field(min_length=1)


def holds_together(file: str, data: Mapping[str, Any]) -> list[Problem]:
    """What the schema's types cannot say: references, uniqueness, and which
    fields go with which kind of item. Read off the file as written, beside the
    schema, so that one reading names every problem; a part the schema refuses
    (not a table, an unknown kind) is left to the schema's words."""
    found: list[Problem] = []

    def add(path: str, zh: str, en: str) -> None:
        found.append(Problem(file, path, zh, en))

    raw_sets = data.get("options")
    option_sets = {
        name: _tables(entries)
        for name, entries in (raw_sets.items() if isinstance(raw_sets, Mapping) else ())
        if isinstance(entries, list)
    }
    for name, entries in option_sets.items():
        _check_options(entries, f"options.{name}", add)
    satisfaction = data.get("satisfaction")
    if isinstance(satisfaction, Mapping):
        _check_options(_tables(satisfaction.get("options")), "satisfaction.options", add)
    signatures = data.get("signatures")
    if isinstance(signatures, list):
        _unique(((f"signatures[{i}]", s) for i, s in enumerate(signatures)), "签字人", add)
    _unique(_values(data.get("text_fields"), "text_fields", "field"), "文字栏", add)
    _unique(_values(data.get("modes"), "modes", "value"), "探访方式", add)
    _unique(_values(data.get("modes"), "modes", "label"), "探访方式名称", add)
    sections = _tables(data.get("sections"))
    _unique(_values(data.get("sections"), "sections", "key"), "部分代码", add)
    _unique(
        (
            entry
            for i, section in sections
            for entry in _values(section.get("items"), f"sections[{i}].items", "key")
        ),
        "项目代码",
        add,
    )
    for i, section in sections:
        for j, item in _tables(section.get("items")):
            _check_item(item, f"sections[{i}].items[{j}]", option_sets, add)
    return found


Add = Callable[[str, str, str], None]
Table = Mapping[str, Any]


def _tables(value: Any) -> list[tuple[int, Table]]:
    """The tables of an array of tables, with their places in it."""
    if not isinstance(value, list):
        return []
    return [(i, entry) for i, entry in enumerate(value) if isinstance(entry, Mapping)]


def _values(value: Any, where: str, key: str) -> list[tuple[str, Any]]:
    return [(f"{where}[{i}].{key}", entry.get(key)) for i, entry in _tables(value)]


def _unique(entries: Iterable[tuple[str, Any]], what: str, add: Add) -> None:
    first: dict[str, str] = {}
    for path, value in entries:
        if not isinstance(value, str):
            continue
        if value in first:
            add(
                path,
                f"{what}“{shown(value)}”重复（{first[value]} 已用过）",
                f"{shown(value)!r} is used twice (first at {first[value]})",
            )
        else:
            first[value] = path


def _check_options(entries: list[tuple[int, Table]], where: str, add: Add) -> None:
    _unique(((f"{where}[{i}].value", o.get("value")) for i, o in entries), "选项值", add)
    _unique(((f"{where}[{i}].label", o.get("label")) for i, o in entries), "选项名称", add)
    # An answer may be sent as a value or a label: neither may mean two options.
    values = {o.get("value") for _, o in entries}
    for i, option in entries:
        label = option.get("label")
        if isinstance(label, str) and label in values and label != option.get("value"):
            add(
                f"{where}[{i}].label",
                f"选项名称“{shown(label)}”是另一个选项的值",
                f"label {shown(label)!r} is another option's value",
            )


def _check_item(
    item: Table, where: str, option_sets: Mapping[str, list[tuple[int, Table]]], add: Add
) -> None:
    if item.get("kind") not in list(Kind):
        return  # the schema names it
    kind = Kind(item["kind"])
    detail_options = item.get("detail_options", [])
    if not isinstance(detail_options, list):
        detail_options = []  # the schema names it
    detail_label = item.get("detail_label", "")
    if kind in (Kind.CHOICE, Kind.CHOICE_TEXT, Kind.CHOICE_COUNT):
        if kind == Kind.CHOICE and detail_options:
            add(
                f"{where}.detail_options",
                "单选项目（choice）不填写说明或人数，不能有 detail_options",
                "a plain choice takes no detail",
            )
        if kind != Kind.CHOICE and "detail_options" not in item:
            add(
                f"{where}.detail_options",
                f"{kind} 项目须以 detail_options 指明哪些选项要填写"
                f"{detail_label if isinstance(detail_label, str) and detail_label else '说明'}",
                f"a {kind} item needs detail_options",
            )
        options = _option_set(item, where, option_sets, add)
        if options is not None:
            values = {o.get("value") for _, o in options}
            for i, value in enumerate(detail_options):
                if isinstance(value, str) and value not in values:
                    add(
                        f"{where}.detail_options[{i}]",
                        f"“{shown(value)}”不是选项组 {item['options']} 中的选项值",
                        f"{shown(value)!r} is not among the options of {item['options']}",
                    )
            bad = any(o.get("bad") is True for _, o in options)
            if item.get("hazard") and kind != Kind.CHOICE_COUNT and not bad:
                add(
                    f"{where}.hazard",
                    f"安全项的选项组 {item['options']} 须有标为 bad = true 的选项（如“不安全”）",
                    "a safety item needs a bad option",
                )
    else:
        for key in ("options", "detail_options"):
            if key in item:
                add(
                    f"{where}.{key}",
                    f"{kind} 项目没有选项，不能有 {key}",
                    f"a {kind} item has no {key}",
                )
    if "hazard" in item and kind not in (Kind.CHOICE, Kind.CHOICE_TEXT):
        add(
            f"{where}.hazard",
            "只有单选项目（choice、choice_text）可以是安全项（hazard）",
            "only a choice can be a safety item",
        )
    if kind == Kind.NEED and "need_type" not in item:
        add(
            f"{where}.need_type",
            '需求项目（kind = "need"）须有 need_type',
            "a need item needs need_type",
        )
    if kind != Kind.NEED and "need_type" in item:
        add(
            f"{where}.need_type",
            '只有需求项目（kind = "need"）有 need_type',
            "need_type goes with kind need, and only there",
        )
    needs_label = kind in (Kind.CHOICE_TEXT, Kind.CHOICE_COUNT, Kind.NEED)
    if needs_label and not (isinstance(detail_label, str) and detail_label.strip()):
        example = {Kind.CHOICE_TEXT: "疾病名称", Kind.CHOICE_COUNT: "人数", Kind.NEED: "是否满足"}
        add(
            f"{where}.detail_label",
            f"{kind} 项目须有 detail_label（如“{example[kind]}”）",
            f"a {kind} item needs detail_label",
        )


def _option_set(
    item: Table, where: str, option_sets: Mapping[str, list[tuple[int, Table]]], add: Add
) -> list[tuple[int, Table]] | None:
    name = item.get("options")
    if name is None:
        add(
            f"{where}.options",
            "单选项目须以 options 指明选项组（[options] 中的名称）",
            "a choice item names its option set",
        )
        return None
    if not isinstance(name, str) or not _KEY.fullmatch(name):
        return None  # the schema names it
    if name not in option_sets:
        known = "、".join(option_sets) or "无"
        add(
            f"{where}.options",
            f"没有名为“{name}”的选项组（[options] 中有：{known}）",
            f"unknown option set {name!r}",
        )
        return None
    return option_sets[name]

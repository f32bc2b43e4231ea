"""What is wrong with a configuration file (a policy profile, a visit
checklist, a county's numbers), said twice: in Chinese for the pages and the
county that writes the file, in English for the log and the developers.

A problem names the file and the path inside it in the notation of the
file's own keys (`versions[0].tiers[2].when[1].agee_at_least`), so that the
person who wrote the file finds the line.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    file: str  # the file's name, e.g. "fujian-shishi.toml"
    path: str  # inside the file; "" for the file as a whole
    zh: str
    en: str

    def words(self) -> str:
        """For a page: 文件 fujian-shishi.toml，versions[0].since：应为日期。"""
        where = f"，{self.path}" if self.path else ""
        return f"文件 {self.file}{where}：{self.zh}"

    def log_line(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.file}{where}: {self.en}"


class ConfigError(ValueError):
    """A configuration file that cannot be used; nothing of it was loaded."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("ConfigError needs at least one problem")
        self.problems = tuple(problems)
        super().__init__("; ".join(p.log_line() for p in self.problems))

    def words(self) -> str:
        return "；".join(p.words() for p in self.problems)


def path_of(location: Iterable[Any]) -> str:
    """("versions", 0, "tiers", 2, "when", 1, "agee_at_least") ->
    "versions[0].tiers[2].when[1].agee_at_least"."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


# pydantic's error types, in Chinese; {name} is taken from the error's context.
_ZH = {
    "missing": "缺少必填项",
    "extra_forbidden": "不认识的键（拼写错误，或本平台不支持的条件）",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "string_type": "应为文字（用引号括起）",
    "string_too_short": "不能为空",
    "string_too_long": "不能超过 {max_length} 个字",
    "string_pattern_mismatch": "格式不对",
    "date_type": "应为日期（如 2023-09-28）",
    "date_parsing": "应为日期（如 2023-09-28）",
    "date_from_datetime_inexact": "应为日期（如 2023-09-28），不含时间",
    "list_type": "应为列表（[ ... ]）",
    "dict_type": "应为表（{ ... } 或 [节]）",
    "model_type": "应为表（{ ... } 或 [节]）",
    "model_attributes_type": "应为表（{ ... } 或 [节]）",
    "literal_error": "应为 {expected} 之一",
    "enum": "应为 {expected} 之一",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "应小于 {lt}",
    "too_short": "至少要有 {min_length} 项",
    "too_long": "至多 {max_length} 项",
    "union_tag_invalid": "类型不对",
}


def from_pydantic(file: str, errors: Iterable[dict[str, Any]]) -> list[Problem]:
    """pydantic's `ValidationError.errors()` as problems. A model's own check
    (a ValueError raised in a validator) carries its Chinese and English words
    as "中文|English"."""
    found = []
    for error in errors:
        # A union tries each member: name the path once, not once per member.
        location = [p for p in error.get("loc", ()) if not _is_union_member(p)]
        kind = error.get("type", "")
        context = error.get("ctx") or {}
        if kind == "value_error":
            message = str(context.get("error", error.get("msg", "")))
            zh, _, en = message.partition("|")
            found.append(Problem(file, path_of(location), zh.strip(), (en or zh).strip()))
            continue
        template = _ZH.get(kind, "值不对")
        try:
            zh = template.format(**{k: _plain(v) for k, v in context.items()})
        except (KeyError, IndexError):
            zh = template
        found.append(Problem(file, path_of(location), zh, str(error.get("msg", kind))))
    # The same place and words once (a union reports each member's failure).
    unique: dict[tuple[str, str], Problem] = {}
    for problem in found:
        unique.setdefault((problem.path, problem.zh), problem)
    return list(unique.values())


def _is_union_member(part: Any) -> bool:
    # pydantic names the member a union tried: "int", "function-after[...]", "str".
    return isinstance(part, str) and (
        part in {"int", "str", "bool", "float", "date"} or "[" in part or part.startswith("lax-")
    )


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("'", "")
    return value


class OverridesRefused(ConfigError):
    """A county's numbers for a profile's open parameters that may not be
    stored or used: unknown, fixed by the document, not an integer in range.
    The API answers 400, naming each parameter (tanfang/api.py)."""

    def parameters(self) -> list[tuple[str, str]]:
        """(parameter name, Chinese reason) for each problem."""
        return [(p.path.removeprefix("overrides."), p.zh) for p in self.problems]

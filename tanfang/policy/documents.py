"""The documents rules are cited from, so that a person reads a citation as the
document's title and section
(《石狮市民政局等9部门关于开展特殊困难老年人探访关爱服务的通知》四(二)), never as
a file name.

A citation in a profile, a checklist or the code is written
"<document> <section>[、<section>…] [words]": the document's key (the file
name of the seed text in ../shared/seeds/, or a key a county's profile declares
in its own `[[documents]]`), one or more of its sections, then free words.
`parse` checks the document and that each section exists in it, so that a
citation to a section the document does not have is refused when the file
loads (the sections below were read off the documents).
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

# A section: 四(二), 二(四)1, 附件4, and an item of one: 四(三)三是; full-width
# brackets are read as half-width.
SECTION = re.compile(
    r"^(?P<section>[一二三四五六七八九十]+(?:\([一二三四五六七八九十]+\)(?:[0-9]+)?)?|附件[0-9]*)"
    r"(?:[一二三四五六七八九十]是)?$"
)


@dataclass(frozen=True)
class Document:
    key: str
    title: str  # as printed on the document, without 《》
    number: str  # 文号, "" if none
    issued_on: date
    # The day its rules apply from (the day it was issued, unless it says otherwise).
    effective_on: date
    sections: frozenset[str] = field(default=frozenset())

    def label(self) -> str:
        return f"《{self.title}》" + (f"（{self.number}）" if self.number else "")


def _sections(*groups: str) -> frozenset[str]:
    """ "二(四)1-3" → 二(四), 二(四)1, 二(四)2, 二(四)3; "三(一-三)" →
    三, 三(一), 三(二), 三(三)."""
    numerals = "一二三四五六七八九十"
    found: set[str] = set()
    for group in groups:
        if match := re.fullmatch(r"(.+)\((.)-(.)\)", group):
            head, first, last = match.groups()
            found.add(head)
            for numeral in numerals[numerals.index(first) : numerals.index(last) + 1]:
                found.add(f"{head}({numeral})")
        elif match := re.fullmatch(r"(.+?)([0-9]+)-([0-9]+)", group):
            head, first, last = match.group(1), int(match.group(2)), int(match.group(3))
            found.add(head)
            found.update(f"{head}{n}" for n in range(first, last + 1))
        else:
            found.add(group)
    return frozenset(found)


# The five documents of ../shared/seeds/ (its README.md lists them).
SEEDS: Mapping[str, Document] = {
    d.key: d
    for d in (
        Document(
            "002_8b4fd75972db9bc5.txt",
            "民政部等10部门关于开展特殊困难老年人探访关爱服务的指导意见",
            "民发〔2022〕73号",
            date(2022, 9, 27),
            date(2022, 9, 27),
            _sections("一(一-三)", "二(一-五)", "三(一-三)", "附件"),
        ),
        Document(
            "000_4970ff49482a0570.txt",
            "石狮市民政局等9部门关于开展特殊困难老年人探访关爱服务的通知",
            "",
            date(2023, 9, 28),
            date(2023, 9, 28),
            _sections(
                "一",
                "二(一-三)",
                "三(一-四)",
                "四(一-三)",
                "五(一-三)",
                "附件1",
                "附件2",
                "附件3",
                "附件4",
            ),
        ),
        Document(
            "001_35a01bee4c628ebd.txt",
            "四川省关于开展特殊困难老年人探访关爱服务的工作方案",
            "川民发〔2023〕116号",
            date(2023, 10, 30),
            date(2023, 10, 30),
            _sections(
                "一(一-二)",
                "二(一-五)",
                "二(一)1-4",
                "二(二)1-5",
                "二(三)1-12",
                "二(四)1-3",
                "二(五)1-2",
                "三(一-三)",
                "附件1",
                "附件2",
                "附件3",
            ),
        ),
        Document(
            "003_fe235aaa23e67560.txt",
            "临淄区民政局关于全面建立城乡留守老年人及分散供养特困老年人探视巡访制度的通知",
            "临民字〔2022〕88号",
            date(2022, 8, 29),
            date(2022, 8, 29),
            _sections("一", "二(一-六)", "三", "四", "五(一-四)", "附件1", "附件2"),
        ),
        Document(
            "004_1657df0ed1e05604.txt",
            "济宁市特殊困难老年人分类分级探访关爱服务实施方案",
            "济民字〔2023〕29号",
            date(2023, 8, 15),
            date(2023, 8, 15),
            _sections(
                "一",
                "二(一-四)",
                "二(一)1-3",
                "二(二)1-9",
                "二(三)1-8",
                "二(四)1-3",
                "三(一-三)",
            ),
        ),
    )
}


@dataclass(frozen=True)
class Citation:
    document: Document
    sections: tuple[str, ...]
    words: str

    def label(self) -> str:
        """《title》（number）四(二)、四(三)"""
        return self.document.label() + "、".join(self.sections)

    def text(self) -> str:
        """The label and the citation's own words."""
        return f"{self.label()} {self.words}".rstrip()


class CitationError(ValueError):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh}|{en}")
        self.zh, self.en = zh, en


def normalise(text: str) -> str:
    return text.replace("（", "(").replace("）", ")").strip()


def parse(cite: str, extra: Iterable[Document] = ()) -> Citation:
    """The citation `cite` read against the seed documents and `extra` (a
    profile's own); CitationError says what is wrong, in Chinese and English."""
    known = {**SEEDS, **{d.key: d for d in extra}}
    head, _, rest = normalise(cite).partition(" ")
    document = known.get(head)
    if document is None:
        raise CitationError(
            f"依据“{cite[:40]}”应以文件名开头（{'、'.join(sorted(known))}"
            " 或规则文件 [[documents]] 中声明的文件）",
            f"citation {cite[:40]!r} must start with a known document "
            f"({', '.join(sorted(known))} or one declared in [[documents]])",
        )
    section_text, _, words = rest.strip().partition(" ")
    sections = tuple(s for s in section_text.split("、") if s)
    if not sections:
        raise CitationError(
            f"依据“{cite[:40]}”缺少条款（如 四(二)）", f"citation {cite[:40]!r} names no section"
        )
    for section in sections:
        match = SECTION.match(section)
        if match is None:
            raise CitationError(
                f"依据“{cite[:40]}”的条款“{section}”格式不对（如 四(二)、二(四)1、附件4）",
                f"citation {cite[:40]!r}: section {section!r} is not like 四(二), 二(四)1, 附件4",
            )
        if document.sections and match["section"] not in document.sections:
            raise CitationError(
                f"{document.label()}没有条款“{section}”",
                f"{document.key} has no section {section!r}",
            )
    return Citation(document, sections, words.strip())


def label(cite: str, extra: Iterable[Document] = ()) -> str:
    """The citation as a person reads it (several, separated by "；", each
    read); one that cannot be read is shown as written rather than failing a
    page (files are checked on load)."""
    extra = tuple(extra)
    shown = []
    for part in cite.split("；"):
        try:
            shown.append(parse(part, extra).text())
        except CitationError:
            shown.append(part)
    return "；".join(shown)

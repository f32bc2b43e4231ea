"""Every citation of a source document anywhere in the code, the rules and the
docs names a section the document has (issue 14: a citation to a section that
does not exist, such as 001_… 二(五)3, is a defect); and people read them as the
document's title and section, never as a file name."""

import re
from pathlib import Path

import pytest

from tanfang.policy import documents

ROOT = Path(__file__).resolve().parents[2]
# "<file> <section>[、<section>…]": the section as documents.SECTION reads it,
# with full-width brackets; a trailing 一是/二是 item is not part of it.
_NUMERAL = "[一二三四五六七八九十]"
_SECTION = rf"(?:{_NUMERAL}+(?:[(（]{_NUMERAL}+[)）](?:[0-9]+)?)?|附件[0-9]*)"
CITATION = re.compile(rf"(0\d\d_[0-9a-f]{{16}}\.txt)\s+({_SECTION}(?:、{_SECTION})*)")


def citations() -> list[tuple[str, str]]:
    found = []
    for folder in ("tanfang", "docs"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in {".py", ".toml", ".md", ".html"}:
                continue
            text = path.read_text(encoding="utf-8")
            where = str(path.relative_to(ROOT))
            found.extend((where, f"{m[1]} {m[2]}") for m in CITATION.finditer(text))
    return found


def test_it_finds_the_citations():
    assert len(citations()) > 200


@pytest.mark.parametrize(("where", "cite"), citations())
def test_it_finds_every_cited_section_in_its_document(where, cite):
    documents.parse(cite)


def test_it_shows_a_citation_as_the_documents_title_and_section():
    text = documents.label("000_4970ff49482a0570.txt 四(二) 重点对象每半月至少上门探访服务1次")

    assert text == (
        "《石狮市民政局等9部门关于开展特殊困难老年人探访关爱服务的通知》四(二)"
        " 重点对象每半月至少上门探访服务1次"
    )
    assert documents.label("002_8b4fd75972db9bc5.txt 二(四)").startswith(
        "《民政部等10部门关于开展特殊困难老年人探访关爱服务的指导意见》（民发〔2022〕73号）二(四)"
    )


def test_it_refuses_a_section_the_document_does_not_have():
    with pytest.raises(documents.CitationError) as refused:
        documents.parse("001_35a01bee4c628ebd.txt 二(五)3")

    assert refused.value.zh == (
        "《四川省关于开展特殊困难老年人探访关爱服务的工作方案》（川民发〔2023〕116号）"
        "没有条款“二(五)3”"
    )

"""`{% load citations %}{{ cite|citation }}`: a citation as people read it, the
document's title and number and the section (《济宁市特殊困难老年人分类分级探访关爱服务实施方案》
（济民字〔2023〕29号）二(三)2 居家安全服务), never the seed file's name. A citation
that cannot be read is shown as written (files are checked when they load).

A rule of a county's profile may cite a document the profile declares itself
(`[[documents]]`): pass the profile or its version, `{{ cite|citation:profile }}`,
so that the filter knows it.
"""

from collections.abc import Iterable
from typing import Any

from django import template

from tanfang.policy import documents

register = template.Library()


@register.filter
def citation(cite: object, declared: Any = None) -> str:
    if not isinstance(cite, str) or not cite:
        return ""
    return documents.label(cite, _documents_of(declared))


def _documents_of(declared: Any) -> tuple[documents.Document, ...]:
    """The documents a profile (all its versions), a version or a list declares."""
    if declared is None or declared == "":
        return ()
    own = getattr(declared, "own_documents", None)
    if own is not None:
        return tuple(own)
    versions = getattr(declared, "versions", None)
    if versions is not None:
        return tuple(d for version in versions for d in getattr(version, "own_documents", ()))
    if isinstance(declared, Iterable) and not isinstance(declared, str):
        return tuple(d for d in declared if isinstance(d, documents.Document))
    return ()

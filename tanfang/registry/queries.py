"""Reading the registry: search, filters and the rows of the list page.

Every function takes a queryset that already went through
`access.elders_visible_to(user)`; nothing here widens it.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from tanfang.regions.models import Region
from tanfang.registry import crypto
from tanfang.registry.models import Category, Elder, ElderCategory

# Four characters that end an ID number (the last may be X) or a phone number.
_LAST4 = re.compile(r"[0-9]{3}[0-9X]")
_CATEGORY_ORDER = {value: position for position, value in enumerate(Category.values)}


def confirmed_categories() -> QuerySet[ElderCategory]:
    return ElderCategory.objects.filter(withdrawn_at__isnull=True)


def search(elders: QuerySet[Elder], text: str) -> QuerySet[Elder]:
    """A name (or part of one), or the last four of the ID or the phone number."""
    text = text.strip()
    if not text:
        return elders
    if _LAST4.fullmatch(text.upper()):
        # The ID's last four are stored only as a keyed hash (see models.Elder).
        id_last4 = crypto.lookup_hash(text.upper(), kind="id_last4")
        return elders.filter(Q(id_last4_hash=id_last4) | Q(phone_last4=text))
    return elders.filter(name__contains=text)


def in_region(elders: QuerySet[Elder], region: Region) -> QuerySet[Elder]:
    return elders.filter(region.subtree("village_id"))


def with_category(elders: QuerySet[Elder], category: str) -> QuerySet[Elder]:
    return elders.filter(
        Exists(confirmed_categories().filter(elder=OuterRef("pk"), category=category))
    )


def with_confirmed_categories(elders: QuerySet[Elder]) -> QuerySet[Elder]:
    """One more query for all the categories of the rows, whatever their number."""
    return elders.prefetch_related(
        Prefetch("categories", queryset=confirmed_categories(), to_attr="confirmed")
    )


def category_labels(elder: Elder) -> list[str]:
    """Labels of the elder's confirmed categories; needs `with_confirmed_categories`."""
    return _labels(elder.confirmed)  # type: ignore[attr-defined]


def categories_of(elder: Elder) -> list[str]:
    return _labels(confirmed_categories().filter(elder=elder))


def _labels(found: Iterable[ElderCategory]) -> list[str]:
    """In the order of the documents (附件2), not of confirmation."""
    ordered = sorted(found, key=lambda c: _CATEGORY_ORDER.get(c.category, len(_CATEGORY_ORDER)))
    return [c.get_category_display() for c in ordered]


@dataclass(frozen=True)
class Row:
    elder: Elder
    age: int
    phone: str  # masked
    categories: list[str]


def rows(elders: list[Elder], today: date) -> list[Row]:
    """The rows of one page: only these phone numbers are decrypted."""
    return [
        Row(
            elder=elder,
            age=elder.age_on(today),
            phone=crypto.mask_phone(crypto.decrypt(elder.phone_token)) if elder.phone_token else "",
            categories=category_labels(elder),
        )
        for elder in elders
    ]

"""Reading the registry: search, filters and the rows of the list page.

Every function takes a queryset that already went through
`Elder.objects.visible_to(user)`; nothing here widens it.
"""

import calendar
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from tanfang.months import add_months
from tanfang.policy.changes import HOSPITAL
from tanfang.regions.models import Level, Region
from tanfang.registry import crypto
from tanfang.registry.models import (
    Category,
    Elder,
    ElderCategory,
    HouseholdMember,
    LifeEvent,
    Status,
)

# The status filter's choice "every status" (pages, API, export).
ALL_STATUSES = "all"

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


# --- Half-year review (000_4970ff49482a0570.txt 三(四): 每半年动态更新一次) ---------

REVIEW_MONTHS = 6


def review_due_on(elder: Elder) -> date:
    """The day the next review is due: six months after the last one (or after
    registration), by the civil code's month rule (tanfang.months.add_months)."""
    return add_months(elder.last_reviewed_on or elder.registered_on, REVIEW_MONTHS)


def review_overdue_before(today: date) -> date:
    """Files last reviewed (or registered) before this day are overdue on `today`:
    their due day is already past. The first base day whose due day is `today` or
    later: six months back, or the 1st of the following month when that month has
    no such day (today 2026-08-31 → 2026-03-01, as 2026-02-28 was due 08-28)."""
    index = today.month - 1 - REVIEW_MONTHS
    year, month = today.year + index // 12, index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    if today.day <= last_day:
        return date(year, month, today.day)
    return date(year, month, last_day) + timedelta(days=1)


def review_overdue(elders: QuerySet[Elder], today: date) -> QuerySet[Elder]:
    cutoff = review_overdue_before(today)
    return elders.filter(status=Status.ACTIVE).filter(
        Q(last_reviewed_on__lt=cutoff) | Q(last_reviewed_on__isnull=True, registered_on__lt=cutoff)
    )


def with_warnings(elders: QuerySet[Elder]) -> QuerySet[Elder]:
    return elders.exclude(quality_warnings=[])


@dataclass(frozen=True)
class OverdueCount:
    region: Region
    active: int
    overdue: int


def overdue_by_child(parent: Region, elders: QuerySet[Elder], today: date) -> list[OverdueCount]:
    """Active files and overdue reviews per child node of `parent` (one query)."""
    width = _child_width(parent)
    cutoff = review_overdue_before(today)
    overdue = Q(last_reviewed_on__lt=cutoff) | Q(
        last_reviewed_on__isnull=True, registered_on__lt=cutoff
    )
    rows = (
        elders.filter(status=Status.ACTIVE)
        .filter(parent.subtree("village_id"))
        .annotate(child=Substr("village_id", 1, width))
        .values("child")
        .annotate(active=Count("pk"), overdue=Count("pk", filter=overdue))
    )
    counts = {r["child"]: (r["active"], r["overdue"]) for r in rows}
    children = Region.objects.filter(parent=parent).order_by("code")
    return [OverdueCount(child, *counts.get(child.code[:width], (0, 0))) for child in children]


def _child_width(parent: Region) -> int:
    """Digits of the code that name a child of `parent` (2-2-2-3-3)."""
    return {Level.PROVINCE: 4, Level.CITY: 6, Level.COUNTY: 9}.get(Level(parent.level), 12)


# --- Major life changes and who lives with the elder (for the visit rules) --------
# Set-based, one query each, for the tiers and tasks of many elders at once.


def life_events_of(elder_ids: Collection[int], since: datetime) -> dict[int, list[LifeEvent]]:
    """The elders' major life changes that occurred at or after `since` and were
    not withdrawn, oldest first; an elder without any is not in the result."""
    found: dict[int, list[LifeEvent]] = {}
    events = LifeEvent.objects.filter(
        elder_id__in=elder_ids, withdrawn_at__isnull=True, occurred_at__gte=since
    ).order_by("elder_id", "occurred_at", "id")
    for event in events:
        found.setdefault(event.elder_id, []).append(event)
    return found


def last_hospital_day(elder_ids: Collection[int]) -> dict[int, date]:
    """The day (in Beijing time) of each elder's latest stay in hospital on the
    file: the newest admission or discharge not withdrawn. An elder with none is
    not in the result."""
    rows = (
        LifeEvent.objects.filter(
            elder_id__in=elder_ids, withdrawn_at__isnull=True, change__in=sorted(HOSPITAL)
        )
        .order_by()
        .values("elder_id")
        .annotate(last=Max("occurred_at"))
    )
    return {row["elder_id"]: timezone.localdate(row["last"]) for row in rows}


def lives_alone(elder_ids: Collection[int]) -> dict[int, bool | None]:
    """Whether each elder lives alone, by the household on the file: someone
    living with the elder → False; members recorded but none living with the
    elder → True; no member recorded → None (not known, not "alone")."""
    found: dict[int, bool | None] = dict.fromkeys(elder_ids)
    rows = (
        HouseholdMember.objects.filter(elder_id__in=elder_ids, active=True)
        .order_by()
        .values("elder_id")
        .annotate(together=Count("pk", filter=Q(lives_with_elder=True)))
    )
    for row in rows:
        found[row["elder_id"]] = row["together"] == 0
    return found

"""Reading the declared events that apply to a place."""

from datetime import date

from django.db.models import QuerySet

from tanfang.jurisdiction.models import DeclaredEvent
from tanfang.jurisdiction.tiers import ancestors_and_self


def events_for(village_code: str, start: date, end: date) -> QuerySet[DeclaredEvent]:
    """Events declared for the village or any node above it that overlap
    [start, end]: an event on one township does not touch another."""
    township = village_code[:9] + "000"
    codes = [village_code, township, *ancestors_and_self(village_code)]
    return DeclaredEvent.objects.filter(
        region_id__in=codes, starts_on__lte=end, ends_on__gte=start
    ).order_by("starts_on", "pk")

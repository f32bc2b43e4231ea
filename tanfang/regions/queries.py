from django.db.models import Count
from django.db.models.functions import Substr

from tanfang.regions.models import PREFIX_LENGTH, Level, Region


def children_with_counts(region: Region) -> list[tuple[Region, int]]:
    """The node's children, each with the number of villages/communities under it
    (two queries whatever the number of children)."""
    children = list(region.children.order_by("code"))
    if not children or region.level >= Level.TOWNSHIP:
        return [(child, 0) for child in children]
    width = PREFIX_LENGTH[Level(region.level + 1)]
    counts = dict(
        Region.objects.filter(region.subtree(), level=Level.VILLAGE)
        .annotate(branch=Substr("code", 1, width))
        .values("branch")
        .annotate(n=Count("code"))
        .values_list("branch", "n")
    )
    return [(child, counts.get(child.prefix, 0)) for child in children]

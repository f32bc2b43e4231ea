"""The file's derived fields — its computed tier and its data-quality warnings —
written by the registry, which owns the Elder table; computed elsewhere
(`tanfang.jurisdiction.tiers`, `tanfang.registry.quality`) and stored here in
the order `tanfang.refresh` keeps.

No field history entry for these: they are derived, not typed by anyone
(`tanfang.registry.history` leaves them out), so they are written with
`update`/`bulk_update`, not `save`.
"""

from collections.abc import Sequence

from tanfang.registry.models import Elder

TIER_FIELDS = ("tier", "tier_label", "tier_reasons", "tier_profile")
_BATCH = 1000


def store_tier(elder: Elder) -> None:
    """Store the tier fields already set on `elder` (one UPDATE)."""
    Elder.objects.filter(pk=elder.pk).update(**{f: getattr(elder, f) for f in TIER_FIELDS})


def store_tiers(elders: Sequence[Elder]) -> None:
    """The same for many elders at once."""
    Elder.objects.bulk_update(elders, list(TIER_FIELDS), batch_size=_BATCH)


def store_warnings(elder: Elder, found: list[str]) -> None:
    """Store the file's warnings when they changed."""
    if found != elder.quality_warnings:
        elder.quality_warnings = found
        Elder.objects.filter(pk=elder.pk).update(quality_warnings=found)

"""Which rules a jurisdiction follows (POLICIES.md): a county, or a city or
province for all its counties, chooses a profile of `tanfang.policy` and may set
the numbers the documents leave open; officers declare events (heat wave,
typhoon, epidemic ...) for a subtree and a date range."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tanfang.policy.engine import EVENT_LABELS
from tanfang.regions.models import Region


class PolicyChoice(models.Model):
    """A node's choice of profile from a day on. Kept as history, so that a past
    month is judged by the choice then in force (POLICIES.md: last year's
    reports with last year's rules); a second change on one day replaces it."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="policy_choices")
    since = models.DateField("生效日期")
    profile = models.CharField("探访规则", max_length=40)
    # Parameter name -> value, only for the profile's open numbers.
    overrides = models.JSONField("调整的参数", default=dict, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["region_id", "since"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "since"], name="jurisdiction_one_choice_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.since}: {self.profile}"


class DeclaredEvent(models.Model):
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="declared_events")
    kind = models.CharField(
        "事件类型", max_length=20, choices=[(str(k), v) for k, v in EVENT_LABELS.items()]
    )
    title = models.CharField("名称", max_length=100)
    starts_on = models.DateField("开始日期")
    ends_on = models.DateField("结束日期")
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    declared_at = models.DateTimeField(default=timezone.now)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="jurisdiction_event_dates_in_order",
            )
        ]

    def __str__(self) -> str:
        return self.title

"""Rollups of the monthly visit rate and compliance (DOMAIN.md "Supervision and
reports"), kept current as visits arrive rather than recomputed by a nightly
batch (ARCHITECTURE.md "Rules that hold everywhere").

- `ElderMonth`: one elder in one calendar month (Asia/Shanghai), recomputed
  from that elder's own visits and tasks whenever one of them, the tier, the
  status or an assignment changes.
- `VillageMonth`: counters per village, month and dimension (all, a tier, a
  category, a festival's or declared event's surge of visits), adjusted by
  the difference of an `ElderMonth` in the same transaction. Every report
  above a village sums these rows by code prefix.

The definitions (who is counted, what is a valid visit, what compliance
means) are written in docs/统计口径.md.
"""

from django.db import models
from django.utils import timezone

from tanfang.regions.models import Region
from tanfang.registry.models import Elder


class ElderMonth(models.Model):
    # Derived rows, rebuilt from the registry by `recompute_month` (3,000,000 a
    # month in under a minute, NONFUNCTIONAL.md): no database constraint and no
    # index of their own on the two keys, which cost a third of that minute;
    # Django still applies on_delete, and (elder, month) and (month, village)
    # are the indexes every query uses. A file is never deleted in the app; a
    # test or a repair that deletes one takes its derived rows with it.
    elder = models.ForeignKey(
        Elder, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    month = models.DateField("月份")  # the first day of the month
    # Where the elder is counted that month: the village lived in at its end.
    village = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    tier = models.CharField("分级", max_length=20, blank=True)
    categories = models.JSONField("对象类型", default=list, blank=True)
    # The file's 愿意接受探访 that month; with village, tier and categories, kept
    # by a month once it is over (docs/统计口径.md "Closed months").
    consents = models.BooleanField("愿意接受探访", default=True)
    # In the denominator: active and consenting to visits (docs/统计口径.md).
    counted = models.BooleanField("计入应探访人数", default=False)
    # Active but declining visits: shown beside the rate, never in it.
    declined = models.BooleanField("不愿接受探访", default=False)
    visits = models.PositiveIntegerField("有效探访次数", default=0)
    visited = models.BooleanField("已探访", default=False)
    compliant = models.BooleanField("达标", default=False)
    # Compliant this month and in every earlier month of its quarter in which
    # the elder was counted (按季调度, 001_35a01bee4c628ebd.txt 三(三)).
    quarter_compliant = models.BooleanField("季内各月均达标", default=False)
    # What is missing, in words: ["11月下半月例行探访未完成（须上门探访，截止11月30日）"].
    missing = models.JSONField("未达标原因", default=list, blank=True)
    # The festivals and declared events (surges of visits) the counted elder
    # was in scope of that month, by the task key without its ":n":
    # {"festival:重阳": {"covered": true, "mandatory": false}} (docs/统计口径.md §6).
    surges = models.JSONField("节日/天气探访", default=dict, blank=True)
    # The rules the month was computed with (tanfang.jurisdiction.tiers.rules_version,
    # "fujian-shishi@2023-09-28"); kept by a month once over, like the village.
    rules = models.CharField("适用规则版本", max_length=60, blank=True, default="")
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["elder", "month"], name="reports_one_row_per_elder_month"
            )
        ]
        indexes = [
            models.Index(fields=["month", "village"], name="reports_eldermonth_village"),
        ]

    def __str__(self) -> str:
        return f"{self.elder_id} {self.month:%Y-%m}"


class VillageMonth(models.Model):
    # Read by (month, village range, dimension): the unique constraint's index.
    village = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    month = models.DateField("月份")
    # "" for every elder; "tier:<key>" or "category:<name>" for a breakdown;
    # "surge:<key>" for the elders in scope of a festival or declared event
    # ("surge:festival:重阳", "surge:event:12": counted = in scope, visited =
    # compliant = covered), and "must:<key>" for those of them for whom it is
    # mandatory (docs/统计口径.md §6).
    dimension = models.CharField(max_length=40, default="", blank=True)
    counted = models.IntegerField("应探访", default=0)
    visited = models.IntegerField("已探访", default=0)
    compliant = models.IntegerField("达标", default=0)
    declined = models.IntegerField("不愿接受探访", default=0)
    quarter_compliant = models.IntegerField("季内各月均达标", default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "village", "dimension"], name="reports_one_counter_row"
            )
        ]
        indexes = [
            # The rows of every elder, which the tables and the trend sum: on
            # PostgreSQL an index-only scan (the 12-month trend of a province of
            # 30,000 villages in 93 ms instead of 626 ms, docs/BENCHMARKS.md);
            # SQLite has no INCLUDE and keeps the partial index on the keys.
            models.Index(
                fields=["month", "village"],
                include=["counted", "visited", "compliant", "declined", "quarter_compliant"],
                condition=models.Q(dimension=""),
                name="reports_villagemonth_all",
            )
        ]

    def __str__(self) -> str:
        return f"{self.village_id} {self.month:%Y-%m} {self.dimension}"

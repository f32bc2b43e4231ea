"""The administrative tree (行政区划), keyed by the 12-digit statistical code.

The code is hierarchical: 2 digits province, 2 city, 2 county, 3 township,
3 village. "Everything under a node" is therefore `code LIKE prefix%` on the
primary key, with no recursive query (ARCHITECTURE.md).
"""

from django.db import models


class Level(models.IntegerChoices):
    PROVINCE = 1, "省"
    CITY = 2, "市"
    COUNTY = 3, "县(区)"
    TOWNSHIP = 4, "乡镇(街道)"
    VILLAGE = 5, "村(社区)"


# Significant digits of the code at each level.
PREFIX_LENGTH = {
    Level.PROVINCE: 2,
    Level.CITY: 4,
    Level.COUNTY: 6,
    Level.TOWNSHIP: 9,
    Level.VILLAGE: 12,
}
CODE_LENGTH = 12


def level_of_code(code: str) -> Level:
    """The level a 12-digit code stands for: the last non-zero segment."""
    for level in (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CITY):
        start = PREFIX_LENGTH[Level(level - 1)]
        if code[start : PREFIX_LENGTH[level]].strip("0"):
            return level
    return Level.PROVINCE


def parent_code_of(code: str) -> str | None:
    level = level_of_code(code)
    if level == Level.PROVINCE:
        return None
    keep = PREFIX_LENGTH[Level(level - 1)]
    return code[:keep].ljust(CODE_LENGTH, "0")


class Kind(models.TextChoices):
    """Rural or urban, for the lowest level (留守 applies to rural elders only)."""

    RURAL = "rural", "农村"
    URBAN = "urban", "城镇"


class Region(models.Model):
    code = models.CharField("统计用区划代码", max_length=12, primary_key=True)
    name = models.CharField("名称", max_length=100)
    level = models.PositiveSmallIntegerField("层级", choices=Level.choices)
    kind = models.CharField("城乡属性", max_length=5, choices=Kind.choices, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"

    def __str__(self) -> str:
        return self.name

    @property
    def prefix(self) -> str:
        """The leading digits shared by this node and everything under it."""
        return self.code[: PREFIX_LENGTH[Level(self.level)]]

    def contains(self, code: str) -> bool:
        return code.startswith(self.prefix)

    def is_lowest(self) -> bool:
        return self.level == Level.VILLAGE

    def ancestor_codes(self) -> list[str]:
        """Codes from the province down to the parent, derived from the code."""
        return [
            self.code[: PREFIX_LENGTH[level]].ljust(CODE_LENGTH, "0")
            for level in Level
            if level < self.level
        ]

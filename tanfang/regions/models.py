"""The administrative tree (行政区划), keyed by the 12-digit statistical code.

The code is hierarchical: 2 digits province, 2 city, 2 county, 3 township,
3 village. "Everything under a node" is therefore `code LIKE prefix%` on the
primary key, with no recursive query (ARCHITECTURE.md).
"""

from django.db import models
from django.db.models import Q


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


def in_subtree(field: str, prefix: str) -> Q:
    """Rows whose 12-digit code in `field` lies under the node with `prefix`.

    The same as `field LIKE 'prefix%'`, written as a range because SQLite's
    case-insensitive LIKE cannot use the index; the range can on every database.
    """
    return Q(**{f"{field}__gte": prefix.ljust(CODE_LENGTH, "0")}) & Q(
        **{f"{field}__lte": prefix.ljust(CODE_LENGTH, "9")}
    )


def has_empty_segment(code: str) -> bool:
    """True for a code with an all-zero segment above its level (350581000201:
    a village directly under a county), or for 000000000000."""
    level = level_of_code(code)
    starts = [0, *(PREFIX_LENGTH[Level(n)] for n in range(Level.PROVINCE, level))]
    ends = [PREFIX_LENGTH[Level(n)] for n in range(Level.PROVINCE, level + 1)]
    return any(not code[start:end].strip("0") for start, end in zip(starts, ends, strict=True))


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

    def subtree(self, field: str = "code") -> Q:
        """A filter for the rows under this node by their code in `field`."""
        return in_subtree(field, self.prefix)

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

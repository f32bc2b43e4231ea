"""Loading and changing the administrative tree.

A file is checked whole before anything is written: one bad row rejects it, with
a report of every bad row (row number, code, reason in Chinese), so a tree is
never left half-updated.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.http import HttpRequest

from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.regions.models import (
    CODE_LENGTH,
    Kind,
    Level,
    Region,
    has_empty_segment,
    level_of_code,
    parent_code_of,
)

if TYPE_CHECKING:
    from tanfang.accounts.models import User

# The `kind` column: rural or urban, in the words people use. A three-digit
# 城乡分类代码 (111–123 urban, 210/220 rural) is accepted too.
KIND_WORDS = {
    "rural": Kind.RURAL,
    "农村": Kind.RURAL,
    "乡村": Kind.RURAL,
    "村": Kind.RURAL,
    "村委会": Kind.RURAL,
    "urban": Kind.URBAN,
    "城镇": Kind.URBAN,
    "城市": Kind.URBAN,
    "居": Kind.URBAN,
    "社区": Kind.URBAN,
    "居委会": Kind.URBAN,
}


@dataclass(frozen=True)
class RowError:
    row: int
    code: str
    reason: str


class ImportRejected(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} bad rows")
        self.errors = errors


@dataclass(frozen=True)
class RegionRow:
    row: int
    code: str
    name: str
    kind: str
    # Cells beyond the header's columns: most likely an unquoted comma in a name,
    # which would otherwise cut the name short without a word.
    extra: bool = False


@dataclass(frozen=True)
class ImportSummary:
    created: int
    changed: int
    unchanged: int


def parse_kind(value: str) -> str | None:
    """The Kind for a cell, "" for an empty cell, None when not understood."""
    value = value.strip()
    if not value:
        return ""
    if value.isascii() and value.isdigit() and len(value) == 3:
        if 111 <= int(value) <= 123:
            return Kind.URBAN
        return Kind.RURAL if value[0] == "2" else None
    return KIND_WORDS.get(value.lower())


def default_kind(code: str) -> str:
    """Statistical coding rules: 居委会 are numbered 001–199, 村委会 from 200."""
    return Kind.URBAN if int(code[9:]) < 200 else Kind.RURAL


def read_rows(text: str) -> list[RegionRow]:
    """Rows of a CSV with the header code,name[,kind]; row numbers count the header as 1."""
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip().lower() for cell in next(reader, [])]
    if header[:2] != ["code", "name"] or len(header) > 3 or header[2:] not in ([], ["kind"]):
        raise ImportRejected([RowError(1, "", "表头应为 code,name 或 code,name,kind")])
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        padded = [*cells, "", ""]
        kind = padded[2].strip() if len(header) == 3 else ""
        extra = any(cell.strip() for cell in cells[len(header) :])
        rows.append(RegionRow(number, padded[0].strip(), padded[1].strip(), kind, extra))
    return rows


def _check(
    rows: Iterable[RegionRow], apply_renames: bool, within: Region | None = None
) -> list[RowError]:
    rows = list(rows)
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    valid_codes = set()
    for row in rows:
        # isascii: str.isdigit() also accepts full-width digits and superscripts.
        if not (row.code.isascii() and row.code.isdigit() and len(row.code) == CODE_LENGTH):
            errors.append(RowError(row.row, row.code, "代码应为 12 位数字"))
            continue
        if has_empty_segment(row.code):
            errors.append(RowError(row.row, row.code, "代码的省、市、县、乡各段不能为全 0"))
            continue
        if within is not None and not within.contains(row.code):
            errors.append(RowError(row.row, row.code, "不在您的管辖范围内"))
            continue
        if row.code in seen:
            errors.append(RowError(row.row, row.code, f"代码与第 {seen[row.code]} 行重复"))
            continue
        seen[row.code] = row.row
        valid_codes.add(row.code)
    existing = dict(
        Region.objects.filter(code__in=valid_codes | _parents(valid_codes)).values_list(
            "code", "name"
        )
    )
    for row in rows:
        if row.code not in valid_codes or seen.get(row.code) != row.row:
            continue
        if row.extra:
            errors.append(RowError(row.row, row.code, "列数多于表头；名称含逗号时请加引号"))
        if not row.name:
            errors.append(RowError(row.row, row.code, "名称不能为空"))
        elif len(row.name) > 100:
            errors.append(RowError(row.row, row.code, "名称不能超过 100 个字"))
        parent = parent_code_of(row.code)
        if parent is not None and parent not in valid_codes and parent not in existing:
            errors.append(RowError(row.row, row.code, f"上级区划 {parent} 不存在"))
        kind = parse_kind(row.kind)
        if kind is None:
            errors.append(RowError(row.row, row.code, f"城乡属性“{row.kind}”无法识别"))
        elif kind and level_of_code(row.code) != Level.VILLAGE:
            errors.append(RowError(row.row, row.code, "城乡属性只适用于村(社区)级"))
        old_name = existing.get(row.code)
        if old_name is not None and row.name and old_name != row.name and not apply_renames:
            errors.append(
                RowError(
                    row.row,
                    row.code,
                    f"名称与现有的“{old_name}”不同；确认更名请选择“应用名称变更”",
                )
            )
    return sorted(errors, key=lambda error: error.row)


def _parents(codes: set[str]) -> set[str]:
    return {parent for code in codes if (parent := parent_code_of(code)) is not None}


@transaction.atomic
def import_regions(
    *,
    acting_user: "User | None",
    text: str,
    apply_renames: bool = False,
    source: str = "",
    request: HttpRequest | None = None,
    within: Region | None = None,
) -> ImportSummary:
    """Load or update nodes from a CSV; all or nothing. With `within` (the acting
    administrator's node), a row outside that subtree is one more bad row."""
    rows = read_rows(text)
    errors = _check(rows, apply_renames, within)
    if errors:
        raise ImportRejected(errors)
    existing = {
        region.code: region for region in Region.objects.filter(code__in=[r.code for r in rows])
    }
    new: list[Region] = []
    changed: list[Region] = []
    renames = []
    for row in rows:
        level = level_of_code(row.code)
        kind = parse_kind(row.kind) or (default_kind(row.code) if level == Level.VILLAGE else "")
        region = existing.get(row.code)
        if region is None:
            parent = parent_code_of(row.code)
            new.append(
                Region(code=row.code, name=row.name, level=level, kind=kind, parent_id=parent)
            )
        elif region.name != row.name or (row.kind and region.kind != kind):
            if region.name != row.name:
                renames.append([row.code, region.name, row.name])
            region.name = row.name
            if row.kind:
                region.kind = kind
            changed.append(region)
    # Parents first, so that each child's parent row exists when it is inserted
    # (foreign keys are checked at once on SQLite).
    new.sort(key=lambda region: (region.level, region.code))
    Region.objects.bulk_create(new, batch_size=2000)
    Region.objects.bulk_update(changed, ["name", "kind"], batch_size=2000)
    created = len(new)
    summary = ImportSummary(
        created=created, changed=len(changed), unchanged=len(rows) - created - len(changed)
    )
    record(
        Action.REGIONS_IMPORTED,
        actor=acting_user,
        request=request,
        region_code=_common_root(rows),
        detail={
            "source": source,
            "created": summary.created,
            "changed": summary.changed,
            "unchanged": summary.unchanged,
            "renames": renames,
        },
    )
    return summary


def _common_root(rows: list[RegionRow]) -> str:
    """The shallowest code of the file, so that the auditor of that subtree sees the import."""
    codes = sorted((row.code for row in rows), key=lambda code: (level_of_code(code), code))
    return codes[0] if codes else ""


@transaction.atomic
def rename_region(
    *, acting_user: "User", region: Region, name: str, request: HttpRequest | None = None
) -> Region:
    old = region.name
    region.name = name
    region.full_clean()
    region.save(update_fields=["name"])
    record(
        Action.REGION_RENAMED,
        actor=acting_user,
        request=request,
        region_code=region.code,
        target=region,
        detail={"from": old, "to": name},
    )
    return region

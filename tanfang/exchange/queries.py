"""Reading for imports and exports: the import jobs a user may see, the villages
a row may name, and the rows of the ledger."""

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.exchange.columns import COLUMNS, Column
from tanfang.exchange.models import ImportJob
from tanfang.exchange.sheets import village_choice
from tanfang.regions.models import Level, Region
from tanfang.registry import crypto, queries
from tanfang.registry.models import Elder
from tanfang.registry.queries import ALL_STATUSES

# Elders read per query of the export; the categories come in one more query per chunk.
LEDGER_CHUNK = 2000
_CODE = re.compile(r"([0-9]{12})(?:\s.*)?")


# Import jobs ------------------------------------------------------------------------


def jobs_visible_to(user: User) -> QuerySet[ImportJob]:
    """Jobs uploaded at the user's node or below: their reports name elders
    of that subtree only. Without the uploaded file, which no page needs and
    which is tens of megabytes for a large file."""
    jobs = ImportJob.objects.select_related("created_by").defer("file_token")
    return access.scope(user, jobs, "region_id")


def get_job_for(user: User, job_id: int) -> ImportJob:
    job = jobs_visible_to(user).filter(pk=job_id).first()
    if job is None:
        raise Http404
    return job


# Villages named in a file ----------------------------------------------------------------


class Villages:
    """Finds the village a cell names: its 12-digit code (with or without the
    name after it, as in the template's drop-down), or the exact name of a
    village in the user's scope. Whether the village may be used is decided by
    the registry's checks, which give their own message for a village outside
    the scope or a node that is not a village."""

    def __init__(self, user: User) -> None:
        villages = access.regions_visible_to(user).filter(level=Level.VILLAGE)
        self._by_code = {region.code: region for region in villages}
        self._by_name: dict[str, list[Region]] = defaultdict(list)
        for region in self._by_code.values():
            self._by_name[_name(region.name)].append(region)
        self._elsewhere: dict[str, Region | None] = {}

    def find(self, text: str) -> Region:
        if match := _CODE.fullmatch(text):
            code = match[1]
            if code in self._by_code:
                return self._by_code[code]
            if code not in self._elsewhere:
                self._elsewhere[code] = Region.objects.filter(code=code).first()
            region = self._elsewhere[code]
            if region is None:
                raise ValidationError(f"找不到区划代码为 {code} 的村(社区)。")
            return region
        name = _name(text)
        found = self._by_name.get(name, [])
        if len(found) == 1:
            return found[0]
        if found:
            raise ValidationError(
                f"您的辖区内有 {len(found)} 个名为“{name}”的村(社区)，请填写 12 位区划代码。"
            )
        raise ValidationError(
            f"您的辖区内没有名为“{name}”的村(社区)；请从下拉列表选择，或填写 12 位区划代码。"
        )


def _name(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


# The ledger -------------------------------------------------------------------------


def filtered(elders: QuerySet[Elder], data: dict[str, Any], today: date) -> QuerySet[Elder]:
    """The filters of the registry's list page (registry.forms.ElderFilterForm),
    applied as its view applies them."""
    elders = queries.search(elders, data.get("q") or "")
    if region := data.get("subtree"):
        elders = queries.in_region(elders, region)
    if category := data.get("category"):
        elders = queries.with_category(elders, category)
    if (status := data.get("status")) and status != ALL_STATUSES:
        elders = elders.filter(status=status)
    if data.get("review"):
        elders = queries.review_overdue(elders, today)
    if data.get("warnings"):
        elders = queries.with_warnings(elders)
    return elders


def ledger_rows(elders: QuerySet[Elder]) -> Iterator[list[Any]]:
    """One row per elder for the ledger, ID numbers, phones, addresses and
    disability certificates masked. Two queries per LEDGER_CHUNK elders,
    whatever their number: the elders with their villages, and their categories."""
    chosen = queries.with_confirmed_categories(
        elders.select_related("village", "registration_village").order_by(
            "village_id", "name", "id"
        )
    )
    for elder in chosen.iterator(chunk_size=LEDGER_CHUNK):
        yield [_cell(column, elder) for column in COLUMNS] + [
            elder.get_status_display(),
            elder.registered_on,
            elder.last_reviewed_on,
        ]


def _decrypted(token: str) -> str:
    return crypto.decrypt(token) if token else ""


def _cell(column: Column, elder: Elder) -> Any:
    field = column.field
    if field == "id_number":
        return crypto.mask_id(crypto.decrypt(elder.id_number_token))
    if field == "phone":
        return crypto.mask_phone(_decrypted(elder.phone_token)) or None
    if field in ("residence_address", "registration_address"):
        return crypto.mask_address(_decrypted(getattr(elder, f"{field}_token"))) or None
    if field == "disability_certificate":
        # A certificate number is the ID number and two more digits.
        token = elder.disability_certificate_token
        return crypto.mask_id(crypto.decrypt(token)) if token else None
    if field in ("village", "registration_village"):
        region = getattr(elder, field)
        return village_choice(region) if region is not None else None
    if field == "categories":
        return "、".join(queries.category_labels(elder)) or None
    return column.show(getattr(elder, field))

"""Importing and exporting the elder registry (台账): one function per use case.

An import is two steps. `store_import` (in the request) checks the file as a
whole and keeps it on an `ImportJob`; `tasks.start_import` enqueues the task
when that commits.
`run_import` (in the worker) checks every row with the registry's rules
(`registration.check_registration`), reporting progress as it goes, then stores
the valid rows in one transaction together with the job's outcome and its
audit entry: a crash stores nothing, and running it again is refused because
the job is no longer queued.
"""

import base64
import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import client_ip, record
from tanfang.audit.models import Action
from tanfang.exchange import sheets
from tanfang.exchange.columns import BY_FIELD, COLUMNS, REQUIRED, Column, Kind, is_blank
from tanfang.exchange.models import ImportJob, Mode, State
from tanfang.exchange.queries import Villages, ledger_rows
from tanfang.registry import crypto
from tanfang.registry.models import Elder
from tanfang.registry.registration import (
    NewElder,
    active_id_hashes,
    check_registration,
    id_hash,
    register_many,
)

logger = logging.getLogger(__name__)

# Rows checked between two progress updates (and per query for active files).
CHUNK = 500
ALREADY_REGISTERED = "已在册，未导入"
_POSITION = {column.title: position for position, column in enumerate(COLUMNS)}
FAILED_MESSAGE = "导入时出错，未保存任何数据。请稍后重新上传；如仍出错，请联系管理员。"


# Starting an import -----------------------------------------------------------------


def store_import(
    *,
    acting_user: User,
    data: bytes,
    file_name: str,
    mode: str,
    request: HttpRequest | None = None,
) -> ImportJob:
    """Keep the file for its import (`tanfang.exchange.tasks.start_import`
    queues it); a file that cannot be imported at all is refused here with a
    ValidationError on "file", and nothing is stored."""
    access.check(acting_user, Perm.ELDERS_IMPORT)
    if mode not in Mode.values:
        raise ValidationError({"mode": "请选择导入方式。"})
    try:
        upload = sheets.read_upload(data)
    except sheets.FileRejected as rejected:
        raise ValidationError({"file": rejected.message}) from None
    job = ImportJob.objects.create(
        created_by=acting_user,
        region=acting_user.region,
        mode=mode,
        file_name=file_name[-200:],
        file_size=len(data),
        file_sha256=hashlib.sha256(data).hexdigest(),
        file_token=crypto.encrypt(base64.b64encode(data).decode("ascii")),
        client_ip=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request else "")[:300],
        rows_total=len(upload.rows),
    )
    return job


# Running it -------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    arguments: dict[str, Any]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column title, message)

    @property
    def name(self) -> str:
        return str(self.arguments.get("name", ""))


@dataclass
class _Outcome:
    valid: list[tuple[_Row, NewElder]] = field(default_factory=list)
    report: list[list[Any]] = field(default_factory=list)
    skipped: int = 0
    failed: int = 0

    def skip(self, row: _Row) -> None:
        self.skipped += 1
        self.report.append([row.number, row.name, BY_FIELD["id_number"].title, ALREADY_REGISTERED])

    def fail(self, row: _Row) -> None:
        self.failed += 1
        errors = sorted(row.errors, key=lambda error: _POSITION.get(error[0], len(_POSITION)))
        self.report.extend([row.number, row.name, title, message] for title, message in errors)


def run_import(*, job_id: int) -> ImportJob:
    """The task's work. A job that is not queued (already run, or running
    elsewhere) is left alone."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, state=State.QUEUED).update(
        state=State.RUNNING, started_at=now
    )
    job = ImportJob.objects.select_related("created_by__region", "region").get(pk=job_id)
    if not claimed:
        return job
    try:
        _run(job, now)
    except Exception:
        logger.exception("import job %s failed", job.pk)
        _finish(job, State.FAILED, _Outcome(), message=FAILED_MESSAGE)
        raise
    return job


def _run(job: ImportJob, now: datetime) -> None:
    user = job.created_by
    if not access.can(user, Perm.ELDERS_IMPORT):
        _finish(job, State.REJECTED, _Outcome(), message="导入人的账号已无导入台账的权限，未导入。")
        return
    data = base64.b64decode(crypto.decrypt(job.file_token))
    try:
        upload = sheets.read_upload(data)
    except sheets.FileRejected as rejected:
        _finish(job, State.REJECTED, _Outcome(), message=rejected.message)
        return
    outcome = _check_rows(job, user, upload, now)
    if job.mode == Mode.WHOLE_FILE and outcome.failed:
        _finish(
            job,
            State.REJECTED,
            outcome,
            message=f"有 {outcome.failed} 行有误。按“{Mode.WHOLE_FILE.label}”，未导入任何一行；"
            "请按报告改正后重新上传。",
        )
        return
    with transaction.atomic():
        stored = _store(job, user, outcome, now)
        _finish(job, State.DONE, outcome, stored=stored)


def _check_rows(job: ImportJob, user: User, upload: sheets.Upload, now: datetime) -> _Outcome:
    villages = Villages(user)
    today = timezone.localdate()
    outcome = _Outcome()
    first_row_of: dict[str, int] = {}
    position = {column.field: index for index, column in upload.columns}
    done = 0
    for chunk in _chunks(upload.rows, CHUNK):
        # A row already registered is skipped on its ID number alone: importing
        # the same file again reads little more than that column.
        hashes = [_id_hash(cells, position["id_number"], today) for _, cells in chunk]
        active = active_id_hashes(found for found in hashes if found)
        for (number, cells), found in zip(chunk, hashes, strict=True):
            if found in active:
                name = _cell(cells, position.get("name"))
                outcome.skip(_Row(number, {"name": str(name).strip()} if name else {}))
                continue
            row = _read_row(number, cells, upload.columns, villages)
            if found is not None:
                first = first_row_of.setdefault(found, number)
                if first != number:
                    row.errors.append(
                        (BY_FIELD["id_number"].title, f"与第 {first} 行的身份证号码重复。")
                    )
            _check(row, user, now, outcome)
        done += len(chunk)
        ImportJob.objects.filter(pk=job.pk).update(
            rows_done=done, rows_skipped=outcome.skipped, rows_failed=outcome.failed
        )
    job.rows_done = done
    return outcome


def _cell(cells: list[Any], index: int | None) -> Any:
    return cells[index] if index is not None and index < len(cells) else None


def _id_hash(cells: list[Any], index: int, today: date) -> str | None:
    raw = _cell(cells, index)
    if is_blank(raw):
        return None
    try:
        return id_hash(BY_FIELD["id_number"].read(raw), today)
    except ValidationError:
        return None


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _read_row(
    number: int, cells: list[Any], columns: list[tuple[int, Column]], villages: Villages
) -> _Row:
    row = _Row(number, {})
    for index, column in columns:
        raw = _cell(cells, index)
        if is_blank(raw):
            continue
        try:
            value = column.read(raw)
            if column.kind == Kind.VILLAGE:
                value = villages.find(value)
        except ValidationError as error:
            row.errors.append((column.title, error.messages[0]))
            continue
        row.arguments[column.field] = value
    for column in REQUIRED:
        if column.field not in row.arguments and not _has_error(row, column):
            row.errors.append((column.title, f"请填写{column.title}。"))
    return row


def _has_error(row: _Row, column: Column) -> bool:
    return any(title == column.title for title, _ in row.errors)


def _check(row: _Row, user: User, now: datetime, outcome: _Outcome) -> None:
    """The registry's checks. A column already in error is not reported twice
    (a blank ID number is "请填写身份证号码", not also "应为 18 位")."""
    arguments = {"id_number": "", "name": "", "village": None, **row.arguments}
    try:
        new = check_registration(acting_user=user, now=now, **arguments)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            column = BY_FIELD.get(name)
            if column is not None and _has_error(row, column):
                continue
            title = column.title if column is not None else ""
            row.errors.extend((title, message) for message in messages)
    else:
        if not row.errors:
            outcome.valid.append((row, new))
            return
    outcome.fail(row)


def _store(job: ImportJob, user: User, outcome: _Outcome, now: datetime) -> int:
    """All valid rows in one insert; if another officer registered one of them
    meanwhile, row by row, each in its own savepoint, and that row is skipped."""
    new = [item for _, item in outcome.valid]
    try:
        with transaction.atomic():
            register_many(new, acting_user=user, now=now)
    except IntegrityError:
        pass
    else:
        return len(new)
    stored = 0
    for row, item in outcome.valid:
        item.elder.pk = None
        item.elder._state.adding = True
        try:
            with transaction.atomic():
                register_many([item], acting_user=user, now=now)
        except IntegrityError:
            if not active_id_hashes([item.elder.id_number_hash]):
                raise
            outcome.skip(row)
        else:
            stored += 1
    outcome.report.sort(key=lambda entry: entry[0])
    return stored


def _finish(
    job: ImportJob, state: State, outcome: _Outcome, *, message: str = "", stored: int = 0
) -> None:
    """The job's outcome and its one audit entry, in one transaction; the
    uploaded file is removed, the report holds no ID number."""
    with transaction.atomic():
        job.state = state
        job.finished_at = timezone.now()
        job.file_token = ""
        job.rows_ok = stored
        job.rows_skipped = outcome.skipped
        job.rows_failed = outcome.failed
        job.message = message
        job.report = outcome.report
        job.save()
        record(
            Action.ELDERS_IMPORTED,
            actor=job.created_by,
            request=_origin(job),
            region_code=job.region_id,
            target=job,
            detail={
                "mode": job.mode,
                "state": state.value,
                "rows": job.rows_total,
                "created": stored,
                "skipped": outcome.skipped,
                "failed": outcome.failed,
                "file_sha256": job.file_sha256,
            },
        )


def _origin(job: ImportJob) -> HttpRequest:
    """The upload's address and browser, for the entry the worker writes."""
    request = HttpRequest()
    request.META = {"HTTP_USER_AGENT": job.user_agent}
    # audit.actions.client_ip reads the address django-axes found for the request.
    request.axes_ip_address = job.client_ip  # type: ignore[attr-defined]
    return request


# Exporting the ledger -----------------------------------------------------------------


def export_ledger(
    *,
    acting_user: User,
    elders: QuerySet[Elder],
    filters: dict[str, str],
    region_code: str,
    out: IO[bytes],
    request: HttpRequest | None = None,
) -> int:
    """Write the ledger of `elders` (already scoped and filtered) to `out`,
    masked, and record who exported what; returns the number of rows."""
    access.check(acting_user, Perm.PEOPLE_VIEW)
    counted = _Counted(ledger_rows(elders))
    sheets.ledger(counted, out)
    record(
        Action.ELDERS_EXPORTED,
        actor=acting_user,
        request=request,
        region_code=region_code,
        detail={"filters": filters, "count": counted.count},
    )
    return counted.count


class _Counted:
    def __init__(self, rows: Iterable[list[Any]]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[list[Any]]:
        for row in self.rows:
            self.count += 1
            yield row

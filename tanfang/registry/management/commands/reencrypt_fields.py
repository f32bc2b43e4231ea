"""manage.py reencrypt_fields: after a field key rotation, encrypt every stored
token again under the current key, so that the old key can be removed
(docs/OPERATIONS.md "Field keys").

The columns come from `crypto.ENCRYPTED_FIELDS`, the one list of them. Rows are
read in primary-key order, a batch at a time, locked, and each batch is
written back in its own transaction (`_write`); only tokens whose key is not
the current one are touched, so the command can be stopped at any moment and
run again, and a second run changes nothing. The writes send no model
signals, so django-auditlog writes no history entry per row: the run is
recorded as one audit event (FIELDS_REENCRYPTED) with its counts.

`--check` decrypts every token with the keys configured now and lists the rows
whose tokens fail (model, column, row id; never a value): run it before
removing an old key, and after.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.db.models import Q, Value
from django.db.models.functions import Left
from django.db.models.lookups import Exact

from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.registry import crypto

BATCH_SIZE = 1000


@dataclass
class Tally:
    """Counts per column ("registry.Elder.phone_token") and the tokens that
    could not be decrypted, as (column, row id)."""

    counts: Counter[str] = field(default_factory=Counter)
    failed: list[tuple[str, Any]] = field(default_factory=list)


class Command(BaseCommand):
    help = (
        "Re-encrypt the encrypted fields under the current field key after a key rotation "
        "(--dry-run: count only; --check: verify that every token decrypts)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the tokens to re-encrypt; change nothing."
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Decrypt every token with the configured keys; list the rows that fail.",
        )
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(
        self, *args: Any, dry_run: bool, check: bool, batch_size: int, **options: Any
    ) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size 必须大于 0。")
        if check:
            self._check(batch_size)
        else:
            self._reencrypt(batch_size, dry_run=dry_run)

    # Re-encryption -------------------------------------------------------------

    def _reencrypt(self, batch_size: int, *, dry_run: bool) -> None:
        key_id = crypto.current_key_id()
        tally = Tally()
        for label, columns in crypto.ENCRYPTED_FIELDS.items():
            _reencrypt_model(
                apps.get_model(label), label, columns, key_id, batch_size, dry_run, tally
            )
        verb = "需重新加密" if dry_run else "已重新加密"
        for column in _all_columns():
            self.stdout.write(f"{column}\t{verb} {tally.counts[column]}")
        total = sum(tally.counts.values())
        self.stdout.write(f"合计{verb} {total} 个字段值（当前密钥 {key_id}）。")
        if not dry_run:
            record(
                Action.FIELDS_REENCRYPTED,
                actor=None,
                region_code="",
                detail={
                    "key_id": key_id,
                    "counts": {column: tally.counts[column] for column in _all_columns()},
                    "total": total,
                    "undecryptable": len(tally.failed),
                },
            )
        self._report_failures(tally.failed)

    # Check ---------------------------------------------------------------------

    def _check(self, batch_size: int) -> None:
        checked, old_key = Counter[str](), Counter[str]()
        failed: list[tuple[str, Any]] = []
        for label, columns in crypto.ENCRYPTED_FIELDS.items():
            model = apps.get_model(label)
            for row in _batches(model.objects.all(), columns, batch_size):
                for column in columns:
                    token = getattr(row, column)
                    if not token:
                        continue
                    name = f"{label}.{column}"
                    try:
                        crypto.decrypt(token)
                    except crypto.FieldKeyError:
                        failed.append((name, row.pk))
                        continue
                    checked[name] += 1
                    if crypto.needs_rotation(token):
                        old_key[name] += 1
        for column in _all_columns():
            self.stdout.write(
                f"{column}\t可解密 {checked[column]}，其中旧密钥 {old_key[column]}"
                + (f"，无法解密 {sum(1 for c, _ in failed if c == column)}" if failed else "")
            )
        if old_key:
            self.stdout.write(
                f"仍有 {sum(old_key.values())} 个字段值使用旧密钥：请先运行 reencrypt_fields，"
                "再移除旧密钥。"
            )
        if not failed:
            self.stdout.write("全部字段值均可用当前密钥环解密。")
        self._report_failures(failed)

    def _report_failures(self, failed: list[tuple[str, Any]]) -> None:
        if not failed:
            return
        for column, pk in failed:
            self.stderr.write(f"无法解密\t{column}\tid={pk}")
        raise CommandError(
            f"{len(failed)} 个字段值无法解密（密钥缺失或数据损坏），见上方列出的记录。",
            returncode=1,
        )


def _all_columns() -> list[str]:
    return [
        f"{label}.{column}"
        for label, columns in crypto.ENCRYPTED_FIELDS.items()
        for column in columns
    ]


def _batches(
    queryset: models.QuerySet[Any], columns: tuple[str, ...], batch_size: int
) -> Iterator[Any]:
    """The rows of `queryset` with only `columns` loaded, in primary-key order,
    one batch of `batch_size` at a time (keyset pagination: no OFFSET)."""
    last = None
    while True:
        page = queryset.order_by("pk").only("pk", *columns)
        if last is not None:
            page = page.filter(pk__gt=last)
        rows = list(page[:batch_size])
        if not rows:
            return
        yield from rows
        last = rows[-1].pk


def _reencrypt_model(
    model: type[models.Model],
    label: str,
    columns: tuple[str, ...],
    key_id: str,
    batch_size: int,
    dry_run: bool,
    tally: Tally,
) -> None:
    prefix = crypto.token_prefix(key_id)
    # Rows with a token not made by the current key. An exact comparison of the
    # prefix, not LIKE, which SQLite would compare without case (key ids have it).
    stale = Q()
    for column in columns:
        stale |= ~Q(**{column: ""}) & ~Q(Exact(Left(column, len(prefix)), Value(prefix)))
    last = None
    while True:
        with transaction.atomic():
            page = model._default_manager.filter(stale).order_by("pk").only("pk", *columns)
            if last is not None:
                page = page.filter(pk__gt=last)
            # Locked until the batch is written, so that an edit made meanwhile is
            # not overwritten (SQLite's IMMEDIATE transactions lock the whole file).
            rows = list(page.select_for_update()[:batch_size])
            if not rows:
                return
            changed = [row for row in rows if _reencrypt_row(row, label, columns, key_id, tally)]
            if changed and not dry_run:
                _write(model, changed, columns)
            last = rows[-1].pk


def _reencrypt_row(
    row: models.Model, label: str, columns: tuple[str, ...], key_id: str, tally: Tally
) -> bool:
    changed = False
    for column in columns:
        token = getattr(row, column)
        if not token or token.startswith(crypto.token_prefix(key_id)):
            continue
        try:
            plaintext = crypto.decrypt(token)
        except crypto.FieldKeyError:
            tally.failed.append((f"{label}.{column}", row.pk))
            continue
        setattr(row, column, crypto.encrypt(plaintext))
        tally.counts[f"{label}.{column}"] += 1
        changed = True
    return changed


def _write(model: type[models.Model], rows: list[models.Model], columns: tuple[str, ...]) -> None:
    """One UPDATE of `columns` by primary key, executed for every row.

    Not `bulk_update`: it builds a CASE WHEN per column with a branch per row,
    and resolving those expressions in Python dominated the run: writing 20,000
    elders' three tokens took 30 s that way against 3 s this way on SQLite, and
    20 s against 5.5 s on PostgreSQL. Like `bulk_update`, and unlike
    `save()`, it sends no model signals: django-auditlog writes no entry per row.
    """
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(_column_of(model, c))} = %s" for c in columns)
    # Identifiers from the model's metadata, quoted; the values are parameters.
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {quote(model._meta.pk.column)} = %s"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[getattr(row, c) for c in columns] + [row.pk] for row in rows])


def _column_of(model: type[models.Model], name: str) -> str:
    found = model._meta.get_field(name)
    if not isinstance(found, models.Field) or not found.column:
        raise TypeError(f"{model._meta.label}.{name} is not a column (crypto.ENCRYPTED_FIELDS)")
    return found.column

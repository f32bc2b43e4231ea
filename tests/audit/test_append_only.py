"""The audit table is append-only for the application itself (NONFUNCTIONAL.md
"Audit trail"): triggers installed by the migration (tanfang/audit/guard.py)
refuse every UPDATE and DELETE, on SQLite and PostgreSQL alike. Each refused
statement runs in its own savepoint so that the test's transaction survives."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models.deletion import ProtectedError

from tanfang.audit.actions import record
from tanfang.audit.models import Action, AuditEvent
from tests.conftest import COUNTY

TABLE = AuditEvent._meta.db_table


@pytest.fixture
def event(users):
    return record(
        Action.ACCOUNT_CREATED,
        actor=users["secadmin"],
        target=users["liaison_a"],
        detail={"username": "liaison_a"},
    )


def snapshot():
    return list(AuditEvent.objects.order_by("pk").values())


def test_it_appends_an_entry(event, users):
    stored = AuditEvent.objects.get()

    assert stored.action == Action.ACCOUNT_CREATED
    assert stored.actor == users["secadmin"]
    assert stored.region_code == COUNTY
    assert (stored.object_type, stored.object_id) == ("user", str(users["liaison_a"].pk))


def test_it_refuses_a_queryset_update(event):
    before = snapshot()

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(username="someone_else")

    assert snapshot() == before


def test_it_refuses_a_save_of_an_existing_entry(event):
    before = snapshot()
    event.detail = {"username": "forged"}

    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()

    assert snapshot() == before


def test_it_refuses_a_bulk_update(event):
    before = snapshot()
    event.region_code = ""

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["region_code"])

    assert snapshot() == before


def test_it_refuses_a_queryset_delete(event):
    before = snapshot()

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert snapshot() == before


def test_it_refuses_a_delete_of_every_entry(event):
    record(Action.LOGIN_FAILED, username="nobody")
    before = snapshot()

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()

    assert snapshot() == before


def test_it_refuses_an_instance_delete(event):
    before = snapshot()

    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()

    assert snapshot() == before


def test_it_refuses_a_raw_sql_update(event):
    before = snapshot()

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET username = %s", ["someone_else"])  # noqa: S608

    assert snapshot() == before


def test_it_refuses_a_raw_sql_delete(event):
    before = snapshot()

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608

    assert snapshot() == before


def test_it_refuses_a_truncate_on_postgresql(event):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE is refused above")
    before = snapshot()

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE}")

    assert snapshot() == before


def test_it_keeps_working_after_a_refused_change(event):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()

    record(Action.LOGIN_FAILED, username="nobody")

    assert AuditEvent.objects.count() == 2


def test_it_keeps_the_accounts_an_entry_names(event, users):
    with pytest.raises(ProtectedError), transaction.atomic():
        users["secadmin"].delete()

    assert AuditEvent.objects.get().actor == users["secadmin"]


def test_it_installs_the_triggers_with_the_migration(db):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE]
            )
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                [TABLE],
            )
        names = {row[0] for row in cursor.fetchall()}

    if connection.vendor == "sqlite":
        assert names == {f"{TABLE}_no_update", f"{TABLE}_no_delete"}
    else:
        assert names == {f"{TABLE}_no_change", f"{TABLE}_no_truncate"}

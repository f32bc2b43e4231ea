"""NONFUNCTIONAL.md "Encryption at rest": a database dump holds no plaintext ID
number, and no phone number either."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from tanfang.registry import crypto
from tanfang.registry.models import Elder


@pytest.fixture(autouse=True)
def few_elders(monkeypatch):
    monkeypatch.setattr("tanfang.demo.elders.ELDERS", 60)


def dump() -> str:
    """Every row of every table, as text: what `pg_dump` or `.dump` would hold."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            parts.extend(" ".join(str(value) for value in row) for row in cursor.fetchall())
    return "\n".join(parts)


def test_it_leaves_no_id_number_or_phone_of_the_demo_elders_in_a_dump(db):
    call_command("seed_demo", stdout=StringIO())
    elders = list(Elder.objects.all())
    ids = [crypto.decrypt(elder.id_number_token) for elder in elders]
    phones = [crypto.decrypt(elder.phone_token) for elder in elders]
    assert len(ids) == 60

    text = dump()

    assert [number for number in ids if number in text] == []
    assert [phone for phone in phones if phone in text] == []
    # The dump does hold the elders: it is the encryption, not an empty table.
    assert all(elder.name in text for elder in elders)

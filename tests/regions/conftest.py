"""Helpers for the tests of the administrative tree."""

from collections.abc import Iterator

import pytest
import time_machine

from tanfang.audit.models import AuditEvent
from tanfang.regions.models import Region
from tests.conftest import aware

NOW = aware(2026, 11, 23, 9, 0)

State = tuple[list[tuple[str, str, int, str, str | None]], int]


def csv_text(*lines: str, header: str = "code,name,kind") -> str:
    """A CSV file as uploaded: the header, then one line per row."""
    return "\n".join([header, *lines]) + "\n"


def tree_state() -> State:
    """Every node as (code, name, level, kind, parent) and the number of audit rows."""
    nodes = list(Region.objects.values_list("code", "name", "level", "kind", "parent_id"))
    return nodes, AuditEvent.objects.count()


@pytest.fixture
def now() -> Iterator[None]:
    """The clock frozen at 2026-11-23 09:00 in Asia/Shanghai; request it before `users`."""
    with time_machine.travel(NOW, tick=False):
        yield

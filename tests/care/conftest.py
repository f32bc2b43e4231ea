"""An elder of 村A with visitor_a responsible for them (包干), and the clock on
2026-11-23, for the closed loop."""

import uuid
from typing import Any

import pytest

from tanfang.visits.actions import record_visit
from tanfang.visits.models import Visit, Visitor
from tests.conftest import aware
from tests.visits.factories import GOOD, PNG, assign, follow_shishi, make_elder, make_visitor


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def elder(users, regions):
    """Assigned to visitor_a (包干): a visitor sees, and raises for, only the
    elders assigned to them (issue 16, access.assigned_only)."""
    follow_shishi(users)
    made = make_elder(users, regions, ability="severe", consents_to_photos=True)
    assign(users, made, make_visitor(users, regions))
    return made


@pytest.fixture
def visitor(users, elder):
    return Visitor.objects.get(user=users["visitor_a"])


def visit_of(users, elder, visitor, *, number: int, **overrides: Any) -> Visit:
    """A home visit of `elder` by visitor_a, everything answered well."""
    values: dict[str, Any] = {
        "acting_user": users["visitor_a"],
        "uuid": uuid.UUID(int=number),
        "elder": elder,
        "mode": "home",
        "visited_at": aware(2026, 11, 23, 9, 0),
        "visitors": [visitor],
        "answers": GOOD,
        "visitor_signature": PNG,
        "elder_signature": PNG,
    }
    values.update(overrides)
    return record_visit(**values).visit

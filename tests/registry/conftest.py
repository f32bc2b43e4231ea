"""Shared by the registry's tests: a visitor sees only the elders assigned to
them (包干, access.assigned_only), so a test acting as visitor_a first makes
the elder theirs."""

from collections.abc import Callable

import pytest

from tanfang.accounts.models import User
from tanfang.regions.models import Region
from tanfang.registry.models import Elder
from tanfang.visits.models import Visitor
from tests.visits.factories import assign, make_visitor


@pytest.fixture
def cover(users: dict[str, User], regions: dict[str, Region]) -> Callable[[Elder], Visitor]:
    """`cover(elder)`: assign `elder` to visitor_a's roster entry (made once)."""
    made: list[Visitor] = []

    def assign_to_visitor_a(elder: Elder) -> Visitor:
        if not made:
            made.append(make_visitor(users, regions))
        assign(users, elder, made[0])
        return made[0]

    return assign_to_visitor_a

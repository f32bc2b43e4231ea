"""An elder who dies or moves away leaves the registry (DOMAIN.md "The elder's
file"): their assignments end with the reason, and their open visit tasks are
cancelled, so no visitor is sent to an empty house."""

from datetime import date

import pytest

from tanfang.registry.actions import change_status
from tanfang.visits.models import Assignment, VisitTask
from tests.conftest import aware
from tests.visits.factories import assign, follow_shishi, make_elder, make_visitor


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


def test_it_ends_the_assignments_and_cancels_the_tasks_of_an_elder_who_died(users, regions):
    follow_shishi(users)
    elder = make_elder(users, regions, ability="severe")
    assignment = assign(users, elder, make_visitor(users, regions))
    assert VisitTask.objects.filter(elder=elder, cancelled_at__isnull=True).exists()

    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status="deceased",
        effective_on=date(2026, 11, 22),
        reason="病故",
    )

    assignment.refresh_from_db()
    assert assignment.ended_at is not None
    assert assignment.ended_by == users["liaison_a"]
    assert assignment.end_reason == "档案状态变更为“去世”"
    open_tasks = VisitTask.objects.filter(
        elder=elder,
        cancelled_at__isnull=True,
        done_at__isnull=True,
        window_end__gte=date(2026, 11, 23),
    )
    assert not open_tasks.exists()
    # History is kept: nothing deleted.
    assert Assignment.objects.filter(elder=elder).count() == 1

"""Excusing a visit task from the board (DOMAIN.md "Visits": excused — in
hospital, away, declined — with reason and who): the liaison picks the reason,
the task leaves the open ones, the board shows it excused; bad input stores
nothing; another village's task is a 404."""

from datetime import date

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.visits.models import VisitTask
from tests.conftest import VILLAGE_B, aware
from tests.visits.factories import make_elder, make_task


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def task(users, regions):
    elder = make_elder(users, regions)
    return make_task(elder, date(2026, 11, 16), date(2026, 11, 30), key="regular:page")


def url(task):
    return f"/visits/tasks/{task.pk}/excuse/"


def test_it_shows_the_task_and_the_reasons(client_for, task):
    response = client_for("liaison_a").get(url(task))

    assert response.status_code == 200
    html = response.content.decode()
    assert "半月上门探访" in html
    assert "住院" in html and "外出（不在家）" in html


def test_it_excuses_the_task_and_the_board_shows_it(client_for, users, task):
    client = client_for("liaison_a")

    response = client.post(url(task), {"reason": "hospital", "note": "肺炎住院"})

    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.excuse_reason, task.excuse_note, task.excused_by) == (
        "hospital",
        "肺炎住院",
        users["liaison_a"],
    )
    assert task.state_on(date(2026, 11, 23)) == "excused"
    assert AuditEvent.objects.filter(action=Action.TASK_EXCUSED).count() == 1
    board = client.get(response["Location"]).content.decode()
    assert "已免除" in board


def test_it_asks_for_a_note_when_the_reason_is_other(client_for, task):
    response = client_for("liaison_a").post(url(task), {"reason": "other", "note": ""})

    assert response.status_code == 200
    assert "请填写说明" in response.content.decode()
    task.refresh_from_db()
    assert task.excused_at is None
    assert not AuditEvent.objects.filter(action=Action.TASK_EXCUSED).exists()


def test_it_refuses_a_task_already_excused(client_for, task):
    client = client_for("liaison_a")
    client.post(url(task), {"reason": "away"})

    response = client.post(url(task), {"reason": "hospital"})

    assert response.status_code == 200
    assert "不能免除" in response.content.decode()
    assert VisitTask.objects.get(pk=task.pk).excuse_reason == "away"


def test_it_answers_404_for_another_villages_task(client_for, users, regions):
    other = make_elder(users, regions, 2, village=VILLAGE_B)
    task = make_task(other, date(2026, 11, 16), date(2026, 11, 30), key="regular:page")

    assert client_for("liaison_a").post(url(task), {"reason": "away"}).status_code == 404
    assert VisitTask.objects.get(pk=task.pk).excused_at is None


def test_a_visitor_may_not_excuse(client_for, task):
    assert client_for("visitor_a").get(url(task)).status_code == 403

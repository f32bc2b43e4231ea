"""The village board (/visits/board/, /visits/board/<code>/): every active elder of
the village with this month's visit status, the last visit and the responsible
visitors, counts at the top, a pinned number of queries; above a village, the
places below to choose from.

The clock stands on 2026-11-23; "this month" is November in Asia/Shanghai
(ARCHITECTURE.md: a month is a calendar month), as the monthly visit rate
counts it (DOMAIN.md "Supervision and reports").
"""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tanfang.registry.models import Elder, Status
from tanfang.visits.models import ExcuseReason, TaskKind, Visit, VisitTask
from tests.conftest import TOWNSHIP_A, TOWNSHIP_B, VILLAGE_A, VILLAGE_B, aware
from tests.visits.factories import assign, follow_shishi, make_elder, make_task, make_visitor


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


def elder_of(users, regions, sequence, **details):
    elder = make_elder(users, regions, sequence, **details)
    VisitTask.objects.filter(elder=elder).delete()
    return elder


def visit_of(users, elder, visitor, day, mode="home", uuid_int=1):
    visit = Visit.objects.create(
        uuid=f"00000000-0000-0000-0000-{uuid_int:012d}",
        content_hash="x",
        elder=elder,
        village_id=elder.village_id,
        sequence=Visit.objects.filter(elder=elder).count() + 1,
        mode=mode,
        visited_at=aware(2026, 11, day, 9, 0),
        recorded_by=users["visitor_a"],
        checklist="fujian",
    )
    visit.visitors.set([visitor])
    return visit


@pytest.fixture
def setting(users, regions):
    follow_shishi(users)
    visitor = make_visitor(users, regions)
    done = elder_of(users, regions, 1, ability="severe")
    due = elder_of(users, regions, 2)
    late = elder_of(users, regions, 3)
    missed = elder_of(users, regions, 4)
    excused = elder_of(users, regions, 5)
    no_task = elder_of(users, regions, 6)
    gone = elder_of(users, regions, 7)
    for elder in (done, due, late, missed, excused):
        assign(users, elder, visitor)

    first_half = make_task(done, date(2026, 11, 1), date(2026, 11, 15))
    second_half = make_task(done, date(2026, 11, 16), date(2026, 11, 30))
    visit = visit_of(users, done, visitor, 10)
    VisitTask.objects.filter(pk=first_half.pk).update(done_at=visit.visited_at, done_by_visit=visit)
    visit = visit_of(users, done, visitor, 20, uuid_int=2)
    VisitTask.objects.filter(pk=second_half.pk).update(
        done_at=visit.visited_at, done_by_visit=visit
    )
    make_task(due, date(2026, 11, 1), date(2026, 11, 30))
    make_task(late, date(2026, 11, 1), date(2026, 11, 20), date(2026, 11, 30))
    # Linzi-like: the first half was lost, the second is done; what was lost shows.
    make_task(missed, date(2026, 11, 1), date(2026, 11, 15))
    second = make_task(missed, date(2026, 11, 16), date(2026, 11, 30))
    VisitTask.objects.filter(pk=second.pk).update(done_at=aware(2026, 11, 17, 9, 0))
    excuse = make_task(excused, date(2026, 11, 1), date(2026, 11, 30))
    VisitTask.objects.filter(pk=excuse.pk).update(
        excused_at=aware(2026, 11, 5, 9, 0),
        excuse_reason=ExcuseReason.HOSPITAL,
        excused_by=users["liaison_a"],
    )
    # Not this month's: a task of October, one of December, a file review.
    make_task(no_task, date(2026, 10, 1), date(2026, 10, 31))
    make_task(no_task, date(2026, 12, 1), date(2026, 12, 15))
    make_task(no_task, date(2026, 11, 1), date(2026, 11, 30), kind=TaskKind.REVIEW, key="review")
    Elder.objects.filter(pk=gone.pk).update(status=Status.DECEASED)
    return {"done": done, "due": due, "late": late, "missed": missed, "excused": excused}


def statuses(response):
    return {row.elder.name: row.status for row in response.context["board"].rows}


def test_it_shows_every_active_elder_with_this_months_status(client_for, setting):
    response = client_for("liaison_a").get("/visits/board/")

    assert response.status_code == 200
    assert statuses(response) == {
        "老人1": "done",
        "老人2": "due",
        "老人3": "overdue",
        "老人4": "missed",
        "老人5": "excused",
        "老人6": "none",
    }
    counts = {key: n for key, _, n in response.context["board"].counts}
    assert counts == {
        "overdue": 1,
        "due": 1,
        "missed": 1,
        "done": 1,
        "excused": 1,
        "none": 1,
    }
    text = response.content.decode()
    assert "老人7" not in text
    assert "本月无探访任务" in text


def test_it_shows_the_last_visit_and_the_responsible_visitors(client_for, setting):
    response = client_for("liaison_a").get("/visits/board/")

    row = next(r for r in response.context["board"].rows if r.elder == setting["done"])
    assert row.last_visit_at == aware(2026, 11, 20, 9, 0)
    assert row.last_visit_mode == "上门探访"
    assert [v.name for v in row.visitors] == ["林秀英"]
    text = response.content.decode()
    assert "11月20日 上门探访" in text
    assert "未落实" in text  # 老人6 has no responsible visitor


def test_it_keeps_the_same_number_of_queries_whatever_the_number_of_elders(
    client_for, users, regions
):
    follow_shishi(users)
    visitor = make_visitor(users, regions)
    client = client_for("liaison_a")
    elder = elder_of(users, regions, 1)
    assign(users, elder, visitor)
    make_task(elder, date(2026, 11, 1), date(2026, 11, 30))
    with CaptureQueriesContext(connection) as one:
        client.get("/visits/board/")

    for sequence in range(2, 12):
        elder = elder_of(users, regions, sequence)
        assign(users, elder, visitor)
        make_task(elder, date(2026, 11, 1), date(2026, 11, 15))
        make_task(elder, date(2026, 11, 16), date(2026, 11, 30))
        visit_of(users, elder, visitor, 3, uuid_int=sequence)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/visits/board/")

    assert len(response.context["board"].rows) == 11
    assert len(many) == len(one)


def test_it_pins_the_boards_queries(client_for, setting, django_assert_num_queries):
    client = client_for("liaison_a")
    # The session, the user, the OTP device, the user's region (the board's
    # village and the bar), the user's visitor record, the elders with their
    # last visits, their month's tasks, their visitors, the month's visits
    # outside an assignment and the reports of a death or a move waiting
    # (issue 16), and the session's last-seen time (savepoint, update, release).
    with django_assert_num_queries(13):
        client.get("/visits/board/")


def test_a_township_officer_chooses_a_village(client_for, setting):
    client = client_for("township_a")

    response = client.get("/visits/board/")

    assert response.status_code == 200
    places = response.context["places"]
    assert [p.region.code for p in places] == [VILLAGE_A]
    assert (places[0].active, places[0].due, places[0].overdue) == (6, 1, 1)
    assert f'href="/visits/board/{VILLAGE_A}/"' in response.content.decode()

    board = client.get(f"/visits/board/{VILLAGE_A}/")
    assert statuses(board)["老人1"] == "done"


def test_a_county_officer_goes_down_by_township(client_for, setting):
    response = client_for("county").get("/visits/board/")

    assert [p.region.code for p in response.context["places"]] == [TOWNSHIP_A, TOWNSHIP_B]


def test_it_answers_404_for_a_village_outside_the_users_subtree(client_for, setting):
    assert client_for("liaison_a").get(f"/visits/board/{VILLAGE_B}/").status_code == 404
    assert client_for("township_b").get(f"/visits/board/{VILLAGE_A}/").status_code == 404
    assert client_for("county_other").get(f"/visits/board/{TOWNSHIP_A}/").status_code == 404


@pytest.mark.parametrize("username", ["visitor_a", "sysadmin", "auditor"])
def test_it_refuses_a_role_without_reports(client_for, setting, username):
    assert client_for(username).get("/visits/board/").status_code == 403


def test_it_offers_calling_and_recording_to_a_liaison_but_not_to_a_supervisor(
    client_for, users, setting
):
    Elder.objects.filter(pk=setting["due"].pk).update(phone_token="x")
    liaison = client_for("liaison_a").get("/visits/board/").content.decode()
    assert f'href="/visits/new/{setting["due"].pk}/"' in liaison
    assert f'href="/visits/call/{setting["due"].pk}/"' in liaison

    supervisor = client_for("supervisor").get(f"/visits/board/{VILLAGE_A}/").content.decode()
    assert "老人2" in supervisor
    assert "/visits/new/" not in supervisor
    assert "/visits/call/" not in supervisor

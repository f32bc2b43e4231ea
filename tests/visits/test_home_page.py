"""The visitor's home (/visits/): the open tasks of the elders assigned to the
visitor, grouped as due today, overdue, this period, upcoming and done; a masked
phone with a call button that logs the reveal; a pinned number of queries.

The clock stands on Monday 2026-11-23. The tasks the registry makes when an
elder is registered are removed, so that each test states its own windows.
"""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import crypto
from tanfang.visits.models import Assignment, TaskKind, Visit, VisitTask
from tests.conftest import VILLAGE_B, aware
from tests.visits.factories import assign, follow_shishi, make_elder, make_task, make_visitor

TODAY = date(2026, 11, 23)
PHONE = "13812345678"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


def elder_of(users, regions, sequence, **details):
    elder = make_elder(users, regions, sequence, **details)
    VisitTask.objects.filter(elder=elder).delete()
    return elder


@pytest.fixture
def visitor(users, regions):
    follow_shishi(users)
    return make_visitor(users, regions)


@pytest.fixture
def setting(users, regions, visitor):
    """Five elders of the visitor's, one of another visitor's, one no longer assigned."""
    due_today = elder_of(users, regions, 1, ability="severe", phone=PHONE)
    late = elder_of(users, regions, 2)
    this_period = elder_of(users, regions, 3)
    upcoming = elder_of(users, regions, 4)
    far = elder_of(users, regions, 5)
    others = elder_of(users, regions, 6)
    former = elder_of(users, regions, 7)
    for elder in (due_today, late, this_period, upcoming, far, former):
        assign(users, elder, visitor)
    colleague = make_visitor(users, regions, "王建国", user=None)
    assign(users, others, colleague)
    Assignment.objects.filter(elder=former).update(ended_at=aware(2026, 11, 1, 9, 0))

    # 000_4970ff49482a0570.txt 四(二): key objects a home visit every half month.
    make_task(due_today, date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30))
    make_task(due_today, date(2026, 11, 1), date(2026, 11, 30), kind=TaskKind.REVIEW, key="review")
    make_task(late, date(2026, 11, 1), date(2026, 11, 20), date(2026, 11, 30))
    make_task(late, date(2026, 10, 1), date(2026, 10, 20), date(2026, 10, 31), key="regular:10")
    make_task(this_period, date(2026, 11, 16), date(2026, 11, 30))
    done = make_task(this_period, date(2026, 11, 16), date(2026, 11, 30), key="festival:x")
    VisitTask.objects.filter(pk=done.pk).update(done_at=aware(2026, 11, 20, 9, 0))
    cancelled = make_task(this_period, date(2026, 11, 1), date(2026, 11, 30), key="regular:c")
    VisitTask.objects.filter(pk=cancelled.pk).update(cancelled_at=aware(2026, 11, 2, 9, 0))
    make_task(upcoming, date(2026, 12, 1), date(2026, 12, 15))
    make_task(far, date(2026, 12, 16), date(2026, 12, 31))
    make_task(others, date(2026, 11, 16), date(2026, 11, 23))
    make_task(former, date(2026, 11, 16), date(2026, 11, 23))
    return {"due_today": due_today, "late": late, "this_period": this_period, "upcoming": upcoming}


def names(rows):
    return [row.elder.name for row in rows]


def test_it_groups_the_open_tasks_of_the_visitors_elders(client_for, setting):
    response = client_for("visitor_a").get("/visits/")

    assert response.status_code == 200
    home = response.context["home"]
    assert names(home.due_today) == ["老人1"]
    assert names(home.overdue) == ["老人2"]
    assert names(home.this_period) == ["老人3"]
    assert names(home.upcoming) == ["老人4"]
    # One card per elder (issue 16): the festival done is on 老人3's card.
    assert names(home.done) == []
    assert [task.key for task in home.this_period[0].done] == ["festival:x"]
    text = response.content.decode()
    for heading in ("今天到期", "已逾期", "本期待访", "即将开始", "本期已完成"):
        assert heading in text
    for name in ("老人5", "老人6", "老人7"):
        assert name not in text


def test_it_shows_the_village_tier_and_reason_last_visit_and_a_masked_phone(
    client_for, users, setting, visitor
):
    elder = setting["due_today"]
    visit = Visit.objects.create(
        uuid="00000000-0000-0000-0000-000000000001",
        content_hash="x",
        elder=elder,
        village_id=elder.village_id,
        sequence=1,
        mode="phone",
        visited_at=aware(2026, 11, 10, 15, 0),
        recorded_by=users["visitor_a"],
        checklist="fujian",
    )
    visit.visitors.set([visitor])

    response = client_for("visitor_a").get("/visits/")

    row = response.context["home"].due_today[0]
    assert row.tier_label == elder.tier_label
    assert row.tier_label  # 中度以上失能: a key elder in 石狮
    assert row.last_visit_at == aware(2026, 11, 10, 15, 0)
    assert row.last_visit_mode == "电话探访"
    text = response.content.decode()
    assert "村A" in text
    assert crypto.mask_phone(PHONE) in text
    assert PHONE not in text
    assert f'href="/visits/call/{elder.pk}/"' in text
    assert f'href="/visits/new/{elder.pk}/"' in text


def test_it_keeps_the_same_number_of_queries_whatever_the_number_of_tasks(
    client_for, users, regions, visitor
):
    client = client_for("visitor_a")
    first = elder_of(users, regions, 1, phone=PHONE)
    assign(users, first, visitor)
    make_task(first, date(2026, 11, 16), date(2026, 11, 30))
    with CaptureQueriesContext(connection) as one:
        assert client.get("/visits/").status_code == 200

    for sequence in range(2, 12):
        elder = elder_of(users, regions, sequence, phone=PHONE)
        assign(users, elder, visitor)
        make_task(elder, date(2026, 11, 16), date(2026, 11, 30))
        make_task(elder, date(2026, 12, 1), date(2026, 12, 15))
    with CaptureQueriesContext(connection) as many:
        response = client.get("/visits/")

    assert len(response.context["home"].this_period) == 11
    assert len(many) == len(one)


def test_it_pins_the_home_pages_queries(client_for, setting, django_assert_num_queries):
    client = client_for("visitor_a")
    # The session, the user, the OTP device, the visitor's record, the user's
    # region (the bar), the tasks with their elders and last visits, the homes'
    # GPS fixes, the open emergencies, hazards and needs (care), and the
    # session's last-seen time (savepoint, update, release); nothing per row
    # (tests/visits/test_task_list.py pins it for 14 and 40 elders).
    with django_assert_num_queries(13):
        client.get("/visits/")


def test_it_sends_a_liaison_without_a_visitor_record_to_the_board(client_for, setting):
    response = client_for("liaison_a").get("/visits/")

    assert response.status_code == 302
    assert response["Location"] == "/visits/board/"


def test_it_tells_a_visitor_account_not_on_a_roster_so(client_for, users, regions):
    response = client_for("visitor_a").get("/visits/")

    assert response.status_code == 200
    assert "尚未登记为探访人员" in response.content.decode()


@pytest.mark.parametrize("username", ["supervisor", "sysadmin", "auditor"])
def test_it_refuses_a_role_that_does_not_record_visits(client_for, username):
    assert client_for(username).get("/visits/").status_code == 403


def test_it_shows_the_visit_just_saved_and_the_next_elder(client_for, users, setting, visitor):
    elder = setting["this_period"]
    visit = Visit.objects.create(
        uuid="00000000-0000-0000-0000-000000000002",
        content_hash="x",
        elder=elder,
        village_id=elder.village_id,
        sequence=4,
        mode="home",
        visited_at=timezone.now(),
        recorded_by=users["visitor_a"],
        checklist="fujian",
        counted=True,
    )
    VisitTask.objects.filter(elder=elder, key="regular:1").update(
        done_at=timezone.now(), done_by_visit=visit
    )

    response = client_for("visitor_a").get(f"/visits/?saved={visit.pk}")

    text = response.content.decode()
    assert "已保存老人3的第4次探访记录。" in text
    assert "已完成：半月上门探访" in text
    assert response.context["next_row"].elder == setting["due_today"]
    assert f'href="/visits/new/{setting["due_today"].pk}/"' in text


# --- The call button ----------------------------------------------------------------------


def test_it_dials_the_elder_for_the_assigned_visitor_and_logs_the_reveal(
    client_for, users, setting
):
    elder = setting["due_today"]

    response = client_for("visitor_a").get(f"/visits/call/{elder.pk}/")

    assert response.status_code == 302
    assert response["Location"] == f"tel:{PHONE}"
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action=Action.ELDER_REVEALED)
    assert (event.actor, event.object_id) == (users["visitor_a"], str(elder.pk))
    assert event.detail == {"field": "phone", "purpose": "call"}
    assert PHONE not in str(event.detail)


def test_it_dials_for_a_liaison_who_may_reveal(client_for, setting):
    response = client_for("liaison_a").get(f"/visits/call/{setting['due_today'].pk}/")

    assert response["Location"] == f"tel:{PHONE}"


def test_it_refuses_the_number_to_a_visitor_not_responsible_for_the_elder(
    client_for, users, regions, setting
):
    elder = elder_of(users, regions, 8, phone=PHONE)

    response = client_for("visitor_a").get(f"/visits/call/{elder.pk}/")

    # Not theirs: a visitor does not see the elder at all (issue 16, 包干).
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=Action.ELDER_REVEALED).exists()


def test_it_answers_404_for_an_elder_of_another_village(client_for, users, regions, setting):
    elder = make_elder(users, regions, 9, village=VILLAGE_B, phone=PHONE)

    response = client_for("liaison_a").get(f"/visits/call/{elder.pk}/")

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=Action.ELDER_REVEALED).exists()


def test_it_says_when_the_file_has_no_phone(client_for, setting):
    response = client_for("visitor_a").get(f"/visits/call/{setting['late'].pk}/", follow=True)

    assert "未登记联系电话" in response.content.decode()
    assert not AuditEvent.objects.filter(action=Action.ELDER_REVEALED).exists()


# --- The navigation ------------------------------------------------------------------------


def test_the_bar_leads_a_visitor_to_their_visits_and_a_liaison_to_the_board(client_for, setting):
    def labels(username):
        return [item["label"] for item in client_for(username).get("/").context["nav"]]

    assert "我的探访" in labels("visitor_a")
    assert "探访看板" not in labels("visitor_a")
    assert "探访看板" in labels("liaison_a")
    assert "我的探访" not in labels("liaison_a")
    assert "探访看板" in labels("supervisor")
    assert not {"我的探访", "探访看板"} & set(labels("auditor"))

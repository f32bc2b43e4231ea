"""Recording a visit after its month locked (补录, issue 16 "Closed months"):
stored as a late entry with its reason, completing no task and changing no
figure of its month; in time up to the last second before the lock; the
reason asked for by the action, the API (422) and the phone page; the bulk
path of a loaded history judged by when each visit was sent.

石狮 follows its own rules and locks on the 5th (the default): November's
figures lock at 00:00 on 5 December, Asia/Shanghai (docs/统计口径.md §13).
"""

import uuid
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from tanfang.audit.models import Action, AuditEvent
from tanfang.jurisdiction.models import PolicyChoice
from tanfang.reports.models import ElderMonth, VillageMonth
from tanfang.visits.actions import record_visit
from tanfang.visits.bulk import VisitBatch, VisitRow
from tanfang.visits.models import LateState, Visit, VisitTask
from tests.conftest import COUNTY, aware
from tests.visits.factories import (
    GOOD,
    PNG,
    assign,
    follow_shishi,
    make_elder,
    make_task,
    make_visitor,
)
from tests.visits.test_visit_form_page import posted

NOVEMBER = date(2026, 11, 1)
REASON = "村里没有信号，回镇上才提交"


@pytest.fixture
def setting(users, regions, time_machine):
    time_machine.move_to(aware(2026, 11, 1, 8, 0), tick=False)
    follow_shishi(users)
    elder = make_elder(users, regions, ability="severe")  # 重点对象: a home visit each half month
    VisitTask.objects.filter(elder=elder).delete()
    visitor = make_visitor(users, regions)
    assign(users, elder, visitor)
    first = make_task(elder, date(2026, 11, 1), date(2026, 11, 15), key="regular:1")
    second = make_task(elder, date(2026, 11, 16), date(2026, 11, 30), key="regular:1")
    return {"elder": elder, "visitor": visitor, "first": first, "second": second}


def visit(users, setting, **overrides):
    values = {
        "acting_user": users["visitor_a"],
        "uuid": uuid.UUID(int=1),
        "elder": setting["elder"],
        "mode": "home",
        "visited_at": aware(2026, 11, 14, 10, 0),
        "visitors": [setting["visitor"]],
        "answers": GOOD,
        "visitor_signature": PNG,
        "elder_signature": PNG,
    }
    values.update(overrides)
    return record_visit(**values).visit


def november_figures():
    rows = sorted(ElderMonth.objects.filter(month=NOVEMBER).values_list("elder_id", "visits"))
    counters = sorted(
        VillageMonth.objects.filter(month=NOVEMBER).values_list(
            "village_id", "dimension", "counted", "visited", "compliant"
        )
    )
    return rows, counters


# --- In time, late --------------------------------------------------------------------------


def test_a_visit_of_14_november_entered_on_4_december_counts(users, setting, time_machine):
    time_machine.move_to(aware(2026, 12, 4, 10, 0), tick=False)

    stored = visit(users, setting)

    assert stored.late_state == ""
    assert stored.counted
    assert VisitTask.objects.get(pk=setting["first"].pk).done_by_visit == stored
    assert ElderMonth.objects.get(elder=setting["elder"], month=NOVEMBER).visited


def test_a_visit_of_14_november_entered_on_7_december_waits_and_changes_nothing(
    users, setting, time_machine
):
    time_machine.move_to(aware(2026, 12, 4, 20, 0), tick=False)
    visit(users, setting, uuid=uuid.UUID(int=9), visited_at=aware(2026, 11, 20, 9, 0))
    time_machine.move_to(aware(2026, 12, 7, 9, 0), tick=False)
    before = november_figures()
    assert before[0] == [(setting["elder"].pk, 1)]

    stored = visit(users, setting, late_reason=f"  {REASON}  ")

    assert stored.late_state == LateState.PENDING
    assert stored.late_reason == REASON
    assert not stored.counted
    assert stored.not_counted_reason.startswith("补录待审核：11月的数字已于12月5日0时锁定")
    assert not stored.completed_tasks.exists()
    # Counted, it would have been the first half's home visit.
    assert VisitTask.objects.get(pk=setting["first"].pk).done_at is None
    assert november_figures() == before
    event = AuditEvent.objects.get(action=Action.VISIT_RECORDED, object_id=str(stored.pk))
    assert event.detail["late_state"] == "pending"
    assert event.detail["locked_at"] == "2026-12-05T00:00:00+08:00"
    assert event.detail["tasks_done"] == []


def test_the_last_second_before_the_lock_is_in_time(users, setting, time_machine):
    time_machine.move_to(aware(2026, 12, 4, 23, 59, 59), tick=False)
    assert visit(users, setting).late_state == ""

    time_machine.move_to(aware(2026, 12, 5, 0, 0, 0), tick=False)
    late = visit(users, setting, uuid=uuid.UUID(int=2), late_reason=REASON)
    assert late.late_state == LateState.PENDING


def test_a_visit_at_half_past_midnight_on_1_december_is_a_december_visit(
    users, setting, time_machine
):
    time_machine.move_to(aware(2026, 12, 7, 9, 0), tick=False)
    # 30 November 16:30 UTC: December in Shanghai, whose figures are open.
    stored = visit(users, setting, visited_at=aware(2026, 12, 1, 0, 30))

    assert stored.late_state == ""


def test_it_refuses_a_late_visit_without_its_reason_and_stores_nothing(
    users, setting, time_machine
):
    time_machine.move_to(aware(2026, 12, 7, 9, 0), tick=False)

    for reason in ("", "   "):
        with pytest.raises(ValidationError) as refused:
            visit(users, setting, late_reason=reason)
        assert refused.value.message_dict == {
            "late_reason": [
                "11月的数字已于12月5日0时锁定，本次为补录：请填写补录原因（为什么现在才录入）。"
            ]
        }
    with pytest.raises(ValidationError) as refused:
        visit(users, setting, late_reason="很" * 501)
    assert refused.value.message_dict == {"late_reason": ["补录原因不能超过500字。"]}
    assert not Visit.objects.exists()


def test_a_reason_given_for_a_visit_in_time_is_not_kept(users, setting, time_machine):
    time_machine.move_to(aware(2026, 11, 14, 18, 0), tick=False)

    stored = visit(users, setting, late_reason=REASON)

    assert (stored.late_state, stored.late_reason, stored.counted) == ("", "", True)


def test_a_county_that_locks_on_the_10th_takes_the_visit_in_time(users, setting, time_machine):
    PolicyChoice.objects.filter(region_id=COUNTY).update(overrides={"close_day": 10})
    time_machine.move_to(aware(2026, 12, 7, 9, 0), tick=False)

    assert visit(users, setting).counted

    time_machine.move_to(aware(2026, 12, 10, 0, 0), tick=False)
    late = visit(users, setting, uuid=uuid.UUID(int=2), late_reason=REASON)
    assert late.late_state == LateState.PENDING
    assert "12月10日0时锁定" in late.not_counted_reason


def test_the_same_visit_sent_again_after_the_lock_is_the_one_stored_in_time(
    users, setting, time_machine
):
    time_machine.move_to(aware(2026, 12, 4, 10, 0), tick=False)
    first = visit(users, setting)
    time_machine.move_to(aware(2026, 12, 7, 9, 0), tick=False)

    again = record_visit(
        acting_user=users["visitor_a"],
        uuid=uuid.UUID(int=1),
        elder=setting["elder"],
        mode="home",
        visited_at=aware(2026, 11, 14, 10, 0),
        visitors=[setting["visitor"]],
        answers=GOOD,
        visitor_signature=PNG,
        elder_signature=PNG,
    )

    assert not again.created
    assert again.visit.pk == first.pk
    assert Visit.objects.get().late_state == ""


# --- Refused: the future, before the file ------------------------------------------------------


def test_it_refuses_a_visit_in_the_future_beyond_the_phones_clock_skew(
    users, setting, time_machine
):
    now = aware(2026, 12, 7, 9, 0)
    time_machine.move_to(now, tick=False)

    with pytest.raises(ValidationError) as refused:
        visit(users, setting, visited_at=now + timedelta(minutes=6))
    assert refused.value.message_dict == {"visited_at": ["探访时间不能晚于现在。"]}
    # A phone a few minutes fast (actions.CLOCK_SKEW) is not refused.
    assert visit(users, setting, visited_at=now + timedelta(minutes=4)).late_state == ""


def test_it_refuses_a_visit_before_the_elder_was_registered(users, setting, time_machine):
    time_machine.move_to(aware(2026, 12, 7, 9, 0), tick=False)

    with pytest.raises(ValidationError) as refused:
        visit(users, setting, visited_at=aware(2026, 1, 9, 10, 0), late_reason=REASON)

    assert refused.value.message_dict == {
        "visited_at": ["探访时间早于该老人的建档日期（2026年01月10日）。"]
    }
    assert not Visit.objects.exists()


# --- The API -------------------------------------------------------------------------------------


def api_body(setting, **overrides):
    data = {
        "uuid": str(uuid.UUID(int=7)),
        "elder_id": setting["elder"].pk,
        "mode": "home",
        "visited_at": "2026-11-14T10:00:00+08:00",
        "answers": GOOD,
        "visitor_signature": PNG,
        "elder_signature": PNG,
    }
    data.update(overrides)
    return data


def test_the_api_answers_422_naming_the_reason_and_201_with_the_state(
    client_for, setting, time_machine
):
    time_machine.move_to(aware(2026, 12, 7, 9, 0), tick=False)
    client = client_for("visitor_a")

    refused = client.post("/api/v1/visits", api_body(setting), content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["detail"] == [
        {
            "loc": ["body", "payload", "late_reason"],
            "msg": "11月的数字已于12月5日0时锁定，本次为补录：请填写补录原因（为什么现在才录入）。",
            "type": "value_error",
        }
    ]
    assert not Visit.objects.exists()

    stored = client.post(
        "/api/v1/visits", api_body(setting, late_reason=REASON), content_type="application/json"
    )
    assert stored.status_code == 201, stored.content
    assert stored.json()["late_state"] == "pending"
    assert stored.json()["counted"] is False
    assert stored.json()["tasks_done"] == []
    read = client.get(f"/api/v1/visits/{stored.json()['id']}")
    assert read.json()["late_state"] == "pending"


def test_a_visit_in_time_has_no_late_state_in_the_api(client_for, setting, time_machine):
    time_machine.move_to(aware(2026, 12, 4, 9, 0), tick=False)

    response = client_for("visitor_a").post(
        "/api/v1/visits", api_body(setting), content_type="application/json"
    )

    assert response.status_code == 201
    assert response.json()["late_state"] == ""
    assert response.json()["counted"] is True


# --- The phone page -------------------------------------------------------------------------------


def test_the_page_asks_for_the_reason_when_the_chosen_day_is_locked(
    client_for, setting, time_machine
):
    time_machine.move_to(aware(2026, 12, 7, 9, 0), tick=False)
    client = client_for("visitor_a")
    elder = setting["elder"]

    page = client.get(f"/visits/new/{elder.pk}/").content.decode()
    # Today's visit: the field is there, folded away.
    assert 'class="late-reason" id="late-reason"' in page
    assert 'name="late_reason"' in page

    check = client.get(
        f"/visits/check/{elder.pk}/", {"mode": "home", "visited_at": "2026-11-14T10:00"}
    ).content.decode()
    # The check under the mode says so; the page's CSS then shows the field
    # (.visit-form:has(.late-month) .late-reason).
    assert 'class="warnbox late-month"' in check
    assert "11月的数字已于12月5日0时锁定，本次为补录：请在下面填写补录原因" in check
    today = client.get(
        f"/visits/check/{elder.pk}/", {"mode": "home", "visited_at": "2026-12-07T08:00"}
    ).content.decode()
    assert "late-month" not in today


def test_the_page_keeps_the_form_and_names_the_reason_when_it_is_missing(
    client_for, setting, time_machine
):
    time_machine.move_to(aware(2026, 12, 7, 9, 0), tick=False)
    client = client_for("visitor_a")
    elder = setting["elder"]

    response = client.post(
        f"/visits/new/{elder.pk}/", posted(setting, visited_at="2026-11-14T10:00")
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="late-reason is-open" id="late-reason"' in page
    assert "补录原因：11月的数字已于12月5日0时锁定" in page
    assert not Visit.objects.exists()

    saved = client.post(
        f"/visits/new/{elder.pk}/",
        posted(setting, visited_at="2026-11-14T10:00", late_reason=REASON),
    )
    assert saved.status_code == 302
    stored = Visit.objects.get()
    assert (stored.late_state, stored.late_reason) == (LateState.PENDING, REASON)


# --- A loaded history (the demo's) ---------------------------------------------------------


def row(users, setting, **overrides):
    values = {
        "acting_user": users["liaison_a"],
        "uuid": uuid.UUID(int=5),
        "elder": setting["elder"],
        "mode": "home",
        "visited_at": aware(2026, 11, 14, 10, 0),
        "visitors": [setting["visitor"]],
        "answers": GOOD,
        "refused": False,
        "needs_found": [],
        "services_given": "",
        "visitor_signature": PNG,
        "elder_signature": PNG,
        "started_at": None,
        "ended_at": None,
        "latitude": None,
        "longitude": None,
        "location_accuracy": None,
        "recorded_at": aware(2026, 11, 14, 11, 0),
    }
    values.update(overrides)
    return VisitRow(**values)


def test_a_history_sent_at_the_time_is_not_late_months_later(users, setting, time_machine):
    time_machine.move_to(aware(2027, 3, 1, 9, 0), tick=False)
    batch = VisitBatch([setting["elder"].pk])

    batch.add(row(users, setting))
    batch.flush()

    stored = Visit.objects.get()
    assert (stored.late_state, stored.counted) == ("", True)
    assert stored.recorded_at == aware(2026, 11, 14, 11, 0)
    assert VisitTask.objects.get(pk=setting["first"].pk).done_by_visit == stored


def test_a_history_sent_after_the_lock_is_late_as_record_visit_makes_it(
    users, setting, time_machine
):
    time_machine.move_to(aware(2027, 3, 1, 9, 0), tick=False)
    batch = VisitBatch([setting["elder"].pk])
    sent = aware(2026, 12, 8, 9, 0)

    with pytest.raises(ValidationError) as refused:
        batch.add(row(users, setting, recorded_at=sent))
    assert list(refused.value.message_dict) == ["late_reason"]
    batch.add(row(users, setting, recorded_at=sent, late_reason=REASON))
    batch.flush()

    stored = Visit.objects.get()
    assert (stored.late_state, stored.late_reason, stored.counted) == ("pending", REASON, False)
    assert VisitTask.objects.get(pk=setting["first"].pk).done_at is None
    event = AuditEvent.objects.get(action=Action.VISIT_RECORDED)
    assert event.detail["late_state"] == "pending"


def test_record_visit_takes_the_time_a_history_was_sent(users, setting, time_machine):
    # The demo stores a history's visits that found something through
    # record_visit, sent when they were: not late however old.
    time_machine.move_to(aware(2027, 3, 1, 9, 0), tick=False)

    stored = visit(users, setting, recorded_at=aware(2026, 11, 14, 11, 0))

    assert (stored.late_state, stored.counted) == ("", True)
    assert stored.recorded_at == aware(2026, 11, 14, 11, 0)

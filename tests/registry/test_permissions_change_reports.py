"""A death or a move: the visitor reports it, the liaison (or the township)
confirms it, which changes the file's status through the registry's own
action, or rejects it with the reason (issue 16). Audited; nothing deleted."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry.change_reports import (
    confirm_change_report,
    reject_change_report,
    report_change,
)
from tanfang.registry.models import ChangeReport, ReportState, Status, StatusChange
from tanfang.visits.models import Assignment, VisitTask
from tests.conftest import aware
from tests.visits.factories import assign, follow_shishi, make_elder, make_visitor

DAY = date(2026, 11, 21)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def elder(users, regions):
    follow_shishi(users)
    elder = make_elder(users, regions, 1)
    assign(users, elder, make_visitor(users, regions))
    return elder


def report(users, elder, **overrides):
    arguments = {
        "acting_user": users["visitor_a"],
        "elder": elder,
        "to_status": Status.DECEASED,
        "occurred_on": DAY,
        "note": "家属告知，夜间病故",
    }
    arguments.update(overrides)
    return report_change(**arguments)


def audited(action):
    return list(AuditEvent.objects.filter(action=action).values_list("actor__username", flat=True))


# --- Reporting ----------------------------------------------------------------------------


def test_a_visitor_reports_a_death_and_the_file_waits(users, elder):
    made = report(users, elder)

    elder.refresh_from_db()
    assert elder.status == Status.ACTIVE
    assert (made.state, made.reported_by, made.occurred_on) == (
        ReportState.PENDING,
        users["visitor_a"],
        DAY,
    )
    assert audited(Action.CHANGE_REPORTED) == ["visitor_a"]
    assert not StatusChange.objects.exists()


def test_the_same_report_again_stores_nothing_more(users, elder):
    first = report(users, elder)

    again = report(users, elder)

    assert again.pk == first.pk and again.replayed
    assert ChangeReport.objects.count() == 1
    assert len(audited(Action.CHANGE_REPORTED)) == 1


def test_another_report_while_one_waits_is_refused(users, elder):
    report(users, elder)

    with pytest.raises(ValidationError) as raised:
        report(users, elder, to_status=Status.MOVED_AWAY, destination="厦门")

    assert "已有一条待确认的报告" in raised.value.message_dict["to_status"][0]
    assert ChangeReport.objects.count() == 1


def test_a_visitor_reports_only_for_an_elder_assigned_to_them(users, regions, elder):
    other = make_elder(users, regions, 2)

    with pytest.raises(PermissionDenied):
        report(users, other)

    assert not ChangeReport.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"to_status": Status.ACTIVE}, "to_status", "请选择报告的情况（去世、迁出或入住机构）。"),
        ({"occurred_on": date(2026, 11, 24)}, "occurred_on", "发生日期不能晚于今天。"),
        ({"occurred_on": date(1930, 1, 1)}, "occurred_on", "发生日期不能早于出生日期。"),
        ({"note": "病" * 201}, "note", "说明不能超过200字。"),
        ({"note": "病\x00故"}, "note", "说明含有无法保存的控制字符，请删除后重新填写。"),
    ],
)
def test_a_bad_report_is_refused_with_the_field_and_nothing_stored(
    users, elder, overrides, field, message
):
    with pytest.raises(ValidationError) as raised:
        report(users, elder, **overrides)

    assert raised.value.message_dict[field] == [message]
    assert not ChangeReport.objects.exists()


def test_the_visitor_reports_from_the_file_page(client_for, users, elder):
    client = client_for("visitor_a")
    assert (
        f"/elders/{elder.pk}/report-change/" in client.get(f"/elders/{elder.pk}/").content.decode()
    )

    response = client.post(
        f"/elders/{elder.pk}/report-change/",
        {"to_status": "moved_away", "occurred_on": "2026-11-20", "destination": "厦门 女儿家"},
    )

    assert response.status_code == 302
    made = ChangeReport.objects.get()
    assert (made.to_status, made.destination) == ("moved_away", "厦门 女儿家")
    page = client.get(response["Location"]).content.decode()
    assert "等待村(居)联络员确认" in page
    assert f"/elders/{elder.pk}/report-change/" not in page  # one at a time


def test_the_report_form_names_a_bad_date_and_stores_nothing(client_for, elder):
    response = client_for("visitor_a").post(
        f"/elders/{elder.pk}/report-change/", {"to_status": "deceased", "occurred_on": "明天"}
    )

    assert response.status_code == 200
    assert "发生日期：请填写正确的日期。" in response.content.decode()
    assert not ChangeReport.objects.exists()


@pytest.mark.parametrize("username", ["supervisor", "auditor"])
def test_a_role_that_does_not_visit_may_not_report(client_for, elder, username):
    response = client_for(username).post(
        f"/elders/{elder.pk}/report-change/", {"to_status": "deceased", "occurred_on": "2026-11-21"}
    )

    assert response.status_code == 403
    assert not ChangeReport.objects.exists()


# --- Confirming and rejecting -------------------------------------------------------------


def test_the_liaison_confirms_and_the_status_changes_through_the_registry(users, elder):
    made = report(users, elder)
    assert VisitTask.objects.filter(elder=elder, cancelled_at=None).exists()

    confirm_change_report(acting_user=users["liaison_a"], report=made, note="已电话核实")

    elder.refresh_from_db()
    made.refresh_from_db()
    change = StatusChange.objects.get()
    assert elder.status == Status.DECEASED
    assert (change.to_status, change.effective_on, change.changed_by) == (
        Status.DECEASED,
        DAY,
        users["liaison_a"],
    )
    assert change.reason == "visitor_a报告去世：家属告知，夜间病故；确认意见：已电话核实"
    assert (made.state, made.decided_by, made.status_change) == (
        ReportState.CONFIRMED,
        users["liaison_a"],
        change,
    )
    # tanfang.refresh followed: the tasks owed end, and so does the assignment.
    assert not VisitTask.objects.filter(elder=elder, cancelled_at=None, done_at=None).exists()
    assert not Assignment.objects.filter(elder=elder, ended_at=None).exists()
    assert audited(Action.CHANGE_REPORT_CONFIRMED) == ["liaison_a"]
    assert audited(Action.ELDER_STATUS_CHANGED) == ["liaison_a"]


def test_confirming_again_changes_nothing(users, elder):
    made = report(users, elder)
    confirm_change_report(acting_user=users["liaison_a"], report=made)

    confirm_change_report(acting_user=users["township_a"], report=made)

    assert StatusChange.objects.count() == 1
    assert len(audited(Action.CHANGE_REPORT_CONFIRMED)) == 1


def test_a_move_needs_where_to_before_it_is_confirmed(users, elder):
    made = report(users, elder, to_status=Status.MOVED_AWAY)

    with pytest.raises(ValidationError) as raised:
        confirm_change_report(acting_user=users["liaison_a"], report=made)
    assert raised.value.message_dict == {"destination": ["请填写迁往何处。"]}
    made.refresh_from_db()
    assert made.state == ReportState.PENDING

    confirm_change_report(acting_user=users["liaison_a"], report=made, destination="厦门")

    elder.refresh_from_db()
    assert (elder.status, StatusChange.objects.get().destination) == (Status.MOVED_AWAY, "厦门")


def test_the_liaison_rejects_with_a_reason_and_the_file_stays(users, elder):
    made = report(users, elder)

    with pytest.raises(ValidationError) as raised:
        reject_change_report(acting_user=users["liaison_a"], report=made, note=" ")
    assert raised.value.message_dict == {"note": ["请填写驳回原因。"]}

    reject_change_report(acting_user=users["liaison_a"], report=made, note="老人住院，未去世")

    made.refresh_from_db()
    elder.refresh_from_db()
    assert (made.state, made.decision_note) == (ReportState.REJECTED, "老人住院，未去世")
    assert elder.status == Status.ACTIVE
    assert audited(Action.CHANGE_REPORT_REJECTED) == ["liaison_a"]
    with pytest.raises(ValidationError):
        confirm_change_report(acting_user=users["liaison_a"], report=made)
    assert not StatusChange.objects.exists()


@pytest.mark.parametrize("username", ["visitor_a", "supervisor", "liaison_b", "township_b"])
def test_no_one_but_the_village_and_its_township_and_county_decides(users, elder, username):
    made = report(users, elder)

    with pytest.raises(PermissionDenied):
        confirm_change_report(acting_user=users[username], report=made)
    with pytest.raises(PermissionDenied):
        reject_change_report(acting_user=users[username], report=made, note="x")

    made.refresh_from_db()
    assert made.state == ReportState.PENDING


@pytest.mark.parametrize("username", ["liaison_a", "township_a", "county"])
def test_the_village_its_township_and_its_county_confirm(users, elder, username):
    confirm_change_report(acting_user=users[username], report=report(users, elder))

    elder.refresh_from_db()
    assert elder.status == Status.DECEASED


# --- The liaison's pages ------------------------------------------------------------------


def test_the_liaison_sees_the_report_waiting_and_confirms_it_on_the_page(client_for, users, elder):
    made = report(users, elder)
    client = client_for("liaison_a")
    assert "1</strong> 条探访人员报告" in client.get("/elders/").content.decode()
    assert "1</strong> 条待确认" in client.get("/visits/board/").content.decode()
    assert f"/elders/changes/{made.pk}/" in client.get(f"/elders/{elder.pk}/").content.decode()
    listed = client.get("/elders/changes/")
    assert [r.pk for r in listed.context["waiting"]] == [made.pk]

    response = client.post(
        f"/elders/changes/{made.pk}/",
        {"decision": "confirm", "confirm-effective_on": "2026-11-21", "confirm-note": "已核实"},
    )

    assert response.status_code == 302
    elder.refresh_from_db()
    assert elder.status == Status.DECEASED
    assert client.get("/elders/changes/").context["waiting"] == []


def test_the_liaison_rejects_on_the_page_and_must_say_why(client_for, users, elder):
    made = report(users, elder)
    client = client_for("liaison_a")

    empty = client.post(f"/elders/changes/{made.pk}/", {"decision": "reject"})
    assert empty.status_code == 200
    assert "驳回原因：请填写驳回原因。" in empty.content.decode()

    client.post(
        f"/elders/changes/{made.pk}/", {"decision": "reject", "reject-note": "老人仍在本村居住"}
    )

    made.refresh_from_db()
    assert made.state == ReportState.REJECTED


@pytest.mark.parametrize(("username", "status"), [("liaison_b", 404), ("visitor_a", 403)])
def test_the_decision_page_is_closed_to_others(client_for, users, elder, username, status):
    made = report(users, elder)

    response = client_for(username).post(
        f"/elders/changes/{made.pk}/", {"decision": "confirm", "confirm-effective_on": "2026-11-21"}
    )

    assert response.status_code == status
    elder.refresh_from_db()
    assert elder.status == Status.ACTIVE


def test_the_list_of_reports_takes_a_fixed_number_of_queries(
    client_for, users, regions, elder, django_assert_num_queries
):
    visitor = users["visitor_a"]
    for n in range(2, 6):
        other = make_elder(users, regions, n)
        assign(users, other, elder.assignments.get().visitor)
        report_change(acting_user=visitor, elder=other, to_status="deceased", occurred_on=DAY)
    client = client_for("liaison_a")

    # Session, user, OTP device, region; the waiting reports and the decided
    # ones with their elders and people; the session's last-seen time
    # (savepoint, update, release).
    with django_assert_num_queries(9):
        response = client.get("/elders/changes/")

    assert len(response.context["waiting"]) == 4

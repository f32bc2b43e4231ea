"""补录审核 pages (/visits/late/, /visits/late/<id>/): the late entries a
township or county officer may decide, scoped to their subtree, paginated with
a fixed number of queries; approving or refusing with a note from the list or
the entry's page; a liaison and a visitor refused; bad parameters answered 400
in Chinese (issue 16 "Closed months")."""

import re
import uuid
from datetime import date, timedelta

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.visits.actions import record_visit
from tanfang.visits.late import approve_late
from tanfang.visits.models import LateState, Visit, VisitTask
from tests.conftest import OTHER_COUNTY, TOWNSHIP_A, aware
from tests.visits.factories import (
    GOOD,
    PNG,
    TOWNSHIP_B,
    assign,
    follow_shishi,
    make_elder,
    make_task,
    make_visitor,
)

NOTE = "已电话核实，确于当日上门探访"
LIST = "/visits/late/"


@pytest.fixture
def setting(users, regions, time_machine):
    time_machine.move_to(aware(2026, 11, 1, 8, 0), tick=False)
    follow_shishi(users)
    visitor = make_visitor(users, regions)
    visitor_b = make_visitor(
        users, regions, "陈国强", township=TOWNSHIP_B, villages=("350581101201",), user=None
    )
    elder = make_elder(users, regions, 1, ability="severe")
    elder_b = make_elder(users, regions, 2, village="350581101201")
    VisitTask.objects.filter(elder__in=[elder, elder_b]).delete()
    assign(users, elder, visitor)
    assign(users, elder_b, visitor_b)
    first = make_task(elder, date(2026, 11, 1), date(2026, 11, 15), key="regular:1")
    time_machine.move_to(aware(2026, 12, 7, 9, 0), tick=False)
    late = late_visit(users, elder, visitor, 1, aware(2026, 11, 14, 10, 0))
    late_b = late_visit(users, elder_b, visitor_b, 2, aware(2026, 11, 20, 15, 0), "liaison_b")
    time_machine.move_to(aware(2026, 12, 8, 10, 30), tick=False)
    return {"elder": elder, "visitor": visitor, "first": first, "late": late, "late_b": late_b}


def late_visit(users, elder, visitor, number, at, who="visitor_a"):
    return record_visit(
        acting_user=users[who],
        uuid=uuid.UUID(int=number),
        elder=elder,
        mode="home",
        visited_at=at,
        visitors=[visitor],
        answers=GOOD,
        visitor_signature=PNG,
        elder_signature=PNG,
        late_reason=f"第{number}条：村里没有信号，回镇上才提交",
    ).visit


def names(response):
    return re.findall(r'<a class="name" href="[^"]+">([^<]+)</a>', response.content.decode())


# --- The list -----------------------------------------------------------------------------------


def test_the_county_sees_every_late_entry_of_the_county_waiting(client_for, setting):
    response = client_for("county").get(LIST)

    assert response.status_code == 200
    page = response.content.decode()
    assert names(response) == ["老人1", "老人2"]
    assert "第1条：村里没有信号，回镇上才提交" in page
    assert "待审核：共 2 条" in page
    assert "no-store" in response["Cache-Control"]


def test_a_township_sees_only_its_own(client_for, setting):
    assert names(client_for("township_a").get(LIST)) == ["老人1"]
    assert names(client_for("township_b").get(LIST)) == ["老人2"]
    assert names(client_for("county_other").get(LIST)) == []


@pytest.mark.parametrize("who", ["liaison_a", "visitor_a", "supervisor", "auditor"])
def test_a_liaison_a_visitor_and_the_others_are_refused(client_for, setting, who):
    assert client_for(who).get(LIST).status_code == 403
    response = client_for(who).post(
        f"/visits/late/{setting['late'].pk}/", {"decision": "approve", "note": NOTE}
    )
    assert response.status_code == 403
    assert Visit.objects.get(pk=setting["late"].pk).late_state == LateState.PENDING


def test_it_filters_by_place_and_month_as_the_report_links_it(client_for, setting):
    client = client_for("county")

    assert names(client.get(LIST, {"code": TOWNSHIP_A, "month": "2026-11"})) == ["老人1"]
    assert names(client.get(LIST, {"month": "2026-10"})) == []
    assert client.get(LIST, {"code": OTHER_COUNTY}).status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"state": "whatever"}, "状态应为“待审核”或“已审核”。"),
        ({"month": "2026-13"}, "月份应写作 2026-11。"),
        ({"month": "November"}, "月份应写作 2026-11。"),
    ],
)
def test_it_answers_bad_parameters_with_400_in_chinese(client_for, setting, query, message):
    response = client_for("county").get(LIST, query)

    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_decided_tab_lists_the_decisions_newest_first(client_for, users, setting, time_machine):
    approve_late(acting_user=users["county"], visit=setting["late_b"], note="同意")
    time_machine.move_to(aware(2026, 12, 8, 11, 0), tick=False)
    approve_late(acting_user=users["county"], visit=setting["late"], note=NOTE)

    response = client_for("county").get(LIST, {"state": "decided"})

    assert names(response) == ["老人1", "老人2"]
    assert f"{NOTE}" in response.content.decode()
    assert names(client_for("county").get(LIST)) == []


def test_the_list_takes_a_fixed_number_of_queries_and_pages_by_20(
    client_for, users, regions, setting, time_machine, django_assert_num_queries
):
    client = client_for("county")
    # The session, the user, the OTP device, the region; the count, the page,
    # its visitors; the session's last-seen time (savepoint, update, release).
    expected = 4 + 3 + 3
    with django_assert_num_queries(expected):
        client.get(LIST)
    time_machine.move_to(aware(2026, 12, 7, 9, 0), tick=False)
    for number in range(3, 28):
        late_visit(
            users,
            setting["elder"],
            setting["visitor"],
            number,
            aware(2026, 11, 1, 8, 0) + timedelta(hours=number),
        )
    time_machine.move_to(aware(2026, 12, 8, 10, 30), tick=False)

    with django_assert_num_queries(expected):
        response = client.get(LIST)

    assert len(names(response)) == 20
    assert "第 1 / 2 页" in response.content.decode()
    assert len(names(client.get(LIST, {"page": "2"}))) == 7
    assert len(names(client.get(LIST, {"page": "nonsense"}))) == 20


# --- Deciding -----------------------------------------------------------------------------------


def test_approving_from_the_list_counts_it_and_goes_back_to_the_list(client_for, setting):
    late = setting["late"]

    response = client_for("township_a").post(
        f"/visits/late/{late.pk}/",
        {
            "prefix": f"v{late.pk}",
            f"v{late.pk}-decision": "approve",
            f"v{late.pk}-note": NOTE,
            "query": "state=pending&month=2026-11",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/visits/late/?state=pending&month=2026-11"
    visit = Visit.objects.get(pk=late.pk)
    assert (visit.late_state, visit.counted) == (LateState.APPROVED, True)
    assert VisitTask.objects.get(pk=setting["first"].pk).done_by_visit == visit
    assert AuditEvent.objects.filter(action=Action.LATE_VISIT_APPROVED).count() == 1
    followed = client_for("township_a").get(response["Location"])
    assert names(followed) == []


def test_the_back_link_never_leaves_the_list(client_for, setting):
    late = setting["late"]

    response = client_for("county").post(
        f"/visits/late/{late.pk}/",
        {"decision": "refuse", "note": "定位不符", "query": "//evil.example/x"},
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/visits/late/?")
    assert Visit.objects.get(pk=late.pk).late_state == LateState.REFUSED


def test_the_entry_page_says_what_approving_would_complete(client_for, setting):
    response = client_for("county").get(f"/visits/late/{setting['late'].pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "11月的数字于 2026年12月5日 00:00 锁定" in page
    assert "同意后计入11月，完成“半月上门探访”，并重新锁定该月数字。" in page
    assert "第1条：村里没有信号，回镇上才提交" in page


def test_a_decision_without_a_note_is_refused_beside_the_field(client_for, setting):
    late = setting["late"]

    response = client_for("county").post(f"/visits/late/{late.pk}/", {"decision": "approve"})

    assert response.status_code == 200
    assert "审核意见：请填写审核意见。" in response.content.decode()
    assert Visit.objects.get(pk=late.pk).late_state == LateState.PENDING


def test_deciding_again_says_it_was_decided_and_changes_nothing(client_for, users, setting):
    late = setting["late"]
    approve_late(acting_user=users["township_a"], visit=late, note=NOTE)

    response = client_for("county").post(
        f"/visits/late/{late.pk}/", {"decision": "refuse", "note": "不同意"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "这条补录已于2026年12月08日 10:30由" in page
    assert "这条补录已审核，不能再次审核。" in page
    assert Visit.objects.get(pk=late.pk).late_state == LateState.APPROVED
    assert AuditEvent.objects.filter(action__startswith="late_visit").count() == 1


def test_an_officer_elsewhere_gets_404_for_the_entry(client_for, setting):
    for who in ("township_b", "county_other"):
        url = f"/visits/late/{setting['late'].pk}/"
        assert client_for(who).get(url).status_code == 404
        assert client_for(who).post(url, {"decision": "approve", "note": NOTE}).status_code == 404
    assert Visit.objects.get(pk=setting["late"].pk).late_state == LateState.PENDING


def test_the_visit_page_says_it_is_a_late_entry(client_for, setting):
    response = client_for("liaison_a").get(f"/visits/{setting['late'].pk}/")

    page = response.content.decode()
    assert "<dt>补录</dt><dd>待审核：第1条：村里没有信号，回镇上才提交</dd>" in page
    assert "补录待审核：11月的数字已于12月5日0时锁定" in page

"""The need's pages (tanfang/care/need_views.py, views.py): raising one for an
elder, its page with the forms of the measure, the state and the follow-up's
"not resolved", and the subtree's list (需求清单) with its filters and a pinned
number of queries.

The clock stands on 2026-11-23 10:00 (tests/care/conftest.py).
"""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tanfang.audit.models import Action, AuditEvent
from tanfang.care import needs
from tanfang.care.models import Need, NeedEvent, NeedStatus
from tanfang.visits.models import TaskKind, VisitTask
from tests.care.conftest import visit_of
from tests.conftest import aware
from tests.visits.factories import make_elder


def raise_one(users, elder, need_type="meals", source="phone", **kwargs):
    return needs.raise_need(
        acting_user=users["liaison_a"],
        elder=elder,
        need_type=need_type,
        source=source,
        **kwargs,
    )


def test_a_visitor_raises_a_need_from_the_file(client_for, users, elder):
    client = client_for("visitor_a")
    page = client.get(f"/elders/{elder.pk}/")
    text = page.content.decode()
    assert "待办事项" in text
    assert f"/care/elders/{elder.pk}/needs/new/" in text
    # The section is at the top of the file, before the tier.
    assert text.index('id="care"') < text.index('id="tier"')

    response = client.post(
        f"/care/elders/{elder.pk}/needs/new/",
        {"need_type": "meals", "source": "family", "description": "儿子在外地，午饭无人做"},
    )

    need = Need.objects.get(elder=elder)
    assert response.status_code == 302
    assert response["Location"] == f"/care/needs/{need.pk}/"
    assert (need.need_type, need.source, need.status) == ("meals", "family", NeedStatus.OPEN)
    assert need.created_by == users["visitor_a"]
    assert AuditEvent.objects.filter(action=Action.NEED_RAISED, object_id=str(need.pk)).exists()


def test_the_raise_form_refuses_nonsense_and_keeps_what_was_typed(client_for, elder):
    response = client_for("visitor_a").post(
        f"/care/elders/{elder.pk}/needs/new/",
        {"need_type": "flying", "source": "visit", "description": "说明保留"},
    )

    assert response.status_code == 200
    text = response.content.decode()
    assert "需求类型：选择一个有效的选项" in text
    # "探访发现" is offered only from a visit's record, which names the visit.
    assert "来源：选择一个有效的选项" in text
    assert "说明保留" in text
    assert not Need.objects.exists()


def test_a_need_raised_from_a_visit_names_the_visit(client_for, users, elder, visitor):
    visit = visit_of(users, elder, visitor, number=1)
    client = client_for("liaison_a")
    assert (
        f"/care/elders/{elder.pk}/needs/new/?visit={visit.pk}"
        in client.get(f"/visits/{visit.pk}/").content.decode()
    )

    response = client.post(
        f"/care/elders/{elder.pk}/needs/new/?visit={visit.pk}",
        {"need_type": "medical", "source": "visit"},
    )

    assert response.status_code == 302
    need = Need.objects.get(elder=elder, need_type="medical")
    assert (need.source, need.visit) == ("visit", visit)


def test_bad_ids_are_404_and_a_supervisor_is_refused(client_for, users, regions, elder):
    other = make_elder(users, regions, 2, village="350581101201")
    assert client_for("liaison_a").get(f"/care/elders/{other.pk}/needs/new/").status_code == 404
    assert client_for("liaison_a").get("/care/needs/999999/").status_code == 404
    assert (
        client_for("liaison_a").get(f"/care/elders/{elder.pk}/needs/new/?visit=x").status_code
        == 404
    )
    response = client_for("supervisor").get(f"/care/elders/{elder.pk}/needs/new/")
    assert response.status_code == 403
    assert "无权访问" in response.content.decode()


def test_the_measure_is_set_and_a_wrong_date_is_refused_next_to_the_field(client_for, users, elder):
    need = raise_one(users, elder)
    client = client_for("liaison_a")

    refused = client.post(
        f"/care/needs/{need.pk}/measure/",
        {"measure": "联系助餐点送餐", "responsible_unit": "", "due_on": "2026-13-40"},
    )
    assert refused.status_code == 200
    text = refused.content.decode()
    assert "办理期限：输入一个有效的日期。" in text
    assert "联系助餐点送餐" in text

    refused = client.post(
        f"/care/needs/{need.pk}/measure/",
        {"measure": "联系助餐点送餐", "responsible_unit": "", "due_on": "2026-12-05"},
    )
    assert "责任单位：" in refused.content.decode()
    need.refresh_from_db()
    assert need.measure == ""

    saved = client.post(
        f"/care/needs/{need.pk}/measure/",
        {
            "measure": "联系助餐点送餐",
            "responsible_unit": "灵秀镇长者食堂",
            "responsible_person": "王丽",
            "due_on": "2026-12-05",
        },
    )
    assert saved.status_code == 302
    need.refresh_from_db()
    assert (need.measure, need.responsible_unit, need.responsible_person, need.due_on) == (
        "联系助餐点送餐",
        "灵秀镇长者食堂",
        "王丽",
        date(2026, 12, 5),
    )


def test_the_state_moves_on_and_resolving_owes_a_follow_up(client_for, users, elder):
    need = raise_one(users, elder)
    client = client_for("liaison_a")

    # 001_35a01bee4c628ebd.txt 二(二)5: no state past "open" without the measure.
    refused = client.post(f"/care/needs/{need.pk}/status/", {"to_status": "resolved"})
    assert refused.status_code == 200
    assert "帮扶措施" in refused.content.decode()
    need.refresh_from_db()
    assert need.status == NeedStatus.OPEN

    needs.set_measure(
        acting_user=users["liaison_a"],
        need=need,
        measure="送餐",
        responsible_unit="长者食堂",
        due_on=date(2026, 12, 1),
    )
    done = client.post(
        f"/care/needs/{need.pk}/status/", {"to_status": "resolved", "note": "已每日送餐"}
    )
    assert done.status_code == 302
    need.refresh_from_db()
    assert need.status == NeedStatus.RESOLVED
    task = VisitTask.objects.get(pk=need.follow_up_task_id)
    assert task.kind == TaskKind.FOLLOW_UP

    page = client.get(f"/care/needs/{need.pk}/").content.decode()
    assert "跟踪回访：助餐" in page
    assert "已每日送餐" in page  # the history
    assert "回访发现未解决" in page
    # A resolved need has no measure or state form any more.
    assert f"/care/needs/{need.pk}/measure/" not in page


def test_a_follow_up_reports_it_not_resolved(client_for, users, elder):
    need = raise_one(users, elder)
    needs.set_measure(
        acting_user=users["liaison_a"], need=need, measure="送餐", responsible_unit="食堂"
    )
    needs.change_need_status(acting_user=users["liaison_a"], need=need, to_status="resolved")
    client = client_for("visitor_a")

    refused = client.post(f"/care/needs/{need.pk}/not-resolved/", {"note": ""})
    assert "回访发现的情况：请填写回访发现的情况。" in refused.content.decode()

    assert (
        client.post(f"/care/needs/{need.pk}/not-resolved/", {"note": "送餐中断一周"}).status_code
        == 302
    )
    need.refresh_from_db()
    assert need.status == NeedStatus.IN_PROGRESS
    assert NeedEvent.objects.filter(need=need, note="送餐中断一周").exists()


def test_a_visitor_reads_the_page_but_may_not_manage(client_for, users, elder):
    need = raise_one(users, elder)
    client = client_for("visitor_a")

    page = client.get(f"/care/needs/{need.pk}/").content.decode()
    assert "助餐" in page
    assert "/measure/" not in page
    assert client.post(f"/care/needs/{need.pk}/measure/", {}).status_code == 403


def test_the_list_filters_and_flags_the_overdue(client_for, users, elder, time_machine):
    time_machine.move_to(aware(2026, 10, 1, 9, 0), tick=False)
    old = raise_one(users, elder)
    needs.set_measure(
        acting_user=users["liaison_a"],
        need=old,
        measure="送餐",
        responsible_unit="食堂",
        due_on=date(2026, 10, 15),
    )
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)
    raise_one(users, elder, need_type="bathing")
    client = client_for("township_a")

    everything = client.get("/care/needs/")
    assert [n.pk for n, _, _ in everything.context["rows"]][0] == old.pk
    assert len(everything.context["rows"]) == 2
    assert everything.context["rows"][0][1:] == (53, True)
    assert "已逾期" in everything.content.decode()

    overdue = client.get("/care/needs/", {"overdue": "on", "status": "open_all"})
    assert [n.pk for n, _, _ in overdue.context["rows"]] == [old.pk]
    aged = client.get("/care/needs/", {"age": "30", "status": "open_all"})
    assert [n.pk for n, _, _ in aged.context["rows"]] == [old.pk]
    typed = client.get("/care/needs/", {"need_type": "bathing", "status": "open_all"})
    assert [n.need_type for n, _, _ in typed.context["rows"]] == ["bathing"]
    newest = client.get("/care/needs/", {"sort": "-age", "status": "open_all"})
    assert newest.context["rows"][0][0].need_type == "bathing"

    bad = client.get("/care/needs/", {"age": "abc", "region": "350582000000"})
    assert bad.status_code == 200
    assert bad.context["rows"] == []
    assert "区划：选择一个有效的选项" in bad.content.decode()

    # The neighbouring township sees none of them.
    assert client_for("township_b").get("/care/needs/").context["rows"] == []


@pytest.mark.parametrize("count", [1, 12])
def test_the_list_reads_a_fixed_number_of_queries(
    client_for, users, elder, count, django_assert_num_queries
):
    for _ in range(count):
        raise_one(users, elder)
    client = client_for("county")
    client.get("/care/needs/")
    # The session, the user, the OTP device, the user's region (the bar and the
    # region filter's places), the count, the page of needs with their elder and
    # village, and the session's last-seen time (savepoint, update, release).
    with django_assert_num_queries(10):
        response = client.get("/care/needs/")
    assert len(response.context["rows"]) == count


def test_the_file_section_costs_the_same_queries_whatever_is_open(client_for, users, elder):
    client = client_for("liaison_a")
    with CaptureQueriesContext(connection) as none_open:
        client.get(f"/elders/{elder.pk}/")
    for need_type in ("meals", "bathing", "cleaning"):
        raise_one(users, elder, need_type=need_type)
    with CaptureQueriesContext(connection) as three_open:
        page = client.get(f"/elders/{elder.pk}/")
    assert len(three_open) == len(none_open)
    assert "帮扶需求（未办结 3）" in page.content.decode()

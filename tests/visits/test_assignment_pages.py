"""The assignment pages: the overview of the villages under the user, a
village's elders without a visitor with bulk assignment, one elder's visitors
and their history, and the "包干探访人员" section of the elder's file."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tanfang.audit.models import Action, AuditEvent
from tanfang.visits import queries, roster
from tanfang.visits.models import Assignment
from tests.conftest import TOWNSHIP_A, TOWNSHIP_B, VILLAGE_A, VILLAGE_B, aware
from tests.visits.test_roster import make_elder, make_visitor

OVERVIEW = "/visits/assignments/"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture(autouse=True)
def no_task_refresh(monkeypatch):
    monkeypatch.setattr("tanfang.visits.generation.refresh_tasks", lambda elder, today: None)


@pytest.fixture
def village_a(users, regions):
    """村A: 林阿婆 with 陈明, 蔡阿伯 and 黄阿公 with nobody; 王芳 also serves 村A."""
    chen = make_visitor(users, regions, "陈明", villages=[regions[VILLAGE_A]])
    wang = make_visitor(users, regions, "王芳")
    lin = make_elder(users, regions, 1, name="林阿婆")
    cai = make_elder(users, regions, 2, name="蔡阿伯")
    huang = make_elder(users, regions, 3, name="黄阿公")
    roster.assign_visitor(acting_user=users["liaison_a"], elder=lin, visitor=chen)
    return {"陈明": chen, "王芳": wang, "林阿婆": lin, "蔡阿伯": cai, "黄阿公": huang}


def village_url(code):
    return f"/visits/assignments/{code}/"


# The overview ------------------------------------------------------------------------------


def test_it_counts_the_elders_without_a_visitor_per_village(client_for, users, regions, village_a):
    make_elder(users, regions, 4, village=VILLAGE_B)

    response = client_for("county").get(OVERVIEW)

    assert response.status_code == 200
    rows = [(c.village.name, c.active, c.without_visitor) for c in response.context["counts"]]
    assert rows == [("村A", 3, 2), ("村B", 1, 1)]
    html = response.content.decode()
    assert "在册 4 人，无包干探访人员 <strong>3</strong> 人" in html
    assert village_url(VILLAGE_A) in html
    assert "灵秀镇" in html  # the township of each village, seen from the county


def test_it_shows_a_liaison_their_own_village_only(client_for, village_a):
    response = client_for("liaison_b").get(OVERVIEW)

    assert [(c.village.name, c.active) for c in response.context["counts"]] == [("村B", 0)]


def test_it_opens_a_township_below_the_county(client_for, village_a):
    response = client_for("county").get(village_url(TOWNSHIP_A))

    assert response.status_code == 200
    assert [c.village.name for c in response.context["counts"]] == ["村A"]
    assert "石狮市" in response.content.decode()  # the crumbs back up


@pytest.mark.parametrize("extra", [0, 20])
def test_it_reads_the_overview_with_a_fixed_number_of_queries(
    client_for, users, regions, django_assert_num_queries, extra
):
    for n in range(extra):
        make_elder(users, regions, 10 + n, village=VILLAGE_A if n % 2 else VILLAGE_B)
    client = client_for("county")

    # session, user, OTP device, the user's region, the villages with their
    # counts, and the session's new last-seen time (three with its savepoint)
    with django_assert_num_queries(8):
        response = client.get(OVERVIEW)

    assert response.status_code == 200


# A village -----------------------------------------------------------------------------------


def test_it_lists_the_elders_without_and_with_a_visitor(client_for, village_a):
    response = client_for("liaison_a").get(village_url(VILLAGE_A))

    assert response.status_code == 200
    assert [e.name for e in response.context["without"]] == ["蔡阿伯", "黄阿公"]
    assert [e.name for e in response.context["assigned"]] == ["林阿婆"]
    assert [v.name for v in response.context["visitors"]] == ["王芳", "陈明"]
    html = response.content.decode()
    assert "陈明（网格员）" in html
    assert 'name="elders"' in html


def test_it_assigns_the_ticked_elders_to_the_visitor(client_for, users, village_a):
    response = client_for("liaison_a").post(
        village_url(VILLAGE_A),
        {
            "elders": [village_a["蔡阿伯"].pk, village_a["黄阿公"].pk],
            "visitor": village_a["王芳"].pk,
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "已为 2 位老人指定包干探访人员 王芳" in response.content.decode()
    assert response.context["without"] == []
    assert set(
        Assignment.objects.filter(visitor=village_a["王芳"]).values_list("elder__name", flat=True)
    ) == {"蔡阿伯", "黄阿公"}
    assert AuditEvent.objects.filter(action=Action.ELDER_ASSIGNED, detail__bulk=True).count() == 2


def test_it_names_each_elder_that_cannot_be_assigned_and_assigns_none(client_for, village_a):
    response = client_for("liaison_a").post(
        village_url(VILLAGE_A),
        {
            "elders": [village_a["蔡阿伯"].pk, village_a["林阿婆"].pk],
            "visitor": village_a["陈明"].pk,
        },
    )

    assert response.status_code == 200
    assert "林阿婆：陈明已是林阿婆的包干探访人员" in response.content.decode()
    assert Assignment.objects.count() == 1
    assert response.context["checked"] == {str(village_a["蔡阿伯"].pk), str(village_a["林阿婆"].pk)}


def test_it_requires_elders_and_a_visitor(client_for, village_a):
    response = client_for("liaison_a").post(village_url(VILLAGE_A), {})

    html = response.content.decode()
    assert "请勾选要包干的老人" in html
    assert "包干探访人员：请选择探访人员" in html
    assert Assignment.objects.count() == 1


def test_it_refuses_an_elder_of_another_village_in_the_form(client_for, users, regions, village_a):
    theirs = make_elder(users, regions, 9, village=VILLAGE_B)

    response = client_for("county").post(
        village_url(VILLAGE_A), {"elders": [theirs.pk], "visitor": village_a["王芳"].pk}
    )

    assert "所选老人不在本村(社区)的在册名单中" in response.content.decode()
    assert not Assignment.objects.filter(elder=theirs).exists()


def test_it_refuses_a_visitor_who_does_not_serve_the_village(client_for, users, regions, village_a):
    far = make_visitor(users, regions, "郑华", township=TOWNSHIP_B, by="township_b")

    response = client_for("county").post(
        village_url(VILLAGE_A), {"elders": [village_a["蔡阿伯"].pk], "visitor": far.pk}
    )

    assert "包干探访人员：请从列表中选择探访人员" in response.content.decode()
    assert Assignment.objects.count() == 1


def test_a_liaison_of_another_village_gets_404(client_for, village_a):
    client = client_for("liaison_b")

    assert client.get(village_url(VILLAGE_A)).status_code == 404
    response = client.post(
        village_url(VILLAGE_A),
        {"elders": [village_a["蔡阿伯"].pk], "visitor": village_a["王芳"].pk},
    )
    assert response.status_code == 404
    assert Assignment.objects.count() == 1


def test_it_refuses_the_page_to_a_visitor_and_a_supervisor(client_for, village_a):
    assert client_for("visitor_a").get(village_url(VILLAGE_A)).status_code == 403
    assert client_for("supervisor").get(OVERVIEW).status_code == 403


@pytest.mark.parametrize("extra", [0, 20])
def test_it_reads_a_village_with_a_fixed_number_of_queries(
    client_for, users, regions, village_a, django_assert_num_queries, extra
):
    for n in range(extra):
        elder = make_elder(users, regions, 10 + n)
        if n % 2:
            roster.assign_visitor(
                acting_user=users["liaison_a"], elder=elder, visitor=village_a["王芳"]
            )
    client = client_for("liaison_a")

    # session, user, OTP device, the user's region, the village, the elders,
    # their visitors, the visitors to choose from, and the session's new
    # last-seen time (three with its savepoint)
    with django_assert_num_queries(11):
        response = client.get(village_url(VILLAGE_A))

    assert response.status_code == 200


# One elder -------------------------------------------------------------------------------------


def assign_url(elder):
    return f"/visits/elders/{elder.pk}/assign/"


def history_url(elder):
    return f"/visits/elders/{elder.pk}/assignments/"


def test_it_adds_a_visitor_to_an_elder(client_for, village_a):
    elder = village_a["林阿婆"]
    client = client_for("township_a")

    page = client.get(assign_url(elder))
    offered = [str(v) for v in page.context["form"].fields["visitor"].queryset]
    response = client.post(assign_url(elder), {"visitor": village_a["王芳"].pk})

    assert offered == ["王芳"]
    assert response.status_code == 302
    assert response["Location"] == f"/elders/{elder.pk}/#visitors"
    assert Assignment.objects.filter(elder=elder, ended_at__isnull=True).count() == 2


def test_it_offers_no_visitor_already_responsible(client_for, village_a):
    response = client_for("liaison_a").post(
        assign_url(village_a["林阿婆"]), {"visitor": village_a["陈明"].pk}
    )

    assert response.status_code == 200
    assert "包干探访人员：请从列表中选择探访人员" in response.content.decode()
    assert Assignment.objects.count() == 1


def test_it_says_an_elder_out_of_the_registry_cannot_be_assigned(client_for, users, village_a):
    from tanfang.registry.actions import change_status

    elder = village_a["蔡阿伯"]
    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status="deceased",
        effective_on=aware(2026, 11, 20, 0, 0).date(),
        reason="病逝",
    )
    client = client_for("liaison_a")

    page = client.get(assign_url(elder))
    response = client.post(assign_url(elder), {"visitor": village_a["王芳"].pk})

    assert "不在册，不能指定包干" in page.content.decode()
    assert "蔡阿伯的档案为“去世”，不在册，不能指定包干" in response.content.decode()
    assert not Assignment.objects.filter(elder=elder).exists()


def test_it_shows_the_history_and_ends_an_assignment(client_for, users, village_a):
    elder = village_a["林阿婆"]
    assignment = Assignment.objects.get(elder=elder)
    client = client_for("liaison_a")

    response = client.post(
        f"{history_url(elder)}end/",
        {"assignment": assignment.pk, "reason": "陈明调岗"},
        follow=True,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "已结束 陈明 对 林阿婆 的包干" in html
    assert "林阿婆 现在没有包干探访人员，请尽快重新指定" in html
    assert "由 liaison_a 结束：陈明调岗" in html
    assignment.refresh_from_db()
    assert assignment.end_reason == "陈明调岗"


def test_it_keeps_the_history_in_order(client_for, users, village_a):
    elder = village_a["林阿婆"]
    roster.end_assignment(
        acting_user=users["liaison_a"],
        assignment=Assignment.objects.get(elder=elder),
        reason="调整",
    )
    roster.assign_visitor(acting_user=users["liaison_a"], elder=elder, visitor=village_a["王芳"])

    response = client_for("supervisor").get(history_url(elder))

    assert response.status_code == 200
    assert [a.visitor.name for a in response.context["history"]] == ["王芳", "陈明"]
    assert "结束包干" not in response.content.decode()  # a supervisor only reads


def test_it_requires_a_reason_to_end_on_the_page(client_for, village_a):
    elder = village_a["林阿婆"]
    assignment = Assignment.objects.get(elder=elder)

    response = client_for("liaison_a").post(
        f"{history_url(elder)}end/", {"assignment": assignment.pk, "reason": ""}
    )

    assert response.status_code == 200
    assert "结束原因：请填写结束原因" in response.content.decode()
    assert Assignment.objects.get(pk=assignment.pk).ended_at is None


def test_it_refuses_to_end_an_assignment_of_another_elder(client_for, users, regions, village_a):
    elder = village_a["蔡阿伯"]
    others = Assignment.objects.get(elder=village_a["林阿婆"])

    response = client_for("liaison_a").post(
        f"{history_url(elder)}end/", {"assignment": others.pk, "reason": "x"}
    )

    assert "该包干已经结束或不存在" in response.content.decode()
    assert Assignment.objects.get(pk=others.pk).ended_at is None


def test_a_liaison_of_another_village_gets_404_for_the_elders_pages(client_for, village_a):
    elder = village_a["林阿婆"]
    assignment = Assignment.objects.get(elder=elder)
    client = client_for("liaison_b")

    assert client.get(assign_url(elder)).status_code == 404
    assert client.post(assign_url(elder), {"visitor": village_a["王芳"].pk}).status_code == 404
    assert client.get(history_url(elder)).status_code == 404
    response = client.post(
        f"{history_url(elder)}end/", {"assignment": assignment.pk, "reason": "x"}
    )
    assert response.status_code == 404
    assert Assignment.objects.filter(ended_at__isnull=True).count() == 1


# The elder's file -------------------------------------------------------------------------------


def file_url(elder):
    return f"/elders/{elder.pk}/"


def test_the_file_shows_the_visitors_and_an_assign_form(client_for, village_a):
    response = client_for("liaison_a").get(file_url(village_a["林阿婆"]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h2>包干探访人员</h2>" in html
    assert "陈明" in html and "2026年11月23日起" in html
    assert [v.name for v in response.context["visitors"].choices] == ["王芳"]
    assert f'action="/visits/elders/{village_a["林阿婆"].pk}/assign/"' in html
    assert "包干记录" in html


def test_the_file_says_when_nobody_is_responsible(client_for, village_a):
    html = client_for("liaison_a").get(file_url(village_a["蔡阿伯"])).content.decode()

    assert "尚无包干探访人员" in html


def test_the_file_shows_no_form_to_a_reader(client_for, village_a):
    response = client_for("supervisor").get(file_url(village_a["林阿婆"]))

    html = response.content.decode()
    assert "陈明" in html
    assert response.context["visitors"].choices == []
    assert "/assign/" not in html


@pytest.mark.parametrize("who", ["liaison_a", "supervisor"])
def test_the_file_section_costs_one_query(client_for, village_a, who, monkeypatch):
    """The file page's count with the section, against the same page without it."""
    client = client_for(who)
    elder = village_a["林阿婆"]
    client.get(file_url(elder))  # warm the caches (profiles)
    with CaptureQueriesContext(connection) as with_section:
        client.get(file_url(elder))
    monkeypatch.setattr(queries, "file_panel", lambda elder, eligible: queries.FilePanel([], []))
    with CaptureQueriesContext(connection) as without_section:
        client.get(file_url(elder))

    assert len(with_section) == len(without_section) + 1

"""The roster pages (/visits/visitors/): the list with its search and filters,
a new entry, changes, taking a visitor off duty; in Chinese, phones masked,
404 outside the scope."""

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import crypto
from tanfang.visits import roster
from tanfang.visits.models import Assignment, Visitor, VisitorKind
from tests.conftest import TOWNSHIP_A, TOWNSHIP_B, VILLAGE_A, VILLAGE_B, aware
from tests.visits.test_roster import make_elder, make_visitor, visitor_account

LIST = "/visits/visitors/"
NEW = "/visits/visitors/new/"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture(autouse=True)
def no_task_refresh(monkeypatch):
    monkeypatch.setattr("tanfang.visits.generation.refresh_tasks", lambda elder, today: None)


def detail(visitor):
    return f"/visits/visitors/{visitor.pk}/"


# The list ---------------------------------------------------------------------------------


@pytest.fixture
def roster_a(users, regions):
    return {
        "grid": make_visitor(
            users, regions, "陈明", phone="13812345678", villages=[regions[VILLAGE_A]]
        ),
        "doctor": make_visitor(
            users, regions, "王医生", kind=VisitorKind.FAMILY_DOCTOR, organisation="卫生院"
        ),
        "student": make_visitor(
            users, regions, "李同学", kind=VisitorKind.VOLUNTEER, is_student=True, school="一中"
        ),
    }


def names(response):
    return [visitor.name for visitor, _ in response.context["rows"]]


def test_it_lists_the_roster_with_masked_phones(client_for, roster_a):
    response = client_for("township_a").get(LIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert names(response) == ["李同学", "王医生", "陈明"]
    assert "138****5678" in html
    assert "13812345678" not in html
    assert "家庭医生" in html and "学生" in html
    assert "全乡镇(街道)" in html  # 王医生 serves the whole township
    assert "新增探访人员" in html


def test_it_searches_by_name(client_for, roster_a):
    response = client_for("township_a").get(LIST, {"q": "陈"})

    assert names(response) == ["陈明"]


def test_it_filters_by_kind(client_for, roster_a):
    response = client_for("township_a").get(LIST, {"kind": "family_doctor"})

    assert names(response) == ["王医生"]


def test_it_filters_by_village_including_the_township_wide_visitors(
    client_for, users, regions, roster_a
):
    make_visitor(users, regions, "郑华", township=TOWNSHIP_B, by="township_b")

    response = client_for("county").get(LIST, {"village": VILLAGE_A})

    assert names(response) == ["李同学", "王医生", "陈明"]


def test_it_lists_the_visitors_off_duty_on_request(client_for, users, roster_a):
    roster.deactivate_visitor(
        acting_user=users["township_a"], visitor=roster_a["doctor"], reason="调离"
    )
    client = client_for("township_a")

    assert names(client.get(LIST)) == ["李同学", "陈明"]
    assert names(client.get(LIST, {"active": "inactive"})) == ["王医生"]
    assert names(client.get(LIST, {"active": "all"})) == ["李同学", "王医生", "陈明"]


def test_it_matches_nothing_for_a_filter_it_cannot_read(client_for, roster_a):
    response = client_for("township_a").get(LIST, {"village": VILLAGE_B})

    assert response.status_code == 200
    assert names(response) == []
    assert "服务村(社区)：" in response.content.decode()


def test_it_shows_a_liaison_only_the_visitors_of_their_village(client_for, users, regions):
    make_visitor(users, regions, "陈明", villages=[regions[VILLAGE_A]])
    make_visitor(users, regions, "郑华", township=TOWNSHIP_B, by="township_b")

    response = client_for("liaison_b").get(LIST)

    assert names(response) == ["郑华"]
    assert "新增探访人员" not in response.content.decode()


def test_it_shows_50_a_page(client_for, users, regions):
    for n in range(55):
        make_visitor(users, regions, f"人员{n:02d}")

    first = client_for("township_a").get(LIST)
    second = client_for("township_a").get(LIST, {"page": 2})

    assert len(names(first)) == 50
    assert len(names(second)) == 5


@pytest.mark.parametrize("count", [3, 60])
def test_it_lists_with_a_fixed_number_of_queries(
    client_for, users, regions, django_assert_num_queries, count
):
    for n in range(count):
        visitor = make_visitor(
            users, regions, f"人员{n:02d}", phone="13812345678", villages=[regions[VILLAGE_A]]
        )
    Assignment.objects.create(
        elder=make_elder(users, regions), visitor=visitor, started_by=users["county"]
    )
    client = client_for("township_a")

    # session, user, OTP device, the user's region, the villages of the filter,
    # count, page, the page's villages served, and the session's new last-seen
    # time (three with its savepoint)
    with django_assert_num_queries(11):
        response = client.get(LIST)

    assert response.status_code == 200


# A new entry -------------------------------------------------------------------------------


def test_it_adds_a_visitor_from_the_form(client_for, users, regions):
    account = visitor_account(regions)

    response = client_for("township_a").post(
        NEW,
        {
            "name": "林秀英",
            "kind": "volunteer",
            "organisation": "灵秀镇志愿者协会",
            "phone": "0595-88881234",
            "is_student": "on",
            "school": "石狮一中",
            "villages": [VILLAGE_A],
            "user": account.pk,
        },
    )

    visitor = Visitor.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(visitor)
    assert (visitor.township_id, visitor.kind, visitor.school) == (
        TOWNSHIP_A,
        "volunteer",
        "石狮一中",
    )
    assert crypto.decrypt(visitor.phone_token) == "0595-88881234"
    assert visitor.user == account
    assert list(visitor.villages.values_list("code", flat=True)) == [VILLAGE_A]
    assert AuditEvent.objects.filter(action=Action.VISITOR_CREATED).count() == 1


def test_it_names_the_bad_fields_and_stores_nothing(client_for):
    response = client_for("township_a").post(
        NEW, {"name": "", "kind": "volunteer", "phone": "12345", "is_student": "on"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "姓名：" in html
    assert "联系电话：请输入正确的手机号码或固定电话" in html
    assert Visitor.objects.count() == 0


def test_it_puts_the_actions_errors_next_to_the_fields(client_for):
    response = client_for("township_a").post(
        NEW, {"name": "林秀英", "kind": "grid_worker", "is_student": "on"}
    )

    html = response.content.decode()
    assert "学生志愿者（在校生志愿服务计学分）：只有“志愿者”类别可以标记为学生志愿者" in html
    assert "学校：学生志愿者请填写学校" in html
    assert Visitor.objects.count() == 0


def test_it_refuses_a_village_of_another_township(client_for):
    response = client_for("township_a").post(
        NEW, {"name": "林秀英", "kind": "grid_worker", "villages": [VILLAGE_B]}
    )

    assert "服务村(社区)：请从列表中选择服务村(社区)" in response.content.decode()
    assert Visitor.objects.count() == 0


def test_it_offers_only_the_free_visitor_accounts_of_the_township(client_for, users, regions):
    free = visitor_account(regions, "free_one")
    taken = visitor_account(regions, "taken_one")
    make_visitor(users, regions, "陈明", user=taken)
    visitor_account(regions, "far_one", region=VILLAGE_B)

    response = client_for("township_a").get(NEW)

    offered = list(response.context["form"].fields["user"].queryset)
    assert offered == [free, users["visitor_a"]]


def test_it_lets_a_county_officer_choose_the_township_first(client_for):
    client = client_for("county")

    picker = client.get(NEW)
    form = client.get(NEW, {"township": TOWNSHIP_B})

    assert "请先选择乡镇(街道)" in picker.content.decode()
    assert f"?township={TOWNSHIP_B}" in picker.content.decode()
    assert form.context["township"].code == TOWNSHIP_B


def test_it_answers_404_for_a_township_outside_the_scope(client_for):
    assert client_for("township_a").get(NEW).status_code == 200
    assert client_for("county_other").get(NEW, {"township": TOWNSHIP_A}).status_code == 404
    assert client_for("county").get(NEW, {"township": VILLAGE_A}).status_code == 404


def test_it_refuses_the_form_to_a_liaison(client_for):
    assert client_for("liaison_a").get(NEW).status_code == 403


# One entry -----------------------------------------------------------------------------------


def test_it_shows_a_visitor_with_the_elders_they_visit(client_for, users, regions):
    visitor = make_visitor(users, regions, "陈明", phone="13812345678")
    elder = make_elder(users, regions, name="林阿婆")
    roster.assign_visitor(acting_user=users["liaison_a"], elder=elder, visitor=visitor)

    response = client_for("liaison_a").get(detail(visitor))

    assert response.status_code == 200
    html = response.content.decode()
    assert "林阿婆" in html
    assert "138****5678" in html
    assert "13812345678" not in html
    assert "停用" not in html  # a liaison does not keep the roster


def test_it_answers_404_for_a_visitor_outside_the_scope(client_for, users, regions):
    of_a = make_visitor(users, regions, "陈明", villages=[regions[VILLAGE_A]])

    for who in ("liaison_b", "township_b", "county_other"):
        assert client_for(who).get(detail(of_a)).status_code == 404
        assert client_for(who).get(f"{detail(of_a)}edit/").status_code in {403, 404}
    assert (
        client_for("township_b").post(f"{detail(of_a)}deactivate/", {"reason": "x"}).status_code
        == 404
    )
    assert Visitor.objects.get(pk=of_a.pk).active


# Changing --------------------------------------------------------------------------------------


def test_it_changes_a_visitor_and_keeps_the_phone_left_empty(client_for, users, regions):
    visitor = make_visitor(users, regions, "陈明", phone="13812345678")
    client = client_for("township_a")

    page = client.get(f"{detail(visitor)}edit/")
    response = client.post(
        f"{detail(visitor)}edit/",
        {"name": "陈明华", "kind": "grid_worker", "phone": "", "villages": [VILLAGE_A]},
    )

    assert "当前：138****5678。不修改请留空。" in page.content.decode()
    assert "13812345678" not in page.content.decode()
    assert response.status_code == 302
    visitor.refresh_from_db()
    assert visitor.name == "陈明华"
    assert crypto.decrypt(visitor.phone_token) == "13812345678"
    assert AuditEvent.objects.get(action=Action.VISITOR_CHANGED).detail["fields"] == [
        "name",
        "villages",
    ]


def test_it_removes_the_phone_on_request(client_for, users, regions):
    visitor = make_visitor(users, regions, "陈明", phone="13812345678")

    client_for("township_a").post(
        f"{detail(visitor)}edit/", {"name": "陈明", "kind": "grid_worker", "clear_phone": "on"}
    )

    visitor.refresh_from_db()
    assert visitor.phone_token == ""


def test_it_shows_the_actions_error_on_the_edit_page(client_for, users, regions):
    visitor = make_visitor(users, regions, "陈明", villages=[regions[VILLAGE_A]])
    roster.assign_visitor(
        acting_user=users["liaison_a"],
        elder=make_elder(users, regions, name="林阿婆"),
        visitor=visitor,
    )
    village = regions[VILLAGE_A]
    other = type(village).objects.create(
        code="350581100202", name="村A2", level=5, kind="rural", parent_id=TOWNSHIP_A
    )

    response = client_for("township_a").post(
        f"{detail(visitor)}edit/", {"name": "陈明", "kind": "grid_worker", "villages": [other.code]}
    )

    assert response.status_code == 200
    assert "服务村(社区)：该探访人员仍包干林阿婆（村A）" in response.content.decode()
    assert list(visitor.villages.values_list("code", flat=True)) == [VILLAGE_A]


# Off duty ----------------------------------------------------------------------------------------


def test_it_deactivates_and_names_the_elders_left_without_a_visitor(client_for, users, regions):
    visitor = make_visitor(users, regions, "陈明")
    roster.assign_visitor(
        acting_user=users["liaison_a"],
        elder=make_elder(users, regions, name="林阿婆"),
        visitor=visitor,
    )
    client = client_for("township_a")

    page = client.get(f"{detail(visitor)}deactivate/")
    response = client.post(f"{detail(visitor)}deactivate/", {"reason": "调离本镇"}, follow=True)

    assert "停用后无人包干" in page.content.decode()
    assert response.status_code == 200
    html = response.content.decode()
    assert "以下老人现在没有包干探访人员，请尽快重新指定：林阿婆" in html
    assert "调离本镇" in html
    visitor.refresh_from_db()
    assert not visitor.active
    assert Assignment.objects.get().end_reason == "调离本镇"


def test_it_requires_a_reason_on_the_page(client_for, users, regions):
    visitor = make_visitor(users, regions, "陈明")

    response = client_for("township_a").post(f"{detail(visitor)}deactivate/", {"reason": ""})

    assert response.status_code == 200
    assert "停用原因：请填写停用原因" in response.content.decode()
    assert Visitor.objects.get(pk=visitor.pk).active

"""The dashboard (issue 6 "Dashboard"): for a township, a county and a
supervisor, this month so far against the 100% target (002_8b4fd75972db9bc5.txt
一(三): 月探访率达到100%), visit tasks overdue today, file reviews overdue
(000_4970ff49482a0570.txt 三(四)) and elders without a visitor
(000_4970ff49482a0570.txt 三(二)), each linking to its list; on the home page
of those three roles. The clock stands on 2026-11-23.
"""

from datetime import date

import pytest

from tanfang.visits.models import VisitTask
from tests.conftest import COUNTY, TOWNSHIP_A, TOWNSHIP_B, VILLAGE_A, VILLAGE_B, aware
from tests.reports.fill import counter, wipe
from tests.visits.factories import assign, make_elder, make_task, make_visitor

NOVEMBER = date(2026, 11, 1)
RECENT = date(2026, 9, 1)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def setting(users, regions):
    visitor = make_visitor(users, regions)
    late = make_elder(users, regions, 1, registered_on=RECENT)
    lost = make_elder(users, regions, 2, registered_on=RECENT)
    make_elder(users, regions, 3, registered_on=RECENT)  # nobody responsible
    old = make_elder(users, regions, 4, registered_on=date(2025, 3, 1))  # review overdue
    make_elder(users, regions, 5, village=VILLAGE_B, registered_on=RECENT)  # nobody, 村B
    for elder in (late, lost, old):
        assign(users, elder, visitor)
    VisitTask.objects.all().delete()
    make_task(late, date(2026, 11, 16), date(2026, 11, 20), date(2026, 11, 30))
    make_task(lost, date(2026, 11, 1), date(2026, 11, 15))
    # The month's numbers as stated here, not as the registrations made them.
    wipe()
    counter(VILLAGE_A, NOVEMBER, counted=4, visited=3, compliant=2)
    counter(VILLAGE_B, NOVEMBER, counted=2, visited=0, compliant=0)
    return {"late": late, "lost": lost}


def test_it_shows_a_county_officer_the_countys_numbers(client_for, setting):
    response = client_for("county").get("/reports/dashboard/")

    assert response.status_code == 200
    board = response.context["board"]
    assert board.counts.visit_rate_text == "50.0%"
    assert (board.overdue_tasks, board.missed_tasks) == (1, 1)
    assert board.reviews_overdue == 1
    assert board.without_visitor == 2
    html = response.content.decode()
    assert "本月探访率" in html
    assert "目标 100%" in html
    assert "还有 <strong>3</strong> 人未探访" in html
    assert 'href="/reports/"' in html
    assert f'href="/reports/{COUNTY}/late/"' in html
    assert f'href="/elders/reviews/?region={COUNTY}"' in html
    # The county officer assigns: the number leads to 包干安排.
    assert f'href="/visits/assignments/{COUNTY}/"' in html
    assert 'class="chart progress"' in html


def test_it_shows_a_township_its_own_numbers(client_for, setting):
    board = client_for("township_b").get("/reports/dashboard/").context["board"]

    assert board.node_code == TOWNSHIP_B
    assert board.counts.visit_rate_text == "0.0%"
    assert (board.overdue_tasks, board.reviews_overdue, board.without_visitor) == (0, 0, 1)


def test_it_leads_a_supervisor_to_the_list_of_elders_without_a_visitor(client_for, setting):
    client = client_for("supervisor")

    html = client.get("/reports/dashboard/").content.decode()
    listing = client.get("/reports/350500000000/unassigned/")
    village = client.get(f"/reports/{VILLAGE_A}/unassigned/")

    assert 'href="/reports/350500000000/unassigned/"' in html
    assert listing.status_code == 200
    assert listing.context["without_total"] == 2
    assert [row.village.name for row in listing.context["counts"]] == ["村A", "村B", "村C"]
    assert [e.name for e in village.context["elders"]] == ["老人3"]
    assert "包干安排" not in village.content.decode().split("<main>", 1)[1]


def test_it_loads_the_dashboard_into_the_home_page_of_officers(client_for, setting):
    for username in ("township_a", "county", "supervisor"):
        html = client_for(username).get("/").content.decode()
        assert 'hx-get="/reports/dashboard/panel/"' in html, username
        assert 'href="/reports/dashboard/"' in html, username
    for username in ("liaison_a", "visitor_a", "sysadmin"):
        assert "/reports/dashboard/panel/" not in client_for(username).get("/").content.decode()


def test_it_serves_the_panel_alone(client_for, setting, django_assert_num_queries):
    client = client_for("township_a")

    # The session, the user, the OTP device, the user's region; the counters,
    # the surges' counters, the tasks, the reviews, the elders without a
    # visitor; the last-seen time.
    with django_assert_num_queries(4 + 5 + 3):
        response = client.get("/reports/dashboard/panel/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="dashboard"' in html
    assert response.context["board"].node_code == TOWNSHIP_A
    assert "no-store" in response["Cache-Control"]


def test_it_keeps_the_dashboards_queries_whatever_the_number_of_elders(
    client_for, setting, users, regions, django_assert_num_queries
):
    for sequence in range(10, 25):
        elder = make_elder(users, regions, sequence, registered_on=RECENT)
        make_task(elder, date(2026, 11, 16), date(2026, 11, 20), date(2026, 11, 30))
    client = client_for("county")

    # As the panel, and the alerts at the top of the page (open emergencies,
    # hazards past their deadline: templates/care/_alerts.html).
    with django_assert_num_queries(4 + 5 + 2 + 3):
        response = client.get("/reports/dashboard/")

    assert response.context["board"].overdue_tasks == 16
    assert response.context["board"].without_visitor == 17


def test_it_lists_the_late_tasks(client_for, setting, django_assert_num_queries):
    client = client_for("county")

    # The region, the totals, the tasks and their visitors.
    with django_assert_num_queries(4 + 1 + 3 + 3):
        response = client.get(f"/reports/{COUNTY}/late/")

    assert response.status_code == 200
    late = response.context["late"]
    assert [(row.task.elder.name, row.overdue) for row in late.rows] == [
        ("老人1", True),
        ("老人2", False),
    ]
    html = response.content.decode()
    assert "已逾期" in html
    assert "未完成" in html
    assert f'href="/elders/{setting["late"].pk}/"' in html
    assert f'href="/visits/new/{setting["late"].pk}/"' in html


def test_it_keeps_the_late_lists_queries_whatever_the_number_of_tasks(
    client_for, setting, users, regions, django_assert_num_queries
):
    visitor = make_visitor(users, regions, "张三", user=None)
    for sequence in range(10, 22):
        elder = make_elder(users, regions, sequence, registered_on=RECENT)
        assign(users, elder, visitor)
        make_task(elder, date(2026, 11, 16), date(2026, 11, 20), date(2026, 11, 30))
    client = client_for("county")

    with django_assert_num_queries(4 + 1 + 3 + 3):
        response = client.get(f"/reports/{COUNTY}/late/")

    assert response.context["late"].overdue == 13


def test_it_pins_the_queries_of_the_list_of_elders_without_a_visitor(
    client_for, setting, users, regions, django_assert_num_queries
):
    client = client_for("supervisor")
    # The region, the villages with their counts (one query); at a village,
    # the region, the crumbs and the elders.
    with django_assert_num_queries(4 + 2 + 3):
        client.get("/reports/350500000000/unassigned/")
    for sequence in range(10, 20):
        make_elder(users, regions, sequence, registered_on=RECENT)
    with django_assert_num_queries(4 + 3 + 3):
        response = client.get(f"/reports/{VILLAGE_A}/unassigned/")

    assert len(response.context["elders"]) == 11


def test_it_answers_404_for_the_lists_of_another_subtree(client_for, setting):
    client = client_for("township_a")

    assert client.get(f"/reports/{TOWNSHIP_B}/late/").status_code == 404
    assert client.get(f"/reports/{VILLAGE_B}/unassigned/").status_code == 404
    assert client.get(f"/reports/{COUNTY}/late/").status_code == 404


def test_it_answers_a_bad_format_of_the_late_list_in_chinese(client_for, setting):
    response = client_for("county").get(f"/reports/{COUNTY}/late/?format=doc")

    assert response.status_code == 400
    assert "导出格式“doc”不支持" in response.content.decode()


@pytest.mark.parametrize("username", ["visitor_a", "auditor"])
def test_it_refuses_the_dashboard_to_a_role_without_reports(client_for, setting, username):
    assert client_for(username).get("/reports/dashboard/").status_code == 403
    assert client_for(username).get("/reports/dashboard/panel/").status_code == 403

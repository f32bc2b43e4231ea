"""Who may import and see an import: officers who may register elders, and a
job (with its report) only within the subtree where it was uploaded; to
anyone else it does not exist (NONFUNCTIONAL.md "Scope")."""

import pytest

from tanfang.exchange import tasks
from tanfang.exchange.models import ImportJob
from tests.exchange.conftest import filled, row, template_of


@pytest.fixture
def job_of(client_for, users):
    def make(username, village="村A"):
        client = client_for(username)
        return tasks.start_import(
            acting_user=users[username],
            data=filled(template_of(client), [row(2, village)]),
            file_name="台账.xlsx",
            mode="whole_file",
        )

    return make


def urls(job):
    base = f"/exchange/elders/imports/{job.pk}/"
    return [base, base + "progress/", base + "report/"]


@pytest.mark.parametrize(
    ("owner", "outsider"),
    [("liaison_a", "liaison_b"), ("township_a", "township_b"), ("county", "county_other")],
)
def test_it_answers_404_to_an_officer_of_another_region(owner, outsider, job_of, client_for):
    job = job_of(owner, village="村A")
    client = client_for(outsider)

    for url in urls(job):
        assert client.get(url).status_code == 404, url


def test_it_answers_404_to_an_officer_below_the_node_of_the_upload(job_of, client_for):
    job = job_of("county")

    for url in urls(job):
        assert client_for("township_a").get(url).status_code == 404, url


def test_it_shows_a_township_import_to_the_county(job_of, client_for):
    job = job_of("township_a")

    for url in urls(job):
        assert client_for("county").get(url).status_code == 200, url


def test_it_lists_only_my_own_imports(job_of, client_for):
    mine = job_of("township_a")
    job_of("liaison_a")

    jobs = client_for("township_a").get("/exchange/elders/").context["jobs"]

    assert jobs == [mine]


@pytest.mark.parametrize("username", ["supervisor", "auditor", "sysadmin", "secadmin"])
def test_it_refuses_the_template_and_the_upload_to_who_may_not_register(
    username, client_for, upload
):
    client = client_for(username)

    assert client.get("/exchange/elders/template/").status_code == 403
    assert upload(client, b"PK\x03\x04").status_code == 403
    assert not ImportJob.objects.exists()


def test_it_shows_a_supervisor_the_export_but_not_the_import(client_for):
    page = client_for("supervisor").get("/exchange/elders/")

    assert page.status_code == 200
    assert page.context["can_export"] and not page.context["can_import"]
    assert "/exchange/elders/export/" in page.content.decode()
    assert "/exchange/elders/template/" not in page.content.decode()


def test_it_refuses_a_visitor_the_import_and_the_export(client_for, upload):
    # Visitors register no elders (issue 16; the village does, 000_4970ff49482a0570.txt
    # 三(四)), so they import none; nor do they export ledgers (REPORTS_VIEW).
    client = client_for("visitor_a")
    page = client.get("/exchange/elders/")

    assert not page.context["can_import"] and not page.context["can_export"]
    assert "/exchange/elders/template/" not in page.content.decode()
    assert client.get("/exchange/elders/template/").status_code == 403
    assert upload(client, b"PK\x03\x04").status_code == 403
    assert client.get("/exchange/elders/export/").status_code == 403
    assert not ImportJob.objects.exists()


def test_it_hides_the_link_from_a_visitors_list(client_for):
    assert "/exchange/elders/" not in client_for("visitor_a").get("/elders/").content.decode()


def test_it_refuses_everything_to_the_auditor(client_for):
    client = client_for("auditor")

    for url in ("/exchange/elders/", "/exchange/elders/export/"):
        assert client.get(url).status_code == 403


@pytest.mark.parametrize("username", ["liaison_a", "supervisor"])
def test_it_is_linked_from_the_registry_list(username, client_for):
    page = client_for(username).get("/elders/").content.decode()

    assert '<a class="button" href="/exchange/elders/">导入/导出台账</a>' in page

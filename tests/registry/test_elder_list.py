"""The list of elders (/elders/): only the user's subtree, searched by name or
the last four of the ID or phone, filtered by region, category and status."""

from datetime import date
from urllib.parse import quote

import pytest

from tanfang.audit.models import AuditEvent
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder, Status
from tanfang.registry.registration import register_elder
from tests.conftest import OTHER_COUNTY, TOWNSHIP_A, VILLAGE_A, VILLAGE_B, aware

TODAY = aware(2026, 11, 23, 10, 0)
URL = "/elders/"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(TODAY, tick=False)


def make_elder(users, regions, sequence, *, name=None, village=VILLAGE_A, **details):
    registrar = "liaison_a" if village == VILLAGE_A else "liaison_b"
    details.setdefault("phone", f"1381234{sequence:04d}")
    return register_elder(
        acting_user=users[registrar],
        id_number=make_id_number("350581", date(1940, 3, 8), sequence, "女"),
        name=name or f"老人{sequence:03d}",
        village=regions[village],
        **details,
    )


def names_in(response):
    return [row.elder.name for row in response.context["rows"]]


@pytest.fixture
def two_villages(users, regions):
    return (
        make_elder(users, regions, 1, name="林阿婆", categories=["独居", "失能"]),
        make_elder(users, regions, 2, name="陈阿公", village=VILLAGE_B, categories=["空巢"]),
    )


def test_it_shows_a_liaison_the_elders_of_their_village_only(client_for, two_villages):
    response = client_for("liaison_a").get(URL)

    assert response.status_code == 200
    assert names_in(response) == ["林阿婆"]
    assert "共 1 人" in response.content.decode()
    assert "陈阿公" not in response.content.decode()


def test_it_shows_a_county_officer_both_villages(client_for, two_villages):
    response = client_for("county").get(URL)

    assert names_in(response) == ["林阿婆", "陈阿公"]
    assert "共 2 人" in response.content.decode()


def test_it_shows_an_officer_of_another_county_nobody(client_for, two_villages):
    response = client_for("county_other").get(URL)

    assert response.status_code == 200
    assert names_in(response) == []
    assert "共 0 人" in response.content.decode()


def test_it_shows_age_village_masked_phone_and_categories(client_for, two_villages):
    response = client_for("liaison_a").get(URL)

    row = response.context["rows"][0]
    assert (row.age, row.phone, row.categories) == (86, "138****0001", ["独居", "失能"])
    html = response.content.decode()
    assert "138****0001" in html
    assert "13812340001" not in html
    assert "独居、失能" in html
    assert "村A" in html


def test_it_writes_nothing_when_listing(client_for, two_villages):
    client = client_for("county")
    events = AuditEvent.objects.count()

    client.get(URL)

    assert AuditEvent.objects.count() == events


def test_it_searches_by_part_of_the_name(client_for, two_villages):
    response = client_for("county").get(URL, {"q": "阿公"})

    assert names_in(response) == ["陈阿公"]


def test_it_searches_by_the_last_four_of_the_id_number(client_for, two_villages):
    chen_id = make_id_number("350581", date(1940, 3, 8), 2, "女")

    response = client_for("county").get(URL, {"q": chen_id[-4:].lower()})

    assert names_in(response) == ["陈阿公"]


def test_it_searches_by_the_last_four_of_the_phone(client_for, two_villages):
    response = client_for("county").get(URL, {"q": "0002"})

    assert names_in(response) == ["陈阿公"]


def test_it_filters_by_a_region_of_the_subtree(client_for, two_villages):
    response = client_for("county").get(URL, {"subtree": TOWNSHIP_A})

    assert names_in(response) == ["林阿婆"]


def test_it_filters_by_category(client_for, two_villages):
    response = client_for("county").get(URL, {"category": "空巢"})

    assert names_in(response) == ["陈阿公"]


def test_it_leaves_out_a_withdrawn_category(client_for, two_villages):
    lin, _ = two_villages
    lin.categories.filter(category="独居").update(withdrawn_at=TODAY)

    response = client_for("county").get(URL, {"category": "独居"})

    assert names_in(response) == []


def test_it_shows_active_elders_unless_another_status_is_chosen(client_for, two_villages):
    lin, _ = two_villages
    Elder.objects.filter(pk=lin.pk).update(status=Status.DECEASED)
    client = client_for("county")

    assert names_in(client.get(URL)) == ["陈阿公"]
    assert names_in(client.get(URL, {"status": "deceased"})) == ["林阿婆"]
    assert names_in(client.get(URL, {"status": "all"})) == ["林阿婆", "陈阿公"]


@pytest.mark.parametrize("subtree", [OTHER_COUNTY, "350581999999", "abc"])
def test_it_refuses_a_region_outside_the_subtree_and_shows_no_rows(
    client_for, two_villages, subtree
):
    response = client_for("county").get(URL, {"subtree": subtree})

    assert response.status_code == 200
    assert names_in(response) == []
    html = response.content.decode()
    assert "区划：区划代码不存在或不在您的管辖范围内。" in html
    assert "共 0 人" in html


def test_it_refuses_an_unknown_category_and_shows_no_rows(client_for, two_villages):
    response = client_for("county").get(URL, {"category": "贫困"})

    assert names_in(response) == []
    assert "对象类型：" in response.content.decode()


def test_it_pages_by_fifty_and_keeps_the_filters_in_the_links(client_for, users, regions):
    for n in range(60):
        make_elder(users, regions, n, categories=["独居"])
    make_elder(users, regions, 61, categories=["空巢"])

    response = client_for("liaison_a").get(URL, {"category": "独居", "page": "2"})

    assert len(names_in(response)) == 10
    html = response.content.decode()
    assert "共 60 人" in html
    assert f"?category={quote('独居')}&amp;page=1" in html


@pytest.mark.parametrize("count", [3, 60])
def test_it_lists_with_a_fixed_number_of_queries(
    client_for, users, regions, django_assert_num_queries, count
):
    for n in range(count):
        make_elder(users, regions, n, categories=["独居", "失能"])
    client = client_for("liaison_a")

    # Session, user, OTP device, the user's region, the count, the page of
    # elders with their villages, their categories, the reports of a death or
    # a move waiting (issue 16); the session's last-seen time is saved
    # (savepoint, update, release).
    with django_assert_num_queries(11):
        response = client.get(URL)

    assert len(response.context["rows"]) == min(count, 50)


def test_it_is_in_the_navigation_of_a_role_that_reads_files(client_for):
    html = client_for("liaison_a").get("/").content.decode()

    assert '<a href="/elders/">老年人档案</a>' in html
    assert "/elders/" not in client_for("sysadmin").get("/").content.decode()


def test_it_refuses_an_administrator_with_403(client_for):
    assert client_for("auditor").get(URL).status_code == 403

"""`/regions/<code>/`: a node of the user's subtree, its children and the path to it."""

import pytest

from tanfang.regions.models import Kind, Level, Region
from tests.conftest import (
    CITY,
    COUNTY,
    OTHER_COUNTY,
    OTHER_VILLAGE,
    PROVINCE,
    TOWNSHIP_A,
    TOWNSHIP_B,
    TREE,
    VILLAGE_A,
    VILLAGE_B,
)

NAMES = {code: name for code, name, *_ in TREE}


def children(response) -> list[tuple[str, int]]:
    return [(child.code, villages) for child, villages in response.context["children"]]


def crumbs(response) -> list[str]:
    return [node.code for node in response.context["path"]]


def add_townships(count: int) -> None:
    """More townships under the county, each with `index` villages."""
    for index in range(count):
        township = Region.objects.create(
            code=f"350581{102 + index:03d}000",
            name=f"第{index}镇",
            level=Level.TOWNSHIP,
            parent_id=COUNTY,
        )
        for number in range(index):
            Region.objects.create(
                code=f"{township.code[:9]}{201 + number:03d}",
                name=f"第{index}镇{number}村",
                level=Level.VILLAGE,
                kind=Kind.RURAL,
                parent=township,
            )


def test_it_shows_the_townships_of_the_county_with_their_village_counts(client_for):
    Region.objects.create(
        code="350581100202", name="村A2", level=Level.VILLAGE, kind=Kind.RURAL, parent_id=TOWNSHIP_A
    )

    response = client_for("county").get(f"/regions/{COUNTY}/")

    assert response.status_code == 200
    assert response.context["region"].code == COUNTY
    assert children(response) == [(TOWNSHIP_A, 2), (TOWNSHIP_B, 1)]
    body = response.content.decode()
    assert "灵秀镇" in body
    assert "宝盖镇" in body


def test_it_counts_villages_of_every_county_under_the_city(client_for):
    response = client_for("supervisor").get(f"/regions/{CITY}/")

    assert children(response) == [(COUNTY, 2), (OTHER_COUNTY, 1)]


def test_it_shows_the_villages_of_a_township_with_rural_or_urban(client_for):
    Region.objects.create(
        code="350581100001",
        name="社区A",
        level=Level.VILLAGE,
        kind=Kind.URBAN,
        parent_id=TOWNSHIP_A,
    )

    response = client_for("township_a").get(f"/regions/{TOWNSHIP_A}/")

    assert [child.code for child, _ in response.context["children"]] == [
        "350581100001",
        VILLAGE_A,
    ]
    body = response.content.decode()
    assert "<td>城镇</td>" in body
    assert "<td>农村</td>" in body


def test_it_shows_a_village_without_children(client_for):
    response = client_for("liaison_a").get(f"/regions/{VILLAGE_A}/")

    assert response.status_code == 200
    assert children(response) == []
    assert "农村" in response.content.decode()


def test_it_shows_the_path_from_the_users_own_node_only(client_for):
    response = client_for("township_a").get(f"/regions/{VILLAGE_A}/")

    assert crumbs(response) == [TOWNSHIP_A]
    body = response.content.decode()
    assert f'href="/regions/{TOWNSHIP_A}/"' in body
    assert f'href="/regions/{COUNTY}/"' not in body


def test_it_shows_the_whole_path_below_a_county_officer(client_for):
    response = client_for("county").get(f"/regions/{VILLAGE_A}/")

    assert crumbs(response) == [COUNTY, TOWNSHIP_A]


def test_it_shows_no_path_on_the_users_own_node(client_for):
    response = client_for("county").get(f"/regions/{COUNTY}/")

    assert crumbs(response) == []
    assert f'href="/regions/{CITY}/"' not in response.content.decode()


@pytest.mark.parametrize(
    ("username", "code"),
    [
        ("township_a", TOWNSHIP_B),
        ("township_a", VILLAGE_B),
        ("township_a", COUNTY),
        ("liaison_a", VILLAGE_B),
        ("county", OTHER_COUNTY),
        ("county", OTHER_VILLAGE),
        ("county", CITY),
        ("county", PROVINCE),
        ("sysadmin_other", TOWNSHIP_A),
    ],
)
def test_it_answers_404_for_a_node_outside_the_users_subtree(client_for, username, code):
    response = client_for(username).get(f"/regions/{code}/")

    # The same answer as for a code that does not exist: nothing of the node shows.
    assert response.status_code == 404
    body = response.content.decode()
    assert "页面不存在" in body
    assert NAMES[code] not in body


@pytest.mark.parametrize("code", ["350581199000", "350581", "nothing"])
def test_it_answers_404_for_a_code_that_does_not_exist(client_for, code):
    assert client_for("township_a").get(f"/regions/{code}/").status_code == 404


def test_it_refuses_a_role_that_does_not_see_the_tree(client_for):
    assert client_for("visitor_a").get(f"/regions/{VILLAGE_A}/").status_code == 403


def test_it_offers_renaming_to_the_system_administrator_only(client_for):
    rename = f'action="/regions/{TOWNSHIP_A}/rename/"'

    assert rename in client_for("sysadmin").get(f"/regions/{TOWNSHIP_A}/").content.decode()
    assert rename not in client_for("county").get(f"/regions/{TOWNSHIP_A}/").content.decode()


def test_it_reads_a_county_with_two_townships_in_a_fixed_number_of_queries(
    client_for, django_assert_num_queries
):
    client = client_for("county")

    # Session, user, second factor, the user's node, the node, the path, the
    # children, the village counts, and the session's update (with its savepoint
    # and release): eleven, whatever the number of children.
    with django_assert_num_queries(11):
        response = client.get(f"/regions/{COUNTY}/")

    assert len(children(response)) == 2


def test_it_reads_a_county_with_ten_townships_in_the_same_number_of_queries(
    client_for, django_assert_num_queries
):
    add_townships(8)
    client = client_for("county")

    with django_assert_num_queries(11):
        response = client.get(f"/regions/{COUNTY}/")

    assert len(children(response)) == 10
    assert children(response)[-1] == ("350581109000", 7)


def test_it_reads_a_township_page_without_counting_villages(client_for, django_assert_num_queries):
    client = client_for("county")

    with django_assert_num_queries(10):
        client.get(f"/regions/{TOWNSHIP_A}/")

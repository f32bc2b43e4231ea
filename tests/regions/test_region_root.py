"""`/regions/`: straight to the user's own node."""

import pytest


@pytest.mark.parametrize(
    ("username", "code"),
    [
        ("liaison_a", "350581100201"),
        ("township_a", "350581100000"),
        ("county", "350581000000"),
        ("supervisor", "350500000000"),
        ("sysadmin_other", "350582000000"),
        # The security administrator opens the tree to add accounts at a node.
        ("secadmin", "350581000000"),
    ],
)
def test_it_redirects_to_the_users_own_node(client_for, username, code):
    response = client_for(username).get("/regions/")

    assert response.status_code == 302
    assert response["Location"] == f"/regions/{code}/"


@pytest.mark.parametrize("username", ["visitor_a", "auditor"])
def test_it_refuses_roles_that_do_not_see_the_tree(client_for, username):
    assert client_for(username).get("/regions/").status_code == 403


def test_it_sends_an_anonymous_visitor_to_the_login_page(client, db):
    response = client.get("/regions/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")

from tests.conftest import PASSWORD


def test_it_shows_the_county_officer_the_pages_of_the_role(client_for):
    response = client_for("county").get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "行政区划" in body
    assert "账号管理" not in body
    assert "审计日志" not in body


def test_it_sends_an_anonymous_visitor_to_the_login_page(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_logs_in_with_the_password(client, users):
    response = client.post("/accounts/login/", {"username": "liaison_a", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"

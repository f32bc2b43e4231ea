"""Errors answer with Chinese pages, never Django's English ones or a stack trace."""

import pytest
from django.test import Client
from django.urls import path

from tanfang.accounts import access
from tanfang.urls import urlpatterns as real_patterns


@access.authenticated
def broken(request):
    raise RuntimeError("boom")


urlpatterns = [*real_patterns, path("broken/", broken)]


def test_it_answers_a_missing_page_in_chinese(client_for):
    response = client_for("county").get("/regions/999999999999/")

    assert response.status_code == 404
    body = response.content.decode()
    assert "页面不存在" in body
    assert "不在您的管辖范围内" in body


def test_it_answers_a_forbidden_page_in_chinese(client_for):
    response = client_for("liaison_a").get("/audit/")

    assert response.status_code == 403
    assert "无权访问" in response.content.decode()


@pytest.mark.urls("tests.pages.test_error_pages")
def test_it_answers_a_server_error_in_chinese_without_details(users):
    from tests.conftest import sign_in

    client = sign_in(Client(raise_request_exception=False), users["county"])

    response = client.get("/broken/")

    assert response.status_code == 500
    body = response.content.decode()
    assert "系统出错了" in body
    assert "您提交的内容未被保存" in body
    assert "boom" not in body
    assert "Traceback" not in body


def test_it_answers_a_stale_form_in_chinese(users):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": "county", "password": "x"})

    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()

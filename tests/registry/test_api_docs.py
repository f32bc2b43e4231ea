"""The API's OpenAPI document (/api/v1/openapi.json) and docs page
(/api/v1/docs): for signed-in users only, and the page works without internet
under the project's CSP (ARCHITECTURE.md: no asset from the internet; no
inline script), with Swagger UI vendored in tanfang/static/vendor/."""

import re

import pytest
from django.contrib.staticfiles import finders

DOCS = "/api/v1/docs"
OPENAPI = "/api/v1/openapi.json"


def test_it_lists_the_operations_in_the_openapi_document(client_for):
    response = client_for("liaison_a").get(OPENAPI)

    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "探访关爱 API"
    assert document["info"]["version"] == "1"
    operations = {
        (method.upper(), path): operation["summary"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert operations == {
        ("GET", "/api/v1/elders"): "档案列表",
        ("POST", "/api/v1/elders"): "建档",
        ("GET", "/api/v1/elders/{elder_id}"): "档案",
        ("PATCH", "/api/v1/elders/{elder_id}"): "修改档案",
        ("POST", "/api/v1/elders/{elder_id}/status"): "变更状态",
        ("POST", "/api/v1/elders/{elder_id}/categories"): "确认对象类型",
        ("GET", "/api/v1/elders/{elder_id}/life-events"): "重大变故列表",
        ("POST", "/api/v1/elders/{elder_id}/life-events"): "登记重大变故",
        ("POST", "/api/v1/elders/{elder_id}/life-events/{life_event_id}/withdraw"): "撤销重大变故",
        ("POST", "/api/v1/policy/evaluate"): "按规则评估分级和探访要求",
        ("GET", "/api/v1/rules/{code}"): "本地区适用的探访规则和可调整参数",
        ("POST", "/api/v1/rules"): "设置本级探访规则（县级及以上）",
        ("GET", "/api/v1/visits"): "探访记录列表",
        ("POST", "/api/v1/visits"): "录入探访记录",
        ("GET", "/api/v1/visits/{visit_id}"): "探访记录",
        ("GET", "/api/v1/visits/form/{elder_id}"): "探访记录表",
        ("GET", "/api/v1/visits/check/{elder_id}"): "是否计入探访要求",
        ("GET", "/api/v1/needs"): "帮扶需求列表",
        ("POST", "/api/v1/needs"): "登记帮扶需求",
        ("GET", "/api/v1/needs/{need_id}"): "帮扶需求",
        ("POST", "/api/v1/needs/{need_id}/measure"): "填写帮扶措施",
        ("POST", "/api/v1/needs/{need_id}/status"): "变更帮扶需求状态",
        ("POST", "/api/v1/needs/{need_id}/not-resolved"): "回访发现未解决",
        ("GET", "/api/v1/hazards"): "安全隐患列表",
        ("POST", "/api/v1/hazards"): "登记安全隐患",
        ("GET", "/api/v1/hazards/{hazard_id}"): "安全隐患",
        ("PATCH", "/api/v1/hazards/{hazard_id}"): "修改安全隐患",
        ("POST", "/api/v1/hazards/{hazard_id}/remind"): "提醒消除隐患",
        ("POST", "/api/v1/hazards/{hazard_id}/removed"): "确认隐患已消除",
        ("POST", "/api/v1/hazards/{hazard_id}/reopen"): "重新打开隐患",
        ("GET", "/api/v1/emergencies"): "应急事件列表",
        ("POST", "/api/v1/emergencies"): "登记应急事件",
        ("GET", "/api/v1/emergencies/{emergency_id}"): "应急事件",
        ("POST", "/api/v1/emergencies/{emergency_id}/steps"): "记录处置步骤",
        ("POST", "/api/v1/emergencies/{emergency_id}/close"): "结案归档",
    }


def test_it_documents_the_session_cookie_and_the_bodies(client_for, settings):
    document = client_for("liaison_a").get(OPENAPI).json()

    [scheme] = document["components"]["securitySchemes"].values()
    assert scheme == {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
    register = document["components"]["schemas"]["ElderIn"]
    assert set(register["required"]) == {"name", "id_number", "village"}
    assert register["additionalProperties"] is False
    assert "token" not in str(document["components"]["schemas"]["ElderFile"])


@pytest.mark.parametrize("url", [DOCS, OPENAPI])
def test_it_requires_signing_in(client, db, url):
    response = client.get(url)

    assert response.status_code == 401
    assert response.json() == {"detail": "请先登录。"}


@pytest.mark.parametrize("url", [DOCS, OPENAPI])
@pytest.mark.parametrize("username", ["sysadmin", "secadmin", "auditor"])
def test_it_refuses_the_administrators_who_read_no_files(client_for, url, username):
    # 三员分立: the administrators reach no page of people's data, nor its API.
    response = client_for(username).get(url)

    assert response.status_code == 403
    assert response.json() == {"detail": "您没有权限进行此操作。"}


@pytest.mark.parametrize("username", ["visitor_a", "liaison_a", "supervisor"])
def test_it_shows_the_docs_to_the_roles_that_read_files(client_for, username):
    assert client_for(username).get(DOCS).status_code == 200


def test_it_serves_the_docs_page_with_local_assets_only(client_for):
    response = client_for("liaison_a").get(DOCS)

    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    assert sources == [
        "data:,",  # no favicon: the browser does not ask for /favicon.ico
        "/static/vendor/swagger-ui-5.35.0/swagger-ui.css",
        "/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js",
        "/static/api/docs.js",
    ]
    assert "cdn" not in html.lower()
    assert "http" not in html.lower()
    for source in sources[1:]:
        assert finders.find(source.removeprefix("/static/")), source
    # The only script without a source is the settings' JSON data block.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [
        '<script id="swagger-settings" type="application/json">'
    ]
    assert '"url": "/api/v1/openapi.json"' in html


def test_it_sends_the_projects_csp_with_the_docs_page(client_for):
    policy = client_for("liaison_a").get(DOCS)["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_it_vendors_swagger_ui_with_its_licence():
    for name in ["LICENSE", "NOTICE", "README.md", "swagger-ui-bundle.js.LICENSE.txt"]:
        assert finders.find(f"vendor/swagger-ui-5.35.0/{name}"), name
    css = finders.find("vendor/swagger-ui-5.35.0/swagger-ui.css")
    with open(css, encoding="utf-8") as handle:
        assert "sourceMappingURL" not in handle.read()


# In Chromium --------------------------------------------------------------------

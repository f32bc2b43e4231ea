"""The JSON API, /api/v1/ (django-ninja): the same users, sessions, access rules,
validation and audit as the pages.

Authentication is the web session (sign in on the login page, with the second
factor where the role needs it); unsafe methods need the CSRF token in the
`X-CSRFToken` header. The deny-by-default gate (`AccessMiddleware`) sees every
route of the API marked `access.json_api`: it refuses anonymous users, expired
sessions, a missing second factor, an expired password and a role without the
router's permission (`ROUTERS`) with 401/403 and a JSON body instead of a
redirect; each operation then checks its own permission (tanfang/registry/api.py).

Errors have one shape, ninja's own: `{"detail": "…"}`, or for bad input (422)
`{"detail": [{"loc": [...], "msg": "…", "type": "…"}]}`, whether the schema
refused a value or an action did. An action's `ValidationError` is keyed by
the field of the body it is about; every operation names its body `payload`,
so the field is at `["body", "payload", field]`.
"""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaError
from ninja.openapi.docs import DocsBase
from ninja.security import django_auth

from tanfang.accounts import access
from tanfang.accounts.permissions import Perm
from tanfang.care.api import emergencies_router, hazards_router, needs_router
from tanfang.jurisdiction.api import router as rules_router
from tanfang.policy.problems import OverridesRefused
from tanfang.registry.api import router as registry_router
from tanfang.registry.policy_api import router as policy_router
from tanfang.visits.api import router as visits_router


class LocalSwagger(DocsBase):
    """Swagger UI from tanfang/static/vendor/, not from a CDN (ARCHITECTURE.md: no
    asset from the internet), started by a static script under the CSP that
    allows no inline script; its settings travel in a JSON data block."""

    def render_page(self, request: HttpRequest, api: "NinjaAPI", **kwargs: Any) -> HttpResponse:
        settings = {
            "url": self.get_openapi_url(api, kwargs),
            "layout": "BaseLayout",
            "deepLinking": True,
            # The validator badge would send the document to validator.swagger.io.
            "validatorUrl": None,
        }
        context = {"api": api, "swagger_settings": settings}
        return render(request, "api/docs.html", context)


api = NinjaAPI(
    title="探访关爱 API",
    version="1",
    description=(
        "特殊困难老年人探访关爱服务平台的接口。使用网页登录后的会话；"
        "POST、PATCH 请求须在 X-CSRFToken 请求头中带上 CSRF 令牌。"
        '错误格式：{"detail": "…"}；输入有误时（422）为 '
        '{"detail": [{"loc": [...], "msg": "…", "type": "…"}]}。'
    ),
    urls_namespace="api",
    auth=django_auth,
    docs=LocalSwagger(),
)
# Each router, by the prefix of its URL names, with the permission that every
# one of its operations needs at least: `AccessMiddleware` refuses a user
# without it before ninja runs (and the route walk of tests/test_url_access.py
# checks it); each operation checks its own on top (`checked_first`).
ROUTERS = {
    "registry": (registry_router, Perm.PEOPLE_VIEW),
    "policy": (policy_router, Perm.PEOPLE_VIEW),
    "rules": (rules_router, Perm.PEOPLE_VIEW),
    "visits": (visits_router, Perm.PEOPLE_VIEW),
    "needs": (needs_router, Perm.PEOPLE_VIEW),
    "hazards": (hazards_router, Perm.PEOPLE_VIEW),
    "emergencies": (emergencies_router, Perm.PEOPLE_VIEW),
}
# The document, the docs page and the root: for the roles the API serves, who
# all read people's files; not for the three administrators (三员分立), who
# reach no page of people's data.
DOCS_PERM = Perm.PEOPLE_VIEW
for _prefix, (_router, _) in ROUTERS.items():
    api.add_router("/", _router, url_name_prefix=_prefix)


# Errors -----------------------------------------------------------------------

# Ninja's schema errors come with pydantic's English messages; the users read
# Chinese. By pydantic's error type; any other keeps pydantic's message.
_SCHEMA_MESSAGES = {
    "missing": "此项为必填项。",
    "extra_forbidden": "不接受此字段。",
    "string_type": "应为文本。",
    "string_too_long": "不能超过 {max_length} 个字符。",
    "int_type": "应为整数。",
    "int_parsing": "应为整数。",
    "int_from_float": "应为整数。",
    "greater_than_equal": "不能小于 {ge}。",
    "less_than_equal": "不能大于 {le}。",
    "bool_type": "应为 true 或 false。",
    "bool_parsing": "应为 true 或 false。",
    "date_type": "应为日期（YYYY-MM-DD）。",
    "date_parsing": "应为日期（YYYY-MM-DD）。",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）。",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD），不含时间。",
    "uuid_type": "应为 UUID（如 6f1c2b7e-0c4d-4a3b-9c1d-2f5e8a7b6c01）。",
    "uuid_parsing": "应为 UUID（如 6f1c2b7e-0c4d-4a3b-9c1d-2f5e8a7b6c01）。",
    "datetime_type": "应为时间（如 2026-12-01T09:30:00+08:00）。",
    "datetime_parsing": "应为时间（如 2026-12-01T09:30:00+08:00）。",
    "datetime_from_date_parsing": "应为时间（如 2026-12-01T09:30:00+08:00）。",
    "float_type": "应为数字。",
    "float_parsing": "应为数字。",
    "decimal_max_digits": "数字位数过多。",
    "decimal_max_places": "小数位数过多。",
    "decimal_type": "应为数字。",
    "decimal_parsing": "应为数字。",
    "enum": "应为以下之一：{expected}。",
    "literal_error": "应为以下之一：{expected}。",
    "list_type": "应为列表。",
    "model_attributes_type": "应为 JSON 对象。",
    "dict_type": "应为 JSON 对象。",
    "json_invalid": "请求体不是有效的 JSON。",
}


def _in_chinese(error: dict[str, Any]) -> dict[str, Any]:
    template = _SCHEMA_MESSAGES.get(error.get("type", ""))
    if template is None:
        return error
    context = dict(error.get("ctx", {}))
    if "expected" in context:
        # "'a', 'b' or 'c'"
        context["expected"] = str(context["expected"]).replace(" or ", ", ")
    try:
        message = template.format(**context)
    except (KeyError, IndexError):
        message = template.split("{", 1)[0].rstrip("：") + "。"
    return {**error, "msg": message}


@api.exception_handler(SchemaError)
def _schema_error(request: HttpRequest, error: SchemaError) -> HttpResponse:
    return api.create_response(
        request, {"detail": [_in_chinese(e) for e in error.errors]}, status=422
    )


def _field_errors(error: ValidationError) -> Iterable[dict[str, Any]]:
    fields = (
        error.message_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error.messages}
    )
    for field, messages in fields.items():
        loc = ["body", "payload"] if field == NON_FIELD_ERRORS else ["body", "payload", field]
        for message in messages:
            yield {"loc": loc, "msg": message, "type": "value_error"}


@api.exception_handler(ValidationError)
def _action_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    """An action refused the input: nothing was stored (the actions are atomic)."""
    return api.create_response(request, {"detail": list(_field_errors(error))}, status=422)


@api.exception_handler(OverridesRefused)
def _overrides_refused(request: HttpRequest, error: OverridesRefused) -> HttpResponse:
    """A county's numbers outside what the profile declares (wrong type, null,
    out of range, fixed by the document): 400, each parameter named."""
    detail = [
        {"loc": ["body", "payload", "overrides", name], "msg": message, "type": "value_error"}
        for name, message in error.parameters()
    ]
    return api.create_response(request, {"detail": detail}, status=400)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    # Missing and outside the user's subtree look the same (access.get_or_404).
    return api.create_response(request, {"detail": "未找到"}, status=404)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": "您没有权限进行此操作。"}, status=403)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": "请先登录。"}, status=401)


# Ninja raises these with English messages of its own.
_HTTP_MESSAGES = {
    "CSRF check Failed": "CSRF 校验失败：请在 X-CSRFToken 请求头中带上 CSRF 令牌。",
    "Cannot parse request body": "请求体不是有效的 JSON。",
}


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    detail = _HTTP_MESSAGES.get(error.message, error.message)
    return api.create_response(request, {"detail": detail}, status=error.status_code)


# URLs -------------------------------------------------------------------------


def _marked(
    urls: tuple[list[URLResolver | URLPattern], str, str],
) -> tuple[list[URLResolver | URLPattern], str, str]:
    """Ninja's URL patterns, each marked for `AccessMiddleware`: signed-in users
    holding the permission of its router (or `DOCS_PERM`), refused in JSON.
    Ninja makes new view functions each time its `urls` is read, so these
    patterns, and no others, are the ones to mount."""
    patterns, app_name, namespace = urls
    for pattern in patterns:
        assert isinstance(pattern, URLPattern)  # noqa: S101 - ninja makes no resolvers
        if pattern.name == "api-root":
            # Kept for ninja, which reverses it to find the API's base URL.
            pattern.callback = _root
        router = ROUTERS.get(str(pattern.name).split("_", 1)[0])
        access.json_api(router[1] if router is not None else DOCS_PERM)(pattern.callback)
    return patterns, app_name, namespace


def _root(request: HttpRequest) -> HttpResponse:
    """/api/v1/ itself, in JSON like the rest of the API (ninja's own raises a
    Http404 that Django answers with the HTML page)."""
    detail = f"未找到。接口文档见 {request.path}docs"
    return api.create_response(request, {"detail": detail}, status=404)


urls = _marked(api.urls)

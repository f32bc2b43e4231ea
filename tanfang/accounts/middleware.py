"""Session limits and the deny-by-default gate in front of every view."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode

from tanfang.accounts.access import rule_of, second_factor_given
from tanfang.audit.actions import record
from tanfang.audit.models import Action

STARTED = "tanfang_started"
LAST_SEEN = "tanfang_last_seen"
# Set on a request whose session this middleware ends, so that the logout it
# causes is not recorded as one the user asked for.
EXPIRED_FLAG = "tanfang_session_expired"


def _read_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class SessionLimitsMiddleware:
    """Idle timeout per role (30 minutes, 15 for administrators) and an absolute
    lifetime of 8 hours (NONFUNCTIONAL.md "Sessions")."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now = timezone.now()
            started = _read_time(request.session.get(STARTED))
            last_seen = _read_time(request.session.get(LAST_SEEN))
            reason = None
            if started is None or last_seen is None:
                reason = "invalid"
            elif now - started >= settings.TANFANG_SESSION_ABSOLUTE:
                reason = "absolute"
            elif now - last_seen >= user.policy.idle_timeout:
                reason = "idle"
            if reason is not None:
                record(
                    Action.SESSION_EXPIRED, actor=user, request=request, detail={"reason": reason}
                )
                setattr(request, EXPIRED_FLAG, True)
                logout(request)
                messages.info(request, "登录已超时，请重新登录。")
                return _to_login(request, "登录已超时，请重新登录。")
            request.session[LAST_SEEN] = now.isoformat()
        return self.get_response(request)


def start_session_clock(request: HttpRequest) -> None:
    """Called right after a successful login."""
    now = timezone.now().isoformat()
    request.session[STARTED] = now
    request.session[LAST_SEEN] = now


def _to_login(request: HttpRequest, detail: str = "请先登录。") -> HttpResponse:
    if _answers_json(request):
        return JsonResponse({"detail": detail}, status=401)
    url = resolve_url(settings.LOGIN_URL)
    if request.method == "GET" and not getattr(request, "htmx", False):
        url = f"{url}?{urlencode({'next': request.get_full_path()})}"
    if getattr(request, "htmx", False):
        response = HttpResponse(status=401)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _answers_json(request: HttpRequest) -> bool:
    """A route of the JSON API (`access.json_api`): its clients are programs,
    which need a status and a JSON body, not a redirect to a page."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    rule = rule_of(match.func)
    return rule is not None and rule.json


class AccessMiddleware:
    """Refuse every view that does not say who may reach it (deny by default),
    then apply its rule: sign-in, second factor, password age, permissions."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.user.is_authenticated:
            # Pages of people's data must not stay in the cache of a shared phone.
            add_never_cache_headers(response)
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        rule = rule_of(view_func)
        if rule is None:
            if settings.DEBUG:
                raise ImproperlyConfigured(
                    f"{view_func.__module__}.{view_func.__name__} is not marked with "
                    "an access rule (tanfang.accounts.access)"
                )
            raise PermissionDenied
        if not rule.login:
            return None
        user = request.user
        if not user.is_authenticated:
            return _to_login(request)
        if not rule.before_verification:
            if user.needs_second_factor(settings.TANFANG_REQUIRE_2FA) and not second_factor_given(
                user
            ):
                if rule.json:
                    return JsonResponse({"detail": "请先在网页上输入动态验证码。"}, status=401)
                return HttpResponseRedirect(reverse("accounts:otp"))
            if user.must_change_password(timezone.now()):
                if rule.json:
                    detail = "密码已过期或已被重置，请先在网页上设置新密码。"
                    return JsonResponse({"detail": detail}, status=403)
                messages.warning(request, "密码已过期或已被重置，请先设置新密码。")
                return HttpResponseRedirect(reverse("accounts:password"))
        if not all(user.can(perm) for perm in rule.perms):
            if rule.json:
                return JsonResponse({"detail": "您没有权限进行此操作。"}, status=403)
            raise PermissionDenied
        return None

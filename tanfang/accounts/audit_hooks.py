"""Every login, failure, lockout and logout goes to the audit log
(NONFUNCTIONAL.md "Login"). Django and django-axes announce these events only
as signals, so this is the one place the project listens to signals."""

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest

from tanfang.accounts.middleware import EXPIRED_FLAG
from tanfang.accounts.models import User
from tanfang.audit.actions import record
from tanfang.audit.models import Action


def _known_region(username: str) -> str:
    region = User.objects.filter(username=username).values_list("region_id", flat=True).first()
    return region or ""


def on_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    record(Action.LOGIN, actor=user, request=request)


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username") or "")
    record(
        Action.LOGIN_FAILED,
        request=request,
        username=username,
        region_code=_known_region(username),
        detail={
            # axes counts failures only while the account is not locked; an attempt
            # during a lockout is refused before the password is even checked.
            "failures": getattr(request, "axes_failures_since_start", None),
            "refused_while_locked": _refused_while_locked(request),
        },
    )


def _refused_while_locked(request: HttpRequest | None) -> bool:
    return bool(
        getattr(request, "axes_locked_out", False)
        and getattr(request, "axes_failures_since_start", None) is None
    )


def on_locked_out(
    sender: Any, request: HttpRequest, username: str, ip_address: str, **kwargs: Any
) -> None:
    if _refused_while_locked(request):
        return  # already locked; the refused attempt is logged as a failure
    record(
        Action.LOCKOUT,
        request=request,
        username=username or "",
        region_code=_known_region(username or ""),
        detail={"minutes": 30},
    )


def on_logout(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if getattr(request, EXPIRED_FLAG, False):
        return  # SessionLimitsMiddleware has recorded it as `session_expired`
    if user is not None:
        record(Action.LOGOUT, actor=user, request=request)


def connect() -> None:
    user_logged_in.connect(on_login, dispatch_uid="tanfang_audit_login")
    user_login_failed.connect(on_login_failed, dispatch_uid="tanfang_audit_login_failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="tanfang_audit_locked_out")
    user_logged_out.connect(on_logout, dispatch_uid="tanfang_audit_logout")

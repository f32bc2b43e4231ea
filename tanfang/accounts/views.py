from base64 import b32encode

import segno
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from tanfang.accounts import access, actions
from tanfang.accounts.forms import (
    AccountFilterForm,
    EditAccountForm,
    LoginForm,
    NewAccountForm,
    OwnPasswordForm,
    TokenForm,
)
from tanfang.accounts.middleware import start_session_clock
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action

PAGE_SIZE = 50


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@access.authenticated
def home(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    return render(request, "accounts/home.html", {"region": user.region})


@access.public
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect("home")
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        login(request, user)
        start_session_clock(request)
        if user.needs_second_factor(settings.TANFANG_REQUIRE_2FA):
            return _redirect_with_next(reverse("accounts:otp"), _safe_next(request))
        return HttpResponseRedirect(_safe_next(request) or reverse("home"))
    return render(request, "accounts/login.html", {"form": form, "next": _safe_next(request)})


def _redirect_with_next(url: str, next_url: str | None) -> HttpResponse:
    if next_url:
        url = f"{url}?{urlencode({'next': next_url})}"
    return HttpResponseRedirect(url)


@access.before_verification
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "您已安全退出。")
    return redirect("accounts:login")


@access.before_verification
def otp_view(request: HttpRequest) -> HttpResponse:
    """The second factor after the password: enter the code, or bind a phone first."""
    user = access.signed_in_user(request)
    if access.second_factor_given(user):
        return redirect("home")
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        return _redirect_with_next(reverse("accounts:otp_setup"), _safe_next(request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        verified, _ = device.verify_is_allowed()
        if verified and device.verify_token(form.cleaned_data["token"]):
            otp_login(request, device)
            record(Action.OTP_VERIFIED, actor=user, request=request)
            return HttpResponseRedirect(_safe_next(request) or reverse("home"))
        record(Action.OTP_FAILED, actor=user, request=request)
        form.add_error("token", "动态口令不正确或已过期，请查看手机上的最新口令。")
    return render(request, "accounts/otp.html", {"form": form, "next": _safe_next(request)})


@access.before_verification
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Bind a phone authenticator. A user who already has one must first prove it,
    or a stolen password alone could replace the second factor."""
    user = access.signed_in_user(request)
    has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    if has_device and not access.second_factor_given(user):
        return redirect("accounts:otp")
    form = TokenForm(request.POST or None)
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if request.method == "POST" and device is not None and form.is_valid():
        if actions.confirm_totp_device(
            acting_user=user, device=device, token=form.cleaned_data["token"], request=request
        ):
            otp_login(request, device)
            messages.success(request, "动态口令已绑定。")
            return HttpResponseRedirect(_safe_next(request) or reverse("accounts:me"))
        form.add_error("token", "动态口令不正确，请确认手机时间准确后重试。")
    if device is None:
        # A page reload keeps the key a phone may already have scanned.
        device = actions.start_totp_setup(acting_user=user)
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "qr": qr.svg_data_uri(scale=4, border=2),
        "secret": _group(device.bin_key),
        "next": _safe_next(request),
    }
    return render(request, "accounts/otp_setup.html", context)


def _group(key: bytes) -> str:
    text = b32encode(key).decode()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@access.authenticated
def my_account(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    return render(
        request,
        "accounts/me.html",
        {
            "account": user,
            "has_device": has_device,
            "expires_at": user.password_expires_at(),
            "second_factor_required": user.needs_second_factor(settings.TANFANG_REQUIRE_2FA),
        },
    )


@access.before_verification
def password_view(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    if user.needs_second_factor(settings.TANFANG_REQUIRE_2FA) and not access.second_factor_given(
        user
    ):
        return redirect("accounts:otp")
    form = OwnPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.change_password(
            acting_user=user, new_password=form.cleaned_data["new_password1"], request=request
        )
        update_session_auth_hash(request, user)
        messages.success(request, "密码已修改。")
        return redirect("accounts:me")
    return render(
        request,
        "accounts/password.html",
        {"form": form, "forced": user.must_change_password(timezone.now())},
    )


# Account management (security administrator) --------------------------------


@access.requires(Perm.ACCOUNTS_MANAGE)
def user_list(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    form = AccountFilterForm(request.GET or None)
    accounts = access.accounts_visible_to(user)
    if form.is_valid():
        if query := form.cleaned_data["q"].strip():
            accounts = accounts.filter(Q(username__icontains=query) | Q(full_name__icontains=query))
        if role := form.cleaned_data["role"]:
            accounts = accounts.filter(role=role)
    elif form.is_bound:
        # A filter that could not be read must not look like one that matched everything.
        accounts = accounts.none()
    page = Paginator(accounts.order_by("region_id", "username"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    locked = _locked_usernames([account.username for account in page])
    # The page links keep the search and the role filter.
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/user_list.html",
        {"form": form, "page": page, "locked": locked, "query": query.urlencode()},
    )


def _locked_usernames(usernames: list[str]) -> set[str]:
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return set(
        AccessAttempt.objects.filter(
            username__in=usernames,
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
            attempt_time__gte=since,
        ).values_list("username", flat=True)
    )


@access.requires(Perm.ACCOUNTS_MANAGE)
def user_create(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    initial = {"region": request.GET.get("region", "")}
    form = NewAccountForm(request.POST or None, acting_user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account, temporary = actions.create_account(
                acting_user=user,
                username=data["username"],
                full_name=data["full_name"],
                role=data["role"],
                region=data["region"],
                request=request,
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return render(
                request,
                "accounts/temporary_password.html",
                {"account": account, "temporary": temporary, "created": True},
            )
    return render(request, "accounts/user_form.html", {"form": form, "account": None})


def _add_errors(form: NewAccountForm | EditAccountForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            for item in errors:
                form.add_error(field if field in form.fields else None, item)
    else:
        for message in error.messages:
            form.add_error(None, message)


@access.requires(Perm.ACCOUNTS_MANAGE)
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    account = access.get_account_for(user, user_id)
    initial = {
        "full_name": account.full_name,
        "role": account.role,
        "region": account.region_id,
        "is_active": account.is_active,
    }
    form = EditAccountForm(request.POST or None, acting_user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.change_account(
                acting_user=user,
                user=account,
                full_name=data["full_name"],
                role=data["role"],
                region=data["region"],
                is_active=data["is_active"],
                request=request,
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "账号已保存。")
            return redirect("accounts:user_detail", user_id=account.pk)
    context = {
        "form": form,
        "account": account,
        "locked": account.username in _locked_usernames([account.username]),
        "has_device": TOTPDevice.objects.filter(user=account, confirmed=True).exists(),
    }
    return render(request, "accounts/user_form.html", context)


@access.requires(Perm.ACCOUNTS_MANAGE)
@require_POST
def user_reset_password(request: HttpRequest, user_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    account = access.get_account_for(user, user_id)
    try:
        temporary = actions.reset_password(acting_user=user, user=account, request=request)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("accounts:user_detail", user_id=account.pk)
    return render(
        request,
        "accounts/temporary_password.html",
        {"account": account, "temporary": temporary, "created": False},
    )


@access.requires(Perm.ACCOUNTS_MANAGE)
@require_POST
def user_unlock(request: HttpRequest, user_id: int) -> HttpResponse:
    account = access.get_account_for(access.signed_in_user(request), user_id)
    try:
        actions.unlock_account(
            acting_user=access.signed_in_user(request), user=account, request=request
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"已解除 {account.username} 的登录锁定。")
    return redirect("accounts:user_detail", user_id=account.pk)


@access.requires(Perm.ACCOUNTS_MANAGE)
@require_POST
def user_reset_otp(request: HttpRequest, user_id: int) -> HttpResponse:
    account = access.get_account_for(access.signed_in_user(request), user_id)
    try:
        actions.remove_totp_devices(
            acting_user=access.signed_in_user(request), user=account, request=request
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"已解绑 {account.username} 的动态口令，其下次登录时需重新绑定。")
    return redirect("accounts:user_detail", user_id=account.pk)

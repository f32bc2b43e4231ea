from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Role
from tanfang.regions.models import Region


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "用户名或密码不正确。连续 5 次错误，账号将被锁定 30 分钟。",
        "inactive": "该账号已停用，请联系安全管理员。",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class OwnPasswordForm(PasswordChangeForm):
    """Old password, new password twice; the validators of settings apply."""


class TokenForm(forms.Form):
    token = forms.CharField(
        label="动态口令",
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]{6}"}
        ),
        error_messages={"min_length": "请输入 6 位数字。", "max_length": "请输入 6 位数字。"},
    )

    def clean_token(self) -> str:
        token: str = self.cleaned_data["token"].strip()
        if not token.isdigit():
            raise forms.ValidationError("请输入 6 位数字。")
        return token


class RegionCodeField(forms.CharField):
    """A region of the acting user's subtree, typed as its 12-digit code."""

    def __init__(self, *, acting_user: User, **kwargs: Any) -> None:
        self.acting_user = acting_user
        kwargs.setdefault("label", "所属区划代码")
        kwargs.setdefault("help_text", "12 位统计用区划代码，可在“行政区划”页面查到。")
        super().__init__(min_length=12, max_length=12, **kwargs)

    def clean(self, value: Any) -> Region:
        code = super().clean(value)
        region = access.regions_visible_to(self.acting_user).filter(code=code).first()
        if region is None:
            raise forms.ValidationError("区划代码不存在或不在您的管辖范围内。")
        return region


class AccountForm(forms.Form):
    full_name = forms.CharField(label="姓名", max_length=50)
    role = forms.ChoiceField(label="角色", choices=Role.choices)

    def __init__(self, *args: Any, acting_user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"] = RegionCodeField(acting_user=acting_user)


class NewAccountForm(AccountForm):
    username = forms.RegexField(
        label="用户名",
        regex=r"^[A-Za-z0-9_.@+-]{3,150}$",
        error_messages={"invalid": "用户名只能包含字母、数字和 _ . @ + -，至少 3 位。"},
    )
    field_order = ["username", "full_name", "role", "region"]

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("该用户名已被使用。")
        return username


class EditAccountForm(AccountForm):
    is_active = forms.BooleanField(label="启用", required=False)


class AccountFilterForm(forms.Form):
    q = forms.CharField(
        label="用户名或姓名",
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": "用户名或姓名", "type": "search"}),
    )
    role = forms.ChoiceField(
        label="角色", required=False, choices=[("", "全部角色"), *Role.choices]
    )

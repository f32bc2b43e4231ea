"""Accounts: each user is bound to one node of the administrative tree and has one role."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.utils import timezone

from tanfang.accounts.permissions import Perm, Role, RolePolicy, policy_of
from tanfang.regions.models import Region


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(username=username)

    def create_user(self, username: str, password: str | None = None, **fields: Any) -> "User":
        """For tests and the demo; accounts are created by `actions.create_account`."""
        user = self.model(username=username, **fields)
        user.set_password(password)
        user.password_changed_at = timezone.now()
        user.save()
        return user


class User(AbstractBaseUser):
    username = models.CharField(
        "用户名",
        max_length=150,
        unique=True,
        validators=[UnicodeUsernameValidator()],
        error_messages={"unique": "该用户名已被使用。"},
    )
    full_name = models.CharField("姓名", max_length=50)
    region = models.ForeignKey(
        Region, verbose_name="所属区划", on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField("角色", max_length=20, choices=Role.choices)
    is_active = models.BooleanField("启用", default=True)
    date_joined = models.DateTimeField("创建时间", default=timezone.now)
    # None forces a change at the next login (a reset by the security administrator).
    password_changed_at = models.DateTimeField("密码修改时间", null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["username"]
        verbose_name = "账号"
        verbose_name_plural = "账号"

    def __str__(self) -> str:
        return f"{self.full_name}（{self.username}）"

    @property
    def policy(self) -> RolePolicy:
        return policy_of(self.role)

    def can(self, perm: Perm) -> bool:
        return self.is_active and perm in self.policy.perms

    def needs_second_factor(self, required: bool) -> bool:
        return required and self.policy.second_factor

    def password_expires_at(self) -> datetime | None:
        if not self.policy.password_expires or self.password_changed_at is None:
            return None
        expires: datetime = self.password_changed_at + settings.TANFANG_PASSWORD_MAX_AGE
        return expires

    def must_change_password(self, now: datetime) -> bool:
        """A reset password, or an officer's password older than 90 days
        (NONFUNCTIONAL.md "Passwords")."""
        if self.password_changed_at is None:
            return True
        expires = self.password_expires_at()
        return expires is not None and now >= expires


class PasswordHistory(models.Model):
    """Hashes of earlier passwords: the last five may not be used again."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d}"

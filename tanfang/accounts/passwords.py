"""Password rules beyond Django's own (NONFUNCTIONAL.md "Passwords")."""

import string
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError

CLASSES = {
    "小写字母": set(string.ascii_lowercase),
    "大写字母": set(string.ascii_uppercase),
    "数字": set(string.digits),
}


def character_classes(password: str) -> int:
    found = sum(1 for chars in CLASSES.values() if any(c in chars for c in password))
    has_symbol = any(not c.isalnum() or not c.isascii() for c in password)
    return found + int(has_symbol)


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's, with the message in Chinese: Django 5.2 reworded it and its
    zh_Hans catalogue has no translation of the new wording, so it showed in English."""

    def get_error_message(self) -> str:
        return f"密码太短，至少需要 {self.min_length} 个字符。"


class CharacterClassValidator:
    """At least three of: lower-case letters, upper-case letters, digits, symbols."""

    def validate(self, password: str, user: Any = None) -> None:
        if character_classes(password) < 3:
            raise ValidationError(
                "密码须包含大写字母、小写字母、数字、符号中的至少三类。",
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return "须包含大写字母、小写字母、数字、符号中的至少三类。"


class PasswordHistoryValidator:
    """None of the last five passwords again."""

    def validate(self, password: str, user: Any = None) -> None:
        if user is None or user.pk is None:
            return
        count = settings.TANFANG_PASSWORD_HISTORY
        # The history holds every password set through `actions`, the current
        # one first; the current hash is added for accounts made otherwise.
        recent = {user.password, *user.password_history.values_list("password", flat=True)[:count]}
        if any(encoded and check_password(password, encoded) for encoded in recent):
            raise ValidationError(f"不能使用最近 {count} 次用过的密码。", code="password_reused")

    def get_help_text(self) -> str:
        return f"不能与最近 {settings.TANFANG_PASSWORD_HISTORY} 次用过的密码相同。"

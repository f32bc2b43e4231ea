"""What people type and phones send, read the same way by every app.

The bottom layer (pyproject.toml, [tool.importlinter]): the actions and the
schemas of registry, visits and care call these, so that a time without its
zone, a control character or an inner check's errors mean the same thing on
every form and every API.
"""

import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

# Line breaks and tabs may be typed into a text box.
TYPED_CONTROLS = frozenset("\t\n\r")


def beijing_time(moment: datetime) -> datetime:
    """A time without a zone is a time in Asia/Shanghai (ARCHITECTURE.md: times
    are shown in Asia/Shanghai, so a phone or a form that leaves the zone out
    means a time there); a time with its zone stays as it is."""
    if timezone.is_naive(moment):
        return timezone.make_aware(moment, ZoneInfo(settings.TIME_ZONE))
    return moment


def has_unstorable(text: str, *, allowed: frozenset[str] = TYPED_CONTROLS) -> bool:
    """Whether the text holds a character that cannot be stored: a control
    character other than those `allowed` (NUL among them) or a lone surrogate
    (PostgreSQL text and jsonb, UTF-8)."""
    return any(unicodedata.category(c) in ("Cc", "Cs") and c not in allowed for c in text)


def merge_errors(errors: dict[str, list[str]], error: ValidationError) -> None:
    """An inner check's errors, keyed by field, added to those collected so far,
    so that an action can answer every error at once."""
    for field, messages in error.message_dict.items():
        errors.setdefault(field, []).extend(messages)

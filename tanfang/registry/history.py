"""The history of an elder's file: who changed which field, when.

Kept by django-auditlog on every save of the file and of its parts (the actions
set the actor). Encrypted values are never written into the history, not even
as ciphertext: `mask` replaces them, so the history says only that they
changed. Derived fields (keyed hashes, last four digits, warnings) are left out.
"""

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tanfang.registry.models import (
    AssistanceItem,
    Elder,
    ElderCategory,
    EmergencyContact,
    HelpReceived,
    HouseholdMember,
)

MASKED = "******"
_PARTS: tuple[type[models.Model], ...] = (
    HouseholdMember,
    EmergencyContact,
    AssistanceItem,
    HelpReceived,
    ElderCategory,
)
_PART_LABELS = {
    HouseholdMember: "家庭成员",
    EmergencyContact: "紧急联系人",
    AssistanceItem: "救助和补贴项目",
    HelpReceived: "已享受帮扶",
    ElderCategory: "对象类型",
}


def mask(value: str) -> str:
    """AUDITLOG_MASK_CALLABLE: nothing of an encrypted value goes into the history."""
    return MASKED


def _tokens(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if f.name.endswith("_token")]


def register() -> None:
    if auditlog.contains(Elder):
        return
    auditlog.register(
        Elder,
        exclude_fields=["id_number_hash", "id_last4_hash", "phone_hash", "phone_last4"]
        + ["quality_warnings", "last_reviewed_on"],
        mask_fields=_tokens(Elder),
    )
    for part in _PARTS:
        auditlog.register(
            part,
            exclude_fields=[f.name for f in part._meta.concrete_fields if f.name.endswith("_hash")],
            mask_fields=_tokens(part),
        )


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor: str
    what: str
    verb: str
    changes: list[Change]


def _entries(elder: Elder) -> Any:
    types = ContentType.objects.get_for_models(Elder, *_PARTS)
    condition = Q(content_type=types[Elder], object_pk=str(elder.pk))
    for part in _PARTS:
        pks = part._default_manager.filter(elder=elder).values_list("pk", flat=True)
        condition |= Q(content_type=types[part], object_pk__in=[str(pk) for pk in pks])
    return LogEntry.objects.filter(condition)


def entries_for(elder: Elder, limit: int = 200) -> list[Entry]:
    """The file's history, newest first, in words."""
    models_by_type = {
        ct.pk: model for model, ct in ContentType.objects.get_for_models(Elder, *_PARTS).items()
    }
    found = []
    for log in _entries(elder).select_related("actor").order_by("-timestamp", "-pk")[:limit]:
        model = models_by_type[log.content_type_id]
        what = "档案" if model is Elder else f"{_PART_LABELS[model]}：{log.object_repr}"
        verb = {0: "新增", 1: "修改", 2: "删除"}.get(log.action, "修改")
        changes = [] if model is ElderCategory else _changes(model, log.changes or {})
        if model is ElderCategory:
            confirmed = not (log.changes or {}).get("withdrawn_at")
            verb = "确认" if log.action == 0 else ("撤销" if not confirmed else "修改")
        if log.action == 0 and model is not ElderCategory:
            changes = []  # the created record is on the page itself
        found.append(
            Entry(
                at=log.timestamp,
                actor=log.actor.full_name if log.actor else "系统",
                what=what,
                verb=verb,
                changes=changes,
            )
        )
    return found


def _changes(model: type[models.Model], raw: dict[str, Any]) -> list[Change]:
    result = []
    for name, pair in raw.items():
        try:
            field = model._meta.get_field(name)
        except Exception:  # a field since removed from the model
            label, field = name, None
        else:
            label = str(getattr(field, "verbose_name", name)).removesuffix("（密文）")
        if field is not None and field.name.endswith("_token"):
            result.append(Change(label, "", "已修改"))
            continue
        old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        result.append(Change(label, _show(field, old), _show(field, new)))
    return result


def _show(field: Any, value: Any) -> str:
    if value in (None, "None", ""):
        return "空"
    if isinstance(field, models.BooleanField):
        return {"True": "是", "False": "否"}.get(str(value), str(value))
    choices = dict(getattr(field, "flatchoices", None) or [])
    for key, label in choices.items():
        if str(key) == str(value):
            return str(label)
    return str(value)


def changed_fields_since(elder: Elder, since: date) -> list[str]:
    """Labels of the fields and parts changed on or after `since` (for a review)."""
    start = timezone.make_aware(datetime.combine(since, time.min))
    labels: list[str] = []
    for entry in entries_for(elder, limit=1000):
        if entry.at < start:
            break
        if entry.changes:
            labels.extend(c.field for c in entry.changes)
        elif entry.what == "档案":  # the registration itself
            continue
        else:
            labels.append(entry.what.split("：")[0])
    return list(dict.fromkeys(labels))

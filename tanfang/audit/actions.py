"""Writing to the audit log. Every action that matters calls `record` inside its own
transaction, so the entry and the change commit or fail together."""

from typing import Any

from axes.helpers import get_client_ip_address
from django.http import HttpRequest

from tanfang.audit.models import Action, AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # The same address django-axes locks on, read by django-ipware with the
    # proxy settings (settings.AXES_IPWARE_*).
    ip = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
    return str(ip) if ip else None


def record(
    action: Action,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    username: str = "",
    region_code: str | None = None,
    target: Any = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry. `actor` is the user who acted (None when unknown)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if region_code is None:
        region_code = actor.region_id if actor is not None else ""
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        username=(actor.get_username() if actor is not None else username)[:150],
        region_code=region_code or "",
        ip_address=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request else "")[:300],
        object_type=target._meta.model_name if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        detail=detail or {},
    )

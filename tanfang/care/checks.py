"""The checks that needs, hazards and emergencies share (tanfang.care.needs,
tanfang.care.hazards, tanfang.care.emergencies): every error is collected with
a Chinese message keyed by the argument it is about, and all of them are
refused at once.
"""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.http import Http404

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.registry.models import Elder, Status
from tanfang.visits.models import Visit

NOTE_MAX = 500
DESCRIPTION_MAX = 2000

Errors = dict[str, list[str]]
Add = Callable[[str, str], None]


def collector() -> tuple[Errors, Add]:
    errors: Errors = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    return errors, add


def raise_if(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


def elder_in_scope(acting_user: User, elder: Elder) -> Elder:
    """The elder, re-read, or 404 when outside the user's subtree."""
    if not access.in_scope(acting_user, elder.village_id):
        raise Http404
    return Elder.objects.get(pk=elder.pk)


def check_active(elder: Elder, add: Add) -> None:
    if elder.status != Status.ACTIVE:
        add("elder", f"该老人档案状态为“{elder.get_status_display()}”，不能登记。")


def check_text(add: Add, field: str, value: str, label: str, *, required: bool, limit: int) -> None:
    if required and not value:
        add(field, f"请填写{label}。")
    elif len(value) > limit:
        add(field, f"{label}不能超过{limit}字。")


def check_finding_visit(elder: Elder, source: str, visit: Visit | None, add: Add) -> None:
    """A record found by a visit names the visit, and only then."""
    if source == "visit" and visit is None:
        add("visit", "来源为“探访发现”时，请选择发现问题的探访记录。")
    elif visit is not None and source != "visit":
        add("source", "关联探访记录时，来源应为“探访发现”。")
    if visit is not None and visit.elder_id != elder.pk:
        add("visit", "该探访记录不是这位老人的。")

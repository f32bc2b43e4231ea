"""Major changes in an elder's life recorded on the file (重大变故): a
hospital stay, a bereavement, a fall, a move, a lost carer, a disaster. Each
may owe a visit within hours under the county's rules (`tanfang.policy`
triggers), so the file is refreshed at once."""

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from tanfang import refresh
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.inputs import beijing_time, has_unstorable
from tanfang.policy.changes import CHANGE_LABELS, Change
from tanfang.registry.actions import check_change
from tanfang.registry.models import Elder, LifeEvent, LifeEventSource, Status

LIFE_EVENT_NOTE_MAX = 200
# A phone's clock may run a little fast (as for visits and the closed loop).
LIFE_EVENT_CLOCK_SKEW = timedelta(minutes=5)
_CHANGES = frozenset(c.value for c in Change)


def may_record_life_event(user: User) -> bool:
    """Visitors record what they find on a visit; officers what they learn."""
    return access.can(user, Perm.VISITS_RECORD) or access.can(user, Perm.PEOPLE_CHANGE)


def _check_short_text(
    errors: dict[str, list[str]], field: str, label: str, text: str, *, required: bool
) -> None:
    if required and not text:
        errors.setdefault(field, []).append(f"请填写{label}。")
    elif len(text) > LIFE_EVENT_NOTE_MAX:
        errors.setdefault(field, []).append(f"{label}不能超过{LIFE_EVENT_NOTE_MAX}字。")
    elif has_unstorable(text):
        errors.setdefault(field, []).append(f"{label}含有无法保存的控制字符，请删除后重新填写。")


@transaction.atomic
def record_life_event(
    *,
    acting_user: User,
    elder: Elder,
    change: str,
    occurred_at: datetime,
    note: str = "",
    source: str = LifeEventSource.FILE,
    request: HttpRequest | None = None,
) -> LifeEvent:
    """A major change in the elder's life on the file (重大变故, 004_1657df0ed1e05604.txt
    二(四)2: 受家庭变故……影响的老年人), for the rules that ask for a visit after it.

    The time is kept to the minute; without a zone it is Beijing time. The same
    change at the same minute already on the file (and not withdrawn) is not
    stored twice: that row comes back with `replayed` set, and nothing is written.
    Every error at once, keyed by argument, nothing stored.
    """
    if not may_record_life_event(acting_user):
        raise PermissionDenied
    if not access.in_scope(acting_user, elder.village_id):
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    if change not in _CHANGES:
        errors["change"] = ["请选择变故类型。" if not change else f"未知的变故类型：{change}"]
    if source not in LifeEventSource.values:
        errors["source"] = [f"未知的来源：{source}"]
    moment = (
        beijing_time(occurred_at).replace(second=0, microsecond=0)
        if isinstance(occurred_at, datetime)
        else None
    )
    if moment is None:
        errors["occurred_at"] = ["请填写发生时间。"]
    elif moment > timezone.now() + LIFE_EVENT_CLOCK_SKEW:
        errors["occurred_at"] = ["发生时间不能晚于现在。"]
    elif timezone.localtime(moment).date() < elder.birth_date:
        errors["occurred_at"] = ["发生时间不能早于出生日期。"]
    text = (note or "").strip()
    _check_short_text(errors, "note", "说明", text, required=False)
    if elder.status != Status.ACTIVE:
        errors["elder"] = [f"该老人档案状态为“{elder.get_status_display()}”，不能登记重大变故。"]
    if errors or moment is None:
        raise ValidationError(errors)

    same = LifeEvent.objects.filter(
        elder=elder, change=change, occurred_at=moment, withdrawn_at__isnull=True
    )
    existing = same.first()
    if existing is not None:
        existing.replayed = True
        return existing
    try:
        # A savepoint: a simultaneous second submission loses the race on the
        # unique constraint and finds the first one's row.
        with transaction.atomic():
            event = LifeEvent.objects.create(
                elder=elder,
                change=change,
                occurred_at=moment,
                note=text,
                source=source,
                recorded_by=acting_user,
            )
    except IntegrityError:
        existing = same.first()
        if existing is None:
            raise
        existing.replayed = True
        return existing
    # The tier and the visits owed may depend on it ("visit within 24 hours of a fall").
    refresh.after_elder_changed(elder)
    record(
        Action.LIFE_EVENT_RECORDED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=event,
        detail={
            "elder": elder.pk,
            "change": change,
            "label": CHANGE_LABELS[Change(change)],
            "occurred_at": timezone.localtime(moment).isoformat(),
            "source": source,
        },
    )
    return event


@transaction.atomic
def withdraw_life_event(
    *,
    acting_user: User,
    event: LifeEvent,
    reason: str,
    request: HttpRequest | None = None,
) -> LifeEvent:
    """Take back an entry made by mistake, with who, when and why; the row
    stays on the file, struck through, and no rule counts it any more.
    Withdrawing it again changes nothing."""
    elder = event.elder
    check_change(acting_user, elder)
    if event.withdrawn_at is not None:
        return event
    errors: dict[str, list[str]] = {}
    text = (reason or "").strip()
    _check_short_text(errors, "reason", "撤销原因", text, required=True)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    # Conditional: of two withdrawals at once, the second changes nothing.
    withdrawn = LifeEvent.objects.filter(pk=event.pk, withdrawn_at__isnull=True).update(
        withdrawn_at=now, withdrawn_by=acting_user, withdraw_reason=text
    )
    event.refresh_from_db()
    if not withdrawn:
        return event
    refresh.after_elder_changed(elder)
    record(
        Action.LIFE_EVENT_WITHDRAWN,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=event,
        detail={"elder": elder.pk, "change": event.change, "reason": text},
    )
    return event

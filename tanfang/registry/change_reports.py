"""A visitor reports a death or a move; the liaison confirms it (issue 16).

Visitors do not change a file's status: they report what they learnt on a
visit (去世, 迁出, 入住机构, with the date and a note) about an elder assigned
to them. The village liaison, or an officer of the township or the county,
confirms the report, which changes the status through the registry's own
`actions.change_status` (and so refreshes the tasks, the assignments and the
months, tanfang.refresh), or rejects it with the reason. Every step is
audited; nothing is deleted.
"""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.inputs import has_unstorable
from tanfang.registry.actions import NEEDS_DESTINATION, change_status, check_change
from tanfang.registry.models import (
    REPORTABLE,
    ChangeReport,
    Elder,
    ReportState,
    Status,
)

TEXT_MAX = 200
_REPORTABLE = frozenset(s.value for s in REPORTABLE)


def may_report(user: User) -> bool:
    """Who visits may report what they find (visitors, and anyone recording visits)."""
    return access.can(user, Perm.VISITS_RECORD)


def pending(reports: QuerySet[ChangeReport]) -> QuerySet[ChangeReport]:
    return reports.filter(state=ReportState.PENDING)


def _check_text(errors: dict[str, str], field: str, label: str, text: str) -> None:
    if len(text) > TEXT_MAX:
        errors[field] = f"{label}不能超过{TEXT_MAX}字。"
    elif has_unstorable(text):
        errors[field] = f"{label}含有无法保存的控制字符，请删除后重新填写。"


@transaction.atomic
def report_change(
    *,
    acting_user: User,
    elder: Elder,
    to_status: str,
    occurred_on: date,
    note: str = "",
    destination: str = "",
    request: HttpRequest | None = None,
) -> ChangeReport:
    """A death or a move reported for an elder the user may see (for a visitor:
    one assigned to them). The same report again while it waits is not stored
    twice (the row comes back with `replayed` set); another report while one
    waits is refused. Every error at once, keyed by argument, nothing stored."""
    if not may_report(acting_user):
        raise PermissionDenied("您的角色不能报告老人去世或迁出。")
    if not Elder.objects.visible_to(acting_user).filter(pk=elder.pk).exists():
        raise PermissionDenied("只能报告包干给您的老人。")
    # One writer per elder: a second report waits here for the first.
    elder = Elder.objects.select_for_update().get(pk=elder.pk)
    errors: dict[str, str] = {}
    if to_status not in _REPORTABLE:
        errors["to_status"] = "请选择报告的情况（去世、迁出或入住机构）。"
    if not isinstance(occurred_on, date):
        errors["occurred_on"] = "请填写发生日期。"
    elif occurred_on > timezone.localdate():
        errors["occurred_on"] = "发生日期不能晚于今天。"
    elif occurred_on < elder.birth_date:
        errors["occurred_on"] = "发生日期不能早于出生日期。"
    note, destination = (note or "").strip(), (destination or "").strip()
    _check_text(errors, "note", "说明", note)
    _check_text(errors, "destination", "迁往何处或机构名称", destination)
    if elder.status != Status.ACTIVE:
        errors["elder"] = f"该老人档案状态已是“{elder.get_status_display()}”，无需报告。"
    if errors:
        raise ValidationError(errors)
    waiting = pending(ChangeReport.objects.filter(elder=elder)).first()
    if waiting is not None:
        if (waiting.to_status, waiting.occurred_on) == (to_status, occurred_on):
            waiting.replayed = True
            return waiting
        raise ValidationError(
            {
                "to_status": f"该老人已有一条待确认的报告（{waiting.get_to_status_display()}，"
                f"{waiting.occurred_on:%Y年%m月%d日}），请等待村(居)联络员处理。"
            }
        )
    try:
        with transaction.atomic():
            report = ChangeReport.objects.create(
                elder=elder,
                to_status=to_status,
                occurred_on=occurred_on,
                note=note,
                destination=destination,
                reported_by=acting_user,
            )
    except IntegrityError:
        # Another report of this elder committed in the meantime.
        raise ValidationError(
            {"to_status": "该老人已有一条待确认的报告，请等待村(居)联络员处理。"}
        ) from None
    record(
        Action.CHANGE_REPORTED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=report,
        detail={"elder": elder.pk, "to_status": to_status, "occurred_on": str(occurred_on)},
    )
    return report


def _locked(acting_user: User, report: ChangeReport) -> ChangeReport:
    """The report, locked, once the user is found to hold the file's change
    permission in its subtree (the village's liaison, its township, its county)."""
    check_change(acting_user, report.elder)
    return ChangeReport.objects.select_for_update().select_related("elder").get(pk=report.pk)


@transaction.atomic
def confirm_change_report(
    *,
    acting_user: User,
    report: ChangeReport,
    effective_on: date | None = None,
    destination: str | None = None,
    note: str = "",
    request: HttpRequest | None = None,
) -> ChangeReport:
    """Apply the reported change to the file (`change_status`, with the
    reporter, the report's note and the officer's note as the reason). The date
    and the destination may be corrected. Confirming again changes nothing."""
    report = _locked(acting_user, report)
    if report.state == ReportState.CONFIRMED:
        return report
    if report.state == ReportState.REJECTED:
        raise ValidationError({"report": "该报告已驳回，不能再确认。"})
    note = (note or "").strip()
    errors: dict[str, str] = {}
    _check_text(errors, "note", "处理意见", note)
    if errors:
        raise ValidationError(errors)
    label = report.get_to_status_display()
    reason = f"{report.reported_by.full_name}报告{label}" + (
        f"：{report.note}" if report.note else ""
    )
    if note:
        reason += f"；确认意见：{note}"
    where = report.destination if destination is None else destination.strip()
    try:
        change = change_status(
            acting_user=acting_user,
            elder=report.elder,
            to_status=report.to_status,
            effective_on=effective_on or report.occurred_on,
            reason=reason,
            destination=where if report.to_status in NEEDS_DESTINATION else "",
            request=request,
        )
    except ValidationError as error:
        # Said about the confirmation's own fields.
        raise ValidationError(
            {
                {"to_status": "report", "effective_on": "effective_on"}.get(field, field): messages
                for field, messages in error.message_dict.items()
            }
        ) from error
    report.state = ReportState.CONFIRMED
    report.decided_by = acting_user
    report.decided_at = timezone.now()
    report.decision_note = note
    report.status_change = change
    report.save(
        update_fields=["state", "decided_by", "decided_at", "decision_note", "status_change"]
    )
    record(
        Action.CHANGE_REPORT_CONFIRMED,
        actor=acting_user,
        request=request,
        region_code=report.elder.village_id,
        target=report,
        detail={
            "elder": report.elder_id,
            "to_status": report.to_status,
            "status_change": change.pk,
        },
    )
    return report


@transaction.atomic
def reject_change_report(
    *,
    acting_user: User,
    report: ChangeReport,
    note: str,
    request: HttpRequest | None = None,
) -> ChangeReport:
    """Reject a report with the reason (the elder is alive, still lives here,
    the wrong person…); the file is not changed. Rejecting again changes nothing."""
    report = _locked(acting_user, report)
    if report.state == ReportState.REJECTED:
        return report
    if report.state == ReportState.CONFIRMED:
        raise ValidationError(
            {"report": "该报告已确认，档案状态已变更；如有误请在档案中恢复在册。"}
        )
    note = (note or "").strip()
    errors: dict[str, str] = {}
    if not note:
        errors["note"] = "请填写驳回原因。"
    _check_text(errors, "note", "驳回原因", note)
    if errors:
        raise ValidationError(errors)
    report.state = ReportState.REJECTED
    report.decided_by = acting_user
    report.decided_at = timezone.now()
    report.decision_note = note
    report.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    record(
        Action.CHANGE_REPORT_REJECTED,
        actor=acting_user,
        request=request,
        region_code=report.elder.village_id,
        target=report,
        detail={"elder": report.elder_id, "to_status": report.to_status},
    )
    return report

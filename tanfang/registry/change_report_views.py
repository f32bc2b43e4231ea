"""The pages of a death or a move reported by a visitor (tanfang.registry.change_reports):
the visitor's form on the file of an elder assigned to them, and the liaison's
(or township's, county's) list of reports waiting and the page to confirm or
reject one."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from tanfang import pages
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.registry import change_reports
from tanfang.registry.forms import ChangeReportForm, ConfirmReportForm, RejectReportForm
from tanfang.registry.models import ChangeReport, Elder, ReportState, Status

# Decided reports listed under the waiting ones.
RECENTLY_DECIDED = 20


@access.requires(Perm.PEOPLE_VIEW, Perm.VISITS_RECORD)
def report_new(request: HttpRequest, elder_id: int) -> HttpResponse:
    """报告去世或迁出: for an elder the user may see (a visitor: one assigned to them)."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    file_url = f"{reverse('registry:file', args=[elder.pk])}#file"
    if elder.status != Status.ACTIVE:
        messages.info(request, f"{elder.name}的档案状态已是“{elder.get_status_display()}”。")
        return redirect(file_url)
    form = ChangeReportForm(request.POST or None, initial={"occurred_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            report = change_reports.report_change(
                acting_user=user, elder=elder, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            if report.replayed:
                messages.info(request, "这份报告已经提交过，正在等待确认，未重复提交。")
            else:
                messages.success(
                    request,
                    f"已报告{elder.name}{report.get_to_status_display()}，"
                    "等待村(居)联络员确认；确认前档案不变。",
                )
            return redirect(file_url)
    return render(request, "registry/report_change.html", {"form": form, "elder": elder})


@access.requires(Perm.PEOPLE_CHANGE)
def report_list(request: HttpRequest) -> HttpResponse:
    """The reports waiting in the user's subtree, oldest first, and the latest decided."""
    user = access.signed_in_user(request)
    reports = ChangeReport.objects.visible_to(user)
    context = {
        "waiting": list(change_reports.pending(reports).order_by("reported_at", "pk")),
        "decided": list(
            reports.exclude(state=ReportState.PENDING).order_by("-decided_at", "-pk")[
                :RECENTLY_DECIDED
            ]
        ),
    }
    return render(request, "registry/change_reports.html", context)


@access.requires(Perm.PEOPLE_CHANGE)
def report_decide(request: HttpRequest, report_id: int) -> HttpResponse:
    """Confirm (the status changes) or reject (with the reason) one report."""
    user = access.signed_in_user(request)
    report = access.get_or_404(ChangeReport.objects.visible_to(user), pk=report_id)
    confirm = ConfirmReportForm(
        request.POST if request.POST.get("decision") == "confirm" else None,
        initial={"effective_on": report.occurred_on, "destination": report.destination},
        prefix="confirm",
    )
    reject = RejectReportForm(
        request.POST if request.POST.get("decision") == "reject" else None, prefix="reject"
    )
    if request.method == "POST" and report.is_pending():
        done = _decide(request, user, report, confirm, reject)
        if done is not None:
            return done
    context: dict[str, Any] = {"report": report, "confirm": confirm, "reject": reject}
    return render(request, "registry/change_report.html", context)


def _decide(
    request: HttpRequest,
    user: User,
    report: ChangeReport,
    confirm: ConfirmReportForm,
    reject: RejectReportForm,
) -> HttpResponse | None:
    """Apply the decision posted; None to show the page again with its errors."""
    elder = report.elder
    if confirm.is_bound and confirm.is_valid():
        try:
            change_reports.confirm_change_report(
                acting_user=user, report=report, request=request, **confirm.cleaned_data
            )
        except ValidationError as error:
            pages.put_back(confirm, error)
            return None
        messages.success(
            request, f"已确认：{elder.name}的档案已变更为“{report.get_to_status_display()}”。"
        )
        return redirect("registry:file", elder_id=elder.pk)
    if reject.is_bound and reject.is_valid():
        try:
            change_reports.reject_change_report(
                acting_user=user, report=report, request=request, **reject.cleaned_data
            )
        except ValidationError as error:
            pages.put_back(reject, error)
            return None
        messages.success(request, f"已驳回对{elder.name}的报告，档案未变更。")
        return redirect("registry:change_reports")
    if not (confirm.is_bound or reject.is_bound):
        messages.error(request, "请选择确认或驳回。")
    return None

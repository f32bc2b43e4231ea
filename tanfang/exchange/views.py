import re
import tempfile
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from tanfang import pages
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.exchange import actions, sheets, tasks
from tanfang.exchange.forms import UploadForm
from tanfang.exchange.models import ImportJob
from tanfang.exchange.queries import filtered, get_job_for, jobs_visible_to
from tanfang.regions.models import Level
from tanfang.registry.forms import ElderFilterForm
from tanfang.registry.models import Elder

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECENT_JOBS = 20
# The page shows the first entries of a report; the whole of it is downloaded.
REPORT_ON_PAGE = 200
_LONG_NUMBER = re.compile(r"[0-9Xx]{5,}")


@access.requires(Perm.PEOPLE_VIEW)
@require_GET
def elders(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    return _elders_page(request, user, UploadForm())


def _elders_page(request: HttpRequest, user: User, form: UploadForm) -> HttpResponse:
    # Liaisons, townships and counties import; visitors do not (issue 16).
    can_import = user.can(Perm.ELDERS_IMPORT)
    context = {
        "form": form,
        "can_import": can_import,
        "can_export": _can_export(user),
        "jobs": list(jobs_visible_to(user).filter(created_by=user).defer("report")[:RECENT_JOBS])
        if can_import
        else [],
    }
    return render(request, "exchange/elders.html", context)


def _can_export(user: User) -> bool:
    return user.can(Perm.PEOPLE_VIEW) and user.can(Perm.REPORTS_VIEW)


@access.requires(Perm.ELDERS_IMPORT)
@require_GET
def template_download(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    villages = list(
        access.regions_visible_to(user)
        .filter(level=Level.VILLAGE)
        .select_related("parent")
        .order_by("code")
    )
    return _xlsx(sheets.template(villages), "老年人信息导入模板.xlsx")


@access.requires(Perm.ELDERS_IMPORT)
@require_POST
def import_upload(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = tasks.start_import(
                acting_user=user,
                data=upload.read(),
                file_name=upload.name or "",
                mode=form.cleaned_data["mode"],
                request=request,
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(
                request, f"已上传“{job.file_name}”，共 {job.rows_total} 行，正在导入。"
            )
            return redirect("exchange:import", job_id=job.pk)
    return _elders_page(request, user, form)


@access.requires(Perm.ELDERS_IMPORT)
@require_GET
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job_for(access.signed_in_user(request), job_id)
    return render(request, "exchange/import.html", _job_context(job))


@access.requires(Perm.ELDERS_IMPORT)
@require_GET
def import_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The part of the job's page that changes, polled by htmx until the job ends."""
    job = get_job_for(access.signed_in_user(request), job_id)
    return render(request, "exchange/_progress.html", _job_context(job))


def _job_context(job: ImportJob) -> dict[str, Any]:
    return {
        "job": job,
        "entries": job.report[:REPORT_ON_PAGE],
        "more_entries": max(len(job.report) - REPORT_ON_PAGE, 0),
    }


@access.requires(Perm.ELDERS_IMPORT)
@require_GET
def import_report(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job_for(access.signed_in_user(request), job_id)
    return _xlsx(sheets.report(job.report), f"导入报告_{job.pk}.xlsx")


@access.requires(Perm.PEOPLE_VIEW, Perm.REPORTS_VIEW)
def export(request: HttpRequest) -> HttpResponseBase:
    user = access.signed_in_user(request)
    form = ElderFilterForm(request.POST if request.method == "POST" else request.GET, user=user)
    today = timezone.localdate()
    if not form.is_valid():
        return render(request, "exchange/export.html", {"form": form, "count": None})
    elders = filtered(Elder.objects.visible_to(user), form.cleaned_data, today)
    if request.method != "POST":
        return render(request, "exchange/export.html", {"form": form, "count": elders.count()})
    subtree = form.cleaned_data["subtree"]
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by FileResponse
    actions.export_ledger(
        acting_user=user,
        elders=elders,
        filters=_audited_filters(form.cleaned_data),
        region_code=subtree.code if subtree else user.region_id,
        out=out,
        request=request,
    )
    out.seek(0)
    name = f"老年人台账_{(subtree or user.region).name}_{today:%Y%m%d}.xlsx"
    return FileResponse(out, as_attachment=True, filename=name, content_type=XLSX)


def _audited_filters(data: dict[str, Any]) -> dict[str, str]:
    """The filters as chosen; a long number typed in the search box is starred,
    it may be a whole ID or phone number."""
    subtree = data.get("subtree")
    return {
        "q": _LONG_NUMBER.sub(lambda match: "*" * len(match[0]), data.get("q") or ""),
        "subtree": subtree.code if subtree else "",
        "category": data.get("category") or "",
        "status": data.get("status") or "",
        "review": data.get("review") or "",
        "warnings": data.get("warnings") or "",
    }


def _xlsx(data: bytes, file_name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, file_name) or ""
    return response

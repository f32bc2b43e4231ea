"""The report pages (issue 6 "Reports" and "Dashboard"): a node's children with
their visit and compliance rates for any month and, beside them, the coverage
of the month's festivals and declared events, drill-down to the village and
its missed elders, the 12-month trend, the breakdown by tier and category, the
quarter (按季调度) with its compliance, the dashboard, and an audited Excel
file of each table.

Every page starts from `access.get_region_for(user, code)` (404 outside the
user's subtree) and reads through tanfang/reports/queries.py. Bad parameters
(month=2026-13, by=foo, sort=bar) answer 400 with the problem in Chinese.
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.care.queries import alert_counts_by_place, care_counts
from tanfang.months import add_months, month_of, quarter_months, quarter_of
from tanfang.regions.models import Level, Region
from tanfang.registry.models import Elder, Status
from tanfang.reports import charts, excel, people, queries
from tanfang.reports.rows import ALL
from tanfang.visits import late_queries
from tanfang.visits import queries as visit_queries

_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_BY_CHOICES = {"": "全部", "tier": "按分级", "category": "按对象类型"}
_TABLES = ("children", "dimensions", "missed", "trend")
TREND_MONTHS = 12


# --- Parameters ---------------------------------------------------------------------------


def _parse_month(raw: str, today: date) -> date:
    """A month of the form "2026-11", from 2020-01 up to the current month."""
    found = _MONTH.fullmatch(raw.strip())
    if not found:
        raise forms.ValidationError(f"月份“{raw}”格式不正确，应为“年-月”，例如 2026-11。")
    year, number = int(found[1]), int(found[2])
    if not 1 <= number <= 12:
        raise forms.ValidationError(f"月份“{raw}”不存在：月份应在 1 到 12 之间。")
    month = date(year, number, 1)
    if month < queries.FIRST_MONTH:
        raise forms.ValidationError("最早可查看 2020年1月 的数据。")
    if month > month_of(today):
        raise forms.ValidationError("不能查看尚未到来的月份。")
    return month


def _check_format(raw: str) -> str:
    if raw not in ("", "xlsx"):
        raise forms.ValidationError(f"导出格式“{raw}”不支持，只能导出 Excel（xlsx）。")
    return raw


class ReportParams(forms.Form):
    month = forms.CharField(label="月份", required=False)
    by = forms.CharField(label="统计口径", required=False)
    sort = forms.CharField(label="排序", required=False)
    format = forms.CharField(label="导出格式", required=False)
    table = forms.CharField(label="导出内容", required=False)

    def __init__(self, data: Any, *, today: date) -> None:
        super().__init__(data)
        self.today = today

    def clean_month(self) -> date:
        raw = self.cleaned_data["month"]
        return _parse_month(raw, self.today) if raw else month_of(self.today)

    def clean_by(self) -> str:
        raw = self.cleaned_data["by"].strip()
        if raw in _BY_CHOICES or queries.is_known_dimension(raw):
            return str(raw)
        raise forms.ValidationError(
            f"统计口径“{raw}”不存在：可选全部、按分级、按对象类型，或其中的一个分级、一类对象。"
        )

    def clean_sort(self) -> str:
        raw = self.cleaned_data["sort"].strip() or queries.DEFAULT_SORT
        if not queries.is_known_sort(raw):
            raise forms.ValidationError(
                f"排序“{raw}”不存在：可按{'、'.join(queries.COLUMNS.values())}排序。"
            )
        return str(raw)

    def clean_format(self) -> str:
        return _check_format(self.cleaned_data["format"])

    def clean_table(self) -> str:
        raw = self.cleaned_data["table"]
        if raw and raw not in _TABLES:
            raise forms.ValidationError(f"导出内容“{raw}”不存在。")
        return str(raw)


class QuarterParams(forms.Form):
    year = forms.CharField(label="年份", required=False)
    q = forms.CharField(label="季度", required=False)
    format = forms.CharField(label="导出格式", required=False)

    def __init__(self, data: Any, *, today: date) -> None:
        super().__init__(data)
        self.today = today

    def clean_year(self) -> int:
        raw = self.cleaned_data["year"].strip()
        if not raw:
            return self.today.year
        if not raw.isdigit() or not queries.FIRST_MONTH.year <= int(raw) <= self.today.year:
            raise forms.ValidationError(
                f"年份“{raw}”不正确：可查看 {queries.FIRST_MONTH.year} 年到 {self.today.year} 年。"
            )
        return int(raw)

    def clean_q(self) -> int:
        raw = self.cleaned_data["q"].strip()
        if not raw:
            return quarter_of(self.today)
        if raw not in ("1", "2", "3", "4"):
            raise forms.ValidationError(f"季度“{raw}”不正确：应为 1、2、3 或 4。")
        return int(raw)

    def clean_format(self) -> str:
        return _check_format(self.cleaned_data["format"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        year, quarter = data.get("year"), data.get("q")
        if year is not None and quarter is not None:
            first = quarter_months(year, quarter)[0]
            if first > month_of(self.today):
                raise forms.ValidationError(f"{year}年第{quarter}季度尚未开始。")
        return data


def _bad_request(
    request: HttpRequest, region: Region, problems: list[str], back: str
) -> HttpResponse:
    """400 with each problem in Chinese and the way back to the report."""
    context = {"region": region, "problems": problems, "back": back}
    return render(request, "reports/bad_request.html", context, status=400)


def _problems(form: forms.Form) -> list[str]:
    return [str(message) for errors in form.errors.values() for message in errors]


def _link(base: str, **params: Any) -> str:
    kept = {name: value for name, value in params.items() if value not in ("", None)}
    return f"{base}?{urlencode(kept)}" if kept else base


def _month_param(month: date) -> str:
    return f"{month:%Y-%m}"


# --- Shared pieces ------------------------------------------------------------------------


def _region(user: User, code: str | None) -> Region:
    return access.get_region_for(user, code) if code else user.region


def _crumbs(user: User, region: Region) -> list[Region]:
    """The nodes from the user's own down to the parent of `region`."""
    if region.code == user.region_id:
        return []
    return list(
        access.regions_visible_to(user).filter(code__in=region.ancestor_codes()).order_by("level")
    )


def _xlsx(
    request: HttpRequest,
    user: User,
    region: Region,
    data: bytes,
    file_name: str,
    detail: dict[str, Any],
) -> HttpResponse:
    """The file, and who exported which report of which region: an export is
    reporting upwards of people's data, so it is logged like the ledger's.
    A GET, like the call button: the request changes no record, only writes
    the audit entry, and the answer is never cached."""
    with transaction.atomic():
        record(
            Action.REPORT_EXPORTED,
            actor=user,
            request=request,
            region_code=region.code,
            detail=detail,
        )
    response = HttpResponse(data, content_type=excel.XLSX)
    response["Content-Disposition"] = content_disposition_header(True, file_name) or ""
    patch_cache_control(response, private=True, no_store=True)
    return response


def _is_current(month: date, today: date) -> bool:
    return month == month_of(today)


# --- The report of a node -------------------------------------------------------------------


@access.requires(Perm.REPORTS_VIEW)
@require_GET
def report(request: HttpRequest, code: str | None = None) -> HttpResponse:
    user = access.signed_in_user(request)
    region = _region(user, code)
    today = timezone.localdate()
    base = reverse("reports:region", kwargs={"code": region.code})
    form = ReportParams(request.GET, today=today)
    if not form.is_valid():
        return _bad_request(request, region, _problems(form), base)
    month: date = form.cleaned_data["month"]
    by: str = form.cleaned_data["by"]
    sort: str = form.cleaned_data["sort"]
    dimension = by if ":" in by else ALL
    grouping = by.split(":", 1)[0]
    # Links carry the sort only when it is not the default one.
    shown_sort = "" if sort == queries.DEFAULT_SORT else sort
    if form.cleaned_data["format"] == "xlsx":
        return _export(request, user, region, month, by, sort, form.cleaned_data["table"])

    points = queries.trend(region, month, TREND_MONTHS, dimension)
    dimension_label = queries.dimension_label(dimension)
    context: dict[str, Any] = {
        "region": region,
        "crumbs": _crumbs(user, region),
        "crumb_query": urlencode(
            {"month": _month_param(month), "by": by} if by else {"month": _month_param(month)}
        ),
        "month": month,
        "today": today,
        "current": _is_current(month, today),
        "by": by,
        "grouping": grouping,
        "dimension": dimension,
        "dimension_label": dimension_label,
        "counts": points[-1].counts,
        "points": points,
        "chart": charts.trend_svg(
            points, title=f"{region.name}近{len(points)}个月探访率、达标率（{dimension_label}）"
        ),
        "tabs": [
            (label, _link(base, month=_month_param(month), by=key), grouping == key)
            for key, label in _BY_CHOICES.items()
        ],
        "month_form": {
            "value": _month_param(month),
            "min": _month_param(queries.FIRST_MONTH),
            "max": _month_param(today),
        },
        "previous": _link(base, month=_month_param(add_months(month, -1)), by=by, sort=shown_sort)
        if month > queries.FIRST_MONTH
        else "",
        "next": _link(base, month=_month_param(add_months(month, 1)), by=by, sort=shown_sort)
        if month < month_of(today)
        else "",
        "quarter_url": _link(
            reverse("reports:quarter", kwargs={"code": region.code}),
            year=month.year,
            q=quarter_of(month),
        ),
        "export_urls": {
            table: _link(
                base, month=_month_param(month), by=by, sort=shown_sort, format="xlsx", table=table
            )
            for table in _TABLES
        },
    }
    context["care"] = care_counts(region.code, month, today)
    # When the month locked and was re-frozen, and the late entries waiting (issue 16).
    context["lock"] = late_queries.month_lock(region, month, timezone.now())
    context["may_review_late"] = user.can(Perm.VISITS_APPROVE_LATE)
    # 节日/天气探访覆盖率, beside compliance (docs/统计口径.md §6).
    surges = queries.surges(region, month)
    context["surges"] = surges
    if by in ("tier", "category"):
        dims = queries.by_dimension(region, month)
        rows = dims.tiers if by == "tier" else dims.categories
        context["dimension_rows"] = [
            (row, _link(base, month=_month_param(month), by=row.dimension)) for row in rows
        ]
    elif region.level == Level.VILLAGE:
        context["missed"] = people.missed_elders(region, month)
    else:
        table = queries.children_table(region, month, dimension, sort=sort)
        context["table"] = table
        context["level_name"] = excel.LEVEL_NAMES.get(table.level, "下级区划")
        # Each child's coverage of the month's surges, for every elder only.
        context["surge_columns"] = surges.totals if dimension == ALL else []
        # Open emergencies and hazards past their deadline per row, beside the
        # name, so that the drill-down leads to them (the node's own list is
        # at the top of the page: templates/care/_alerts.html).
        alerts = alert_counts_by_place(user, timezone.now(), region.code, table.level)
        context["rows"] = [
            (
                row,
                _link(
                    reverse("reports:region", kwargs={"code": row.code}),
                    month=_month_param(month),
                    by=by,
                    sort=shown_sort,
                ),
                surges.of(row.code) if dimension == ALL else [],
                alerts.get(row.code, 0),
            )
            for row in table.rows
        ]
        context["headers"] = _headers(base, month, by, sort, context["level_name"])
    return render(request, "reports/report.html", context)


# The columns a phone shows beside the name; the others are behind a tap.
NARROW_COLUMNS = ("visit_rate", "compliance_rate")


@dataclass(frozen=True)
class Header:
    title: str
    url: str  # sorts by this column; again, the other way
    order: str  # "ascending", "descending" or "" (aria-sort)
    numeric: bool
    narrow: bool  # shown on a phone too

    @property
    def css(self) -> str:
        if not self.numeric:
            return ""
        return "num" if self.narrow else "num more"


def _headers(base: str, month: date, by: str, sort: str, level_name: str) -> list[Header]:
    headers = []
    for key, title in queries.COLUMNS.items():
        order = ""
        if sort.removeprefix("-") == key:
            order = "descending" if sort.startswith("-") else "ascending"
        url = _link(base, month=_month_param(month), by=by, sort=f"-{key}" if sort == key else key)
        headers.append(
            Header(
                level_name if key == "code" else title,
                url,
                order,
                numeric=key != "code",
                narrow=key == "code" or key in NARROW_COLUMNS,
            )
        )
    return headers


def _export(
    request: HttpRequest,
    user: User,
    region: Region,
    month: date,
    by: str,
    sort: str,
    table: str,
) -> HttpResponse:
    dimension = by if ":" in by else ALL
    label = queries.dimension_label(dimension)
    stamp = f"{month:%Y%m}"
    detail: dict[str, Any] = {"report": "", "month": _month_param(month), "by": by}
    if table == "trend":
        points = queries.trend(region, month, TREND_MONTHS, dimension)
        data = excel.trend(points, region_name=region.name, dimension_label=label)
        name = f"月探访率趋势_{region.name}_{stamp}.xlsx"
    elif table == "dimensions" or (not table and by in ("tier", "category")):
        dims = queries.by_dimension(region, month)
        data = excel.dimensions(dims, region_name=region.name, month=month)
        name = f"月探访率_分级及对象类型_{region.name}_{stamp}.xlsx"
        table = "dimensions"
    elif table == "missed" or (not table and region.level == Level.VILLAGE):
        if region.level != Level.VILLAGE:
            problem = "未探访名单只能按村(社区)导出，请先进入村(社区)。"
            return _bad_request(
                request, region, [problem], reverse("reports:region", args=[region.code])
            )
        rows = people.missed_elders(region, month)
        data = excel.missed(rows, region_name=region.name, month=month)
        name = f"未探访未达标名单_{region.name}_{stamp}.xlsx"
        detail["count"] = len(rows)
        table = "missed"
    else:
        children = queries.children_table(region, month, dimension, sort=sort)
        data = excel.children(
            children,
            region_name=region.name,
            dimension_label=label,
            surges=queries.surges(region, month) if dimension == ALL else None,
        )
        name = f"月探访率统计表_{region.name}_{stamp}.xlsx"
        table = "children"
    detail["report"] = table
    return _xlsx(request, user, region, data, name, detail)


# --- The quarter ------------------------------------------------------------------------------


@access.requires(Perm.REPORTS_VIEW)
@require_GET
def quarter(request: HttpRequest, code: str) -> HttpResponse:
    """按季调度 (001_35a01bee4c628ebd.txt 三(三)): each child's three months and the quarter."""
    user = access.signed_in_user(request)
    region = access.get_region_for(user, code)
    today = timezone.localdate()
    base = reverse("reports:quarter", kwargs={"code": region.code})
    form = QuarterParams(request.GET, today=today)
    if not form.is_valid():
        return _bad_request(request, region, _problems(form), base)
    year, number = form.cleaned_data["year"], form.cleaned_data["q"]
    summary = queries.quarter_summary(region, year, number, today)
    if form.cleaned_data["format"] == "xlsx":
        data = excel.quarter(summary, region_name=region.name)
        name = f"季度调度表_{region.name}_{year}Q{number}.xlsx"
        detail = {"report": "quarter", "year": year, "quarter": number}
        return _xlsx(request, user, region, data, name, detail)
    previous_year, previous_q = (year, number - 1) if number > 1 else (year - 1, 4)
    next_year, next_q = (year, number + 1) if number < 4 else (year + 1, 1)
    current = month_of(today)
    context = {
        "region": region,
        "crumbs": _crumbs(user, region),
        "summary": summary,
        "level_name": excel.LEVEL_NAMES.get(summary.level, "下级区划"),
        "today": today,
        "ongoing": summary.months[0] <= current <= summary.months[-1],
        "rows": [
            (row, _link(reverse("reports:quarter", kwargs={"code": row.code}), year=year, q=number))
            for row in summary.rows
        ]
        if region.level != Level.VILLAGE
        else [(row, "") for row in summary.rows],
        "years": list(range(today.year, queries.FIRST_MONTH.year - 1, -1)),
        "quarters": [1, 2, 3, 4],
        "crumb_query": urlencode({"year": year, "q": number}),
        "previous": _link(base, year=previous_year, q=previous_q)
        if previous_year >= queries.FIRST_MONTH.year
        else "",
        "next": _link(base, year=next_year, q=next_q)
        if quarter_months(next_year, next_q)[0] <= current
        else "",
        "export_url": _link(base, year=year, q=number, format="xlsx"),
        "report_url": _link(
            reverse("reports:region", kwargs={"code": region.code}),
            month=_month_param(min(summary.months[-1], current)),
        ),
    }
    return render(request, "reports/quarter.html", context)


# --- The dashboard ----------------------------------------------------------------------------


def _dashboard_context(user: User) -> dict[str, Any]:
    region = user.region
    today = timezone.localdate()
    board = people.dashboard(region, today, Elder.objects.visible_to(user))
    may_assign = user.can(Perm.ASSIGNMENTS_MANAGE)
    return {
        "region": region,
        "board": board,
        "progress": charts.progress_svg(board.counts),
        "links": {
            "report": reverse("reports:index"),
            "late": reverse("reports:late", kwargs={"code": region.code}),
            "reviews": _link(reverse("registry:reviews"), region=region.code),
            "unassigned": reverse(
                "visits:assign_region" if may_assign else "reports:unassigned",
                kwargs={"code": region.code},
            ),
        },
    }


@access.requires(Perm.REPORTS_VIEW, Perm.PEOPLE_VIEW)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    return render(request, "reports/dashboard.html", _dashboard_context(user))


@access.requires(Perm.REPORTS_VIEW, Perm.PEOPLE_VIEW)
@require_GET
def dashboard_panel(request: HttpRequest) -> HttpResponse:
    """The dashboard's numbers alone, loaded into the home page (htmx)."""
    user = access.signed_in_user(request)
    response = render(request, "reports/_dashboard.html", _dashboard_context(user))
    patch_cache_control(response, private=True, no_store=True)
    return response


# --- The lists behind the dashboard --------------------------------------------------------


@access.requires(Perm.REPORTS_VIEW, Perm.PEOPLE_VIEW)
@require_GET
def late(request: HttpRequest, code: str) -> HttpResponse:
    """Visit tasks overdue today and missed this month under the node."""
    user = access.signed_in_user(request)
    region = access.get_region_for(user, code)
    today = timezone.localdate()
    base = reverse("reports:late", kwargs={"code": region.code})
    try:
        export = _check_format(request.GET.get("format", "")) == "xlsx"
    except forms.ValidationError as error:
        return _bad_request(request, region, list(error.messages), base)
    found = people.late_tasks(Elder.objects.visible_to(user), region, today)
    if export:
        data = excel.late(found, region_name=region.name, today=today)
        name = f"逾期探访任务_{region.name}_{today:%Y%m%d}.xlsx"
        detail = {"report": "late", "day": today.isoformat(), "count": found.total}
        return _xlsx(request, user, region, data, name, detail)
    context = {
        "region": region,
        "crumbs": _crumbs(user, region),
        "today": today,
        "late": found,
        "export_url": _link(base, format="xlsx"),
        "may_record": user.can(Perm.VISITS_RECORD),
    }
    return render(request, "reports/late.html", context)


@access.requires(Perm.REPORTS_VIEW, Perm.PEOPLE_VIEW)
@require_GET
def unassigned(request: HttpRequest, code: str) -> HttpResponse:
    """Elders without a responsible visitor (000_4970ff49482a0570.txt 三(二):
    落实包干责任人): per village above a village, by name in a village. For
    those who cannot assign (a supervisor); those who can assign from 包干安排."""
    user = access.signed_in_user(request)
    region = access.get_region_for(user, code)
    elders = Elder.objects.visible_to(user)
    context: dict[str, Any] = {
        "region": region,
        "crumbs": _crumbs(user, region),
        "may_assign": user.can(Perm.ASSIGNMENTS_MANAGE),
    }
    if region.level == Level.VILLAGE:
        context["elders"] = list(
            visit_queries.elders_without_visitor(
                elders.filter(village_id=region.code, status=Status.ACTIVE)
            ).order_by("name", "pk")
        )
    else:
        counts = visit_queries.counts_by_village(region, elders)
        context["counts"] = counts
        context["without_total"] = sum(c.without_visitor for c in counts)
        context["active_total"] = sum(c.active for c in counts)
        context["show_township"] = region.level < Level.TOWNSHIP
    return render(request, "reports/unassigned.html", context)

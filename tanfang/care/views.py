"""The closed loop's pages (issue 7 "Where people see it"): the village's open
items (待办事项), the township's and county's lists of needs, hazards and
emergencies, and the forms that raise them for an elder (from the file or from
a visit's record). The page of each one, with the forms of its actions, is in
need_views.py, hazard_views.py and emergency_views.py; the file's own section
comes from queries.file_context.

Every change goes through care's actions (tanfang.care.needs, .hazards,
.emergencies); a refusal comes back as the action's ValidationError and is
shown next to the field it names (pages.put_back), with what was typed kept."""

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tanfang import pages
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.care import emergencies, forms, hazards, needs, queries
from tanfang.care.models import Emergency, Hazard, HazardStatus, Need
from tanfang.regions.models import Level, Region
from tanfang.registry.models import Elder
from tanfang.visits.models import Visit

PAGE_SIZE = 50


# --- The village's open items (待办事项) ----------------------------------------------


@access.requires(Perm.PEOPLE_VIEW, Perm.REPORTS_VIEW)
@require_GET
def board(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """A village's open needs, hazards and emergencies, oldest first; above a
    village, the places below to choose from (as the visits board)."""
    user = access.signed_in_user(request)
    region = access.get_region_for(user, code) if code else user.region
    today = timezone.localdate()
    context: dict[str, Any] = {"region": region, "today": today, "crumbs": _crumbs(user, region)}
    if region.level == Level.VILLAGE:
        context["items"] = queries.village_open_items(user, region.code, today)
    else:
        context["places"] = list(region.children.order_by("code"))
    return render(request, "care/board.html", context)


def _crumbs(user: User, region: Region) -> list[Region]:
    """The places from the user's own down to the parent of `region`."""
    codes = [c for c in region.ancestor_codes() if user.region.contains(c)]
    return list(Region.objects.filter(code__in=codes).order_by("code")) if codes else []


# --- The lists of the subtree ---------------------------------------------------------


def _filter_form(
    request: HttpRequest, form_class: type[forms._ListFilter], user: User, default: dict[str, str]
) -> Any:
    """The list's filters as sent, with `default` where nothing was sent (the
    first visit shows what is still open)."""
    data = request.GET.copy() if request.GET else QueryDict(mutable=True)
    for name, value in default.items():
        if name not in request.GET:
            data[name] = value
    places = [(r.code, r.name) for r in user.region.children.order_by("code")]
    return form_class(data, places=places)


def _page(request: HttpRequest, rows: QuerySet[Any], form: Any) -> dict[str, Any]:
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    filters = query.copy()
    filters.pop("sort", None)
    return {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "filters": filters.urlencode(),
    }


def _older_than(rows: QuerySet[Any], field: str, days: int | None, today: date) -> QuerySet[Any]:
    """Rows found at least `days` whole local days before today."""
    if not days:
        return rows
    before = timezone.make_aware(datetime.combine(today - timedelta(days=days - 1), time.min))
    return rows.filter(**{f"{field}__lt": before})


def _newest_first(rows: QuerySet[Any], form: Any, field: str) -> QuerySet[Any]:
    if form.is_valid() and form.cleaned_data["sort"] == "-age":
        return rows.order_by(f"-{field}", "-pk")
    return rows.order_by(field, "pk")


@access.requires(Perm.PEOPLE_VIEW, Perm.REPORTS_VIEW)
@require_GET
def need_list(request: HttpRequest) -> HttpResponse:
    """需求清单: the subtree's needs, the unfinished ones first shown."""
    user = access.signed_in_user(request)
    today = timezone.localdate()
    form = _filter_form(request, forms.NeedFilter, user, {"status": queries.OPEN_ALL})
    if form.is_valid():
        data = form.cleaned_data
        rows = queries.needs_in(
            user,
            today=today,
            region=data["region"] or None,
            need_type=data["need_type"],
            status=data["status"],
            min_age_days=data["age"],
            overdue=data["overdue"],
        )
    else:
        rows = Need.objects.visible_to(user).none()
    context = _page(request, _newest_first(rows, form, "created_at"), form)
    context["rows"] = [
        (n, queries.age_days(n.created_at, today), n.is_overdue(today)) for n in context["page"]
    ]
    return render(request, "care/need_list.html", context)


@access.requires(Perm.PEOPLE_VIEW, Perm.REPORTS_VIEW)
@require_GET
def hazard_list(request: HttpRequest) -> HttpResponse:
    """隐患清单: the subtree's hazards, the open ones first shown."""
    user = access.signed_in_user(request)
    today = timezone.localdate()
    form = _filter_form(request, forms.HazardFilter, user, {"status": HazardStatus.OPEN})
    if form.is_valid():
        data = form.cleaned_data
        rows = queries.hazards_in(
            user,
            today=today,
            region=data["region"] or None,
            item=data["item"],
            severity=data["severity"],
            status=data["status"],
            min_age_days=data["age"],
        )
    else:
        rows = Hazard.objects.visible_to(user).none()
    context = _page(request, _newest_first(rows, form, "created_at"), form)
    context["rows"] = [(h, queries.age_days(h.found_at, today)) for h in context["page"]]
    return render(request, "care/hazard_list.html", context)


@access.requires(Perm.PEOPLE_VIEW, Perm.REPORTS_VIEW)
@require_GET
def emergency_list(request: HttpRequest) -> HttpResponse:
    """应急事件: the subtree's emergencies."""
    user = access.signed_in_user(request)
    today = timezone.localdate()
    form = _filter_form(request, forms.EmergencyFilter, user, {"sort": "-age"})
    if form.is_valid():
        data = form.cleaned_data
        rows = queries.emergencies_in(
            user,
            today=today,
            region=data["region"] or None,
            kind=data["kind"],
            state=data["state"],
        )
        rows = _older_than(rows, "raised_at", data["age"], today)
    else:
        rows = Emergency.objects.visible_to(user).none()
    context = _page(request, _newest_first(rows, form, "raised_at"), form)
    context["rows"] = [(e, queries.age_days(e.raised_at, today)) for e in context["page"]]
    return render(request, "care/emergency_list.html", context)


# --- Raising for an elder -------------------------------------------------------------


def _finding_visit(request: HttpRequest, user: User, elder: Elder) -> Visit | None:
    """`?visit=<id>` (the link on a visit's record): that visit, of this elder."""
    raw = request.GET.get("visit", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404
    visit = access.get_or_404(Visit.objects.visible_to(user), pk=int(raw))
    if visit.elder_id != elder.pk:
        raise Http404
    return visit


@access.requires(Perm.CARE_RAISE)
def need_new(request: HttpRequest, elder_id: int) -> HttpResponse:
    def save(**kwargs: Any) -> HttpResponse:
        need = needs.raise_need(**kwargs)
        return redirect("care:need", need_id=need.pk)

    return _raise_with(request, elder_id, forms.NeedRaiseForm, "care/need_new.html", save)


@access.requires(Perm.CARE_RAISE)
def hazard_new(request: HttpRequest, elder_id: int) -> HttpResponse:
    def save(**kwargs: Any) -> HttpResponse:
        hazard = hazards.raise_hazard(**kwargs)
        return redirect("care:hazard", hazard_id=hazard.pk)

    return _raise_with(request, elder_id, forms.HazardRaiseForm, "care/hazard_new.html", save)


@access.requires(Perm.CARE_RAISE)
def emergency_new(request: HttpRequest, elder_id: int) -> HttpResponse:
    def save(**kwargs: Any) -> HttpResponse:
        emergency = emergencies.raise_emergency(**kwargs)
        return redirect("care:emergency", emergency_id=emergency.pk)

    return _raise_with(request, elder_id, forms.EmergencyRaiseForm, "care/emergency_new.html", save)


def _raise_with(
    request: HttpRequest,
    elder_id: int,
    form_class: type[django_forms.Form],
    template: str,
    save: Any,
) -> HttpResponse:
    """The raise form of an elder in scope (404 outside), from the file or from
    a visit's record (`?visit=`, which makes the visit the source)."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    visit = _finding_visit(request, user, elder)
    kwargs: dict[str, Any] = {} if form_class is forms.HazardRaiseForm else {"visit": visit}
    form = form_class(request.POST if request.method == "POST" else None, **kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            response: HttpResponse = save(
                acting_user=user, elder=elder, visit=visit, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(request, "已登记。")
            return response
    context = {"elder": elder, "visit": visit, "form": form}
    return render(request, template, context)

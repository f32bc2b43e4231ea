"""The closed loop's pages (issue 7 "Where people see it"): the village's open
items (待办事项), the township's and county's lists of needs, hazards and
emergencies, one page for each with the forms of its actions, and the forms
that raise them for an elder (from the file or from a visit's record).

Every change goes through tanfang.care.actions; a refusal comes back as the
action's ValidationError and is shown next to the field it names
(forms.put_back), with what was typed kept."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_POST

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.care import actions, forms, queries
from tanfang.care.models import (
    NEED_CLOSED,
    Emergency,
    Hazard,
    HazardStatus,
    Need,
    NeedStatus,
)
from tanfang.regions.models import Level, Region
from tanfang.registry import crypto
from tanfang.registry.models import Elder, EmergencyContact, Status
from tanfang.visits.models import Visit
from tanfang.visits.views import Dial, dialable

PAGE_SIZE = 50


# --- What the elder's file shows first ------------------------------------------------


def open_items_of(elder: Elder, today: date) -> queries.OpenItems:
    """The elder's open needs, hazards and emergencies with their age, oldest
    first, for the top of the file (the caller has checked the elder is in the
    user's scope; the scope follows the elder's current village). 3 queries."""
    needs = Need.objects.filter(elder=elder).exclude(status__in=NEED_CLOSED)
    hazards = Hazard.objects.filter(elder=elder, status=HazardStatus.OPEN).select_related("visit")
    emergencies = Emergency.objects.filter(elder=elder, closed_at__isnull=True)
    return queries.OpenItems(
        needs=[queries.Aged(n, queries.age_days(n.created_at, today)) for n in needs],
        hazards=[queries.Aged(h, queries.age_days(h.found_at, today)) for h in hazards],
        emergencies=[queries.Aged(e, queries.age_days(e.raised_at, today)) for e in emergencies],
    )


def file_context(user: User, elder: Elder, today: date) -> dict[str, Any]:
    """The context of the file's "待办事项" section (templates/care/_file_section.html)."""
    return {
        "care": open_items_of(elder, today),
        "may_raise": user.can(Perm.CARE_RAISE) and elder.status == Status.ACTIVE,
        "today": today,
    }


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
        rows = Need.objects.none()
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
        rows = Hazard.objects.none()
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
        rows = Emergency.objects.none()
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
    visit = access.get_visit_for(user, int(raw))
    if visit.elder_id != elder.pk:
        raise Http404
    return visit


@access.requires(Perm.CARE_RAISE)
def need_new(request: HttpRequest, elder_id: int) -> HttpResponse:
    def save(**kwargs: Any) -> HttpResponse:
        need = actions.raise_need(**kwargs)
        return redirect("care:need", need_id=need.pk)

    return _raise_with(request, elder_id, forms.NeedRaiseForm, "care/need_new.html", save)


@access.requires(Perm.CARE_RAISE)
def hazard_new(request: HttpRequest, elder_id: int) -> HttpResponse:
    def save(**kwargs: Any) -> HttpResponse:
        hazard = actions.raise_hazard(**kwargs)
        return redirect("care:hazard", hazard_id=hazard.pk)

    return _raise_with(request, elder_id, forms.HazardRaiseForm, "care/hazard_new.html", save)


@access.requires(Perm.CARE_RAISE)
def emergency_new(request: HttpRequest, elder_id: int) -> HttpResponse:
    def save(**kwargs: Any) -> HttpResponse:
        emergency = actions.raise_emergency(**kwargs)
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
    elder = access.get_elder_for(user, elder_id)
    visit = _finding_visit(request, user, elder)
    kwargs: dict[str, Any] = {} if form_class is forms.HazardRaiseForm else {"visit": visit}
    form = form_class(request.POST if request.method == "POST" else None, **kwargs)
    if request.method == "POST" and form.is_valid():
        try:
            response: HttpResponse = save(
                acting_user=user, elder=elder, visit=visit, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            forms.put_back(form, error)
        else:
            messages.success(request, "已登记。")
            return response
    context = {"elder": elder, "visit": visit, "form": form}
    return render(request, template, context)


def _refused(bound: dict[str, django_forms.Form], shown: dict[str, bool]) -> list[str]:
    """The errors of a form sent from a card the page no longer shows (the need
    was closed, the hazard removed, the emergency archived meanwhile): shown at
    the top instead of being lost."""
    return [
        str(message)
        for name, form in bound.items()
        if not shown.get(name)
        for messages_ in form.errors.values()
        for message in messages_
    ]


# --- One need -------------------------------------------------------------------------


@access.requires(Perm.PEOPLE_VIEW)
@require_GET
def need_detail(request: HttpRequest, need_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    return _need_page(request, user, access.get_need_for(user, need_id))


def _need_page(
    request: HttpRequest, user: User, need: Need, **bound: django_forms.Form
) -> HttpResponse:
    today = timezone.localdate()
    may_manage = user.can(Perm.CARE_MANAGE) and not need.is_closed()
    measure = bound.get("measure") or forms.MeasureForm(
        initial={
            "measure": need.measure,
            "responsible_unit": need.responsible_unit,
            "responsible_person": need.responsible_person,
            "due_on": need.due_on,
        }
    )
    context: dict[str, Any] = {
        "need": need,
        "may_see_board": user.can(Perm.REPORTS_VIEW),
        "today": today,
        "age": queries.age_days(need.created_at, today),
        "overdue": need.is_overdue(today),
        "events": list(need.events.select_related("by", "visit")),
        "task": need.follow_up_task,
        "task_state": need.follow_up_task.state_on(today) if need.follow_up_task else None,
        "may_manage": may_manage,
        "may_report": user.can(Perm.CARE_RAISE) and need.status == NeedStatus.RESOLVED,
        "measure_form": measure,
        "status_form": bound.get("status") or forms.NeedStatusForm(need=need),
        "not_resolved_form": bound.get("not_resolved") or forms.NotResolvedForm(),
    }
    context["refused"] = _refused(
        bound,
        {
            "measure": may_manage,
            "status": may_manage,
            "not_resolved": context["may_report"],
        },
    )
    return render(request, "care/need.html", context)


def _need_action(
    request: HttpRequest, need_id: int, name: str, form: django_forms.Form, act: Any
) -> HttpResponse:
    """Run one action of the need page: back to the page with a message, or the
    page again with the errors next to the fields."""
    user = access.signed_in_user(request)
    need = access.get_need_for(user, need_id)
    if form.is_valid():
        try:
            act(acting_user=user, need=need, request=request, **form.cleaned_data)
        except ValidationError as error:
            forms.put_back(form, error)
        else:
            messages.success(request, "已保存。")
            return redirect("care:need", need_id=need.pk)
    return _need_page(request, user, access.get_need_for(user, need_id), **{name: form})


@access.requires(Perm.CARE_MANAGE)
@require_POST
def need_measure(request: HttpRequest, need_id: int) -> HttpResponse:
    form = forms.MeasureForm(request.POST)
    return _need_action(request, need_id, "measure", form, actions.set_measure)


@access.requires(Perm.CARE_MANAGE)
@require_POST
def need_status(request: HttpRequest, need_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    form = forms.NeedStatusForm(request.POST, need=access.get_need_for(user, need_id))
    return _need_action(request, need_id, "status", form, actions.change_need_status)


@access.requires(Perm.CARE_RAISE)
@require_POST
def need_not_resolved(request: HttpRequest, need_id: int) -> HttpResponse:
    form = forms.NotResolvedForm(request.POST)
    return _need_action(request, need_id, "not_resolved", form, actions.report_not_resolved)


# --- One hazard -----------------------------------------------------------------------


@access.requires(Perm.PEOPLE_VIEW)
@require_GET
def hazard_detail(request: HttpRequest, hazard_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    return _hazard_page(request, user, access.get_hazard_for(user, hazard_id))


def _hazard_page(
    request: HttpRequest, user: User, hazard: Hazard, **bound: django_forms.Form
) -> HttpResponse:
    today = timezone.localdate()
    is_open = hazard.status == HazardStatus.OPEN
    candidates = queries.removal_candidates(hazard) if is_open else []
    context: dict[str, Any] = {
        "hazard": hazard,
        "may_see_board": user.can(Perm.REPORTS_VIEW),
        "age": queries.age_days(hazard.found_at, today),
        "is_open": is_open,
        "may_raise": user.can(Perm.CARE_RAISE) and is_open,
        "may_reopen": user.can(Perm.CARE_MANAGE) and not is_open,
        "edit_form": bound.get("edit")
        or forms.HazardEditForm(
            initial={"severity": hazard.severity, "description": hazard.description}
        ),
        "remind_form": bound.get("remind") or forms.RemindForm(),
        "removal_form": bound.get("removal") or forms.RemovalForm(candidates=candidates),
        "reopen_form": bound.get("reopen") or forms.ReopenForm(),
    }
    context["refused"] = _refused(
        bound,
        {
            "edit": context["may_raise"],
            "remind": context["may_raise"],
            "removal": context["may_raise"],
            "reopen": context["may_reopen"],
        },
    )
    response = render(request, "care/hazard.html", context)
    patch_cache_control(response, private=True, no_store=True)
    return response


def _hazard_action(
    request: HttpRequest, hazard_id: int, name: str, make_form: Any, act: Any
) -> HttpResponse:
    user = access.signed_in_user(request)
    hazard = access.get_hazard_for(user, hazard_id)
    form = make_form(hazard)
    if form.is_valid():
        try:
            act(acting_user=user, hazard=hazard, request=request, **form.cleaned_data)
        except ValidationError as error:
            forms.put_back(form, error)
        else:
            messages.success(request, "已保存。")
            return redirect("care:hazard", hazard_id=hazard.pk)
    return _hazard_page(request, user, access.get_hazard_for(user, hazard_id), **{name: form})


@access.requires(Perm.CARE_RAISE)
@require_POST
def hazard_edit(request: HttpRequest, hazard_id: int) -> HttpResponse:
    return _hazard_action(
        request,
        hazard_id,
        "edit",
        lambda hazard: forms.HazardEditForm(request.POST),
        actions.update_hazard,
    )


@access.requires(Perm.CARE_RAISE)
@require_POST
def hazard_remind(request: HttpRequest, hazard_id: int) -> HttpResponse:
    return _hazard_action(
        request,
        hazard_id,
        "remind",
        lambda hazard: forms.RemindForm(request.POST),
        actions.remind_hazard,
    )


@access.requires(Perm.CARE_RAISE)
@require_POST
def hazard_remove(request: HttpRequest, hazard_id: int) -> HttpResponse:
    return _hazard_action(
        request,
        hazard_id,
        "removal",
        lambda hazard: forms.RemovalForm(
            request.POST,
            request.FILES,
            candidates=queries.removal_candidates(hazard)
            if hazard.status == HazardStatus.OPEN
            else [],
        ),
        actions.confirm_hazard_removed,
    )


@access.requires(Perm.CARE_MANAGE)
@require_POST
def hazard_reopen(request: HttpRequest, hazard_id: int) -> HttpResponse:
    return _hazard_action(
        request,
        hazard_id,
        "reopen",
        lambda hazard: forms.ReopenForm(request.POST),
        actions.reopen_hazard,
    )


@access.requires(Perm.PEOPLE_VIEW)
@require_GET
def hazard_photo(request: HttpRequest, hazard_id: int) -> FileResponse:
    """The photo showing the hazard removed, to those who may read the hazard,
    never cached (as a visit's photo, tanfang/visits/views.py)."""
    user = access.signed_in_user(request)
    hazard = access.get_hazard_for(user, hazard_id)
    if not hazard.removal_photo:
        raise Http404
    try:
        handle = hazard.removal_photo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    kind = "image/png" if hazard.removal_photo.name.lower().endswith(".png") else "image/jpeg"
    response = FileResponse(handle, content_type=kind)
    patch_cache_control(response, private=True, no_store=True)
    return response


# --- One emergency --------------------------------------------------------------------


@access.requires(Perm.PEOPLE_VIEW)
@require_GET
def emergency_detail(request: HttpRequest, emergency_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    return _emergency_page(request, user, access.get_emergency_for(user, emergency_id))


def _emergency_page(
    request: HttpRequest, user: User, emergency: Emergency, **bound: django_forms.Form
) -> HttpResponse:
    today = timezone.localdate()
    closed = emergency.is_closed()
    task = emergency.follow_up_task
    context: dict[str, Any] = {
        "emergency": emergency,
        "may_see_board": user.can(Perm.REPORTS_VIEW),
        "age": queries.age_days(emergency.raised_at, today),
        "steps": list(emergency.steps.select_related("recorded_by")),
        "closed": closed,
        "task": task,
        "task_state": task.state_on(today) if task else None,
        "may_record": user.can(Perm.CARE_RAISE) and not closed,
        "may_close": user.can(Perm.CARE_MANAGE) and not closed,
        "contacts": [] if closed else _contacts(emergency.elder),
        "step_form": bound.get("step")
        or forms.StepForm(
            raised_at=emergency.raised_at,
            initial={"at": timezone.localtime().replace(second=0, microsecond=0)},
        ),
        "close_form": bound.get("close") or forms.CloseForm(),
    }
    context["refused"] = _refused(
        bound, {"step": context["may_record"], "close": context["may_close"]}
    )
    return render(request, "care/emergency.html", context)


@dataclass(frozen=True)
class Contact:
    pk: int
    name: str
    relation: str
    phone: str  # masked
    first: bool


def _contacts(elder: Elder) -> list[Contact]:
    """The elder's emergency contacts, first contacts first, phones masked."""
    rows = EmergencyContact.objects.filter(elder=elder, active=True).order_by(
        "-first_contact", "order", "pk"
    )
    return [
        Contact(
            pk=row.pk,
            name=row.name,
            relation=row.relation,
            phone=crypto.mask_phone(crypto.decrypt(row.phone_token)),
            first=row.first_contact,
        )
        for row in rows
    ]


@access.requires(Perm.CARE_RAISE)
@require_GET
def emergency_call(request: HttpRequest, emergency_id: int, contact_id: int) -> HttpResponse:
    """The call button of an open emergency: an audited reveal of one emergency
    contact's phone, answered with a redirect to `tel:`, as the visitor's call
    button (tanfang.visits.views.call) does for the elder's own phone. Anyone
    who may act on the emergency may call the family: 帮助联系其家庭成员或者其他
    紧急联系人 (001_35a01bee4c628ebd.txt 二(五)1)."""
    user = access.signed_in_user(request)
    emergency = access.get_emergency_for(user, emergency_id)
    if emergency.is_closed():
        messages.info(request, "本事件已结案归档。")
        return redirect("care:emergency", emergency_id=emergency.pk)
    contact = EmergencyContact.objects.filter(
        pk=contact_id, elder_id=emergency.elder_id, active=True
    ).first()
    if contact is None:
        raise Http404
    number = crypto.decrypt(contact.phone_token)
    record(
        Action.ELDER_REVEALED,
        actor=user,
        request=request,
        region_code=emergency.elder.village_id,
        target=emergency.elder,
        detail={
            "field": "emergency_contact_phone",
            "contact": contact.pk,
            "purpose": "emergency",
            "emergency": emergency.pk,
        },
    )
    response = Dial(f"tel:{dialable(number)}")
    patch_cache_control(response, no_store=True)
    return response


def _emergency_action(
    request: HttpRequest, emergency_id: int, name: str, form: django_forms.Form, act: Any
) -> HttpResponse:
    user = access.signed_in_user(request)
    emergency = access.get_emergency_for(user, emergency_id)
    if form.is_valid():
        try:
            act(acting_user=user, emergency=emergency, request=request, **form.cleaned_data)
        except ValidationError as error:
            forms.put_back(form, error)
        else:
            messages.success(request, "已保存。")
            return redirect("care:emergency", emergency_id=emergency.pk)
    fresh = access.get_emergency_for(user, emergency_id)
    return _emergency_page(request, user, fresh, **{name: form})


@access.requires(Perm.CARE_RAISE)
@require_POST
def emergency_step(request: HttpRequest, emergency_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    emergency = access.get_emergency_for(user, emergency_id)
    form = forms.StepForm(request.POST, raised_at=emergency.raised_at)
    return _emergency_action(request, emergency_id, "step", form, actions.record_step)


@access.requires(Perm.CARE_MANAGE)
@require_POST
def emergency_close(request: HttpRequest, emergency_id: int) -> HttpResponse:
    form = forms.CloseForm(request.POST)
    return _emergency_action(request, emergency_id, "close", form, actions.close_emergency)

"""The page of one need (需求) and the forms of its actions: the measure and who
is responsible, the change of state, and the elder's word that it is not
resolved after all (issue 7 "Where people see it").

Every change goes through tanfang.care.needs; a refusal comes back as the
action's ValidationError and is shown next to the field it names
(pages.put_back), with what was typed kept."""

from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tanfang import pages
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.care import cards, forms, needs, queries
from tanfang.care.models import Need, NeedStatus


@access.requires(Perm.PEOPLE_VIEW)
@require_GET
def need_detail(request: HttpRequest, need_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    return _need_page(request, user, access.get_or_404(Need.objects.visible_to(user), pk=need_id))


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
    context["refused"] = cards.refused(
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
    need = access.get_or_404(Need.objects.visible_to(user), pk=need_id)
    if form.is_valid():
        try:
            act(acting_user=user, need=need, request=request, **form.cleaned_data)
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(request, "已保存。")
            return redirect("care:need", need_id=need.pk)
    fresh = access.get_or_404(Need.objects.visible_to(user), pk=need_id)
    return _need_page(request, user, fresh, **{name: form})


@access.requires(Perm.CARE_MANAGE)
@require_POST
def need_measure(request: HttpRequest, need_id: int) -> HttpResponse:
    form = forms.MeasureForm(request.POST)
    return _need_action(request, need_id, "measure", form, needs.set_measure)


@access.requires(Perm.CARE_MANAGE)
@require_POST
def need_status(request: HttpRequest, need_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    need = access.get_or_404(Need.objects.visible_to(user), pk=need_id)
    form = forms.NeedStatusForm(request.POST, need=need)
    return _need_action(request, need_id, "status", form, needs.change_need_status)


@access.requires(Perm.CARE_RAISE)
@require_POST
def need_not_resolved(request: HttpRequest, need_id: int) -> HttpResponse:
    form = forms.NotResolvedForm(request.POST)
    return _need_action(request, need_id, "not_resolved", form, needs.report_not_resolved)

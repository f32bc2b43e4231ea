"""The page of one hazard (隐患) and the forms of its actions: correcting it,
reminding the elder, confirming it removed with a later visit or a photo as
evidence, reopening it; and the removal photo itself (issue 7 "Where people
see it").

Every change goes through tanfang.care.hazards; a refusal comes back as the
action's ValidationError and is shown next to the field it names
(pages.put_back), with what was typed kept."""

from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_POST

from tanfang import pages
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.care import cards, forms, hazards, queries
from tanfang.care.models import Hazard, HazardStatus


@access.requires(Perm.PEOPLE_VIEW)
@require_GET
def hazard_detail(request: HttpRequest, hazard_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    hazard = access.get_or_404(Hazard.objects.visible_to(user), pk=hazard_id)
    return _hazard_page(request, user, hazard)


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
    context["refused"] = cards.refused(
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
    hazard = access.get_or_404(Hazard.objects.visible_to(user), pk=hazard_id)
    form = make_form(hazard)
    if form.is_valid():
        try:
            act(acting_user=user, hazard=hazard, request=request, **form.cleaned_data)
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(request, "已保存。")
            return redirect("care:hazard", hazard_id=hazard.pk)
    fresh = access.get_or_404(Hazard.objects.visible_to(user), pk=hazard_id)
    return _hazard_page(request, user, fresh, **{name: form})


@access.requires(Perm.CARE_RAISE)
@require_POST
def hazard_edit(request: HttpRequest, hazard_id: int) -> HttpResponse:
    return _hazard_action(
        request,
        hazard_id,
        "edit",
        lambda hazard: forms.HazardEditForm(request.POST),
        hazards.update_hazard,
    )


@access.requires(Perm.CARE_RAISE)
@require_POST
def hazard_remind(request: HttpRequest, hazard_id: int) -> HttpResponse:
    return _hazard_action(
        request,
        hazard_id,
        "remind",
        lambda hazard: forms.RemindForm(request.POST),
        hazards.remind_hazard,
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
        hazards.confirm_hazard_removed,
    )


@access.requires(Perm.CARE_MANAGE)
@require_POST
def hazard_reopen(request: HttpRequest, hazard_id: int) -> HttpResponse:
    return _hazard_action(
        request,
        hazard_id,
        "reopen",
        lambda hazard: forms.ReopenForm(request.POST),
        hazards.reopen_hazard,
    )


@access.requires(Perm.PEOPLE_VIEW)
@require_GET
def hazard_photo(request: HttpRequest, hazard_id: int) -> FileResponse:
    """The photo showing the hazard removed, to those who may read the hazard,
    never cached (as a visit's photo, tanfang/visits/views.py)."""
    user = access.signed_in_user(request)
    hazard = access.get_or_404(Hazard.objects.visible_to(user), pk=hazard_id)
    return pages.stored_photo(hazard.removal_photo)

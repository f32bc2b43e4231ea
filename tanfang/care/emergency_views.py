"""The page of one emergency (应急事件) and the forms of its actions: recording
a step, closing it, and calling one of the elder's emergency contacts (issue 7
"Where people see it").

Every change goes through tanfang.care.emergencies; a refusal comes back as
the action's ValidationError and is shown next to the field it names
(pages.put_back), with what was typed kept."""

from dataclasses import dataclass
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tanfang import pages
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.care import cards, emergencies, forms, queries
from tanfang.care.models import Emergency
from tanfang.registry import crypto, reveal
from tanfang.registry.models import Elder


@access.requires(Perm.PEOPLE_VIEW)
@require_GET
def emergency_detail(request: HttpRequest, emergency_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    emergency = access.get_or_404(Emergency.objects.visible_to(user), pk=emergency_id)
    return _emergency_page(request, user, emergency)


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
    context["refused"] = cards.refused(
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
    rows = elder.emergency_contacts.filter(active=True).order_by("-first_contact", "order", "pk")
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
    emergency = access.get_or_404(Emergency.objects.visible_to(user), pk=emergency_id)
    if emergency.is_closed():
        messages.info(request, "本事件已结案归档。")
        return redirect("care:emergency", emergency_id=emergency.pk)
    contact = emergency.elder.emergency_contacts.filter(pk=contact_id, active=True).first()
    if contact is None:
        raise Http404
    number = reveal.reveal_phone_to_dial(
        acting_user=user,
        elder=emergency.elder,
        contact=contact,
        request=request,
        purpose="emergency",
        emergency=emergency.pk,
    )
    return pages.dial(number)


def _emergency_action(
    request: HttpRequest, emergency_id: int, name: str, form: django_forms.Form, act: Any
) -> HttpResponse:
    user = access.signed_in_user(request)
    emergency = access.get_or_404(Emergency.objects.visible_to(user), pk=emergency_id)
    if form.is_valid():
        try:
            act(acting_user=user, emergency=emergency, request=request, **form.cleaned_data)
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(request, "已保存。")
            return redirect("care:emergency", emergency_id=emergency.pk)
    fresh = access.get_or_404(Emergency.objects.visible_to(user), pk=emergency_id)
    return _emergency_page(request, user, fresh, **{name: form})


@access.requires(Perm.CARE_RAISE)
@require_POST
def emergency_step(request: HttpRequest, emergency_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    emergency = access.get_or_404(Emergency.objects.visible_to(user), pk=emergency_id)
    form = forms.StepForm(request.POST, raised_at=emergency.raised_at)
    return _emergency_action(request, emergency_id, "step", form, emergencies.record_step)


@access.requires(Perm.CARE_MANAGE)
@require_POST
def emergency_close(request: HttpRequest, emergency_id: int) -> HttpResponse:
    form = forms.CloseForm(request.POST)
    return _emergency_action(request, emergency_id, "close", form, emergencies.close_emergency)

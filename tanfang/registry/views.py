from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.permissions import Perm
from tanfang.registry import actions, crypto, queries
from tanfang.registry.forms import (
    ALL_STATUSES,
    ElderFilterForm,
    RegisterElderForm,
    StatusChangeForm,
)
from tanfang.registry.models import Status

PAGE_SIZE = 50


@access.requires(Perm.PEOPLE_VIEW)
def elder_list(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    form = ElderFilterForm(request.GET, user=user)
    elders = access.elders_visible_to(user)
    if form.is_valid():
        elders = queries.search(elders, form.cleaned_data["q"])
        if region := form.cleaned_data["subtree"]:
            elders = queries.in_region(elders, region)
        if category := form.cleaned_data["category"]:
            elders = queries.with_category(elders, category)
        if (status := form.cleaned_data["status"]) != ALL_STATUSES:
            elders = elders.filter(status=status)
    else:
        # A filter that could not be read must not look like one that matched everything.
        elders = elders.none()
    elders = queries.with_confirmed_categories(elders.order_by("village_id", "name", "id"))
    page = Paginator(elders, PAGE_SIZE).get_page(request.GET.get("page"))
    # The page links keep the search and the filters.
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": queries.rows(list(page), timezone.localdate()),
        "query": query.urlencode(),
        "can_register": user.can(Perm.PEOPLE_CHANGE),
    }
    return render(request, "registry/list.html", context)


@access.requires(Perm.PEOPLE_VIEW)
def elder_file(request: HttpRequest, elder_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = access.get_elder_for(user, elder_id)
    context = {
        "elder": elder,
        "age": elder.age_on(timezone.localdate()),
        "id_number": crypto.mask_id(crypto.decrypt(elder.id_number_token)),
        "phone": _masked(elder.phone_token, crypto.mask_phone),
        "residence_address": _masked(elder.residence_address_token, crypto.mask_address),
        "registration_address": _masked(elder.registration_address_token, crypto.mask_address),
        "categories": queries.categories_of(elder),
        "inactive": elder.status != Status.ACTIVE,
        "status_changes": elder.status_changes.select_related("changed_by"),
        "can_change": user.can(Perm.PEOPLE_CHANGE),
    }
    return render(request, "registry/file.html", context)


@access.requires(Perm.PEOPLE_CHANGE)
def elder_status(request: HttpRequest, elder_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = access.get_elder_for(user, elder_id)
    form = StatusChangeForm(request.POST or None, initial={"effective_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            change = actions.change_status(
                acting_user=user, elder=elder, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            _put_back(form, error)
        else:
            messages.success(
                request, f"{elder.name} 的档案已变更为“{change.get_to_status_display()}”。"
            )
            return redirect("registry:file", elder_id=elder.pk)
    return render(request, "registry/status.html", {"form": form, "elder": elder})


@access.requires(Perm.PEOPLE_CHANGE)
def elder_register(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    form = RegisterElderForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data: dict[str, Any] = dict(form.cleaned_data)
        try:
            elder = actions.register_elder(
                acting_user=user,
                request=request,
                sex=data.pop("sex") or None,
                **data,
            )
        except ValidationError as error:
            _put_back(form, error)
        else:
            messages.success(request, f"已为 {elder.name} 建档。")
            return redirect("registry:file", elder_id=elder.pk)
    return render(request, "registry/register.html", {"form": form})


def _masked(token: str, mask: Callable[[str], str]) -> str:
    return mask(crypto.decrypt(token)) if token else ""


def _put_back(form: RegisterElderForm | StatusChangeForm, error: ValidationError) -> None:
    """The action's errors, keyed by its argument names, next to the fields."""
    for field, field_messages in error.message_dict.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)

"""The "显示完整" buttons of the elder's file: POST only, each one audited
(`tanfang.registry.reveal`). An htmx request gets the fragment that replaces
the masked value; a plain form post gets a small page with the value."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST

from tanfang.accounts import access
from tanfang.accounts.permissions import Perm
from tanfang.registry import reveal
from tanfang.registry.models import Elder


@access.requires(Perm.PEOPLE_VIEW, Perm.PEOPLE_REVEAL)
@require_POST
def reveal_field(request: HttpRequest, elder_id: int, field: str) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    if field not in reveal.ELDER_FIELDS:
        raise Http404
    return _answer(
        request,
        elder,
        reveal.ELDER_FIELDS[field].label,
        lambda: reveal.reveal(acting_user=user, elder=elder, field=field, request=request),
    )


@access.requires(Perm.PEOPLE_VIEW, Perm.PEOPLE_REVEAL)
@require_POST
def reveal_contact_phone(request: HttpRequest, elder_id: int, contact_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    contact = get_object_or_404(elder.emergency_contacts.all(), pk=contact_id)
    contact.elder = elder
    return _answer(
        request,
        elder,
        f"紧急联系人{contact.name}的联系电话",
        lambda: reveal.reveal_contact_phone(acting_user=user, contact=contact, request=request),
    )


@access.requires(Perm.PEOPLE_VIEW, Perm.PEOPLE_REVEAL)
@require_POST
def reveal_member_field(
    request: HttpRequest, elder_id: int, member_id: int, field: str
) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    member = get_object_or_404(elder.household.all(), pk=member_id)
    member.elder = elder
    if field not in reveal.MEMBER_FIELDS:
        raise Http404
    label = f"家庭成员{member.name}的{reveal.MEMBER_FIELDS[field].label}"
    if field == "phone":
        return _answer(
            request,
            elder,
            label,
            lambda: reveal.reveal_contact_phone(acting_user=user, contact=member, request=request),
        )
    return _answer(
        request,
        elder,
        label,
        lambda: reveal.reveal_member_id_number(acting_user=user, member=member, request=request),
    )


def _answer(
    request: HttpRequest, elder: Elder, label: str, reveal_value: Callable[[], str]
) -> HttpResponse:
    try:
        value, message = reveal_value(), ""
    except ValidationError as error:
        value, message = "", " ".join(error.messages)
    template = (
        "registry/_reveal.html" if getattr(request, "htmx", False) else "registry/revealed.html"
    )
    response = render(
        request,
        template,
        {"revealed": True, "value": value, "message": message, "elder": elder, "label": label},
    )
    # The whole value must not stay in any cache of a shared phone or a proxy.
    patch_cache_control(response, no_store=True)
    return response

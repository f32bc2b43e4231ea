"""The registry's JSON API: list, read, register, change, change status, confirm
categories. The same access rules, validation and audit as the pages: each
operation finds the elder in `Elder.objects.visible_to(user)` and writes through the
same action as the page (tanfang/registry/actions.py).
"""

import functools
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from ninja import Query, Router, Status
from ninja.decorators import decorate_view

from tanfang import pages
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.regions.models import Region
from tanfang.registry import actions, life_events, queries, registration
from tanfang.registry.models import Elder, LifeEvent
from tanfang.registry.schemas import (
    BLANK_CHOICES,
    CategoriesIn,
    ElderFile,
    ElderFilters,
    ElderIn,
    ElderPage,
    ElderPatch,
    LifeEventIn,
    LifeEventOut,
    StatusChangeIn,
    WithdrawLifeEventIn,
)

router = Router(tags=["老年人档案"])

_ELDER = "tanfang_api_elder"
_Run = Callable[..., HttpResponseBase]


def checked_first(
    perm: Perm, *others: Perm, elder: bool = False, visiting: bool = False
) -> Callable[[_Run], _Run]:
    """For a route naming an elder, find the elder among those the user may see
    (404), then check `perm`, or any one of `others` (403), before ninja reads
    the parameters and the body: an elder outside the user's scope is a 404
    whatever the request carries, as on the pages, and a role without the
    permission learns nothing from a 422. Scope comes first, as in
    tanfang.care.api.found_first: the user may read the elder anyway (the
    router's PEOPLE_VIEW), so a 403 on an elder of another village would tell
    what its 404 hides. `visiting`: the elder is looked for among those the
    user may record a visit for (`Elder.objects.visible_to(user, visiting=True)`)."""

    def decorate(run: _Run) -> _Run:
        # `run` is the bound method of ninja's Operation; its errors go through
        # the API's exception handlers like those of the operation itself.
        operation = run.__self__  # type: ignore[attr-defined]

        @functools.wraps(run)
        def run_checked(request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
            try:
                user = access.signed_in_user(request)
                if elder:
                    found = access.get_or_404(
                        Elder.objects.visible_to(user, visiting=visiting), pk=kwargs["elder_id"]
                    )
                    setattr(request, _ELDER, found)
                if not any(access.can(user, p) for p in (perm, *others)):
                    raise PermissionDenied
            except (PermissionDenied, Http404) as error:
                return operation.api.on_exception(request, error)  # type: ignore[no-any-return]
            return run(request, **kwargs)

        return run_checked

    return decorate


def _elder(request: HttpRequest, elder_id: int) -> Elder:
    """The elder `checked_first` found for this request."""
    found: Elder = getattr(request, _ELDER)
    assert found.pk == elder_id  # noqa: S101 - set by checked_first from the same URL
    return found


def _region(code: str, field: str) -> Region:
    """A region named by its code in the body; the action checks its level and
    whether it lies in the user's subtree."""
    region = Region.objects.filter(code=code.strip()).first()
    if region is None:
        raise ValidationError({field: f"区划代码“{code}”不存在。"})
    return region


def _values(data: dict[str, Any]) -> dict[str, Any]:
    """The body's values as the actions take them: region codes as regions,
    unset choices as blank."""
    values = dict(data)
    for field in BLANK_CHOICES:
        if field in values and values[field] is None:
            values[field] = ""
    for field in ("village", "registration_village"):
        if values.get(field) is not None:
            values[field] = _region(values[field], field)
    return values


def _file(request: HttpRequest, elder: Elder) -> Elder:
    """The elder as stored now, for `ElderFile`."""
    elders = Elder.objects.visible_to(access.signed_in_user(request))
    return elders.select_related(
        "registration_village", "registered_by", "consent_recorded_by"
    ).get(pk=elder.pk)


@router.get("/elders", response=ElderPage, summary="档案列表")
@decorate_view(checked_first(Perm.PEOPLE_VIEW))
def list_elders(request: HttpRequest, filters: Query[ElderFilters]) -> dict[str, Any]:
    """The list page's search and filters; 50 a page unless `page_size` (at most 200)
    says otherwise. Active files only unless `status` says otherwise."""
    user = access.signed_in_user(request)
    elders = queries.search(Elder.objects.visible_to(user), filters.q)
    if filters.subtree:
        region = pages.subtree_region(user, filters.subtree.strip())
        elders = queries.in_region(elders, region)
    if filters.category:
        elders = queries.with_category(elders, filters.category)
    if filters.status != queries.ALL_STATUSES:
        elders = elders.filter(status=filters.status)
    start = (filters.page - 1) * filters.page_size
    page = queries.with_confirmed_categories(elders.order_by("village_id", "name", "id"))
    return {
        "count": elders.count(),
        "items": list(page[start : start + filters.page_size]),
    }


@router.get("/elders/{int:elder_id}", response=ElderFile, summary="档案")
@decorate_view(checked_first(Perm.PEOPLE_VIEW, elder=True))
def read_elder(request: HttpRequest, elder_id: int) -> Elder:
    """The whole file, with the ID number, phones and addresses masked."""
    return _file(request, _elder(request, elder_id))


@router.post("/elders", response={201: ElderFile}, summary="建档")
@decorate_view(checked_first(Perm.ELDERS_REGISTER))
def register_elder(request: HttpRequest, payload: ElderIn) -> Status[Elder]:
    """A new file, checked as on the page: ID number (checksum, birth date, sex),
    age 60 or more, phone, village in the user's subtree, one active file per ID."""
    user = access.signed_in_user(request)
    values = _values(payload.model_dump())
    elder = registration.register_elder(acting_user=user, request=request, **values)
    return Status(201, _file(request, elder))


@router.patch("/elders/{int:elder_id}", response=ElderFile, summary="修改档案")
@decorate_view(checked_first(Perm.PEOPLE_CHANGE, elder=True))
def update_elder(request: HttpRequest, elder_id: int, payload: ElderPatch) -> Elder:
    """Only the fields in the body change, checked as at registration."""
    user = access.signed_in_user(request)
    elder = _elder(request, elder_id)
    changes = _values(payload.model_dump(exclude_unset=True))
    actions.update_elder(acting_user=user, elder=elder, changes=changes, request=request)
    return _file(request, elder)


@router.post(
    "/elders/{int:elder_id}/status",
    response=ElderFile,
    summary="变更状态",
)
@decorate_view(checked_first(Perm.PEOPLE_CHANGE, elder=True))
def change_status(request: HttpRequest, elder_id: int, payload: StatusChangeIn) -> Elder:
    """Moved away, in an institution, deceased, or back to active: with the date,
    the reason and who. Nothing is deleted."""
    user = access.signed_in_user(request)
    elder = _elder(request, elder_id)
    actions.change_status(acting_user=user, elder=elder, request=request, **payload.model_dump())
    return _file(request, elder)


@router.post(
    "/elders/{int:elder_id}/categories",
    response=ElderFile,
    summary="确认对象类型",
)
@decorate_view(checked_first(Perm.PEOPLE_CHANGE, elder=True))
def confirm_categories(request: HttpRequest, elder_id: int, payload: CategoriesIn) -> Elder:
    """The officer's set of categories: the ones left out are withdrawn (with who
    and when), never deleted."""
    user: User = access.signed_in_user(request)
    elder = _elder(request, elder_id)
    actions.confirm_categories(
        acting_user=user, elder=elder, categories=payload.categories, request=request
    )
    return _file(request, elder)


# Major life changes (重大变故) ---------------------------------------------------------


def _life_events(elder: Elder) -> list[LifeEvent]:
    return list(
        elder.life_events.select_related("recorded_by", "withdrawn_by").order_by(
            "-occurred_at", "-id"
        )
    )


@router.get(
    "/elders/{int:elder_id}/life-events", response=list[LifeEventOut], summary="重大变故列表"
)
@decorate_view(checked_first(Perm.PEOPLE_VIEW, elder=True))
def list_life_events(request: HttpRequest, elder_id: int) -> list[LifeEvent]:
    """Every major life change on the file, newest first, withdrawn ones too
    (`withdrawn`, with who, when and why)."""
    return _life_events(_elder(request, elder_id))


@router.post(
    "/elders/{int:elder_id}/life-events",
    response={200: LifeEventOut, 201: LifeEventOut},
    summary="登记重大变故",
)
@decorate_view(checked_first(Perm.VISITS_RECORD, Perm.PEOPLE_CHANGE, elder=True))
def record_life_event(
    request: HttpRequest, elder_id: int, payload: LifeEventIn
) -> Status[LifeEvent]:
    """A fall, a stay in hospital, a bereavement…: 201 with the new entry. The
    same change at the same minute already on the file (a repeated submission)
    stores nothing and answers 200 with the entry already there."""
    user = access.signed_in_user(request)
    event = life_events.record_life_event(
        acting_user=user, elder=_elder(request, elder_id), request=request, **payload.model_dump()
    )
    return Status(200 if event.replayed else 201, event)


@router.post(
    "/elders/{int:elder_id}/life-events/{int:life_event_id}/withdraw",
    response=LifeEventOut,
    summary="撤销重大变故",
)
@decorate_view(checked_first(Perm.PEOPLE_CHANGE, elder=True))
def withdraw_life_event(
    request: HttpRequest, elder_id: int, life_event_id: int, payload: WithdrawLifeEventIn
) -> LifeEvent:
    """An entry made by mistake is withdrawn with the reason; it stays on the
    file. Withdrawing it again changes nothing."""
    user = access.signed_in_user(request)
    elder = _elder(request, elder_id)
    event = elder.life_events.filter(pk=life_event_id).first()
    if event is None:
        raise Http404
    return life_events.withdraw_life_event(
        acting_user=user, event=event, reason=payload.reason, request=request
    )

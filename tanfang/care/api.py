"""The closed loop's JSON API: needs and their measure, hazards until removed,
emergencies step by step (issue 7). The same access, validation and audit as
the pages: every write goes through care's actions (tanfang/care/needs.py,
hazards.py, emergencies.py), which check the permission and the scope, refuse
bad input in Chinese and record the audit entry.

A route naming a need, a hazard or an emergency finds it in the user's subtree
first (404 outside, as for one that does not exist), then checks the
operation's permission (403), before the body is read: a role without the
permission learns nothing from a 422. An action's error is keyed by the field
of the body (`visit_id`, `elder_id`, ...) or, for a refused change of state, by
what refused it (`status`, `need`, `hazard`, `emergency`).

Times are ISO 8601 with their offset, both ways; a time without one is refused
(422). The photo that shows a hazard removed travels in the JSON body as a data
URL, as the visit's photo does (tanfang/visits/api.py): one kind of request for
every write, and the same size and type checks as the page.
"""

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.decorators import decorate_view

from tanfang import pages, photos
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.care import emergencies, hazards, needs, queries, schemas
from tanfang.care.models import Emergency, Hazard, HazardStatus, Need
from tanfang.registry.api import checked_first
from tanfang.registry.models import Elder
from tanfang.visits.models import Visit

needs_router = Router(tags=["帮扶需求"])
hazards_router = Router(tags=["安全隐患"])
emergencies_router = Router(tags=["应急事件"])

_FOUND = "tanfang_api_care_object"
_Run = Callable[..., HttpResponseBase]
M = TypeVar("M", bound=Model)


def found_first(
    perm: Perm, visible: Callable[[User], QuerySet[Any]], key: str
) -> Callable[[_Run], _Run]:
    """Find the object the URL names (`key`) among those `visible` to the user
    (`Need.objects.visible_to`: the user's subtree, 404 outside), then check
    `perm` (403), before ninja reads the body. Scope comes first: the
    user may read the object anyway (the router's PEOPLE_VIEW), so a 403 on
    an object of another township would tell what its 404 hides."""

    def decorate(run: _Run) -> _Run:
        # As tanfang.registry.api.checked_first: `run` is ninja's bound Operation.run.
        operation = run.__self__  # type: ignore[attr-defined]

        @functools.wraps(run)
        def run_checked(request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
            try:
                user = access.signed_in_user(request)
                setattr(request, _FOUND, access.get_or_404(visible(user), pk=kwargs[key]))
                access.check(user, perm)
            except (PermissionDenied, Http404) as error:
                return operation.api.on_exception(request, error)  # type: ignore[no-any-return]
            return run(request, **kwargs)

        return run_checked

    return decorate


def _found(request: HttpRequest, model: type[M], pk: int) -> M:
    """The object `found_first` found for this request."""
    found = getattr(request, _FOUND)
    assert isinstance(found, model) and found.pk == pk  # noqa: S101 - set from the same URL
    return found


@contextmanager
def _body_fields(**names: str) -> Iterator[None]:
    """An action's error keys renamed to the body's fields (visit → visit_id),
    so that the 422 points at what the client sent."""
    try:
        yield
    except ValidationError as error:
        renamed = {names.get(key, key): value for key, value in error.message_dict.items()}
        raise ValidationError(renamed) from None


def _subtree(user: User, code: str) -> str | None:
    """The region of the `subtree` filter, checked against the user's subtree."""
    if not code.strip():
        return None
    return pages.subtree_region(user, code.strip()).code


def _visit(user: User, visit_id: int | None) -> Visit | None:
    """A visit named in the body, from the user's subtree."""
    if visit_id is None:
        return None
    visit = Visit.objects.visible_to(user).filter(pk=visit_id).first()
    if visit is None:
        raise ValidationError({"visit_id": "探访记录不存在或不在您的管辖范围内。"})
    return visit


def _page(
    items: QuerySet[M], page: int, size: int, out: Callable[[M], dict[str, Any]]
) -> dict[str, Any]:
    start = (page - 1) * size
    return {"count": items.count(), "items": [out(i) for i in items[start : start + size]]}


# Needs (帮扶需求) -------------------------------------------------------------------


def _need(request: HttpRequest, need_id: int) -> dict[str, Any]:
    """The need as stored now, for `NeedDetail`."""
    needs = Need.objects.visible_to(access.signed_in_user(request))
    need = needs.select_related("created_by", "follow_up_task").get(pk=need_id)
    events = list(need.events.select_related("by"))
    return schemas.need_detail(need, events, timezone.localdate())


@needs_router.get("/needs", response=schemas.NeedPage, summary="帮扶需求列表")
@decorate_view(checked_first(Perm.PEOPLE_VIEW))
def list_needs(request: HttpRequest, filters: Query[schemas.NeedFilters]) -> dict[str, Any]:
    """Needs of the user's subtree, oldest first; `status=open_all` for every
    need not finished, `overdue=true` for those past their due date."""
    user = access.signed_in_user(request)
    today = timezone.localdate()
    needs = queries.needs_in(
        user,
        today=today,
        region=_subtree(user, filters.subtree),
        need_type=filters.need_type or "",
        status=filters.status,
        min_age_days=filters.min_age_days,
        overdue=filters.overdue,
    ).select_related("created_by")
    return _page(needs, filters.page, filters.page_size, lambda n: schemas.need_out(n, today))


@needs_router.get("/needs/{int:need_id}", response=schemas.NeedDetail, summary="帮扶需求")
@decorate_view(found_first(Perm.PEOPLE_VIEW, Need.objects.visible_to, "need_id"))
def read_need(request: HttpRequest, need_id: int) -> dict[str, Any]:
    """The need with its measure, every move (`events`) and its follow-up visit."""
    return _need(request, need_id)


@needs_router.post("/needs", response={201: schemas.NeedDetail}, summary="登记帮扶需求")
@decorate_view(checked_first(Perm.CARE_RAISE))
def raise_need(request: HttpRequest, payload: schemas.NeedIn) -> Status[dict[str, Any]]:
    """A need reported by a call, a device, a department or the family (a visit's
    needs come with the visit, POST /visits)."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=payload.elder_id)
    with _body_fields(elder="elder_id", visit="visit_id"):
        need = needs.raise_need(
            acting_user=user,
            elder=elder,
            need_type=payload.need_type,
            source=payload.source,
            description=payload.description,
            visit=_visit(user, payload.visit_id),
            request=request,
        )
    return Status(201, _need(request, need.pk))


@needs_router.post(
    "/needs/{int:need_id}/measure", response=schemas.NeedDetail, summary="填写帮扶措施"
)
@decorate_view(found_first(Perm.CARE_MANAGE, Need.objects.visible_to, "need_id"))
def set_measure(request: HttpRequest, need_id: int, payload: schemas.MeasureIn) -> dict[str, Any]:
    """The need's one measure, its responsible unit and person, and its due date
    (001_35a01bee4c628ebd.txt 二(二)5 一一对应)."""
    needs.set_measure(
        acting_user=access.signed_in_user(request),
        need=_found(request, Need, need_id),
        request=request,
        **payload.model_dump(),
    )
    return _need(request, need_id)


@needs_router.post(
    "/needs/{int:need_id}/status", response=schemas.NeedDetail, summary="变更帮扶需求状态"
)
@decorate_view(found_first(Perm.CARE_MANAGE, Need.objects.visible_to, "need_id"))
def change_need_status(
    request: HttpRequest, need_id: int, payload: schemas.NeedStatusIn
) -> dict[str, Any]:
    """Move the need on: referred, in progress, resolved (which owes a follow-up
    visit) or declined (with a note). Errors about the move are keyed `status`."""
    needs.change_need_status(
        acting_user=access.signed_in_user(request),
        need=_found(request, Need, need_id),
        to_status=payload.status,
        note=payload.note,
        request=request,
    )
    return _need(request, need_id)


@needs_router.post(
    "/needs/{int:need_id}/not-resolved", response=schemas.NeedDetail, summary="回访发现未解决"
)
@decorate_view(found_first(Perm.CARE_RAISE, Need.objects.visible_to, "need_id"))
def report_not_resolved(
    request: HttpRequest, need_id: int, payload: schemas.NotResolvedIn
) -> dict[str, Any]:
    """A resolved need found unsolved on the follow-up: back to in progress."""
    user = access.signed_in_user(request)
    with _body_fields(visit="visit_id"):
        needs.report_not_resolved(
            acting_user=user,
            need=_found(request, Need, need_id),
            note=payload.note,
            visit=_visit(user, payload.visit_id),
            request=request,
        )
    return _need(request, need_id)


# Hazards (安全隐患) -----------------------------------------------------------------


def _hazard(request: HttpRequest, hazard_id: int) -> dict[str, Any]:
    """The hazard as stored now, for `HazardDetail`."""
    hazard = Hazard.objects.visible_to(access.signed_in_user(request)).get(pk=hazard_id)
    candidates = queries.removal_candidates(hazard) if hazard.status == HazardStatus.OPEN else []
    return schemas.hazard_detail(hazard, candidates, timezone.localdate())


@hazards_router.get("/hazards", response=schemas.HazardPage, summary="安全隐患列表")
@decorate_view(checked_first(Perm.PEOPLE_VIEW))
def list_hazards(request: HttpRequest, filters: Query[schemas.HazardFilters]) -> dict[str, Any]:
    """Hazards of the user's subtree, oldest first."""
    user = access.signed_in_user(request)
    today = timezone.localdate()
    hazards = queries.hazards_in(
        user,
        today=today,
        region=_subtree(user, filters.subtree),
        item=filters.item or "",
        severity=filters.severity or "",
        status=filters.status or "",
        min_age_days=filters.min_age_days,
    )
    return _page(hazards, filters.page, filters.page_size, lambda h: schemas.hazard_out(h, today))


@hazards_router.get("/hazards/{int:hazard_id}", response=schemas.HazardDetail, summary="安全隐患")
@decorate_view(found_first(Perm.PEOPLE_VIEW, Hazard.objects.visible_to, "hazard_id"))
def read_hazard(request: HttpRequest, hazard_id: int) -> dict[str, Any]:
    """The hazard, and for an open one the later visits that found its item safe."""
    return _hazard(request, hazard_id)


@hazards_router.post("/hazards", response={201: schemas.HazardDetail}, summary="登记安全隐患")
@decorate_view(checked_first(Perm.CARE_RAISE))
def raise_hazard(request: HttpRequest, payload: schemas.HazardIn) -> Status[dict[str, Any]]:
    """A hazard seen outside the visit form (the form's safety items enter theirs)."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=payload.elder_id)
    with _body_fields(elder="elder_id", visit="visit_id"):
        hazard = hazards.raise_hazard(
            acting_user=user,
            elder=elder,
            item=payload.item,
            severity=payload.severity,
            description=payload.description,
            visit=_visit(user, payload.visit_id),
            request=request,
        )
    return Status(201, _hazard(request, hazard.pk))


@hazards_router.patch(
    "/hazards/{int:hazard_id}", response=schemas.HazardDetail, summary="修改安全隐患"
)
@decorate_view(found_first(Perm.CARE_RAISE, Hazard.objects.visible_to, "hazard_id"))
def update_hazard(
    request: HttpRequest, hazard_id: int, payload: schemas.HazardPatch
) -> dict[str, Any]:
    """The severity and the description of an open hazard; a field left out
    keeps its value."""
    hazard = _found(request, Hazard, hazard_id)
    hazards.update_hazard(
        acting_user=access.signed_in_user(request),
        hazard=hazard,
        severity=payload.severity if payload.severity is not None else hazard.severity,
        description=(
            payload.description if payload.description is not None else hazard.description
        ),
        request=request,
    )
    return _hazard(request, hazard_id)


@hazards_router.post(
    "/hazards/{int:hazard_id}/remind", response=schemas.HazardDetail, summary="提醒消除隐患"
)
@decorate_view(found_first(Perm.CARE_RAISE, Hazard.objects.visible_to, "hazard_id"))
def remind_hazard(
    request: HttpRequest, hazard_id: int, payload: schemas.RemindIn
) -> dict[str, Any]:
    """The elder and/or the family were told to remove it
    (001_35a01bee4c628ebd.txt 二(二)2 提醒其及时消除隐患)."""
    hazards.remind_hazard(
        acting_user=access.signed_in_user(request),
        hazard=_found(request, Hazard, hazard_id),
        request=request,
        **payload.model_dump(),
    )
    return _hazard(request, hazard_id)


@hazards_router.post(
    "/hazards/{int:hazard_id}/removed", response=schemas.HazardDetail, summary="确认隐患已消除"
)
@decorate_view(found_first(Perm.CARE_RAISE, Hazard.objects.visible_to, "hazard_id"))
def confirm_removed(
    request: HttpRequest, hazard_id: int, payload: schemas.RemovedIn
) -> dict[str, Any]:
    """Removed, as a later visit (`visit_id`) saw or a photo (`photo`, a data URL)
    shows; a word alone is not enough."""
    user = access.signed_in_user(request)
    with _body_fields(visit="visit_id"):
        hazards.confirm_hazard_removed(
            acting_user=user,
            hazard=_found(request, Hazard, hazard_id),
            visit=_visit(user, payload.visit_id),
            photo=photos.from_data_url(payload.photo),
            note=payload.note,
            request=request,
        )
    return _hazard(request, hazard_id)


@hazards_router.post(
    "/hazards/{int:hazard_id}/reopen", response=schemas.HazardDetail, summary="重新打开隐患"
)
@decorate_view(found_first(Perm.CARE_MANAGE, Hazard.objects.visible_to, "hazard_id"))
def reopen_hazard(
    request: HttpRequest, hazard_id: int, payload: schemas.ReopenIn
) -> dict[str, Any]:
    """A hazard confirmed removed by mistake, or come back: open again, with why."""
    hazards.reopen_hazard(
        acting_user=access.signed_in_user(request),
        hazard=_found(request, Hazard, hazard_id),
        note=payload.note,
        request=request,
    )
    return _hazard(request, hazard_id)


# Emergencies (应急事件) ---------------------------------------------------------------


def _emergency(request: HttpRequest, emergency_id: int) -> dict[str, Any]:
    """The emergency as stored now, for `EmergencyDetail`."""
    emergencies = Emergency.objects.visible_to(access.signed_in_user(request))
    emergency = emergencies.select_related("raised_by", "follow_up_task").get(pk=emergency_id)
    steps = list(emergency.steps.select_related("recorded_by"))
    return schemas.emergency_detail(emergency, steps, timezone.localdate())


@emergencies_router.get("/emergencies", response=schemas.EmergencyPage, summary="应急事件列表")
@decorate_view(checked_first(Perm.PEOPLE_VIEW))
def list_emergencies(
    request: HttpRequest, filters: Query[schemas.EmergencyFilters]
) -> dict[str, Any]:
    """Emergencies of the user's subtree, the latest first; `state` open or closed."""
    user = access.signed_in_user(request)
    today = timezone.localdate()
    emergencies = queries.emergencies_in(
        user,
        today=today,
        region=_subtree(user, filters.subtree),
        kind=filters.kind or "",
        state=filters.state,
    ).select_related("raised_by")
    return _page(
        emergencies, filters.page, filters.page_size, lambda e: schemas.emergency_out(e, today)
    )


@emergencies_router.get(
    "/emergencies/{int:emergency_id}", response=schemas.EmergencyDetail, summary="应急事件"
)
@decorate_view(found_first(Perm.PEOPLE_VIEW, Emergency.objects.visible_to, "emergency_id"))
def read_emergency(request: HttpRequest, emergency_id: int) -> dict[str, Any]:
    """The emergency with its steps in time order and its follow-up visit."""
    return _emergency(request, emergency_id)


@emergencies_router.post(
    "/emergencies", response={201: schemas.EmergencyDetail}, summary="登记应急事件"
)
@decorate_view(checked_first(Perm.CARE_RAISE))
def raise_emergency(request: HttpRequest, payload: schemas.EmergencyIn) -> Status[dict[str, Any]]:
    """An emergency found on a visit or reported by a call or a device."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=payload.elder_id)
    with _body_fields(elder="elder_id", visit="visit_id"):
        emergency = emergencies.raise_emergency(
            acting_user=user,
            elder=elder,
            kind=payload.kind,
            source=payload.source,
            description=payload.description,
            raised_at=payload.raised_at,
            visit=_visit(user, payload.visit_id),
            request=request,
        )
    return Status(201, _emergency(request, emergency.pk))


@emergencies_router.post(
    "/emergencies/{int:emergency_id}/steps",
    response={201: schemas.EmergencyDetail},
    summary="记录处置步骤",
)
@decorate_view(found_first(Perm.CARE_RAISE, Emergency.objects.visible_to, "emergency_id"))
def record_step(
    request: HttpRequest, emergency_id: int, payload: schemas.StepIn
) -> Status[dict[str, Any]]:
    """One step with the time it was taken: help called, family or an emergency
    contact notified, the village or township told (001_35a01bee4c628ebd.txt 二(五)1)."""
    values = payload.model_dump()
    values["number"] = values["number"] or ""
    values["how"] = values["how"] or ""
    emergencies.record_step(
        acting_user=access.signed_in_user(request),
        emergency=_found(request, Emergency, emergency_id),
        request=request,
        **values,
    )
    return Status(201, _emergency(request, emergency_id))


@emergencies_router.post(
    "/emergencies/{int:emergency_id}/close", response=schemas.EmergencyDetail, summary="结案归档"
)
@decorate_view(found_first(Perm.CARE_MANAGE, Emergency.objects.visible_to, "emergency_id"))
def close_emergency(
    request: HttpRequest, emergency_id: int, payload: schemas.CloseIn
) -> dict[str, Any]:
    """Close with the outcome once the steps the documents require are recorded;
    the township then owes the elder a follow-up visit."""
    emergencies.close_emergency(
        acting_user=access.signed_in_user(request),
        emergency=_found(request, Emergency, emergency_id),
        outcome_kind=payload.outcome_kind,
        outcome=payload.outcome,
        request=request,
    )
    return _emergency(request, emergency_id)

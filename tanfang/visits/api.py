"""The visits' JSON API: record a visit (idempotent by the client's UUID), list
and read visits, the form an elder's visit uses. The same access, validation and
audit as the phone page: every write goes through `actions.record_visit`.

`POST /visits` answers 201 with the new record; the same UUID with the same
content again answers 200 with the record first stored and changes nothing; the
same UUID with other content answers 409 (NONFUNCTIONAL.md "Reliability").
"""

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.decorators import decorate_view
from pydantic import ConfigDict

from tanfang import photos
from tanfang.accounts import access
from tanfang.accounts.permissions import Perm
from tanfang.policy import documents
from tanfang.policy.problems import ConfigError
from tanfang.registry.api import checked_first
from tanfang.registry.models import Elder
from tanfang.visits import actions, checklist, counting, queries
from tanfang.visits.findings import NeedType
from tanfang.visits.models import Visit, VisitMode, Visitor

router = Router(tags=["探访"])
logger = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class NeedIn(Schema):
    model_config = ConfigDict(extra="forbid")

    type: NeedType = Field(description="需求类型")
    met: bool = Field(description="是否已满足")
    note: str = Field("", max_length=500)


class VisitIn(Schema):
    """One visit record, as the phone sends it."""

    model_config = ConfigDict(extra="forbid")

    uuid: UUID = Field(description="客户端生成的编号；重发同一编号不会重复记录")
    elder_id: int
    mode: VisitMode = Field(description="探访方式")
    visited_at: datetime = Field(description="探访时间；不带时区时按北京时间")
    visitor_ids: list[int] = Field(
        default_factory=list,
        description="探访人员编号；探访人员本人提交时可省略，即为本人",
    )
    refused: bool = Field(False, description="老人拒绝探访（记录但不计入探访要求）")
    answers: dict[str, Any] = Field(
        default_factory=dict, description="检查项目：见 GET /visits/form/{elder_id}"
    )
    needs_found: list[NeedIn] = Field(default_factory=list, description="发现的需求")
    services_given: str = Field("", max_length=2000)
    suggestions: str = Field("", max_length=2000)
    satisfaction: str = Field("", description="满意度评价（四川）")
    notes: str = Field("", max_length=2000)
    visitor_signature: str = Field("", description="探访人员签字：PNG 的 data URL")
    elder_signature: str = Field("", description="被探访人签字：PNG 的 data URL")
    photo: str = Field("", description="照片（老人同意拍照时）：JPEG 或 PNG 的 data URL")
    started_at: datetime | None = None
    ended_at: datetime | None = None
    latitude: Decimal | None = Field(None, max_digits=9, decimal_places=6)
    longitude: Decimal | None = Field(None, max_digits=9, decimal_places=6)
    location_accuracy: float | None = Field(None, description="定位精度（米）")
    late_reason: str = Field(
        "", max_length=500, description="补录原因：探访日期所在月份的数字已锁定时必填"
    )
    outside_reason: str = Field(
        "", max_length=500, description="非包干探访原因：探访人员探访未包干给本人的老人时必填"
    )


class VisitorOut(Schema):
    id: int
    name: str
    kind: str


class VisitOut(Schema):
    id: int
    uuid: UUID
    elder_id: int
    elder_name: str
    village: str
    sequence: int = Field(description="第 N 次探访")
    mode: str
    mode_label: str
    refused: bool
    visited_at: datetime
    visitors: list[VisitorOut]
    recorded_by: str
    recorded_at: datetime
    checklist: str
    answers: dict[str, Any]
    needs_found: list[dict[str, Any]]
    services_given: str
    suggestions: str
    satisfaction: str
    notes: str
    has_visitor_signature: bool
    has_elder_signature: bool
    has_photo: bool
    started_at: datetime | None
    ended_at: datetime | None
    latitude: Decimal | None
    longitude: Decimal | None
    counted: bool
    not_counted_reason: str
    tasks_done: list[int]
    late_state: str = Field(
        "", description="补录审核：pending 待审核、approved 同意计入、refused 不计入；按时录入为空"
    )
    outside_reason: str = Field("", description="非包干探访原因")


class VisitPage(Schema):
    count: int
    items: list[VisitOut]


class VisitFilters(Schema):
    elder_id: int | None = None
    subtree: str = Field("", description="区划代码：只列出该区划下的探访记录")
    since: date | None = Field(None, description="探访日期起（含）")
    until: date | None = Field(None, description="探访日期止（含）")
    page: int = Field(1, ge=1)
    page_size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class ErrorOut(Schema):
    detail: str
    visit_id: int | None = None


class UnavailableOut(Schema):
    detail: str = Field(description="本县的探访记录表无法读取：哪个文件、哪一处、什么问题")


class CheckOut(Schema):
    counts: bool
    reasons: list[str]
    tasks: list[str] = Field(description="本次探访将完成的任务")


def _out(visit: Visit) -> dict[str, Any]:
    return {
        "id": visit.pk,
        "uuid": visit.uuid,
        "elder_id": visit.elder_id,
        "elder_name": visit.elder.name,
        "village": visit.village.name,
        "sequence": visit.sequence,
        "mode": visit.mode,
        "mode_label": visit.get_mode_display(),
        "refused": visit.refused,
        "visited_at": visit.visited_at,
        "visitors": [{"id": v.pk, "name": v.name, "kind": v.kind} for v in visit.visitors.all()],
        "recorded_by": visit.recorded_by.full_name,
        "recorded_at": visit.recorded_at,
        "checklist": visit.checklist,
        "answers": visit.answers,
        "needs_found": visit.needs_found,
        "services_given": visit.services_given,
        "suggestions": visit.suggestions,
        "satisfaction": visit.satisfaction,
        "notes": visit.notes,
        "has_visitor_signature": bool(visit.visitor_signature),
        "has_elder_signature": bool(visit.elder_signature),
        "has_photo": bool(visit.photo),
        "started_at": visit.started_at,
        "ended_at": visit.ended_at,
        "latitude": visit.latitude,
        "longitude": visit.longitude,
        "counted": visit.counted,
        "not_counted_reason": visit.not_counted_reason,
        "tasks_done": [t.pk for t in visit.completed_tasks.all()],
        "late_state": visit.late_state,
        "outside_reason": visit.outside_reason,
    }


def _with_parts(visits: QuerySet[Visit]) -> QuerySet[Visit]:
    return visits.select_related("elder", "village", "recorded_by").prefetch_related(
        "visitors", "completed_tasks"
    )


def _visitors(request: HttpRequest, ids: list[int]) -> list[Visitor]:
    """The visitors named in the body, from the roster of the user's subtree;
    none named: the user's own visitor record."""
    user = access.signed_in_user(request)
    if not ids:
        own = queries.own_visitor(user)
        return [own] if own is not None else []
    found = {v.pk: v for v in queries.co_visitors(user, ids)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ValidationError(
            {"visitor_ids": f"探访人员编号 {'、'.join(missing)} 不存在或不在您的管辖范围内。"}
        )
    return [found[i] for i in dict.fromkeys(ids)]


def _unavailable(elder: Elder, error: ConfigError) -> Status[dict[str, str]]:
    """503: the county's form cannot be read; only its elders are affected, and
    the answer says why (the file is mended by the system administrator)."""
    logger.error("visit form for elder %s cannot be loaded: %s", elder.pk, error)
    return Status(503, {"detail": checklist.unavailable_words(error)})


@router.post(
    "/visits",
    response={200: VisitOut, 201: VisitOut, 409: ErrorOut, 503: UnavailableOut},
    summary="录入探访记录",
)
@decorate_view(checked_first(Perm.VISITS_RECORD))
def record_visit(request: HttpRequest, payload: VisitIn) -> Any:
    """Store one visit and complete the visit tasks it satisfies. Retrying the same
    UUID with the same content returns the stored record (200) and changes nothing;
    the same UUID with other content is a conflict (409)."""
    user = access.signed_in_user(request)
    # A visitor may visit another elder of their village, saying why (outside_reason).
    elder = access.get_or_404(Elder.objects.visible_to(user, visiting=True), pk=payload.elder_id)
    try:
        recorded = actions.record_visit(
            acting_user=user,
            uuid=payload.uuid,
            elder=elder,
            mode=payload.mode,
            visited_at=payload.visited_at,
            visitors=_visitors(request, payload.visitor_ids),
            answers=payload.answers,
            refused=payload.refused,
            needs_found=[n.model_dump() for n in payload.needs_found],
            services_given=payload.services_given,
            suggestions=payload.suggestions,
            satisfaction=payload.satisfaction,
            notes=payload.notes,
            visitor_signature=payload.visitor_signature,
            elder_signature=payload.elder_signature,
            photo=photos.from_data_url(payload.photo),
            started_at=payload.started_at,
            ended_at=payload.ended_at,
            latitude=payload.latitude,
            longitude=payload.longitude,
            location_accuracy=payload.location_accuracy,
            late_reason=payload.late_reason,
            outside_reason=payload.outside_reason,
            request=request,
        )
    except actions.VisitConflict as conflict:
        return Status(409, {"detail": str(conflict), "visit_id": conflict.visit.pk})
    except ConfigError as error:
        return _unavailable(elder, error)
    # The elder's own (a replay's content, elder included, is the stored one's).
    visit = _with_parts(elder.visits.filter(pk=recorded.visit.pk)).get()
    return Status(201 if recorded.created else 200, _out(visit))


@router.get("/visits", response=VisitPage, summary="探访记录列表")
@decorate_view(checked_first(Perm.PEOPLE_VIEW))
def list_visits(request: HttpRequest, filters: Query[VisitFilters]) -> dict[str, Any]:
    """Visits in the user's subtree, newest first."""
    user = access.signed_in_user(request)
    visits = Visit.objects.visible_to(user)
    if filters.elder_id is not None:
        visits = visits.filter(elder_id=filters.elder_id)
    if filters.subtree:
        region = access.get_region_for(user, filters.subtree.strip())
        visits = visits.filter(region.subtree("village_id"))
    if filters.since:
        visits = visits.filter(visited_at__date__gte=filters.since)
    if filters.until:
        visits = visits.filter(visited_at__date__lte=filters.until)
    start = (filters.page - 1) * filters.page_size
    page = _with_parts(visits.order_by("-visited_at", "-id"))[start : start + filters.page_size]
    return {"count": visits.count(), "items": [_out(v) for v in page]}


@router.get("/visits/{int:visit_id}", response=VisitOut, summary="探访记录")
@decorate_view(checked_first(Perm.PEOPLE_VIEW))
def read_visit(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    user = access.signed_in_user(request)
    visit = access.get_or_404(Visit.objects.visible_to(user), pk=visit_id)
    return _out(_with_parts(Visit.objects.visible_to(user).filter(pk=visit.pk)).get())


@router.get(
    "/visits/form/{int:elder_id}",
    response={200: dict[str, Any], 503: UnavailableOut},
    summary="探访记录表",
)
@decorate_view(checked_first(Perm.VISITS_RECORD, elder=True, visiting=True))
def visit_form(request: HttpRequest, elder_id: int) -> Any:
    """The form the elder's visits use under the county's rules: modes, sections,
    items and options, signatures and satisfaction, and the JSON Schema of `answers`.
    `source` and each item's `description` are citations as written; `citation`
    beside them is the document's title and section, for people."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user, visiting=True), pk=elder_id)
    try:
        form = actions.checklist_for(elder)
    except ConfigError as error:
        return _unavailable(elder, error)
    return {
        "checklist": form.name,
        "title": form.title,
        "source": form.source,
        "citation": documents.label(form.source),
        "modes": [{"value": v, "label": label} for v, label in actions.modes_for(elder, form)],
        "signatures": sorted(form.signatures),
        "satisfaction": [{"value": o.value, "label": o.label} for o in form.satisfaction],
        "text_fields": [{"field": f, "label": label} for f, label in form.text_fields],
        "answers_schema": checklist.json_schema(form),
    }


@router.get("/visits/check/{int:elder_id}", response=CheckOut, summary="是否计入探访要求")
@decorate_view(checked_first(Perm.VISITS_RECORD, elder=True, visiting=True))
def check_visit(
    request: HttpRequest, elder_id: int, mode: VisitMode, day: date | None = None
) -> dict[str, Any]:
    """Before saving: whether a visit of `mode` on `day` (today by default) would
    count, and if not, why."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user, visiting=True), pk=elder_id)
    outcome = counting.explain(elder, mode=mode, day=day or timezone.localdate())
    return {
        "counts": outcome.counts,
        "reasons": list(outcome.reasons),
        "tasks": [t.label for t in outcome.completes],
    }

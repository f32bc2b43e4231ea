"""The shapes of the closed loop's JSON API (tanfang/care/api.py).

What comes in are the arguments of the actions (tanfang/care/actions.py), typed:
the choices are checked here, everything else (required text, lengths, dates,
the needs' state machine, the steps an emergency owes) by the actions, so that
the API refuses exactly what the pages refuse. Times are ISO 8601 with their
offset; a time without one is refused rather than guessed.
"""

from datetime import date, datetime
from typing import Annotated, Any

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from tanfang.accounts.models import User
from tanfang.care import queries
from tanfang.care.models import (
    ContactMeans,
    Emergency,
    EmergencyKind,
    EmergencyOutcome,
    EmergencySource,
    EmergencyStep,
    Hazard,
    HazardSeverity,
    HazardStatus,
    HelpNumber,
    Need,
    NeedEvent,
    NeedSource,
    NeedStatus,
    StepKind,
)
from tanfang.inputs import beijing_time
from tanfang.visits.findings import HazardItem, NeedType
from tanfang.visits.models import Visit, VisitTask

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_EXAMPLE_MOMENT = "2026-12-01T09:30:00+08:00"


# A time without its zone is Beijing time, as for `POST /visits`.
Moment = Annotated[datetime, AfterValidator(beijing_time)]

# In: filters ----------------------------------------------------------------------


class _Page(Schema):
    subtree: str = Field("", description="区划代码：只列出该区划（乡镇、村(社区)等）下的记录")
    min_age_days: int | None = Field(None, ge=0, description="至少已登记（发现）多少天")
    page: int = Field(1, ge=1)
    page_size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


NEED_STATUS_FILTERS = [*NeedStatus.values, queries.OPEN_ALL]
EMERGENCY_STATES = ["open", "closed"]


def _one_of(value: str, allowed: list[str]) -> str:
    """A filter of a few words, blank for all (ninja's enums take no blank)."""
    if value and value not in allowed:
        raise PydanticCustomError(
            "literal_error", "应为以下之一：{expected}。", {"expected": ", ".join(allowed)}
        )
    return value


class NeedFilters(_Page):
    need_type: NeedType | None = Field(None, description="需求类型")
    status: str = Field("", description="状态；open_all 为全部未办结（待处理、已转介、处理中）")
    overdue: bool = Field(False, description="只列出已超过办理期限、尚未办结的需求")

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        return _one_of(value, NEED_STATUS_FILTERS)


class HazardFilters(_Page):
    item: HazardItem | None = Field(None, description="隐患类别")
    severity: HazardSeverity | None = Field(None, description="严重程度")
    status: HazardStatus | None = Field(None, description="状态")


class EmergencyFilters(Schema):
    subtree: str = Field("", description="区划代码：只列出该区划下的记录")
    kind: EmergencyKind | None = Field(None, description="事件类型")
    state: str = Field("", description="open 未结案，closed 已结案")
    page: int = Field(1, ge=1)
    page_size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)

    @field_validator("state")
    @classmethod
    def _known_state(cls, value: str) -> str:
        return _one_of(value, EMERGENCY_STATES)


# In: bodies -----------------------------------------------------------------------


class _Body(Schema):
    model_config = ConfigDict(extra="forbid")


class NeedIn(_Body):
    elder_id: int
    need_type: NeedType = Field(description="需求类型")
    source: NeedSource = Field(description="来源；探访发现的须带 visit_id")
    description: str = Field("", description="需求描述")
    visit_id: int | None = Field(None, description="发现该需求的探访记录")


class MeasureIn(_Body):
    measure: str = Field("", description="帮扶措施（一项需求对应一项帮扶措施）")
    responsible_unit: str = Field("", description="责任单位")
    responsible_person: str = Field("", description="责任人")
    due_on: date | None = Field(None, description="办理期限")


class NeedStatusIn(_Body):
    status: NeedStatus = Field(description="新的状态")
    note: str = Field("", description="说明；老人谢绝时必填")


class NotResolvedIn(_Body):
    note: str = Field("", description="回访发现的情况")
    visit_id: int | None = Field(None, description="发现问题的回访探访记录")


class HazardIn(_Body):
    elder_id: int
    item: HazardItem = Field(description="隐患类别")
    severity: HazardSeverity = Field(HazardSeverity.ORDINARY, description="严重程度")
    description: str = Field("", description="隐患说明")
    visit_id: int | None = Field(None, description="发现该隐患的探访记录")


class HazardPatch(_Body):
    severity: HazardSeverity | None = Field(None, description="严重程度；省略则不变")
    description: str | None = Field(None, description="隐患说明；省略则不变")


class RemindIn(_Body):
    elder: bool = Field(False, description="已提醒老人")
    family: bool = Field(False, description="已提醒家属")
    note: str = ""


class RemovedIn(_Body):
    visit_id: int | None = Field(None, description="之后的一次探访记录，确认隐患已消除")
    photo: str = Field(
        "",
        description="或隐患消除后的照片（老人同意拍照时）：JPEG 或 PNG 的 data URL，"
        "如 data:image/jpeg;base64,…，不超过 5 MB",
    )
    note: str = Field("", description="消除说明")


class ReopenIn(_Body):
    note: str = Field("", description="重新打开的原因")


class EmergencyIn(_Body):
    elder_id: int
    kind: EmergencyKind = Field(description="事件类型")
    source: EmergencySource = Field(description="来源；探访发现的须带 visit_id")
    description: str = Field("", description="情况描述")
    raised_at: Moment | None = Field(
        None, description=f"发生(报告)时间，如 {_EXAMPLE_MOMENT}，不带时区时按北京时间；省略为现在"
    )
    visit_id: int | None = None


class StepIn(_Body):
    kind: StepKind = Field(description="处置步骤")
    at: Moment = Field(description=f"步骤的时间，如 {_EXAMPLE_MOMENT}，不带时区时按北京时间")
    number: HelpNumber | None = Field(None, description="拨打的求助电话（仅拨打紧急求助电话）")
    whom: str = Field("", description="联系对象（通知家庭成员、紧急联系人时必填）")
    how: ContactMeans | None = Field(None, description="联系方式（通知、报告时必填）")
    answered: bool | None = Field(None, description="是否联系上（通知家庭成员、紧急联系人时必填）")
    note: str = Field("", description="说明（其他处置时必填）")


class CloseIn(_Body):
    outcome_kind: EmergencyOutcome = Field(description="处置结果")
    outcome: str = Field("", description="处置情况")


# Out ------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class RegionRef(Schema):
    code: str
    name: str


class TaskRef(Schema):
    id: int
    label: str
    window_start: date
    deadline: date
    window_end: date
    state: str = Field(description="open 待回访，done 已回访，cancelled 已取消")
    done_at: datetime | None
    done_by_visit_id: int | None


class NeedEventOut(Schema):
    from_status: str
    to_status: str
    to_status_label: str
    note: str
    visit_id: int | None
    by: str
    at: datetime


class NeedOut(Schema):
    id: int
    elder: Ref
    village: RegionRef
    need_type: str
    need_type_label: str
    source: str
    source_label: str
    description: str
    status: str
    status_label: str
    visit_id: int | None
    measure: str
    responsible_unit: str
    responsible_person: str
    due_on: date | None
    overdue: bool
    age_days: int = Field(description="登记至今的天数")
    resolved_at: datetime | None
    confirmed_at: datetime | None = Field(description="跟踪回访确认解决的时间")
    follow_up_task_id: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class NeedDetail(NeedOut):
    events: list[NeedEventOut] = Field(description="处理记录，按时间先后")
    follow_up_task: TaskRef | None


class NeedPage(Schema):
    count: int
    items: list[NeedOut]


class VisitRef(Schema):
    id: int
    visited_at: datetime
    mode: str


class HazardOut(Schema):
    id: int
    elder: Ref
    village: RegionRef
    item: str
    item_label: str
    finding: str
    description: str
    severity: str
    severity_label: str
    status: str
    status_label: str
    visit_id: int | None
    found_at: datetime
    age_days: int = Field(description="发现至今的天数")
    reminded_elder: bool
    reminded_family: bool
    reminded_at: datetime | None
    removed_at: datetime | None
    removal_visit_id: int | None
    has_removal_photo: bool
    removal_note: str
    created_at: datetime


class HazardDetail(HazardOut):
    removal_candidates: list[VisitRef] = Field(
        description="之后答为安全的探访记录，可用于确认消除（POST /hazards/{id}/removed）"
    )


class HazardPage(Schema):
    count: int
    items: list[HazardOut]


class StepOut(Schema):
    id: int
    kind: str
    kind_label: str
    at: datetime
    number: str
    whom: str
    how: str
    answered: bool | None
    note: str
    recorded_by: str
    recorded_at: datetime


class EmergencyOut(Schema):
    id: int
    elder: Ref
    village: RegionRef
    kind: str
    kind_label: str
    source: str
    source_label: str
    visit_id: int | None
    description: str
    raised_at: datetime
    raised_by: str
    age_days: int
    closed: bool
    outcome_kind: str
    outcome: str
    closed_at: datetime | None
    follow_up_task_id: int | None


class EmergencyDetail(EmergencyOut):
    steps: list[StepOut] = Field(description="处置步骤，按时间先后")
    follow_up_task: TaskRef | None


class EmergencyPage(Schema):
    count: int
    items: list[EmergencyOut]


# Out: builders --------------------------------------------------------------------


def _local(moment: datetime | None) -> datetime | None:
    """Times go out with the offset of Asia/Shanghai, as the users read them."""
    return timezone.localtime(moment) if moment is not None else None


def _name(user: User | None) -> str:
    return user.full_name if user is not None else ""


def _owner(item: Need | Hazard | Emergency) -> dict[str, Any]:
    village = item.elder.village
    return {
        "elder": {"id": item.elder_id, "name": item.elder.name},
        "village": {"code": village.code, "name": village.name},
    }


def task_out(task: VisitTask | None) -> dict[str, Any] | None:
    if task is None:
        return None
    state = "done" if task.done_at else "cancelled" if task.cancelled_at else "open"
    return {
        "id": task.pk,
        "label": task.label,
        "window_start": task.window_start,
        "deadline": task.deadline,
        "window_end": task.window_end,
        "state": state,
        "done_at": _local(task.done_at),
        "done_by_visit_id": task.done_by_visit_id,
    }


def need_out(need: Need, today: date) -> dict[str, Any]:
    return {
        "id": need.pk,
        **_owner(need),
        "need_type": need.need_type,
        "need_type_label": need.get_need_type_display(),
        "source": need.source,
        "source_label": need.get_source_display(),
        "description": need.description,
        "status": need.status,
        "status_label": need.get_status_display(),
        "visit_id": need.visit_id,
        "measure": need.measure,
        "responsible_unit": need.responsible_unit,
        "responsible_person": need.responsible_person,
        "due_on": need.due_on,
        "overdue": need.is_overdue(today),
        "age_days": queries.age_days(need.created_at, today),
        "resolved_at": _local(need.resolved_at),
        "confirmed_at": _local(need.confirmed_at),
        "follow_up_task_id": need.follow_up_task_id,
        "created_by": _name(need.created_by),
        "created_at": _local(need.created_at),
        "updated_at": _local(need.updated_at),
    }


def need_detail(need: Need, events: list[NeedEvent], today: date) -> dict[str, Any]:
    return {
        **need_out(need, today),
        "events": [
            {
                "from_status": e.from_status,
                "to_status": e.to_status,
                "to_status_label": e.get_to_status_display(),
                "note": e.note,
                "visit_id": e.visit_id,
                "by": _name(e.by),
                "at": _local(e.at),
            }
            for e in events
        ],
        "follow_up_task": task_out(need.follow_up_task),
    }


def hazard_out(hazard: Hazard, today: date) -> dict[str, Any]:
    return {
        "id": hazard.pk,
        **_owner(hazard),
        "item": hazard.item,
        "item_label": hazard.get_item_display(),
        "finding": hazard.finding,
        "description": hazard.description,
        "severity": hazard.severity,
        "severity_label": hazard.get_severity_display(),
        "status": hazard.status,
        "status_label": hazard.get_status_display(),
        "visit_id": hazard.visit_id,
        "found_at": _local(hazard.found_at),
        "age_days": queries.age_days(hazard.found_at, today),
        "reminded_elder": hazard.reminded_elder,
        "reminded_family": hazard.reminded_family,
        "reminded_at": _local(hazard.reminded_at),
        "removed_at": _local(hazard.removed_at),
        "removal_visit_id": hazard.removal_visit_id,
        "has_removal_photo": bool(hazard.removal_photo),
        "removal_note": hazard.removal_note,
        "created_at": _local(hazard.created_at),
    }


def hazard_detail(hazard: Hazard, candidates: list[Visit], today: date) -> dict[str, Any]:
    return {
        **hazard_out(hazard, today),
        "removal_candidates": [
            {"id": v.pk, "visited_at": _local(v.visited_at), "mode": v.mode} for v in candidates
        ],
    }


def emergency_out(emergency: Emergency, today: date) -> dict[str, Any]:
    return {
        "id": emergency.pk,
        **_owner(emergency),
        "kind": emergency.kind,
        "kind_label": emergency.get_kind_display(),
        "source": emergency.source,
        "source_label": emergency.get_source_display(),
        "visit_id": emergency.visit_id,
        "description": emergency.description,
        "raised_at": _local(emergency.raised_at),
        "raised_by": _name(emergency.raised_by),
        "age_days": queries.age_days(emergency.raised_at, today),
        "closed": emergency.is_closed(),
        "outcome_kind": emergency.outcome_kind,
        "outcome": emergency.outcome,
        "closed_at": _local(emergency.closed_at),
        "follow_up_task_id": emergency.follow_up_task_id,
    }


def emergency_detail(
    emergency: Emergency, steps: list[EmergencyStep], today: date
) -> dict[str, Any]:
    return {
        **emergency_out(emergency, today),
        "steps": [
            {
                "id": s.pk,
                "kind": s.kind,
                "kind_label": s.get_kind_display(),
                "at": _local(s.at),
                "number": s.number,
                "whom": s.whom,
                "how": s.how,
                "answered": s.answered,
                "note": s.note,
                "recorded_by": _name(s.recorded_by),
                "recorded_at": _local(s.recorded_at),
            }
            for s in steps
        ],
        "follow_up_task": task_out(emergency.follow_up_task),
    }

"""The forms of the closed loop's pages (tanfang/care/views.py): what the user
types, read into the arguments of care's actions (tanfang.care.needs, .hazards,
.emergencies), which do the checking
that matters. A form refuses only what it cannot read (a date that is not one,
a choice that is not offered); the rules are the actions'."""

from datetime import datetime
from typing import Any

from django import forms

from tanfang.care import queries
from tanfang.care.checks import DESCRIPTION_MAX, NOTE_MAX
from tanfang.care.models import (
    ContactMeans,
    EmergencyKind,
    EmergencyOutcome,
    EmergencySource,
    HazardSeverity,
    HazardStatus,
    HelpNumber,
    Need,
    NeedSource,
    NeedStatus,
    StepKind,
)
from tanfang.care.needs import NEED_TRANSITIONS
from tanfang.visits.findings import HazardItem, NeedType
from tanfang.visits.forms import DATETIME_LOCAL
from tanfang.visits.models import Visit

_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)
_DATETIME_FORMATS = [DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _choose(choices: Any) -> list[tuple[str, str]]:
    return [("", "请选择"), *choices]


def _text(label: str, limit: int, *, rows: int = 3, required: bool = False) -> forms.CharField:
    # Required texts are checked by the actions, which say so in their words.
    return forms.CharField(
        label=label,
        required=required,
        max_length=limit,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


# --- Raising -------------------------------------------------------------------------


class NeedRaiseForm(forms.Form):
    need_type = forms.ChoiceField(label="需求类型", choices=_choose(NeedType.choices))
    source = forms.ChoiceField(label="来源", choices=_choose(NeedSource.choices))
    description = _text("需求描述", DESCRIPTION_MAX, rows=4)

    def __init__(self, *args: Any, visit: Visit | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _sources_for(self.fields["source"], NeedSource.choices, visit)


class HazardRaiseForm(forms.Form):
    item = forms.ChoiceField(label="隐患类别", choices=_choose(HazardItem.choices))
    severity = forms.ChoiceField(
        label="严重程度", choices=HazardSeverity.choices, initial=HazardSeverity.ORDINARY
    )
    description = _text("隐患说明", NOTE_MAX)


class EmergencyRaiseForm(forms.Form):
    kind = forms.ChoiceField(label="事件类型", choices=_choose(EmergencyKind.choices))
    source = forms.ChoiceField(label="来源", choices=_choose(EmergencySource.choices))
    raised_at = forms.DateTimeField(
        label="发生(报告)时间",
        required=False,
        input_formats=_DATETIME_FORMATS,
        widget=_DATETIME,
        help_text="不填即为现在。",
    )
    description = _text("情况描述", DESCRIPTION_MAX, rows=4)

    def __init__(self, *args: Any, visit: Visit | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _sources_for(self.fields["source"], EmergencySource.choices, visit)


def _sources_for(field: forms.Field, choices: Any, visit: Visit | None) -> None:
    """Raised from a visit's record: the source is that visit. Otherwise every
    source but "探访发现", which would ask for a visit the form cannot name."""
    if not isinstance(field, forms.ChoiceField):
        raise TypeError(field)
    if visit is not None:
        field.choices = [("visit", dict(choices)["visit"])]
        field.initial = "visit"
    else:
        field.choices = _choose([(value, label) for value, label in choices if value != "visit"])


# --- Needs ---------------------------------------------------------------------------


class MeasureForm(forms.Form):
    measure = _text("帮扶措施", NOTE_MAX)
    responsible_unit = forms.CharField(label="责任单位", required=False, max_length=100)
    responsible_person = forms.CharField(label="责任人", required=False, max_length=50)
    due_on = forms.DateField(label="办理期限", required=False, widget=_DATE)


class NeedStatusForm(forms.Form):
    to_status = forms.ChoiceField(label="新状态")
    note = _text("说明", NOTE_MAX, rows=2)

    def __init__(self, *args: Any, need: Need, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = NEED_TRANSITIONS[need.status]
        self.fields["to_status"].choices = _choose(  # type: ignore[attr-defined]
            [(value, label) for value, label in NeedStatus.choices if value in allowed]
        )
        self.fields["note"].help_text = "改为“老人谢绝”时必填。"


class NotResolvedForm(forms.Form):
    note = _text("回访发现的情况", NOTE_MAX)


# --- Hazards -------------------------------------------------------------------------


class HazardEditForm(forms.Form):
    severity = forms.ChoiceField(label="严重程度", choices=HazardSeverity.choices)
    description = _text("隐患说明", NOTE_MAX)


class RemindForm(forms.Form):
    elder = forms.BooleanField(label="已提醒老人", required=False)
    family = forms.BooleanField(label="已提醒家属", required=False)
    note = _text("说明", NOTE_MAX, rows=2)


class _VisitChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.visited_at:%Y-%m-%d %H:%M} {obj.get_mode_display()}（第{obj.sequence}次探访）"


class RemovalForm(forms.Form):
    visit = _VisitChoice(
        label="之后的探访记录",
        queryset=Visit.objects.none(),
        required=False,
        empty_label="不选（上传照片）",
        widget=forms.RadioSelect,
    )
    photo = forms.FileField(
        label="消除后的照片",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
        help_text="JPEG 或 PNG，不超过 5 MB；须老人同意拍照。",
    )
    note = _text("消除说明", NOTE_MAX, rows=2)

    def __init__(self, *args: Any, candidates: list[Visit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["visit"]
        if not isinstance(field, forms.ModelChoiceField):
            raise TypeError(field)
        field.queryset = Visit.objects.filter(pk__in=[v.pk for v in candidates]).order_by(
            "-visited_at", "-pk"
        )
        self.candidates = candidates


class ReopenForm(forms.Form):
    note = _text("重新打开的原因", NOTE_MAX, rows=2)


# --- Emergencies ---------------------------------------------------------------------

_ANSWERED = [("", "不适用"), ("true", "已联系上"), ("false", "未联系上")]


class StepForm(forms.Form):
    kind = forms.ChoiceField(label="处置步骤", choices=_choose(StepKind.choices))
    at = forms.DateTimeField(
        label="时间",
        input_formats=_DATETIME_FORMATS,
        widget=_DATETIME,
        help_text="实际处置的时间。",
    )
    number = forms.ChoiceField(
        label="求助电话", required=False, choices=[("", "—"), *HelpNumber.choices]
    )
    whom = forms.CharField(label="联系对象", required=False, max_length=50)
    how = forms.ChoiceField(
        label="联系方式", required=False, choices=[("", "—"), *ContactMeans.choices]
    )
    answered = forms.TypedChoiceField(
        label="是否联系上",
        required=False,
        choices=_ANSWERED,
        coerce=lambda value: value == "true",
        empty_value=None,
    )
    note = _text("说明", NOTE_MAX, rows=2)

    def __init__(self, *args: Any, raised_at: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.raised_at = raised_at

    def clean_at(self) -> datetime:
        """The form's time is to the minute, the emergency's may have seconds (it
        was raised "now"): a step typed in that same minute is taken as at it."""
        at: datetime = self.cleaned_data["at"]
        if self.raised_at.replace(second=0, microsecond=0) <= at < self.raised_at:
            return self.raised_at
        return at


class CloseForm(forms.Form):
    outcome_kind = forms.ChoiceField(label="处置结果", choices=_choose(EmergencyOutcome.choices))
    outcome = _text("处置情况", DESCRIPTION_MAX, rows=4)


# --- The lists -----------------------------------------------------------------------

AGES = [
    ("", "登记时间不限"),
    ("7", "7 天以上"),
    ("15", "15 天以上"),
    ("30", "30 天以上"),
    ("60", "60 天以上"),
]
SORTS = [("age", "最久的在前"), ("-age", "最新的在前")]


class _ListFilter(forms.Form):
    region = forms.ChoiceField(label="区划", required=False)
    age = forms.TypedChoiceField(
        label="已登记", required=False, choices=AGES, coerce=int, empty_value=None
    )
    sort = forms.ChoiceField(label="排序", required=False, choices=SORTS)

    def __init__(self, *args: Any, places: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "全部区划"), *places]  # type: ignore[attr-defined]


class NeedFilter(_ListFilter):
    need_type = forms.ChoiceField(
        label="需求类型", required=False, choices=[("", "全部类型"), *NeedType.choices]
    )
    status = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[(queries.OPEN_ALL, "未办结"), ("", "全部状态"), *NeedStatus.choices],
    )
    overdue = forms.BooleanField(label="只看逾期", required=False)

    field_order = ["need_type", "status", "region", "age", "overdue"]


class HazardFilter(_ListFilter):
    item = forms.ChoiceField(
        label="隐患类别", required=False, choices=[("", "全部类别"), *HazardItem.choices]
    )
    severity = forms.ChoiceField(
        label="严重程度", required=False, choices=[("", "全部程度"), *HazardSeverity.choices]
    )
    status = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[(HazardStatus.OPEN, "未消除"), ("", "全部状态"), (HazardStatus.REMOVED, "已消除")],
    )

    field_order = ["item", "severity", "status", "region", "age"]


class EmergencyFilter(_ListFilter):
    kind = forms.ChoiceField(
        label="事件类型", required=False, choices=[("", "全部类型"), *EmergencyKind.choices]
    )
    state = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[("", "全部状态"), ("open", "处置中"), ("closed", "已结案")],
    )

    field_order = ["kind", "state", "region", "age"]

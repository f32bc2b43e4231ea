"""The visit form of the phone page, built from the elder's form definition
(`tanfang.visits.checklist`): one field per checklist item with its options,
the bad answers marked, and the record's other fields.

The form only reads what was typed; whether it is right (an answer outside the
option set, a required item left empty, a signature missing) is decided once, by
`actions.record_visit`, whose errors are keyed by field (`answers.<key>`,
`visitors`, ...) and put back beside the fields here (`add_action_errors`).
"""

import uuid
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from tanfang.registry.models import Elder
from tanfang.visits import checklist
from tanfang.visits.checklist_schema import Kind
from tanfang.visits.findings import NeedType
from tanfang.visits.models import VisitMode, Visitor

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
YES, NO = "yes", "no"
TEXT_MAX_LENGTH = 2000
# Hidden fields the page's script fills in; their errors are shown at the top.
AUTOMATIC = ("started_at", "ended_at", "latitude", "longitude", "location_accuracy")
# The key of the needs' errors (`record_visit` names them so).
NEEDS = "needs_found"


def answer_field(key: str) -> str:
    return f"answer_{key}"


@dataclass(frozen=True)
class OptionView:
    widget: Any  # a BoundWidget: the radio input
    label: str
    bad: bool


@dataclass(frozen=True)
class ItemView:
    item: checklist.Item
    field: forms.BoundField
    options: list[OptionView]
    detail: forms.BoundField | None  # 疾病名称, 人数, or a need's 是否满足
    detail_hint: str  # 选“严重”时填写

    @property
    def is_need(self) -> bool:
        return self.item.kind == Kind.NEED


@dataclass(frozen=True)
class SectionView:
    title: str
    items: list[ItemView]


@dataclass(frozen=True)
class NeedView:
    value: str
    label: str
    found: forms.BoundField
    met: forms.BoundField
    note: forms.BoundField


# Generic in django-stubs only, not at run time.
class VisitorChoices(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        visitor: Visitor = obj
        return f"{visitor.name}（{visitor.get_kind_display()}）"


class VisitForm(forms.Form):
    # Made when the page is rendered and kept on a re-render: sending the page
    # twice (a double tap, a retry) sends one UUID, and the second changes nothing.
    uuid = forms.UUIDField(
        label="表单编号",
        widget=forms.HiddenInput,
        error_messages={
            "required": "缺失，请刷新页面后重新填写。",
            "invalid": "无效，请刷新页面后重新填写。",
        },
    )
    mode = forms.ChoiceField(
        label="探访方式",
        widget=forms.RadioSelect,
        error_messages={"required": "请选择探访方式。", "invalid_choice": "请选择探访方式。"},
    )
    visited_at = forms.DateTimeField(
        label="探访时间",
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        error_messages={"required": "请填写探访时间。", "invalid": "请填写正确的探访日期和时间。"},
    )
    refused = forms.BooleanField(
        label="老人拒绝探访",
        required=False,
        help_text="老人拒绝时只记录本次情况，不必填写检查项目，也不计入探访要求。",
    )
    # 补录: asked when the month of the visit's day is locked (actions.check_visit).
    late_reason = forms.CharField(
        label="补录原因",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="请写明为什么现在才录入，如：村里没有信号，回镇上才提交。",
    )
    # Filled in by visit_form.js: when the page was opened and 保存 tapped, and
    # where the phone was, if the visitor allows it.
    started_at = forms.DateTimeField(label="开始时间", required=False, widget=forms.HiddenInput)
    ended_at = forms.DateTimeField(label="结束时间", required=False, widget=forms.HiddenInput)
    latitude = forms.DecimalField(
        label="纬度", required=False, max_digits=9, decimal_places=6, widget=forms.HiddenInput
    )
    longitude = forms.DecimalField(
        label="经度", required=False, max_digits=9, decimal_places=6, widget=forms.HiddenInput
    )
    location_accuracy = forms.FloatField(
        label="定位精度", required=False, min_value=0, widget=forms.HiddenInput
    )
    # Asked when a visitor visits an elder not assigned to them (actions.check_visit).
    outside_reason = forms.CharField(
        label="非包干探访原因",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="该老人未包干给您：请写明为什么由您探访（如代同事探访、路遇），村(居)联络员可以看到。",
    )

    def __init__(
        self,
        data: Any = None,
        files: Any = None,
        *,
        definition: checklist.Checklist,
        elder: Elder,
        visitors: QuerySet[Visitor],
        own: Visitor | None,
        initial_mode: str = "",
    ) -> None:
        super().__init__(
            data,
            files,
            initial={
                "uuid": uuid.uuid4(),
                "mode": initial_mode,
                "visited_at": timezone.localtime().replace(second=0, microsecond=0),
                # The signed-in visitor's own record, when it may visit this elder.
                "visitors": [own.pk] if own is not None else [],
            },
        )
        self.definition = definition
        self.elder = elder
        cast(forms.ChoiceField, self.fields["mode"]).choices = list(definition.modes)
        self.fields["visitors"] = VisitorChoices(
            label="探访人员",
            queryset=visitors,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            error_messages={
                "invalid_choice": "所选探访人员不可选。",
                "invalid_pk_value": "所选探访人员不可选。",
            },
        )
        for item in definition.items():
            self._add_item(item)
        for value, label in NeedType.choices:
            self.fields[f"need_{value}"] = forms.BooleanField(label=label, required=False)
            self.fields[f"need_{value}_met"] = forms.ChoiceField(
                label="是否已满足",
                required=False,
                choices=[(NO, "未满足"), (YES, "已满足")],
                widget=forms.RadioSelect,
                error_messages={"invalid_choice": "请选择“未满足”或“已满足”。"},
            )
            self.fields[f"need_{value}_note"] = forms.CharField(
                label="说明",
                required=False,
                max_length=500,
                widget=forms.TextInput(attrs={"placeholder": "说明（可不填）"}),
            )
        for name, label in definition.text_fields:
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                max_length=TEXT_MAX_LENGTH,
                widget=forms.Textarea(attrs={"rows": 3}),
            )
        if definition.satisfaction:
            self.fields["satisfaction"] = forms.ChoiceField(
                label="老年人服务满意度评价",
                required=False,
                choices=[(o.value, o.label) for o in definition.satisfaction],
                widget=forms.RadioSelect,
                error_messages={"invalid_choice": "请从所列评价中选择。"},
            )
        for who in sorted(definition.signatures, reverse=True):  # visitor, then elder
            self.fields[f"{who}_signature"] = forms.CharField(
                label="探访人员签字" if who == "visitor" else "被探访人签字",
                required=False,
                widget=forms.HiddenInput,
            )
        # 004_1657df0ed1e05604.txt 二(四): a photo only with the elder's consent;
        # without it the page does not offer one.
        if elder.consents_to_photos:
            self.fields["photo"] = forms.FileField(
                label="照片",
                required=False,
                help_text="老人已同意拍照。JPEG 或 PNG，不超过 5 MB。",
                widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
            )

    def _add_item(self, item: checklist.Item) -> None:
        # Plain text fields: the option set is checked by checklist.clean_answers,
        # with a message naming the item and its options.
        name = answer_field(item.key)
        if item.kind == Kind.TEXT:
            self.fields[name] = forms.CharField(
                label=item.label,
                required=False,
                widget=forms.Textarea(attrs={"rows": 2, "maxlength": item.max_length}),
            )
            return
        choices = (
            [(YES, "是"), (NO, "否")]
            if item.kind == Kind.NEED
            else [(o.value, o.label) for o in item.options]
        )
        self.fields[name] = forms.CharField(
            label=item.label, required=False, widget=forms.RadioSelect(choices=choices)
        )
        if item.kind == Kind.CHOICE_TEXT:
            self.fields[f"{name}_detail"] = forms.CharField(
                label=item.detail_label,
                required=False,
                widget=forms.TextInput(attrs={"maxlength": item.max_length}),
            )
        elif item.kind == Kind.CHOICE_COUNT:
            self.fields[f"{name}_count"] = forms.IntegerField(
                label=item.detail_label,
                required=False,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 1, "max": 99}),
                error_messages={"invalid": f"{item.detail_label}应为整数。"},
            )
        elif item.kind == Kind.NEED:
            self.fields[f"{name}_met"] = forms.CharField(
                label=item.detail_label or "是否满足",
                required=False,
                widget=forms.RadioSelect(choices=[(YES, "是"), (NO, "否")]),
            )

    # --- For the template ----------------------------------------------------------

    def sections(self) -> list[SectionView]:
        return [
            SectionView(section.title, [self._item_view(item) for item in section.items])
            for section in self.definition.sections
        ]

    def _item_view(self, item: checklist.Item) -> ItemView:
        name = answer_field(item.key)
        bound = self[name]
        bad = {o.value: o.bad for o in item.options}
        options = (
            []
            if item.kind == Kind.TEXT
            else [
                OptionView(widget, str(widget.choice_label), bad.get(widget.data["value"], False))
                for widget in bound
            ]
        )
        detail = next(
            (
                self[f"{name}_{part}"]
                for part in ("detail", "count", "met")
                if f"{name}_{part}" in self.fields
            ),
            None,
        )
        chosen = [o.label for o in item.options if o.value in item.detail_options]
        hint = f"选“{'”或“'.join(chosen)}”时填写" if chosen else ""
        if item.kind == Kind.NEED:
            hint = "有此需求时选择"
        return ItemView(item, bound, options, detail, hint)

    def needs(self) -> list[NeedView]:
        return [
            NeedView(
                value,
                label,
                self[f"need_{value}"],
                self[f"need_{value}_met"],
                self[f"need_{value}_note"],
            )
            for value, label in NeedType.choices
        ]

    def needs_open(self) -> bool:
        """Whether the needs' part of the page starts unfolded: something in it."""
        return bool(self.needs_errors()) or any(
            self[f"need_{value}"].value() for value, _ in NeedType.choices
        )

    @property
    def satisfaction_field(self) -> forms.BoundField | None:
        return self["satisfaction"] if "satisfaction" in self.fields else None

    def satisfaction_options(self) -> list[OptionView]:
        """The satisfaction scale, its bad answer (不满意) marked."""
        if "satisfaction" not in self.fields:
            return []
        bad = {o.value: o.bad for o in self.definition.satisfaction}
        return [
            OptionView(widget, str(widget.choice_label), bad.get(widget.data["value"], False))
            for widget in self["satisfaction"]
        ]

    @property
    def photo_field(self) -> forms.BoundField | None:
        return self["photo"] if "photo" in self.fields else None

    def text_fields(self) -> list[forms.BoundField]:
        return [self[name] for name, _ in self.definition.text_fields]

    def signatures(self) -> list[forms.BoundField]:
        return [self[n] for n in ("visitor_signature", "elder_signature") if n in self.fields]

    def needs_errors(self) -> list[str]:
        return [str(error) for error in self.errors.get(NEEDS, [])]

    # --- For the action --------------------------------------------------------------

    def answers(self) -> dict[str, Any]:
        """The checklist's answers in the shape `checklist.clean_answers` reads;
        an item left empty is left out."""
        data = self.cleaned_data
        answers: dict[str, Any] = {}
        for item in self.definition.items():
            name = answer_field(item.key)
            value = (data.get(name) or "").strip()
            if item.kind == Kind.TEXT:
                if value:
                    answers[item.key] = value
            elif item.kind == Kind.NEED:
                met = data.get(f"{name}_met") or ""
                if value:
                    answers[item.key] = {
                        "needed": value == YES,
                        "met": (met == YES) if met else None,
                    }
            elif item.kind == Kind.CHOICE_TEXT:
                detail = (data.get(f"{name}_detail") or "").strip()
                if value or detail:
                    answers[item.key] = {"value": value, "detail": detail or None}
            elif item.kind == Kind.CHOICE_COUNT:
                count = data.get(f"{name}_count")
                if value or count is not None:
                    answers[item.key] = {"value": value, "count": count}
            elif value:
                answers[item.key] = value
        return answers

    def needs_found(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        found = []
        for value, _ in NeedType.choices:
            if data.get(f"need_{value}"):
                met = data.get(f"need_{value}_met") or ""
                found.append(
                    {
                        "type": value,
                        "met": (met == YES) if met else None,
                        "note": (data.get(f"need_{value}_note") or "").strip(),
                    }
                )
        return found

    def action_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of `actions.record_visit` but the user, the elder
        and the request. A refusal records no checklist: nothing was checked."""
        data = self.cleaned_data
        refused = bool(data["refused"])
        return {
            "uuid": data["uuid"],
            "mode": data["mode"],
            "visited_at": data["visited_at"],
            "visitors": list(data.get("visitors") or ()),
            "answers": {} if refused else self.answers(),
            "refused": refused,
            "needs_found": self.needs_found(),
            "services_given": data.get("services_given", ""),
            "suggestions": data.get("suggestions", ""),
            "satisfaction": data.get("satisfaction", "") if not refused else "",
            "notes": data.get("notes", ""),
            "visitor_signature": data.get("visitor_signature", ""),
            "elder_signature": data.get("elder_signature", ""),
            "photo": data.get("photo") or None,
            "started_at": data.get("started_at"),
            "ended_at": data.get("ended_at"),
            "latitude": data.get("latitude"),
            "longitude": data.get("longitude"),
            "location_accuracy": data.get("location_accuracy"),
            "late_reason": data.get("late_reason", ""),
            "outside_reason": data.get("outside_reason", ""),
        }

    def add_action_errors(self, error: ValidationError) -> None:
        """Put the action's errors beside the fields they name (`answers.<key>`
        beside the item); an error about something the page fills in by itself
        (the times and the location from the phone) or about the elder goes to
        the top of the form."""
        for key, messages in error.message_dict.items():
            name = answer_field(key.removeprefix("answers.")) if key.startswith("answers.") else key
            if name in AUTOMATIC or (name not in self.fields and name != NEEDS):
                name = NON_FIELD_ERRORS
            errors = self.errors.setdefault(
                name,
                self.error_class(error_class="nonfield" if name == NON_FIELD_ERRORS else None),
            )
            errors.extend(m for m in messages if m not in errors)

    def check_answers(self) -> None:
        """When the form cannot go to the action (a field could not be read), the
        checklist's own errors are shown at once too, not one round later."""
        if self.cleaned_data.get("refused"):
            return
        try:
            checklist.clean_answers(self.definition, self.answers())
        except ValidationError as error:
            self.add_action_errors(error)

    def top_errors(self) -> list[str]:
        """Errors shown above the form: those of no field, and those of the
        hidden fields the page fills in by itself."""
        found = [str(error) for error in self.non_field_errors()]
        for name in ("uuid", *AUTOMATIC):
            found.extend(f"{self.fields[name].label}：{e}" for e in self.errors.get(name, []))
        return found

    def error_links(self) -> list[tuple[str, str]]:
        """(anchor, label) of each part of the page with an error, for the box
        at the top: on a phone the field may be far down."""
        anchors = {
            "mode": "mode-choices",
            "visitors": "visitors",
            "satisfaction": "satisfaction",
            NEEDS: "needs",
        }
        keys = {item.key for item in self.definition.items()}
        links = []
        for name in self.errors:
            if name in (NON_FIELD_ERRORS, "uuid", *AUTOMATIC):
                continue
            if name.startswith("answer_"):
                # answer_<key>, or a detail of it: answer_<key>_count, ...
                key = name.removeprefix("answer_")
                if key not in keys:
                    key = next(
                        (
                            key.removesuffix(part)
                            for part in ("_detail", "_count", "_met")
                            if key.removesuffix(part) in keys
                        ),
                        "",
                    )
                if key:
                    links.append((f"item-{key}", self.definition.item(key).label))
            elif name.endswith("_signature"):
                links.append((f"pad-{name}", str(self.fields[name].label)))
            elif name == NEEDS:
                links.append((anchors[name], "发现的需求"))
            elif name in self.fields:
                links.append((anchors.get(name, f"id_{name}"), str(self.fields[name].label)))
        return list(dict.fromkeys(links))

    def prepare_again(self, *, new_record: bool) -> None:
        """Before showing the page again after a refusal: the end time is taken
        at the next tap on 保存, and after a conflict (`new_record`) the page
        gets a new UUID, so that sending it again makes a new record."""
        data = self.data.copy() if isinstance(self.data, QueryDict) else dict(self.data)
        data["ended_at"] = ""
        if new_record:
            data["uuid"] = str(uuid.uuid4())
        self.data = data

    def mode_is_home_without_consent(self) -> bool:
        return self["mode"].value() == VisitMode.HOME and not self.elder.consents_to_home_visits

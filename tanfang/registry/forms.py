from typing import Any, cast

from django import forms
from django.http import Http404

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.regions.models import Level, Region
from tanfang.registry import identity
from tanfang.registry.actions import ITEM_KINDS
from tanfang.registry.change_reports import TEXT_MAX as REPORT_TEXT_MAX
from tanfang.registry.life_events import LIFE_EVENT_NOTE_MAX
from tanfang.registry.models import (
    CHANGE_CHOICES,
    REPORTABLE,
    Ability,
    Category,
    Elder,
    LifeEventSource,
    Sex,
    Status,
)
from tanfang.registry.queries import ALL_STATUSES


class ElderFilterForm(forms.Form):
    q = forms.CharField(
        label="姓名或证件/电话后四位",
        required=False,
        max_length=50,
        widget=forms.TextInput(
            attrs={"placeholder": "姓名，或身份证/电话后四位", "type": "search"}
        ),
    )
    subtree = forms.CharField(
        label="区划",
        required=False,
        max_length=12,
        widget=forms.TextInput(attrs={"placeholder": "区划代码（12 位）", "inputmode": "numeric"}),
    )
    category = forms.ChoiceField(
        label="对象类型", required=False, choices=[("", "全部类型"), *Category.choices]
    )
    status = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[*Status.choices, (ALL_STATUSES, "全部状态")],
    )
    review = forms.ChoiceField(
        label="半年核查",
        required=False,
        choices=[("", "半年核查：不限"), ("overdue", "半年核查逾期")],
    )
    warnings = forms.ChoiceField(
        label="数据质量",
        required=False,
        choices=[("", "数据质量：不限"), ("yes", "有数据质量提示")],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_subtree(self) -> Region | None:
        code = self.cleaned_data["subtree"].strip()
        if not code:
            return None
        try:
            return access.get_region_for(self.user, code)
        except Http404:
            raise forms.ValidationError("区划代码不存在或不在您的管辖范围内。") from None

    def clean_status(self) -> str:
        # No status chosen: the active registry, as on the first visit.
        return str(self.cleaned_data["status"] or Status.ACTIVE)


_UNKNOWN_YES_NO = [("", "未填写"), ("true", "是"), ("false", "否")]


def _yes_no(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        required=False,
        choices=_UNKNOWN_YES_NO,
        coerce=lambda value: value == "true",
        empty_value=None,
    )


class IdentityChecks(forms.Form):
    """The actions' checks of an ID number and a phone, in the form too, so that
    every bad field is named on the first submit even when another field stops
    the form. Empty means not given (or, when editing, unchanged)."""

    def clean_id_number(self) -> str:
        value: str = self.cleaned_data["id_number"].strip()
        if value:
            identity.parse_id_number(value)
        return value

    def clean_phone(self) -> str:
        value: str = self.cleaned_data["phone"].strip()
        if value:
            identity.normalise_phone(value)
        return value


class RegisterElderForm(IdentityChecks):
    """The fields of `actions.register_elder`; the action checks the ID number,
    age, phone and village, and its errors are put back on these fields."""

    # 基本情况
    name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(
        label="身份证号码",
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    sex = forms.ChoiceField(
        label="性别",
        required=False,
        choices=[("", "按身份证号码"), *Sex.choices],
        help_text="可不填；填写时须与身份证号码一致。",
    )
    birth_date = forms.DateField(
        label="出生日期",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="可不填；填写时须与身份证号码一致。",
    )
    phone = forms.CharField(
        label="联系电话",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    # 地址
    village = forms.ModelChoiceField(
        label="居住地村(社区)",
        queryset=Region.objects.none(),
        empty_label="请选择",
        error_messages={"invalid_choice": "请从列表中选择村(社区)。"},
    )
    residence_address = forms.CharField(label="居住地址", required=False, max_length=200)
    # 健康
    ability = forms.ChoiceField(
        label="能力程度", required=False, choices=[("", "未填写"), *Ability.choices]
    )
    dementia = forms.BooleanField(label="失智", required=False)
    life_threatening_illness = forms.BooleanField(label="患有可能危及生命的慢性病", required=False)
    disability_grade = forms.TypedChoiceField(
        label="残疾等级",
        required=False,
        choices=[("", "无"), *[(n, f"{n}级") for n in range(1, 5)]],
        coerce=int,
        empty_value=None,
    )
    # 经济
    extreme_poverty = forms.BooleanField(label="特困人员", required=False)
    dispersed_support = forms.BooleanField(label="分散供养", required=False)
    minimum_living = forms.BooleanField(label="低保", required=False)
    minimum_living_edge = forms.BooleanField(label="低保边缘", required=False)
    # 家庭: the facts the categories are proposed from (categories.py).
    has_spouse = _yes_no("有配偶")
    children_count = forms.IntegerField(
        label="子女个数",
        required=False,
        min_value=0,
        max_value=20,
        help_text="在世子女的人数（含收养）。",
    )
    rural_registration = _yes_no("农村户籍")
    has_carer = _yes_no("有赡养、扶养人照料")
    # 家庭生活条件
    water_safe = _yes_no("饮水安全")
    electricity_safe = _yes_no("生活用电安全")
    housing_safe = _yes_no("住房安全")
    # 意愿
    consents_to_visits = forms.BooleanField(label="愿意接受探访", required=False, initial=True)
    consents_to_home_visits = forms.BooleanField(label="同意入户探访", required=False, initial=True)
    consents_to_photos = forms.BooleanField(label="同意拍照", required=False)
    # 对象类型: left empty, the next page proposes them from the facts.
    categories = forms.MultipleChoiceField(
        label="对象类型",
        required=False,
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="可不选：保存后系统根据档案提出建议并说明理由，再确认。",
    )

    SECTIONS = [
        ("基本情况", ["name", "id_number", "sex", "birth_date", "phone"]),
        ("地址", ["village", "residence_address"]),
        ("健康", ["ability", "dementia", "life_threatening_illness", "disability_grade"]),
        ("经济", ["extreme_poverty", "dispersed_support", "minimum_living", "minimum_living_edge"]),
        ("家庭", ["has_spouse", "children_count", "rural_registration", "has_carer"]),
        ("家庭生活条件", ["water_safe", "electricity_safe", "housing_safe"]),
        ("意愿", ["consents_to_visits", "consents_to_home_visits", "consents_to_photos"]),
    ]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        villages = access.regions_visible_to(user).filter(level=Level.VILLAGE).order_by("code")
        cast("forms.ModelChoiceField[Region]", self.fields["village"]).queryset = villages
        if len(villages) == 1:
            # A liaison has one village: no choice to make.
            self.fields["village"].initial = villages[0].pk

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]


class StatusChangeForm(forms.Form):
    to_status = forms.ChoiceField(label="新状态", choices=[("", "请选择"), *Status.choices])
    effective_on = forms.DateField(label="生效日期", widget=forms.DateInput(attrs={"type": "date"}))
    destination = forms.CharField(
        label="迁往何处 / 入住机构",
        required=False,
        max_length=200,
        help_text="迁出、入住机构时必填。",
    )
    reason = forms.CharField(label="原因", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


# --- Editing the file -------------------------------------------------------------

# Each section of the file page and its edit form (FORMS.md "Registration").
SECTIONS: dict[str, tuple[str, list[str]]] = {
    "basic": ("基本情况", ["name", "ethnicity", "id_number", "phone"]),
    "address": (
        "地址",
        [
            "village",
            "residence_address",
            "registration_village",
            "registration_address",
            "lives_at_registration",
            "rural_registration",
        ],
    ),
    "health": (
        "健康",
        [
            "ability",
            "ability_assessed_on",
            "ability_source",
            "health",
            "dementia",
            "life_threatening_illness",
            "disease_history",
            "disability_certificate",
            "disability_type",
            "disability_grade",
        ],
    ),
    "economy": (
        "经济",
        [
            "extreme_poverty",
            "dispersed_support",
            "minimum_living",
            "minimum_living_edge",
            "monthly_disposable_income",
            "income_sources",
            "living_source",
            "annual_income",
            "pension_monthly",
            "household_monthly_income",
        ],
    ),
    "family": (
        "家庭",
        ["has_spouse", "children_count", "able_to_work", "has_carer", "children_asked_for_visits"],
    ),
    "living": ("家庭生活条件", ["water_safe", "electricity_safe", "housing_safe"]),
    "consent": ("意愿", ["consents_to_visits", "consents_to_home_visits", "consents_to_photos"]),
    "notes": ("其他需要说明的问题", ["other_notes"]),
}

# Encrypted fields: left empty, they stay as they are (the current value is shown
# masked beside them; the whole value is never put into a form).
_ENCRYPTED_LABELS = {
    "id_number": "身份证号码",
    "phone": "联系电话",
    "residence_address": "居住地址",
    "registration_address": "户籍地址",
    "disability_certificate": "残疾证号",
}


def _model_fields(model: type[Any], names: list[str]) -> dict[str, forms.Field]:
    made = forms.fields_for_model(model, fields=names)
    for name, field in made.items():
        if isinstance(field, forms.DateField):
            field.widget = forms.DateInput(attrs={"type": "date"})
        elif isinstance(field, forms.NullBooleanField):
            made[name] = _yes_no(str(field.label))
        elif isinstance(field, forms.CharField) and isinstance(field.widget, forms.Textarea):
            field.widget.attrs["rows"] = 3
    return made


class ElderSectionForm(IdentityChecks):
    """One section of the file; `changes()` gives what `actions.update_elder` takes."""

    def __init__(
        self,
        *args: Any,
        section: str,
        elder: Elder,
        user: User,
        masked: dict[str, str],
        **kwargs: Any,
    ) -> None:
        self.title, names = SECTIONS[section]
        self.elder = elder
        plain = [n for n in names if n not in _ENCRYPTED_LABELS and n not in _VILLAGES]
        initial = {n: getattr(elder, n) for n in plain}
        if "village" in names:
            initial["village"] = elder.village_id
        if "registration_village" in names:
            initial["registration_village"] = elder.registration_village_id or ""
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        made = _model_fields(Elder, plain)
        for name in names:
            if name in _ENCRYPTED_LABELS:
                current = masked.get(name) or "未填写"
                self.fields[name] = forms.CharField(
                    label=_ENCRYPTED_LABELS[name],
                    required=False,
                    max_length=200,
                    help_text=f"当前：{current}。不修改请留空。",
                    widget=forms.TextInput(attrs={"autocomplete": "off"}),
                )
            elif name == "village":
                villages = access.regions_visible_to(user).filter(level=Level.VILLAGE)
                self.fields[name] = forms.ModelChoiceField(
                    label="居住地村(社区)",
                    queryset=villages.order_by("code"),
                    empty_label="请选择",
                    error_messages={"invalid_choice": "请从列表中选择村(社区)。"},
                )
            elif name == "registration_village":
                self.fields[name] = forms.CharField(
                    label="户籍地村(社区)代码",
                    required=False,
                    max_length=12,
                    help_text="12 位区划代码；户籍在外地的可不填。",
                    widget=forms.TextInput(attrs={"inputmode": "numeric"}),
                )
            else:
                self.fields[name] = made[name]
        if "phone" in self.fields:
            self.fields["phone"].widget.input_type = "tel"

    def clean_registration_village(self) -> Region | None:
        code = self.cleaned_data["registration_village"].strip()
        if not code:
            return None
        region = Region.objects.filter(code=code, level=Level.VILLAGE).first()
        if region is None:
            raise forms.ValidationError("找不到该村(社区)代码。")
        return region

    def changes(self) -> dict[str, Any]:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            # An empty encrypted field means "unchanged".
            if not (name in _ENCRYPTED_LABELS and not value)
        }


_VILLAGES = {"village", "registration_village"}


class ItemForm(IdentityChecks):
    """A household member, emergency contact, assistance item or help received."""

    FIELDS: dict[str, list[str]] = {
        "household": [
            "name",
            "relation",
            "sex",
            "health",
            "disability_grade",
            "deceased",
            "on_minimum_living",
            "lives_with_elder",
            "same_township",
            "visits_often",
            "main_supporter",
            "away_since",
            "away_where",
            "planned_return",
            "adopted",
        ],
        "contacts": ["name", "sex", "relation", "first_contact", "named_by_township"],
        "assistance": ["item", "monthly_amount"],
        "help": [
            "helper_type",
            "unit_name",
            "responsible_person",
            "contact_identity",
            "measures",
        ],
    }
    ENCRYPTED: dict[str, list[tuple[str, str]]] = {
        "household": [("id_number", "身份证号码"), ("phone", "联系电话")],
        "contacts": [("phone", "联系电话")],
        "assistance": [],
        "help": [("phone", "联系电话")],
    }

    def __init__(
        self, *args: Any, kind: str, item: Any | None, masked: dict[str, str], **kwargs: Any
    ) -> None:
        spec = ITEM_KINDS[kind]
        self.kind = kind
        names = self.FIELDS[kind]
        initial = {n: getattr(item, n) for n in names} if item is not None else {}
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.fields.update(_model_fields(spec.model, names))
        for name, label in self.ENCRYPTED[kind]:
            required = name == "phone" and spec.phone_required and item is None
            help_text = "不修改请留空。" if item is not None else ""
            if item is not None and masked.get(name):
                help_text = f"当前：{masked[name]}。{help_text}"
            self.fields[name] = forms.CharField(
                label=label,
                required=required,
                max_length=30,
                help_text=help_text,
                widget=forms.TextInput(
                    attrs={"autocomplete": "off", "type": "tel" if name == "phone" else "text"}
                ),
            )
        if kind == "household":
            self.fields["same_township"].help_text = "不共同居住时填写。"
            self.fields["away_since"].help_text = "子女外出务工、经商的，填写外出时间。"
        if kind == "contacts":
            self.fields["first_contact"].help_text = (
                "子女在同一地方居住的，每个子女都是；多子女的，全部子女都是；"
                "无子女的，由乡镇（街道）、村（居）指定。"
            )

    def values(self, editing: bool) -> dict[str, Any]:
        encrypted = {name for name, _ in self.ENCRYPTED[self.kind]}
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if not (editing and name in encrypted and not value)
        }


class CategoriesForm(forms.Form):
    categories = forms.MultipleChoiceField(
        label="对象类型",
        required=False,
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
    )


class ReviewForm(forms.Form):
    reviewed_on = forms.DateField(label="核查日期", widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(
        label="核查说明",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="例如：入户核实，信息无变化；或说明变化情况。",
    )


class TierOverrideForm(forms.Form):
    """The arguments of `actions.override_tier`; the action checks that a
    tier comes with a reason and a citation whose section the document has."""

    tier = forms.ChoiceField(label="调整为", required=False)
    reason = forms.CharField(
        label="调整理由",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="例如：子女长期在外，老人近期摔倒，按重点对象探访。",
    )
    document = forms.ChoiceField(label="依据文件", required=False)
    section = forms.CharField(
        label="依据条款",
        required=False,
        max_length=40,
        help_text="文件中的条款，如 四(二)、二(一)1、附件3；多条用顿号分隔。",
    )

    def __init__(
        self,
        *args: Any,
        tiers: list[tuple[str, str]],
        documents: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ChoiceField", self.fields["tier"]).choices = [
            ("", "不调整（按规则计算）"),
            *tiers,
        ]
        cast("forms.ChoiceField", self.fields["document"]).choices = [
            ("", "请选择"),
            *documents,
        ]


# --- Major life changes (重大变故) ----------------------------------------------------

# What <input type="datetime-local"> sends and shows: Beijing time to the minute.
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class LifeEventForm(forms.Form):
    """The arguments of `life_events.record_life_event`; the action checks the time
    (not in the future, not before birth), the note and the file's status."""

    change = forms.ChoiceField(label="变故", choices=[("", "请选择"), *CHANGE_CHOICES])
    occurred_at = forms.DateTimeField(
        label="发生时间",
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        help_text="北京时间；不清楚具体时刻的，填大致时间。",
        error_messages={"invalid": "请填写有效的时间。"},
    )
    source = forms.ChoiceField(
        label="来源",
        # Devices report through their own channel, not this form.
        choices=[c for c in LifeEventSource.choices if c[0] != LifeEventSource.DEVICE],
        initial=LifeEventSource.FILE,
    )
    note = forms.CharField(
        label="说明",
        required=False,
        max_length=LIFE_EVENT_NOTE_MAX,
        help_text="如：夜间起床在卫生间跌倒，已送医。",
    )


class WithdrawLifeEventForm(forms.Form):
    reason = forms.CharField(
        label="撤销原因",
        max_length=LIFE_EVENT_NOTE_MAX,
        help_text="如：登记错了老人；日期填错，已重新登记。",
        error_messages={"required": "请填写撤销原因。"},
    )


# --- A visitor's report of a death or a move ------------------------------------------


class ChangeReportForm(forms.Form):
    """The arguments of `change_reports.report_change`; the action checks the
    date (not in the future, not before birth) and the file's status."""

    to_status = forms.ChoiceField(
        label="报告情况",
        choices=[("", "请选择"), *((s.value, s.label) for s in REPORTABLE)],
        error_messages={"required": "请选择报告的情况。", "invalid_choice": "请选择报告的情况。"},
    )
    occurred_on = forms.DateField(
        label="发生日期",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "请填写发生日期。", "invalid": "请填写正确的日期。"},
    )
    destination = forms.CharField(
        label="迁往何处 / 入住机构",
        required=False,
        max_length=REPORT_TEXT_MAX,
        help_text="知道的请填写，村(居)联络员确认时可补充。",
    )
    note = forms.CharField(
        label="说明",
        required=False,
        max_length=REPORT_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="如：听家属说、见到讣告、邻居告知。",
    )


class ConfirmReportForm(forms.Form):
    effective_on = forms.DateField(
        label="生效日期",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "请填写生效日期。", "invalid": "请填写正确的日期。"},
    )
    destination = forms.CharField(
        label="迁往何处 / 入住机构",
        required=False,
        max_length=REPORT_TEXT_MAX,
        help_text="迁出、入住机构时必填。",
    )
    note = forms.CharField(
        label="确认意见",
        required=False,
        max_length=REPORT_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RejectReportForm(forms.Form):
    note = forms.CharField(
        label="驳回原因",
        max_length=REPORT_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "请填写驳回原因。"},
    )

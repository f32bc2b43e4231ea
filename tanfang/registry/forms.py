from typing import Any, cast

from django import forms
from django.http import Http404

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.regions.models import Level, Region
from tanfang.registry import identity
from tanfang.registry.models import Ability, Category, Sex, Status

ALL_STATUSES = "all"


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


class RegisterElderForm(forms.Form):
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
    # 家庭生活条件
    water_safe = _yes_no("饮水安全")
    electricity_safe = _yes_no("生活用电安全")
    housing_safe = _yes_no("住房安全")
    # 意愿
    consents_to_visits = forms.BooleanField(label="愿意接受探访", required=False, initial=True)
    consents_to_home_visits = forms.BooleanField(label="同意入户探访", required=False, initial=True)
    consents_to_photos = forms.BooleanField(label="同意拍照", required=False)
    # 对象类型
    categories = forms.MultipleChoiceField(
        label="对象类型",
        required=False,
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    SECTIONS = [
        ("基本情况", ["name", "id_number", "sex", "birth_date", "phone"]),
        ("地址", ["village", "residence_address"]),
        ("健康", ["ability", "dementia", "disability_grade"]),
        ("经济", ["extreme_poverty", "dispersed_support", "minimum_living", "minimum_living_edge"]),
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

    # The same checks as the action's, here too, so that every bad field is named
    # on the first submit even when another field stops the form.
    def clean_id_number(self) -> str:
        value: str = self.cleaned_data["id_number"]
        identity.parse_id_number(value)
        return value

    def clean_phone(self) -> str:
        value: str = self.cleaned_data["phone"]
        if value.strip():
            identity.normalise_phone(value)
        return value

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

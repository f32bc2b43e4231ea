"""Forms of the roster and assignment pages. They read the input; the rules are
the actions' (tanfang/visits/roster.py), whose errors are put back on these
fields by the views."""

from typing import Any, cast

from django import forms
from django.db.models import Q, QuerySet

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Role
from tanfang.regions.models import Level, Region
from tanfang.registry import identity
from tanfang.registry.models import Elder
from tanfang.visits import queries
from tanfang.visits.models import Assignment, Visitor, VisitorKind


class VisitorFilterForm(forms.Form):
    q = forms.CharField(
        label="姓名",
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": "姓名", "type": "search"}),
    )
    kind = forms.ChoiceField(
        label="类别", required=False, choices=[("", "全部类别"), *VisitorKind.choices]
    )
    village = forms.ChoiceField(label="服务村(社区)", required=False)
    active = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[(queries.ON_DUTY, "在岗"), (queries.OFF_DUTY, "已停用"), (queries.ALL, "全部")],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        villages = access.regions_visible_to(user).filter(level=Level.VILLAGE).order_by("code")
        village = cast(forms.ChoiceField, self.fields["village"])
        village.choices = [
            ("", "全部村(社区)"),
            *((v.code, v.name) for v in villages),
        ]

    def clean_active(self) -> str:
        # Nothing chosen: the visitors on duty, as on the first visit.
        return str(self.cleaned_data["active"] or queries.ON_DUTY)


class _AccountChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.full_name}（{obj.username}）"


class VisitorForm(forms.Form):
    """A roster entry. Editing, an empty phone keeps the current one (shown
    masked; the whole number is never put into a form)."""

    name = forms.CharField(label="姓名", max_length=50)
    kind = forms.ChoiceField(label="类别", choices=[("", "请选择"), *VisitorKind.choices])
    organisation = forms.CharField(
        label="所在单位(组织)",
        required=False,
        max_length=100,
        help_text="如社区卫生服务中心、社工站、养老服务机构、物业公司、学校等。",
    )
    phone = forms.CharField(
        label="联系电话",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    is_student = forms.BooleanField(
        label="学生志愿者（在校生志愿服务计学分）",
        required=False,
    )
    school = forms.CharField(label="学校", required=False, max_length=100)
    villages = forms.ModelMultipleChoiceField(
        label="服务村(社区)",
        required=False,
        queryset=Region.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="不选表示服务本乡镇(街道)的所有村(社区)。",
        error_messages={"invalid_choice": "请从列表中选择服务村(社区)。"},
    )
    user = _AccountChoice(
        label="登录账号",
        required=False,
        queryset=User.objects.none(),
        empty_label="不关联（由联络员代为录入探访记录）",
        help_text="“探访人员”角色的账号；关联后本人可用手机登录录入探访记录。",
        error_messages={"invalid_choice": "请从列表中选择登录账号。"},
    )

    def __init__(
        self,
        *args: Any,
        acting_user: User,
        township: Region,
        visitor: Visitor | None = None,
        masked_phone: str = "",
        **kwargs: Any,
    ) -> None:
        if visitor is not None:
            kwargs["initial"] = {
                "name": visitor.name,
                "kind": visitor.kind,
                "organisation": visitor.organisation,
                "is_student": visitor.is_student,
                "school": visitor.school,
                "villages": [v.code for v in visitor.villages.all()],
                "user": visitor.user_id,
            }
        super().__init__(*args, **kwargs)
        self.visitor = visitor
        villages = cast(forms.ModelMultipleChoiceField, self.fields["villages"])  # type: ignore[type-arg]
        villages.queryset = Region.objects.filter(township.subtree(), level=Level.VILLAGE).order_by(
            "code"
        )
        accounts = access.scope(
            acting_user, User.objects.filter(role=Role.VISITOR, is_active=True), "region__code"
        ).filter(township.subtree("region__code"))
        taken = Visitor.objects.filter(user__isnull=False)
        if visitor is not None:
            taken = taken.exclude(pk=visitor.pk)
        account = cast(forms.ModelChoiceField, self.fields["user"])  # type: ignore[type-arg]
        free = accounts.exclude(pk__in=taken.values("user_id"))
        # The account linked now stays a choice even if it could not be linked anew.
        linked = Q(pk=visitor.user_id) if visitor is not None and visitor.user_id else Q(pk=None)
        account.queryset = User.objects.filter(Q(pk__in=free.values("pk")) | linked).order_by(
            "username"
        )
        if visitor is not None:
            current = masked_phone or "未填写"
            self.fields["phone"].help_text = f"当前：{current}。不修改请留空。"
            if masked_phone:
                self.fields["clear_phone"] = forms.BooleanField(
                    label="删除联系电话", required=False
                )

    def clean_phone(self) -> str:
        value: str = self.cleaned_data["phone"].strip()
        if value:
            identity.normalise_phone(value)
        return value

    def values(self) -> dict[str, Any]:
        """The keyword arguments of `roster.create_visitor`."""
        data = dict(self.cleaned_data)
        data.pop("clear_phone", None)
        data["villages"] = list(data["villages"])
        return data

    def changes(self) -> dict[str, Any]:
        """What `roster.update_visitor` takes: an empty phone is no change, unless
        the officer asked to remove it."""
        data = self.values()
        if self.cleaned_data.get("clear_phone"):
            data["phone"] = ""
        elif not data["phone"]:
            del data["phone"]
        return data


class DeactivateForm(forms.Form):
    reason = forms.CharField(
        label="停用原因",
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "如：调离本乡镇、志愿服务期满"}),
        error_messages={"required": "请填写停用原因。"},
    )


class _VisitorChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        label = f"{obj.name}（{obj.get_kind_display()}"
        if obj.organisation:
            label += f"，{obj.organisation}"
        return label + "）"


def _visitor_field(visitors: QuerySet[Visitor]) -> _VisitorChoice:
    return _VisitorChoice(
        label="包干探访人员",
        queryset=visitors,
        empty_label="请选择探访人员",
        error_messages={
            "required": "请选择探访人员。",
            "invalid_choice": "请从列表中选择探访人员（须在岗并服务该村(社区)）。",
        },
    )


class AssignForm(forms.Form):
    """One elder: who to add as a responsible visitor."""

    def __init__(self, *args: Any, visitors: QuerySet[Visitor], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["visitor"] = _visitor_field(visitors)


class BulkAssignForm(forms.Form):
    """A village page: the elders ticked, and the visitor for all of them."""

    def __init__(
        self,
        *args: Any,
        elders: QuerySet[Elder],
        visitors: QuerySet[Visitor],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["elders"] = forms.ModelMultipleChoiceField(
            label="老人",
            queryset=elders,
            widget=forms.CheckboxSelectMultiple,
            error_messages={
                "required": "请勾选要包干的老人。",
                "invalid_choice": "所选老人不在本村(社区)的在册名单中，请刷新页面后重选。",
                "invalid_pk_value": "所选老人不在本村(社区)的在册名单中，请刷新页面后重选。",
            },
        )
        self.fields["visitor"] = _visitor_field(visitors)


class EndAssignmentForm(forms.Form):
    reason = forms.CharField(
        label="结束原因",
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "如：探访人员调整、老人要求更换"}),
        error_messages={"required": "请填写结束原因。"},
    )

    def __init__(self, *args: Any, assignments: QuerySet[Assignment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignment"] = forms.ModelChoiceField(
            label="包干",
            queryset=assignments,
            widget=forms.HiddenInput,
            error_messages={
                "required": "请选择要结束的包干。",
                "invalid_choice": "该包干已经结束或不存在，请刷新页面。",
            },
        )

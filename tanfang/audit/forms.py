from django import forms

from tanfang.audit.models import Action


class EventFilterForm(forms.Form):
    username = forms.CharField(
        label="用户名",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"placeholder": "用户名", "type": "search"}),
    )
    action = forms.ChoiceField(
        label="操作", required=False, choices=[("", "全部操作"), *Action.choices]
    )
    since = forms.DateField(
        label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("起始日期不能晚于截止日期。")
        return data

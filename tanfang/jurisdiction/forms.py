from typing import Any

from django import forms

from tanfang.policy import documents, engine
from tanfang.policy.engine import EVENT_LABELS


class ProfileForm(forms.Form):
    """The profile and, for the chosen one, its open numbers."""

    profile = forms.ChoiceField(label="探访规则")

    def __init__(self, *args: Any, params: list[engine.Param], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["profile"].choices = [  # type: ignore[attr-defined]
            (name, _title(name)) for name in engine.profile_names()
        ]
        self.params = params
        for param in params:
            self.fields[f"param_{param.name}"] = forms.IntegerField(
                label=param.label,
                required=False,
                min_value=param.min,
                max_value=param.max,
                help_text=(
                    f"文件未规定，默认 {param.value}，可在 {param.min} 至 {param.max} 之间调整。"
                    f"依据：{documents.label(param.cite)}"
                ),
            )

    def overrides(self) -> dict[str, int]:
        return {
            p.name: self.cleaned_data[f"param_{p.name}"]
            for p in self.params
            if self.cleaned_data.get(f"param_{p.name}") is not None
        }


def _title(name: str) -> str:
    try:
        return engine.load(name).title
    except engine.ConfigError:
        return f"{name}（规则文件无法读取）"


class EventForm(forms.Form):
    kind = forms.ChoiceField(
        label="事件类型", choices=[("", "请选择"), *((str(k), v) for k, v in EVENT_LABELS.items())]
    )
    title = forms.CharField(label="名称", max_length=100)
    region = forms.CharField(
        label="区划代码",
        max_length=12,
        help_text="事件影响的区划（12 位代码），其下各村（社区）适用。",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    starts_on = forms.DateField(label="开始日期", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label="结束日期", widget=forms.DateInput(attrs={"type": "date"}))

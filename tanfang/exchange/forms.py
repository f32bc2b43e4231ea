from django import forms
from django.core.files.uploadedfile import UploadedFile

from tanfang.exchange.models import Mode

MAX_UPLOAD_MB = 40


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Excel 文件",
        help_text=f"用本页的模板填写的 .xlsx 文件，不超过 {MAX_UPLOAD_MB} MB。",
        error_messages={"required": "请选择要上传的文件。", "empty": "文件是空的。"},
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
    mode = forms.ChoiceField(
        label="导入方式",
        choices=Mode.choices,
        initial=Mode.WHOLE_FILE,
        widget=forms.RadioSelect,
        help_text="全部正确才导入：任何一行有误，整个文件都不导入。"
        "只导入正确的行：有误的行列在报告中，其余照常导入。",
        error_messages={"required": "请选择导入方式。"},
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if not (upload.name or "").lower().endswith(".xlsx"):
            raise forms.ValidationError(
                "请上传 .xlsx 格式的 Excel 文件；.xls、.csv 等格式请先在 Excel 中“另存为”.xlsx。"
            )
        if (upload.size or 0) > MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(f"文件超过 {MAX_UPLOAD_MB} MB，请分成几个文件导入。")
        return upload

from django import forms


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV 文件", help_text="列：code,name[,kind]，UTF-8 编码。")
    apply_renames = forms.BooleanField(label="应用名称变更", required=False)

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > 20 * 1024 * 1024:
            raise forms.ValidationError("文件不能超过 20 MB。")
        try:
            text: str = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise forms.ValidationError("文件不是 UTF-8 编码的 CSV。") from error
        return text


class RenameForm(forms.Form):
    name = forms.CharField(label="新名称", max_length=100)

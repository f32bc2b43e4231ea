"""The columns of the elder-registry template (老年人信息导入模板).

One list makes the template, reads an uploaded file and writes the ledger
export, so the three cannot disagree. The columns are the arguments of
`tanfang.registry.actions.register_elder`, in the order of the registration
form (FORMS.md "Registration": 000_4970ff49482a0570.txt 附件3,
001_35a01bee4c628ebd.txt 附件2, 003_fe235aaa23e67560.txt 附件1). A column of a
plain model field takes its title, its kind and its drop-down labels from the
model field itself.

Reading a cell only turns what Excel holds into the value the action takes
("是" into True, "中度失能" into "moderate", 1940-03-08 into a date); whether
that value is acceptable (ID checksum, age, phone, village in scope, lengths)
is decided by the registry's own checks, not here.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Category, Elder, Sex


class Kind(StrEnum):
    TEXT = "text"
    ID_NUMBER = "id_number"
    PHONE = "phone"
    VILLAGE = "village"
    DATE = "date"
    YES_NO = "yes_no"
    CHOICE = "choice"
    INTEGER = "integer"
    AMOUNT = "amount"
    CATEGORIES = "categories"


YES = "是"
NO = "否"
_YES_WORDS = {YES, "有", "Y", "YES", "TRUE", "1", "√", "✓", "☑"}
_NO_WORDS = {NO, "无", "没有", "N", "NO", "FALSE", "0", "×", "✗", "☐"}
_CATEGORY_SEPARATORS = re.compile(r"[,，、;；/\s]+")
_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_DATE_DIGITS = re.compile(r"(\d{4})(\d{2})(\d{2})")


@dataclass(frozen=True)
class Column:
    field: str  # the argument of register_elder
    title: str  # the header of the template, as on the registration form
    kind: Kind = Kind.TEXT
    required: bool = False
    # (value stored, label shown) for CHOICE, SEX and YES_NO columns.
    choices: tuple[tuple[Any, str], ...] = ()
    note: str = ""  # the line of the instructions sheet
    example: str = ""
    width: int = 12

    @property
    def labels(self) -> list[str]:
        return [label for _, label in self.choices]

    def read(self, raw: Any) -> Any:
        """The value for register_elder from a cell that is not blank; a
        ValidationError with a Chinese message when it cannot be read."""
        return _READERS[self.kind](self, raw)

    def show(self, value: Any) -> Any:
        """The cell of the ledger export for a stored value."""
        if value is None or value == "":
            return None
        if self.kind == Kind.YES_NO:
            return YES if value else NO
        if self.kind == Kind.CHOICE:
            return dict(self.choices).get(value, value)
        if self.kind == Kind.AMOUNT:
            return float(value)
        return value


def _field(name: str) -> models.Field[Any, Any]:
    field = Elder._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"Elder.{name} is not a field of its own")
    return field


def plain(name: str, *, note: str = "", example: str = "", width: int = 12) -> Column:
    """A column of a plain field of the file, described by the model field."""
    field = _field(name)
    title = str(field.verbose_name)
    if isinstance(field, models.BooleanField):
        return Column(
            name,
            title,
            Kind.YES_NO,
            choices=((True, YES), (False, NO)),
            note=note or _yes_no_note(field),
            example=example,
            width=width,
        )
    if field.choices:
        choices = tuple((value, str(label)) for value, label in field.flatchoices)
        return Column(
            name,
            title,
            Kind.CHOICE,
            choices=choices,
            note=note or "从下拉列表选择：" + "、".join(label for _, label in choices),
            example=example,
            width=max(width, 14),
        )
    if isinstance(field, models.DateField):
        kind, note = Kind.DATE, note or "日期，如 2026-03-08"
    elif isinstance(field, models.DecimalField):
        kind, note = Kind.AMOUNT, note or "数字"
    elif isinstance(field, models.IntegerField):
        kind, note = Kind.INTEGER, note or "整数"
    else:
        kind, note = Kind.TEXT, note or "文字，可不填"
    return Column(name, title, kind, note=note, example=example, width=width)


def _yes_no_note(field: models.Field[Any, Any]) -> str:
    if field.null:
        return "填“是”或“否”；不清楚的不填"
    default = YES if field.get_default() else NO
    return f"填“是”或“否”；不填按“{default}”"


COLUMNS: tuple[Column, ...] = (
    # 基本情况
    Column("name", "姓名", required=True, note="与身份证一致", example="林秀英", width=10),
    Column(
        "id_number",
        "身份证号码",
        Kind.ID_NUMBER,
        required=True,
        note="18 位，最后一位可以是 X；本列已设为文本格式，请勿改成数字",
        example=make_id_number("350581", date(1940, 3, 8), 13, "女"),
        width=22,
    ),
    Column(
        "sex",
        "性别",
        Kind.CHOICE,
        choices=tuple((value, str(label)) for value, label in Sex.choices),
        note="可不填（按身份证号码）；填写时须与身份证号码一致",
        example="女",
        width=6,
    ),
    Column(
        "birth_date",
        "出生日期",
        Kind.DATE,
        note="可不填（按身份证号码）；填写时须与身份证号码一致",
        example="1940-03-08",
    ),
    plain("ethnicity", example="汉族", width=8),
    Column(
        "phone",
        "联系电话",
        Kind.PHONE,
        note="手机号码，或带区号的固定电话（如 0595-88881234）",
        example="13812345678",
        width=15,
    ),
    # 地址
    Column(
        "village",
        "居住地村(社区)",
        Kind.VILLAGE,
        required=True,
        note="从下拉列表选择，或填 12 位区划代码，或本辖区内村(社区)的准确名称",
        width=26,
    ),
    Column(
        "residence_address", "居住地址", note="门牌号等详细地址", example="南洋路18号", width=18
    ),
    Column(
        "registration_village",
        "户籍地村(社区)",
        Kind.VILLAGE,
        note="与居住地不同时填写，格式同“居住地村(社区)”",
        width=26,
    ),
    Column("registration_address", "户籍地址", note="门牌号等详细地址", width=18),
    plain("lives_at_registration", example=YES),
    plain("rural_registration", example=YES),
    # 健康
    plain("ability", example="中度失能"),
    plain("ability_assessed_on"),
    plain("ability_source", note="评估机构或方式，如 乡镇卫生院"),
    plain("health"),
    plain("dementia", example=NO),
    plain("life_threatening_illness", width=14),
    plain("disease_history", note="患病种类等，文字", example="高血压", width=16),
    Column("disability_certificate", "残疾证号", note="持残疾证的填写", width=22),
    plain("disability_type"),
    plain("disability_grade"),
    # 经济
    plain("extreme_poverty", example=NO),
    plain("dispersed_support"),
    plain("minimum_living", example=YES),
    plain("minimum_living_edge"),
    plain("monthly_disposable_income", example="800"),
    plain("income_sources"),
    plain("living_source"),
    plain("annual_income"),
    plain("pension_monthly", note="每月领取的金额；没有养老保险的不填", example="150"),
    plain("household_monthly_income"),
    # 家庭生活条件
    plain("water_safe"),
    plain("electricity_safe"),
    plain("housing_safe"),
    # 家庭
    plain("children_count", example="2"),
    plain("has_spouse", example=NO),
    plain("able_to_work"),
    plain("has_carer"),
    plain("children_asked_for_visits"),
    # 对象类型 (附件2 of 000_… and 001_…)
    Column(
        "categories",
        "对象类型",
        Kind.CATEGORIES,
        note="可填多个，用逗号或顿号分隔：" + "、".join(Category.values),
        example="独居、失能",
        width=18,
    ),
    # 意愿
    plain("consents_to_visits"),
    plain("consents_to_home_visits"),
    plain("consents_to_photos"),
    plain("other_notes", width=20),
)

BY_FIELD = {column.field: column for column in COLUMNS}
REQUIRED = tuple(column for column in COLUMNS if column.required)

# Other names of a column in the forms of the documents.
ALIASES = {
    "被探访人姓名": "姓名",
    "居民身份证号码": "身份证号码",
    "身份证号": "身份证号码",
    "特困": "特困人员",
}


def normalise_title(text: Any) -> str:
    """A header as typed: full-width brackets, spaces and the asterisk of a
    required column are not part of the title."""
    title = unicodedata.normalize("NFKC", str(text or ""))
    title = re.sub(r"\s+", "", title).strip("*")
    return ALIASES.get(title, title)


BY_TITLE = {normalise_title(column.title): column for column in COLUMNS}


def is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


# Readers --------------------------------------------------------------------------


def _number_text(raw: Any) -> str:
    """A number Excel stored (always a float) as the digits a person typed."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _text(column: Column, raw: Any) -> str:
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    return _number_text(raw).strip()


def _id_number(column: Column, raw: Any) -> str:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        # A float has 15 to 16 significant digits: the last of 18 are already lost.
        raise ValidationError(
            "身份证号码被存成了数字，后几位已丢失；请把本列设为文本格式后重新填写"
        )
    return str(raw).strip()


def _phone(column: Column, raw: Any) -> str:
    return _number_text(raw).strip()


def _village(column: Column, raw: Any) -> str:
    # Resolved to a Region by the importer, which knows the user's scope.
    return _number_text(raw).strip()


def _date(column: Column, raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = unicodedata.normalize("NFKC", _number_text(raw)).strip()
    match = _DATE_TEXT.fullmatch(text) or _DATE_DIGITS.fullmatch(text)
    if match:
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            pass
    raise ValidationError(f"“{text}”不是有效日期，请按 2026-03-08 的格式填写")


def _yes_no(column: Column, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = unicodedata.normalize("NFKC", _number_text(raw)).strip().upper()
    if word in _YES_WORDS:
        return True
    if word in _NO_WORDS:
        return False
    raise ValidationError(f"请填“{YES}”或“{NO}”，不能填“{word}”")


def _choice(column: Column, raw: Any) -> Any:
    text = unicodedata.normalize("NFKC", _number_text(raw)).strip()
    for value, label in column.choices:
        if text in (unicodedata.normalize("NFKC", label), str(value)):
            return value
    raise ValidationError(f"“{text}”不是可选的值，请从下拉列表选择：{'、'.join(column.labels)}")


def _integer(column: Column, raw: Any) -> int:
    text = unicodedata.normalize("NFKC", _number_text(raw)).strip()
    if re.fullmatch(r"[0-9]+", text):
        return int(text)
    raise ValidationError(f"“{text}”不是整数")


def _amount(column: Column, raw: Any) -> Decimal:
    text = unicodedata.normalize("NFKC", _number_text(raw)).strip()
    unit = "万元" if "万元" in column.title else "元"
    text = text.removesuffix(unit).replace(",", "").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0:
        raise ValidationError(f"“{text}”不是金额，请填写数字")
    return amount


def _categories(column: Column, raw: Any) -> list[str]:
    text = unicodedata.normalize("NFKC", str(raw))
    return [part for part in _CATEGORY_SEPARATORS.split(text) if part]


_READERS = {
    Kind.TEXT: _text,
    Kind.ID_NUMBER: _id_number,
    Kind.PHONE: _phone,
    Kind.VILLAGE: _village,
    Kind.DATE: _date,
    Kind.YES_NO: _yes_no,
    Kind.CHOICE: _choice,
    Kind.INTEGER: _integer,
    Kind.AMOUNT: _amount,
    Kind.CATEGORIES: _categories,
}

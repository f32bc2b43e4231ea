"""ID numbers, ages and phone numbers: checked once, the same way for a form,
the API and an Excel import, with messages in Chinese that name the field.

ID numbers (居民身份证号码, GB 11643): 6 digits of region, 8 of birth date, 3 of
order (odd for men, even for women) and a check digit (ISO 7064 MOD 11-2).
`stdnum.cn.ric` computes the check digit and reads the birth date; its
`validate()` / `is_valid()` are deliberately NOT used. They also look the first
6 digits up in a table of county codes and refuse a code that was not in use
in the person's *birth year*. But the region in a number is the county that
issued it (1985, or the 18-digit reissue of 1999), not where or when the
person was born, so an elder born in 1949 in 石狮市 (350581, in stdnum's table
from 1989) or 晋江市 (350582, from 1992) is refused: nearly everyone this
platform serves. Codes of counties that were later merged or renamed (350522
晋江县, 110103 崇文区, …) stay in people's numbers for life and must be
accepted as well. So the region is not checked against any table: the check
digit already catches every single wrong digit and every swap of two
neighbouring digits, which is what typing and OCR get wrong. Numbers of the
same format whose first digits are no county at all (the residence permits of
Hong Kong, Macao and Taiwan residents, 810000/820000/830000) pass for the same
reason.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

MALE = "男"
FEMALE = "女"

# 《中华人民共和国老年人权益保障法》第二条: 本法所称老年人是指六十周岁以上的公民.
# The programme serves 特殊困难老年人, "独居、空巢、留守、失能、重残、计划生育特殊家庭
# 等老年人" (002_8b4fd75972db9bc5.txt, the opening paragraph before 一), and
# gives no age of its own: the age is the law's.
ELDERLY_AGE = 60

# Older than anyone alive: a birth date further back is a typing error.
OLDEST_AGE = 130

ID_FORMAT_MESSAGE = "身份证号码应为 18 位，最后一位可以是数字或 X"
ID_CHECKSUM_MESSAGE = "身份证号码校验位不正确，请核对"
ID_BIRTH_DATE_MESSAGE = "身份证号码中的出生日期无效"
PHONE_MESSAGE = "请输入正确的手机号码或固定电话（含区号）"

_ID_PATTERN = re.compile(r"[0-9]{17}[0-9X]")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class IdNumber:
    number: str  # 18 characters, the check character upper-case
    birth_date: date
    sex: str  # MALE or FEMALE
    region6: str  # the issuing county's code, as printed, not looked up


def normalise_id_number(value: str) -> str:
    """What a person means: full-width digits (from Excel or a Chinese input
    method), spaces anywhere and a lower-case x are not errors."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", value)).upper()


def parse_id_number(value: str, *, today: date | None = None) -> IdNumber:
    number = normalise_id_number(value)
    if not _ID_PATTERN.fullmatch(number):
        raise ValidationError(ID_FORMAT_MESSAGE, code="id_number_format")
    if number[-1] != ric.calc_check_digit(number):
        raise ValidationError(ID_CHECKSUM_MESSAGE, code="id_number_checksum")
    try:
        birth_date = ric.get_birth_date(number)
    except StdnumError:
        raise ValidationError(ID_BIRTH_DATE_MESSAGE, code="id_number_birth_date") from None
    today = today or timezone.localdate()
    if birth_date > today or age_on(birth_date, today) > OLDEST_AGE:
        raise ValidationError(ID_BIRTH_DATE_MESSAGE, code="id_number_birth_date")
    return IdNumber(
        number=number,
        birth_date=birth_date,
        sex=MALE if int(number[16]) % 2 else FEMALE,
        region6=number[:6],
    )


def make_id_number(region6: str, birth: date, sequence: int, sex: str) -> str:
    """A valid number for tests and the demo: the order code is the
    `sequence`-th odd (men) or even (women) number, 0 <= sequence <= 498."""
    if not re.fullmatch(r"[0-9]{6}", region6):
        raise ValueError("region6 must be 6 digits")
    if sex not in (MALE, FEMALE):
        raise ValueError("sex must be 男 or 女")
    if not 0 <= sequence <= 498:
        raise ValueError("sequence must be between 0 and 498")
    if not 1000 <= birth.year <= 9999:
        raise ValueError("birth year must have 4 digits")
    order = 2 * sequence + (1 if sex == MALE else 2)
    body = f"{region6}{birth:%Y%m%d}{order:03d}"
    # calc_check_digit ignores the last character: it expects a whole number.
    return body + ric.calc_check_digit(body + "0")


def format_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def check_matches(id_number: IdNumber, *, birth_date: date | None, sex: str | None) -> None:
    """The birth date and sex typed on the form must be the ones in the number
    (DOMAIN.md "The elder's file"); a field left empty is not compared."""
    errors: dict[str, str] = {}
    if birth_date is not None and birth_date != id_number.birth_date:
        errors["birth_date"] = (
            f"出生日期与身份证号码不一致（身份证为 {format_date(id_number.birth_date)}）"
        )
    if sex and sex != id_number.sex:
        errors["sex"] = f"性别与身份证号码不一致（身份证为{id_number.sex}）"
    if errors:
        raise ValidationError(errors)


def age_on(birth_date: date, day: date) -> int:
    """Full years (周岁) on `day`, one more from the birthday itself.

    A decision, recorded here. Someone born on 29 February is a year older on
    1 March in a common year, not on 28 February: the year of age is not
    complete while February still has a day of it left. That is also the
    law's answer for this case: a period counted in years ends on the
    corresponding day and, where the month has none, on its last day
    (《民法典》第二百零二条), so the year ends with 28 February and the new one
    begins on 1 March. Other birthdays count from the birthday itself, as
    people say they are 满60周岁 on their 60th birthday and as an age is usually
    computed from an ID number; the criminal courts count a 周岁 only from the
    day after (法释〔2006〕1号 第二条), a reading for criminal responsibility,
    and eligibility for visits is not decided to the day.
    """
    if day < birth_date:
        raise ValueError("day is before birth_date")
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def check_elderly(birth_date: date, on: date) -> None:
    age = age_on(birth_date, on)
    if age < ELDERLY_AGE:
        raise ValidationError(
            f"未满 {ELDERLY_AGE} 周岁，不属于老年人探访关爱对象（{age} 周岁）",
            code="not_elderly",
        )


# Mobile: 1[3-9] and 9 more digits. Landline: area code 0 + 2 digits for
# 010 and 02x, 0 + 3 digits elsewhere, then 7 or 8 digits not starting with 0
# or 1 (those begin long-distance and service numbers).
_MOBILE = re.compile(r"(?:\+?86|0086)?(1[3-9][0-9]{9})")
_LANDLINE = re.compile(r"(0[12][0-9]|0[3-9][0-9]{2})([2-9][0-9]{6,7})")
_EXTENSION = re.compile(r"(.*?)\s*(?:转|分机|ext\.?|#)\s*([0-9]{1,6})", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-()]+")


def normalise_phone(value: str) -> str:
    """The canonical form, however it was typed: a mobile as 13812345678, a
    landline as 0595-88881234, or 0595-88881234-801 with an extension."""
    text = unicodedata.normalize("NFKC", value).strip()
    extension = ""
    if match := _EXTENSION.fullmatch(text):
        text, extension = match.groups()
    groups = [group for group in _SEPARATORS.split(text) if group]
    digits = "".join(groups)
    if not extension and (mobile := _MOBILE.fullmatch(digits)):
        return mobile.group(1)
    # "0595-88881234-801": a short last group is an extension if the rest is a number.
    if (
        not extension
        and len(groups) >= 3
        and re.fullmatch(r"[0-9]{1,6}", groups[-1])
        and _LANDLINE.fullmatch("".join(groups[:-1]))
    ):
        digits, extension = "".join(groups[:-1]), groups[-1]
    if landline := _LANDLINE.fullmatch(digits):
        area, local = landline.groups()
        return f"{area}-{local}" + (f"-{extension}" if extension else "")
    raise ValidationError(PHONE_MESSAGE, code="phone")

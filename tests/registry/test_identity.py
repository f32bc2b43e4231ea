"""ID numbers, ages and phone numbers (tanfang/registry/identity.py)."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from tanfang.registry.identity import (
    FEMALE,
    ID_BIRTH_DATE_MESSAGE,
    ID_CHECKSUM_MESSAGE,
    ID_FORMAT_MESSAGE,
    MALE,
    PHONE_MESSAGE,
    IdNumber,
    age_on,
    check_elderly,
    check_matches,
    make_id_number,
    normalise_phone,
    parse_id_number,
)
from tests.conftest import aware

SHISHI = "350581"
# A 1949-born man of 石狮市: the running example of the module.
ELDER = "35058119490715001X"
TODAY = date(2026, 11, 23)


def with_check_digit(body: str) -> str:
    """Any 17 digits made into a number whose check digit is right."""
    return body + ric.calc_check_digit(body + "0")


def messages(error: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return error.value.messages


region_codes = st.from_regex(r"[0-9]{6}", fullmatch=True)
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sexes = st.sampled_from([MALE, FEMALE])
sequences = st.integers(min_value=0, max_value=498)


# parse_id_number


def test_it_reads_birth_date_sex_and_region():
    assert parse_id_number(ELDER, today=TODAY) == IdNumber(
        number=ELDER, birth_date=date(1949, 7, 15), sex=MALE, region6=SHISHI
    )


def test_it_reads_the_sex_from_the_parity_of_the_17th_digit():
    woman = make_id_number(SHISHI, date(1950, 1, 2), 0, FEMALE)

    assert woman[16] == "2"
    assert parse_id_number(woman, today=TODAY).sex == FEMALE
    assert parse_id_number("360426199101010071", today=TODAY).sex == MALE


@pytest.mark.parametrize(
    "typed",
    [
        "35058119490715001x",
        " 350581 19490715 001X ",
        "３５０５８１１９４９０７１５００１ｘ",  # full-width, as a Chinese input method types it
        "350581\t19490715\n001X",
    ],
)
def test_it_accepts_how_people_type_the_number(typed):
    assert parse_id_number(typed, today=TODAY).number == ELDER


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "35058119490715001",  # 17
        "35058119490715001X1",  # 19
        "350581490715001",  # the 15-digit numbers of before 1999
        "350581194907150X1X",  # X inside
        "35058119490715001Y",
        "35058119490715-01X",
        "٣٥٠٥٨١١٩٤٩٠٧١٥٠٠١X",  # Arabic-Indic digits are digits to Python, not to us
    ],
)
def test_it_refuses_a_wrong_length_or_wrong_characters(typed):
    with pytest.raises(ValidationError) as error:
        parse_id_number(typed, today=TODAY)

    assert messages(error) == [ID_FORMAT_MESSAGE]
    assert error.value.code == "id_number_format"


def test_it_refuses_a_wrong_check_digit():
    with pytest.raises(ValidationError) as error:
        parse_id_number("350581194907150011", today=TODAY)

    assert messages(error) == [ID_CHECKSUM_MESSAGE]


@given(
    number=st.builds(make_id_number, region_codes, birth_dates, sequences, sexes), data=st.data()
)
def test_it_catches_any_one_wrong_digit(number, data):
    position = data.draw(st.integers(min_value=0, max_value=16))
    digit = data.draw(st.sampled_from("0123456789").filter(lambda d: d != number[position]))
    typo = number[:position] + digit + number[position + 1 :]

    with pytest.raises(ValidationError) as error:
        parse_id_number(typo, today=TODAY)

    assert messages(error) == [ID_CHECKSUM_MESSAGE]


@given(
    number=st.builds(make_id_number, region_codes, birth_dates, sequences, sexes), data=st.data()
)
def test_it_catches_any_two_neighbours_swapped(number, data):
    position = data.draw(st.integers(min_value=0, max_value=15))
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    if swapped == number:
        return

    with pytest.raises(ValidationError) as error:
        parse_id_number(swapped, today=TODAY)

    assert messages(error) == [ID_CHECKSUM_MESSAGE]


@pytest.mark.parametrize(
    "birth",
    ["19490230", "19490229", "19491301", "19490001", "19490732", "00000101"],
)
def test_it_refuses_a_birth_date_that_does_not_exist(birth):
    with pytest.raises(ValidationError) as error:
        parse_id_number(with_check_digit(SHISHI + birth + "001"), today=TODAY)

    assert messages(error) == [ID_BIRTH_DATE_MESSAGE]


def test_it_accepts_29_february_of_a_leap_year():
    assert parse_id_number(
        with_check_digit(SHISHI + "19640229" + "001"), today=TODAY
    ).birth_date == date(1964, 2, 29)


def test_it_refuses_a_birth_date_older_than_anyone_alive():
    with pytest.raises(ValidationError) as error:
        parse_id_number(with_check_digit(SHISHI + "18851231" + "001"), today=TODAY)

    assert messages(error) == [ID_BIRTH_DATE_MESSAGE]
    assert parse_id_number(with_check_digit(SHISHI + "19000101" + "001"), today=TODAY)


def test_it_refuses_a_birth_date_after_today_in_china():
    # 00:30 on 1 March in Shanghai is still 28 February in UTC: "today" is the
    # date in China, so someone born on 1 March is accepted, on 2 March not.
    with time_machine.travel(aware(2026, 3, 1, 0, 30), tick=False):
        assert timezone.now().date() == date(2026, 2, 28)
        born_today = make_id_number(SHISHI, date(2026, 3, 1), 0, MALE)
        born_tomorrow = make_id_number(SHISHI, date(2026, 3, 2), 0, MALE)

        assert parse_id_number(born_today).birth_date == date(2026, 3, 1)
        with pytest.raises(ValidationError) as error:
            parse_id_number(born_tomorrow)

    assert messages(error) == [ID_BIRTH_DATE_MESSAGE]


def test_it_accepts_elders_of_counties_created_after_their_birth():
    # 石狮市 became a city in 1987 (in stdnum's table from 1989), long after this
    # elder was born; stdnum's own validate() refuses every such number.
    assert not ric.is_valid(ELDER)

    assert parse_id_number(ELDER, today=TODAY).region6 == SHISHI


@pytest.mark.parametrize(
    "region6",
    [
        "110103",  # 崇文区, merged into 东城区 in 2010
        "110104",  # 宣武区, merged into 西城区 in 2010
        "350522",  # 晋江县, a city (350582) since 1992
        "350523",  # 南安县, a city (350583) since 1993
        "810000",  # residence permit of a Hong Kong resident
        "990000",  # no such code anywhere: the region is not looked up
    ],
)
def test_it_accepts_any_region_code_including_retired_ones(region6):
    number = make_id_number(region6, date(1949, 7, 15), 0, FEMALE)

    assert parse_id_number(number, today=TODAY).region6 == region6


# make_id_number


@given(region6=region_codes, birth=birth_dates, sequence=sequences, sex=sexes)
def test_it_makes_numbers_that_always_parse_back(region6, birth, sequence, sex):
    number = make_id_number(region6, birth, sequence, sex)

    assert parse_id_number(number, today=TODAY) == IdNumber(
        number=number, birth_date=birth, sex=sex, region6=region6
    )


def test_it_numbers_men_odd_and_women_even():
    birth = date(1949, 7, 15)

    assert make_id_number(SHISHI, birth, 0, MALE)[14:17] == "001"
    assert make_id_number(SHISHI, birth, 0, FEMALE)[14:17] == "002"
    assert make_id_number(SHISHI, birth, 498, MALE)[14:17] == "997"
    assert make_id_number(SHISHI, birth, 498, FEMALE)[14:17] == "998"
    assert make_id_number(SHISHI, birth, 0, MALE) == ELDER


@pytest.mark.parametrize(
    ("region6", "sequence", "sex"),
    [("35058", 0, MALE), ("35058a", 0, MALE), (SHISHI, -1, MALE), (SHISHI, 499, MALE)]
    + [(SHISHI, 0, "M"), (SHISHI, 0, "")],
)
def test_it_refuses_to_make_a_number_from_wrong_parts(region6, sequence, sex):
    with pytest.raises(ValueError):
        make_id_number(region6, date(1949, 7, 15), sequence, sex)


# check_matches


def test_it_accepts_the_birth_date_and_sex_of_the_number():
    elder = parse_id_number(ELDER, today=TODAY)

    check_matches(elder, birth_date=date(1949, 7, 15), sex=MALE)


def test_it_names_each_field_that_disagrees_with_the_number():
    elder = parse_id_number(ELDER, today=TODAY)

    with pytest.raises(ValidationError) as error:
        check_matches(elder, birth_date=date(1949, 5, 17), sex=FEMALE)

    assert error.value.message_dict == {
        "birth_date": ["出生日期与身份证号码不一致（身份证为 1949年7月15日）"],
        "sex": ["性别与身份证号码不一致（身份证为男）"],
    }


def test_it_names_only_the_field_that_disagrees():
    elder = parse_id_number(ELDER, today=TODAY)

    with pytest.raises(ValidationError) as error:
        check_matches(elder, birth_date=date(1949, 7, 15), sex=FEMALE)

    assert list(error.value.message_dict) == ["sex"]


def test_it_does_not_compare_fields_left_empty():
    elder = parse_id_number(ELDER, today=TODAY)

    check_matches(elder, birth_date=None, sex=None)
    check_matches(elder, birth_date=None, sex="")


# age_on and check_elderly


@pytest.mark.parametrize(
    ("day", "age"),
    [
        (date(1949, 7, 15), 0),
        (date(2009, 7, 14), 59),
        (date(2009, 7, 15), 60),
        (date(2009, 7, 16), 60),
        (date(2010, 7, 14), 60),
        (date(2026, 11, 23), 77),
    ],
)
def test_it_counts_full_years_turning_on_the_birthday(day, age):
    assert age_on(date(1949, 7, 15), day) == age


@pytest.mark.parametrize(
    ("day", "age"),
    [
        # 2024 is a leap year: the birthday is there.
        (date(2024, 2, 28), 59),
        (date(2024, 2, 29), 60),
        (date(2024, 3, 1), 60),
        # 2025 is not: a year older on 1 March (民法典 第二百零二条), not on 28 February.
        (date(2025, 2, 28), 60),
        (date(2025, 3, 1), 61),
        (date(2028, 2, 28), 63),
        (date(2028, 2, 29), 64),
    ],
)
def test_it_makes_those_born_on_29_february_older_on_1_march_in_common_years(day, age):
    assert age_on(date(1964, 2, 29), day) == age


def test_it_counts_1_march_birthdays_on_1_march_in_leap_years_too():
    assert age_on(date(1965, 3, 1), date(2024, 2, 29)) == 58
    assert age_on(date(1965, 3, 1), date(2024, 3, 1)) == 59


def test_it_refuses_a_day_before_birth():
    with pytest.raises(ValueError):
        age_on(date(1949, 7, 15), date(1949, 7, 14))


@given(birth=st.dates(max_value=date(2100, 1, 1)), days=st.integers(0, 60_000))
def test_it_agrees_with_counting_anniversaries(birth, days):
    day = birth + timedelta(days=min(days, (date.max - birth).days))
    anniversaries = 0
    for year in range(birth.year + 1, day.year + 1):
        try:
            anniversary = date(year, birth.month, birth.day)
        except ValueError:  # 29 February in a common year
            anniversary = date(year, 3, 1)
        anniversaries += anniversary <= day

    assert age_on(birth, day) == anniversaries


def test_it_accepts_an_elder_from_their_60th_birthday():
    check_elderly(date(1966, 11, 23), date(2026, 11, 23))


def test_it_refuses_someone_under_60_with_their_age():
    with pytest.raises(ValidationError) as error:
        check_elderly(date(1966, 11, 24), date(2026, 11, 23))

    assert messages(error) == ["未满 60 周岁，不属于老年人探访关爱对象（59 周岁）"]
    assert error.value.code == "not_elderly"


def test_it_makes_someone_born_on_29_february_elderly_on_1_march_of_a_common_year():
    # 60 is a multiple of 4, so a 60th birthday on 29 February falls in a leap
    # year, except across 2100, which is not one.
    with pytest.raises(ValidationError) as error:
        check_elderly(date(2040, 2, 29), date(2100, 2, 28))

    assert messages(error) == ["未满 60 周岁，不属于老年人探访关爱对象（59 周岁）"]
    check_elderly(date(2040, 2, 29), date(2100, 3, 1))


@pytest.mark.parametrize(
    ("moment", "elderly"),
    [
        (aware(2025, 2, 28, 23, 59), False),
        # Midnight in Shanghai, still 28 February in UTC: the Chinese date counts.
        (aware(2025, 3, 1, 0, 0), True),
    ],
)
def test_it_decides_by_todays_date_in_china(moment, elderly):
    birth = date(1965, 3, 1)
    with time_machine.travel(moment, tick=False):
        if elderly:
            check_elderly(birth, timezone.localdate())
        else:
            with pytest.raises(ValidationError):
                check_elderly(birth, timezone.localdate())


# normalise_phone


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("19912345678", "19912345678"),
        ("0595-88881234", "0595-88881234"),
        ("0595 8888 1234", "0595-88881234"),
        ("059588881234", "0595-88881234"),
        ("(0595)88881234", "0595-88881234"),
        ("（0595）88881234", "0595-88881234"),
        ("0595-8888123", "0595-8888123"),
        ("010-62345678", "010-62345678"),
        ("02162345678", "021-62345678"),
        ("0595-88881234-801", "0595-88881234-801"),
        ("0595-88881234转801", "0595-88881234-801"),
        ("0595 88881234 ext. 801", "0595-88881234-801"),
        ("0595-88881234#8", "0595-88881234-8"),
    ],
)
def test_it_writes_phone_numbers_one_way(typed, canonical):
    assert normalise_phone(typed) == canonical


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "12345678901",  # no mobile begins with 12
        "1381234567",
        "138123456789",
        "88881234",  # landline without area code
        "0595-888",
        "0595-08881234",  # a local number does not begin with 0
        "0595-888812345",
        "13812345678转801",  # mobiles have no extension
        "0595-88881234-abc",
        "+1 202 555 0123",
        "١٣٨١٢٣٤٥٦٧٨",
        "电话13812345678",
    ],
)
def test_it_refuses_what_is_not_a_phone_number(typed):
    with pytest.raises(ValidationError) as error:
        normalise_phone(typed)

    assert messages(error) == [PHONE_MESSAGE]


@given(
    mobile=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    prefix=st.sampled_from(["", "+86", "+86 ", "86", "0086 "]),
    separator=st.sampled_from(["", " ", "-"]),
)
def test_it_reads_back_any_mobile_however_it_is_spaced(mobile, prefix, separator):
    typed = prefix + separator.join([mobile[:3], mobile[3:7], mobile[7:]])

    assert normalise_phone(typed) == mobile


@given(
    area=st.from_regex(r"0(10|2[0-9]|[3-9][0-9]{2})", fullmatch=True),
    local=st.from_regex(r"[2-9][0-9]{6,7}", fullmatch=True),
    separator=st.sampled_from(["", "-", " "]),
)
def test_it_reads_back_any_landline(area, local, separator):
    assert normalise_phone(area + separator + local) == f"{area}-{local}"

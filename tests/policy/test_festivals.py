"""Festival days and windows (issue 4, "Special periods").

The festival days are checked three ways: against a table typed by hand (not copied
from the libraries; 2025 and 2026 agree with the State Council's holiday notices
国办发明电〔2024〕12号 and the notice of 4 November 2025), against the libraries through
``festival_day``, and against an astronomical computation written here from Meeus,
*Astronomical Algorithms* (2nd ed.): new moons from ch. 49, the sun's longitude from
ch. 25, the month rules of GB/T 33661-2017 (a month begins on the Beijing-time day of
its new moon; month 11 holds the winter solstice; in a 13-month year the first month
without a principal solar term is the leap month)."""

import math
from datetime import date, timedelta
from functools import cache

import lunardate
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanfang.policy.festivals import (
    FIRST_YEAR,
    LAST_YEAR,
    Festival,
    Window,
    festival_day,
    festival_windows,
    windows_between,
)

F = Festival
YEARS = range(2024, 2036)

# fmt: off
TABLE = {
    #       春节        元宵        清明        端午        中秋         重阳
    2024: ("02-10", "02-24", "04-04", "06-10", "09-17", "10-11"),
    2025: ("01-29", "02-12", "04-04", "05-31", "10-06", "10-29"),  # 闰六月
    2026: ("02-17", "03-03", "04-05", "06-19", "09-25", "10-18"),
    2027: ("02-06", "02-20", "04-05", "06-09", "09-15", "10-08"),  # new moon 23:56 on 6 Feb
    2028: ("01-26", "02-09", "04-04", "05-28", "10-03", "10-26"),  # 闰五月
    2029: ("02-13", "02-27", "04-04", "06-16", "09-22", "10-16"),
    2030: ("02-03", "02-17", "04-05", "06-05", "09-12", "10-05"),  # new moon 00:08 on 3 Feb
    2031: ("01-23", "02-06", "04-05", "06-24", "10-01", "10-24"),  # 闰三月
    2032: ("02-11", "02-25", "04-04", "06-12", "09-19", "10-12"),
    2033: ("01-31", "02-14", "04-04", "06-01", "09-08", "10-01"),  # 闰十一月
    2034: ("02-19", "03-05", "04-05", "06-20", "09-27", "10-20"),  # 3rd new moon after 冬至
    2035: ("02-08", "02-22", "04-05", "06-10", "09-16", "10-09"),
}
# fmt: on
ORDER = (F.SPRING, F.LANTERN, F.QINGMING, F.DRAGON_BOAT, F.MID_AUTUMN, F.DOUBLE_NINTH)
CASES = [
    (festival, year, date.fromisoformat(f"{year}-{day}"))
    for year, days in TABLE.items()
    for festival, day in zip(ORDER, days, strict=True)
]

# --- an independent computation (Meeus) -------------------------------------------------


def _sin(degrees):
    return math.sin(math.radians(degrees))


def _new_moon_jde(k):
    """Meeus ch. 49: the k-th new moon after 6 January 2000, in Julian Ephemeris Days."""
    t = k / 1236.85
    jde = 2451550.09766 + 29.530588861 * k + 0.00015437 * t**2 - 1.5e-7 * t**3 + 7.3e-10 * t**4
    e = 1 - 0.002516 * t - 0.0000074 * t**2
    m = 2.5534 + 29.1053567 * k - 0.0000014 * t**2 - 1.1e-7 * t**3
    mp = 201.5643 + 385.81693528 * k + 0.0107582 * t**2 + 1.238e-5 * t**3 - 5.8e-8 * t**4
    f = 160.7108 + 390.67050284 * k - 0.0016118 * t**2 - 2.27e-6 * t**3 + 1.1e-8 * t**4
    om = 124.7746 - 1.56375588 * k + 0.0020672 * t**2 + 2.15e-6 * t**3
    periodic = (
        (-0.40720, 0, 0, 1, 0, 0),  # (coefficient, power of E, M, M', F, Ω)
        (0.17241, 1, 1, 0, 0, 0),
        (0.01608, 0, 0, 2, 0, 0),
        (0.01039, 0, 0, 0, 2, 0),
        (0.00739, 1, -1, 1, 0, 0),
        (-0.00514, 1, 1, 1, 0, 0),
        (0.00208, 2, 2, 0, 0, 0),
        (-0.00111, 0, 0, 1, -2, 0),
        (-0.00057, 0, 0, 1, 2, 0),
        (0.00056, 1, 1, 2, 0, 0),
        (-0.00042, 0, 0, 3, 0, 0),
        (0.00042, 1, 1, 0, 2, 0),
        (0.00038, 1, 1, 0, -2, 0),
        (-0.00024, 1, -1, 2, 0, 0),
        (-0.00017, 0, 0, 0, 0, 1),
        (-0.00007, 0, 2, 1, 0, 0),
        (0.00004, 0, 0, 2, -2, 0),
        (0.00004, 0, 3, 0, 0, 0),
        (0.00003, 0, 1, 1, -2, 0),
        (0.00003, 0, 0, 2, 2, 0),
        (-0.00003, 0, 1, 1, 2, 0),
        (0.00003, 0, -1, 1, 2, 0),
        (-0.00002, 0, -1, 1, -2, 0),
        (-0.00002, 0, 1, 3, 0, 0),
        (0.00002, 0, 0, 4, 0, 0),
    )
    for coefficient, power, cm, cmp, cf, com in periodic:
        jde += coefficient * e**power * _sin(cm * m + cmp * mp + cf * f + com * om)
    planetary = (
        (0.000325, 299.77, 0.107408),
        (0.000165, 251.88, 0.016321),
        (0.000164, 251.83, 26.651886),
        (0.000126, 349.42, 36.412478),
        (0.000110, 84.66, 18.206239),
        (0.000062, 141.74, 53.303771),
        (0.000060, 207.14, 2.453732),
        (0.000056, 154.84, 7.306860),
        (0.000047, 34.52, 27.261239),
        (0.000042, 207.19, 0.121824),
        (0.000040, 291.34, 1.844379),
        (0.000037, 161.72, 24.198154),
        (0.000035, 239.56, 25.513099),
        (0.000023, 331.55, 3.592518),
    )
    for i, (coefficient, base, rate) in enumerate(planetary):
        argument = base + rate * k - (0.009173 * t**2 if i == 0 else 0)
        jde += coefficient * _sin(argument)
    return jde


def _sun_longitude(jde):
    """Meeus ch. 25, low accuracy (about 0.01°): the sun's apparent longitude."""
    t = (jde - 2451545.0) / 36525
    mean = 280.46646 + 36000.76983 * t + 0.0003032 * t**2
    anomaly = 357.52911 + 35999.05029 * t - 0.0001537 * t**2
    centre = (
        (1.914602 - 0.004817 * t - 0.000014 * t**2) * _sin(anomaly)
        + (0.019993 - 0.000101 * t) * _sin(2 * anomaly)
        + 0.000289 * _sin(3 * anomaly)
    )
    return (mean + centre - 0.00569 - 0.00478 * _sin(125.04 - 1934.136 * t)) % 360


def _solar_term_jde(year, longitude):
    jde = 2451623.8 + 365.2422 * (year - 2000 + longitude / 360)  # from the March equinox
    for _ in range(20):
        jde += ((longitude - _sun_longitude(jde) + 180) % 360 - 180) * 365.2422 / 360
    return jde


DELTA_T = 70 / 86400  # TT − UT, about 70 s this century; the Beijing day is in UT+8


def _beijing_day(jde):
    return date.fromordinal(math.floor(jde - DELTA_T + 0.5 + 8 / 24) - 1721425)


def _new_moon_on_or_before(day):
    k = math.floor((day - date(2000, 1, 6)).days / 29.530588861) + 1
    while _beijing_day(_new_moon_jde(k)) > day:
        k -= 1
    return k


@cache
def _lunar_months(year):
    """(number, is leap, first day) of the months from month 11 of last year to month 10."""
    first = _new_moon_on_or_before(_beijing_day(_solar_term_jde(year - 1, 270)))
    last = _new_moon_on_or_before(_beijing_day(_solar_term_jde(year, 270)))
    starts = [_beijing_day(_new_moon_jde(k)) for k in range(first, last + 1)]
    principal = [
        _beijing_day(_solar_term_jde(y, lon)) for y in (year - 1, year) for lon in range(0, 360, 30)
    ]
    leap = None
    if last - first == 13:
        leap = next(
            i for i in range(1, 13) if not any(starts[i] <= d < starts[i + 1] for d in principal)
        )
    months, number = [(11, False, starts[0])], 11
    for i in range(1, last - first):
        if i != leap:
            number = number % 12 + 1
        months.append((number, i == leap, starts[i]))
    return months


_LUNAR = {
    F.SPRING: (1, 1),
    F.LANTERN: (1, 15),
    F.DRAGON_BOAT: (5, 5),
    F.MID_AUTUMN: (8, 15),
    F.DOUBLE_NINTH: (9, 9),
}


def astronomical_day(festival, year):
    if festival is F.QINGMING:
        return _beijing_day(_solar_term_jde(year, 15))
    month, day = _LUNAR[festival]
    (start,) = [s for n, leap, s in _lunar_months(year) if n == month and not leap]
    return start + timedelta(days=day - 1)


def astronomical_leap_month(year):
    """The leap month of lunar year ``year``: a leap 11th or 12th month comes after the
    winter solstice and so shows up among next year's months."""
    this_year = [n for n, leap, _ in _lunar_months(year) if leap and n <= 10]
    year_end = [n for n, leap, _ in _lunar_months(year + 1) if leap and n >= 11]
    return (this_year + year_end or [None])[0]


# --- festival days ----------------------------------------------------------------------


@pytest.mark.parametrize(("festival", "year", "day"), CASES)
def test_it_gives_the_published_day(festival, year, day):
    assert festival_day(festival, year) == day


@pytest.mark.parametrize(("festival", "year", "day"), CASES)
def test_the_hand_table_agrees_with_the_astronomical_computation(festival, year, day):
    assert astronomical_day(festival, year) == day


@pytest.mark.parametrize(("festival", "year", "day"), CASES)
def test_the_hand_table_agrees_with_lunardate(festival, year, day):
    if festival is F.QINGMING:
        # the well-known pattern of this period: 4 April in a leap year and the year after
        assert day == date(year, 4, 4 if year % 4 in (0, 1) else 5)
    else:
        lunar = lunardate.LunarDate.from_solar_date(day.year, day.month, day.day)
        assert (lunar.year, lunar.month, lunar.day, lunar.is_leap_month) == (
            year,
            *_LUNAR[festival],
            False,
        )


# 2057: the new moon that opens the 9th month falls within a minute of Beijing midnight,
# closer than this computation can tell; the Hong Kong Observatory's conversion table
# (which notes the same doubt) and lunardate both put it on 28 September.
NEAR_MIDNIGHT = {(F.DOUBLE_NINTH, 2057)}


def test_it_agrees_with_the_astronomical_computation_every_year_of_the_century():
    disagreements = {
        (festival, year)
        for year in range(2000, 2100)
        for festival in F
        if festival_day(festival, year) != astronomical_day(festival, year)
    }
    assert disagreements == NEAR_MIDNIGHT
    assert festival_day(F.DOUBLE_NINTH, 2057) == date(2057, 10, 6)


@pytest.mark.parametrize(
    ("year", "leap"),
    [(2020, 4), (2023, 2), (2024, None), (2025, 6), (2028, 5), (2031, 3), (2033, 11), (2036, 6)],
)
def test_it_knows_the_leap_months(year, leap):
    assert lunardate.LunarDate.leap_month_for_year(year) == leap
    assert astronomical_leap_month(year) == leap


def test_it_puts_duanwu_2028_in_the_ordinary_fifth_month_not_the_leap_one():
    # 2028 has 闰五月 (from 23 June); 端午 is 5/5 of the ordinary 5th month
    assert festival_day(F.DRAGON_BOAT, 2028) == date(2028, 5, 28)
    assert lunardate.LunarDate(2028, 5, 5, is_leap_month=True).to_solar_date() == date(2028, 6, 27)
    assert astronomical_day(F.DRAGON_BOAT, 2028) == date(2028, 5, 28)


def test_it_puts_chongyang_2014_in_the_ordinary_ninth_month_not_the_leap_one():
    # 2014 has 闰九月 (from 24 October); 重阳 2014 was 2 October
    assert festival_day(F.DOUBLE_NINTH, 2014) == date(2014, 10, 2)
    assert lunardate.LunarDate(2014, 9, 9, is_leap_month=True).to_solar_date() == date(2014, 11, 1)


def test_it_puts_zhongqiu_2052_in_the_ordinary_eighth_month_not_the_leap_one():
    # 2052 has 闰八月 (from 23 September)
    assert lunardate.LunarDate.leap_month_for_year(2052) == 8
    assert festival_day(F.MID_AUTUMN, 2052) == date(2052, 9, 7)
    assert astronomical_day(F.MID_AUTUMN, 2052) == date(2052, 9, 7)
    assert lunardate.LunarDate(2052, 8, 15, is_leap_month=True).to_solar_date() == date(2052, 10, 7)


def test_it_keeps_the_lunar_year_equal_to_the_gregorian_year_in_the_whole_range():
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        days = [festival_day(festival, year) for festival in ORDER]
        assert all(day.year == year for day in days)
        assert days == sorted(days)
        assert date(year, 1, 21) <= days[0]
        assert days[-1] <= date(year, 11, 1)


@pytest.mark.parametrize("festival", list(F))
@pytest.mark.parametrize("year", [FIRST_YEAR - 1, LAST_YEAR + 1])
def test_it_refuses_years_outside_the_supported_range(festival, year):
    with pytest.raises(ValueError, match=f"^{festival.value}：仅支持 1900–2099 年"):
        festival_day(festival, year)


def test_it_supports_the_first_and_last_years():
    assert festival_day(F.SPRING, 1900) == date(1900, 1, 31)
    assert festival_day(F.QINGMING, 1900) == astronomical_day(F.QINGMING, 1900)
    assert festival_day(F.DOUBLE_NINTH, 2099) == astronomical_day(F.DOUBLE_NINTH, 2099)
    assert festival_day(F.QINGMING, 2099) == astronomical_day(F.QINGMING, 2099)


# --- windows ----------------------------------------------------------------------------


def test_it_builds_a_window_for_each_festival_in_the_spans_sorted_by_start():
    windows = festival_windows(2026, {F.MID_AUTUMN: (1, 1), F.SPRING: (7, 3), F.QINGMING: (0, 0)})
    assert windows == [
        Window(F.SPRING, date(2026, 2, 17), date(2026, 2, 10), date(2026, 2, 20)),
        Window(F.QINGMING, date(2026, 4, 5), date(2026, 4, 5), date(2026, 4, 5)),
        Window(F.MID_AUTUMN, date(2026, 9, 25), date(2026, 9, 24), date(2026, 9, 26)),
    ]


def test_it_skips_the_festivals_absent_from_the_spans():
    assert festival_windows(2026, {}) == []
    assert [w.festival for w in festival_windows(2026, {F.DOUBLE_NINTH: (2, 2)})] == [
        F.DOUBLE_NINTH
    ]


def test_it_accepts_the_chinese_names_a_profile_uses():
    assert festival_windows(2026, {"春节": (7, 3)}) == festival_windows(2026, {F.SPRING: (7, 3)})


def test_it_refuses_an_unknown_festival_or_a_negative_span():
    with pytest.raises(ValueError, match="国庆"):
        festival_windows(2026, {"国庆": (1, 1)})
    with pytest.raises(ValueError, match="^春节：节前、节后天数不能为负数"):
        festival_windows(2026, {F.SPRING: (-1, 3)})


def test_it_tells_whether_a_window_holds_a_day():
    (window,) = festival_windows(2026, {F.SPRING: (7, 3)})
    assert not window.contains(date(2026, 2, 9))
    assert window.contains(date(2026, 2, 10))
    assert window.contains(date(2026, 2, 20))
    assert not window.contains(date(2026, 2, 21))


def test_it_finds_the_windows_touching_a_month():
    spans = {festival: (7, 3) for festival in F}
    windows = windows_between(date(2026, 2, 1), date(2026, 2, 28), spans)
    assert [(w.festival, w.start, w.end) for w in windows] == [
        (F.SPRING, date(2026, 2, 10), date(2026, 2, 20)),
        (F.LANTERN, date(2026, 2, 24), date(2026, 3, 6)),
    ]


def test_it_counts_a_window_touching_the_range_by_one_day_only():
    spans = {F.SPRING: (7, 3)}
    assert windows_between(date(2026, 2, 20), date(2026, 2, 20), spans)[0].day == date(2026, 2, 17)
    assert windows_between(date(2026, 2, 21), date(2026, 3, 31), spans) == []
    assert windows_between(date(2026, 1, 1), date(2026, 2, 9), spans) == []


def test_it_finds_next_years_spring_festival_window_starting_in_december():
    # 春节 2028 is 26 January: a 30-day window opens on 27 December 2027
    (window,) = windows_between(date(2027, 12, 1), date(2027, 12, 31), {F.SPRING: (30, 3)})
    assert (window.day, window.start) == (date(2028, 1, 26), date(2027, 12, 27))


def test_it_finds_last_years_window_running_into_january():
    # 重阳 2025 is 29 October: with 70 days after, the window runs to 7 January 2026
    (window,) = windows_between(date(2026, 1, 1), date(2026, 1, 31), {F.DOUBLE_NINTH: (0, 70)})
    assert (window.day, window.end) == (date(2025, 10, 29), date(2026, 1, 7))


def test_it_finds_a_window_crossing_the_new_year_from_either_side():
    spans = {F.SPRING: (40, 0)}  # 春节 2031 is 23 January: window from 14 December 2030
    before = windows_between(date(2030, 12, 1), date(2030, 12, 31), spans)
    after = windows_between(date(2031, 1, 1), date(2031, 1, 10), spans)
    assert before == after
    assert [(w.start, w.end) for w in before] == [(date(2030, 12, 14), date(2031, 1, 23))]


def test_it_refuses_a_range_that_ends_before_it_starts():
    with pytest.raises(ValueError, match="结束日期不能早于开始日期"):
        windows_between(date(2026, 2, 2), date(2026, 2, 1), {F.SPRING: (7, 3)})


def test_it_refuses_a_range_needing_a_festival_outside_the_supported_years():
    # December 2099 with a 30-day 春节 window needs 春节 2100
    with pytest.raises(ValueError, match="^春节：仅支持 1900–2099 年"):
        windows_between(date(2099, 12, 20), date(2099, 12, 31), {F.SPRING: (30, 3)})
    # the same month with a short window does not
    assert windows_between(date(2099, 12, 1), date(2099, 12, 31), {F.SPRING: (7, 3)}) == []


spans_strategy = st.dictionaries(
    st.sampled_from(list(F)),
    st.tuples(st.integers(0, 400), st.integers(0, 400)),
)


@given(
    start=st.dates(date(2004, 1, 1), date(2094, 12, 31)),
    length=st.integers(0, 800),
    spans=spans_strategy,
)
def test_it_returns_exactly_the_windows_overlapping_the_range(start, length, spans):
    end = start + timedelta(days=length)
    found = windows_between(start, end, spans)
    # brute force: spans up to 400 days cannot reach past three years around the range
    expected = [
        window
        for year in range(start.year - 3, min(end.year + 4, 2100))
        for window in festival_windows(year, spans)
        if window.start <= end and start <= window.end
    ]
    assert all(window.overlaps(start, end) for window in found)
    assert sorted(found, key=repr) == sorted(expected, key=repr)
    assert found == sorted(found, key=lambda w: (w.start, w.day))

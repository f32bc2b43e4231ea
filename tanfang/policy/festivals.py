"""The traditional festivals on which visits increase, and their windows.

The documents name "传统节日" as special periods without listing them or their
length (002_8b4fd75972db9bc5.txt 二(五), 000_4970ff49482a0570.txt 四(二),
001_35a01bee4c628ebd.txt 二(五)2, 004_1657df0ed1e05604.txt 二(三)7); the six
festivals here are the platform's reading, and each profile sets the windows.

Five festivals fall on a fixed day of the Chinese lunar calendar (``lunardate``);
清明 is the day of the solar term 清明 (the sun at 15° ecliptic longitude), taken
from ``chinese_calendar``. A profile gives each festival a window of days before
and after it, and the engine asks which windows touch a period.

Supported years are 1900–2099 for every festival:

- ``lunardate`` holds the lunar calendar for lunar years 1900–2099 only;
- ``chinese_calendar`` computes solar terms for 1900–2100 with a per-century
  formula whose 清明 agrees with an astronomical computation from 1900 to 2099
  but gives the wrong day in 2100 (4 April instead of 5 April), so 2100 is left out.

Outside that range :func:`festival_day` raises ``ValueError`` rather than guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache

import chinese_calendar
import lunardate

FIRST_YEAR = 1900
LAST_YEAR = 2099


class Festival(StrEnum):
    """The festivals by the Chinese names the profiles use."""

    SPRING = "春节"
    LANTERN = "元宵"
    QINGMING = "清明"
    DRAGON_BOAT = "端午"
    MID_AUTUMN = "中秋"
    DOUBLE_NINTH = "重阳"


# (lunar month, day). The festival is always in the ordinary month of that number:
# a leap month (闰五月 in 2028, 闰九月 in 2014, 闰八月 in 2052) repeats the number
# but never carries the festival.
_LUNAR: dict[Festival, tuple[int, int]] = {
    Festival.SPRING: (1, 1),
    Festival.LANTERN: (1, 15),
    Festival.DRAGON_BOAT: (5, 5),
    Festival.MID_AUTUMN: (8, 15),
    Festival.DOUBLE_NINTH: (9, 9),
}

# Every festival of Gregorian year Y falls between these days of Y (checked by the tests
# for every supported year): 春节 no earlier than 21 January, 重阳 no later than 1 November.
_EARLIEST = (1, 21)
_LATEST = (11, 1)

# A profile's festival windows, keyed by festival or by its Chinese name:
# (days before, days after), both inclusive of the festival day.
Spans = Mapping[Festival, tuple[int, int]] | Mapping[str, tuple[int, int]]


@cache  # at most 6 festivals × 200 years; out-of-range calls raise and are not kept
def festival_day(festival: Festival, year: int) -> date:
    """The Gregorian day of ``festival`` in Gregorian ``year`` (1900–2099).

    The lunar year is taken equal to the Gregorian year: 春节 falls between
    21 January and 20 February, so lunar 1/1 of lunar year Y is in Gregorian Y and
    every later festival of lunar year Y is too (the latest, 重阳, by 1 November).
    """
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(
            f"{festival.value}：仅支持 {FIRST_YEAR}–{LAST_YEAR} 年，无法计算 {year} 年的日期"
        )
    if festival is Festival.QINGMING:
        return _qingming(year)
    month, day = _LUNAR[festival]
    solar: date = lunardate.LunarDate(year, month, day, is_leap_month=False).to_solar_date()
    return solar


def _qingming(year: int) -> date:
    terms: list[tuple[date, str]] = chinese_calendar.get_solar_terms(
        date(year, 4, 1), date(year, 4, 30)
    )
    for day, name in terms:
        if name == Festival.QINGMING.value:
            return day
    raise ValueError(f"清明：chinese_calendar 未给出 {year} 年的清明")  # pragma: no cover


@dataclass(frozen=True)
class Window:
    """The days ``start``..``end`` (inclusive) around one festival ``day``."""

    festival: Festival
    day: date
    start: date
    end: date

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def overlaps(self, start: date, end: date) -> bool:
        return self.start <= end and start <= self.end


def _spans(spans: Spans) -> list[tuple[Festival, int, int]]:
    result = []
    for name, (before, after) in spans.items():
        festival = Festival(name)
        if before < 0 or after < 0:
            raise ValueError(f"{festival.value}：节前、节后天数不能为负数")
        result.append((festival, before, after))
    return result


def _window(festival: Festival, year: int, before: int, after: int) -> Window:
    day = festival_day(festival, year)
    return Window(festival, day, day - timedelta(days=before), day + timedelta(days=after))


def festival_windows(year: int, spans: Spans) -> list[Window]:
    """The windows of the festivals of ``year`` named in ``spans``, by start day.

    ``spans[festival] = (before, after)`` gives the window
    ``day - before .. day + after``; a festival absent from ``spans`` has none.
    """
    windows = [_window(f, year, before, after) for f, before, after in _spans(spans)]
    return sorted(windows, key=lambda w: (w.start, w.day))


def windows_between(start: date, end: date, spans: Spans) -> list[Window]:
    """Every window (of any year) sharing at least one day with ``start``..``end``.

    The festivals of year Y all fall between 21 January and 1 November of Y, so a
    window of Y lies within 21 January Y − before .. 1 November Y + after: only those
    years are asked for whose bounds touch the range, e.g. 春节 of next year when its
    window opens in late December, 重阳 of last year when a long window runs into
    January.
    """
    if end < start:
        raise ValueError("结束日期不能早于开始日期")
    windows = []
    for festival, before, after in _spans(spans):
        first = (start - timedelta(days=after)).year
        last = (end + timedelta(days=before)).year
        for year in range(first, last + 1):
            earliest = date(year, *_EARLIEST) - timedelta(days=before)
            latest = date(year, *_LATEST) + timedelta(days=after)
            if earliest <= end and start <= latest:
                window = _window(festival, year, before, after)
                if window.overlaps(start, end):
                    windows.append(window)
    return sorted(windows, key=lambda w: (w.start, w.day))

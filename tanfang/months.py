"""Month arithmetic: a "month" is a calendar month in Asia/Shanghai
(ARCHITECTURE.md "Rules that hold everywhere"), named by its first day.

The bottom of the layers: pure Python, no Django and nothing of tanfang, so
that the pure rules (tanfang.visits.schedule, tanfang.registry.categories),
the reports and the task writer all count months the same way.
"""

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# settings.TIME_ZONE; a month is a calendar month there whatever the server's zone.
ZONE = ZoneInfo("Asia/Shanghai")


def zone() -> ZoneInfo:
    """Asia/Shanghai: a month is a calendar month there (ARCHITECTURE.md)."""
    return ZONE


def month_of(day: date) -> date:
    """The month of `day`: its first day."""
    return date(day.year, day.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (earlier when negative), or that month's
    last day when it has none: a period in months ends on the corresponding
    day, or on the month's last day when there is none (《民法典》第202条), so
    31 August + 6 months is 28 February. On a month's first day, simply the
    month `months` later."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def last_day(month: date) -> date:
    return next_month(month) - timedelta(days=1)


def bounds(month: date) -> tuple[datetime, datetime]:
    """The instants at which the month starts and the next one starts, at
    midnight in Asia/Shanghai."""
    first = month_of(month)
    return (
        datetime.combine(first, time.min, tzinfo=zone()),
        datetime.combine(next_month(first), time.min, tzinfo=zone()),
    )


def months_between(first: date, last: date) -> list[date]:
    """The months from `first`'s to `last`'s, both included, oldest first."""
    found, month = [], month_of(first)
    while month <= month_of(last):
        found.append(month)
        month = next_month(month)
    return found


def quarter_of(month: date) -> int:
    """The number (1–4) of `month`'s calendar quarter."""
    return (month.month - 1) // 3 + 1


def quarter_months(year: int, quarter: int) -> list[date]:
    """The three months of a calendar quarter."""
    first = date(year, 3 * quarter - 2, 1)
    return [add_months(first, n) for n in range(3)]


def quarter_start(month: date) -> date:
    """The first month of `month`'s calendar quarter."""
    return date(month.year, (month.month - 1) // 3 * 3 + 1, 1)


def later_in_quarter(month: date, today: date) -> list[date]:
    """The months after `month` in its quarter, up to `today`'s: those whose
    quarter compliance reads `month`'s rows."""
    found, later = [], next_month(month_of(month))
    while quarter_start(later) == quarter_start(month) and later <= month_of(today):
        found.append(later)
        later = next_month(later)
    return found

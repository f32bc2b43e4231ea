"""When a month's figures are locked, and whether a visit is a late entry
(补录): issue 16 "Closed months".

A county's month is locked at midnight in Asia/Shanghai starting the close
day of the next month: the `close_day` of the rules the county follows (a
number the county may set on the rules page, default the 5th,
tanfang.policy.engine.DEFAULT_CLOSE_DAY). A deadline of the documents is not
a close day: Linzi's visits are due by the 20th of their own month
(003_fe235aaa23e67560.txt 五(二)), and its months lock on the 5th of the next.

A visit is late when the month of its day (Asia/Shanghai) was locked when it
was recorded: 14 November entered on 7 December is late where the county
locks on the 5th; entered on 4 December, or at 23:59:59 on the 4th, it is
not. A late visit is stored but completes no task and counts in no figure
until a township or county officer approves it (tanfang.visits.late).

Only the visit's own day decides: a festival window or an event's span that
runs past its month's lock still takes visits made and entered in time inside
it (docs/统计口径.md §13).

Reads only: the county's choice of rules (one query, or none with `choices`).
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from tanfang.jurisdiction import tiers
from tanfang.months import last_day, month_of, next_month, zone
from tanfang.policy import engine
from tanfang.policy.problems import ConfigError


def close_day_of(code: str, month: date, choices: tiers.Choices | None = None) -> int:
    """The day of the next month on which `month` locks for the node `code`:
    under the rules its county (or city, or province) follows at the month's
    end; the default when they cannot be read."""
    name, overrides = tiers.choice_for(code, last_day(month_of(month)), choices)
    try:
        profile = engine.load(name)
    except ConfigError:
        return engine.DEFAULT_CLOSE_DAY
    return engine.close_day(profile, month_of(month), overrides)


def locks_at(month: date, close_day: int) -> datetime:
    """The moment `month` locks: midnight in Asia/Shanghai starting day
    `close_day` of the next month."""
    following = next_month(month_of(month))
    return datetime.combine(following.replace(day=close_day), time.min, tzinfo=zone())


def month_locks_at(code: str, month: date, choices: tiers.Choices | None = None) -> datetime:
    """The moment `month` locks for the node `code`."""
    return locks_at(month, close_day_of(code, month, choices))


@dataclass(frozen=True)
class Lateness:
    """A visit entered after its month locked: which month, since when."""

    month: date
    locked_at: datetime

    def words(self) -> str:
        """What the visitor is told: "11月的数字已于12月5日0时锁定"."""
        at = self.locked_at.astimezone(zone())
        return f"{self.month.month}月的数字已于{at.month}月{at.day}日0时锁定"

    def pending_words(self) -> str:
        """Why a late visit counts for nothing yet (its `not_counted_reason`)."""
        return (
            f"补录待审核：{self.words()}，本次记录经乡镇(街道)或县级民政审核同意后"
            f"才计入{self.month.month}月的探访要求和统计数字。"
        )


def lateness(code: str, visited_on: date, recorded_at: datetime) -> Lateness | None:
    """The lock a visit on `visited_on` recorded at `recorded_at` came after,
    for an elder living in `code`; None when it was in time."""
    month = month_of(visited_on)
    locked_at = month_locks_at(code, month)
    if recorded_at < locked_at:
        return None
    return Lateness(month, locked_at)

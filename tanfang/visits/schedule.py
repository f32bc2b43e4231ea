"""The visit tasks an elder is owed in one calendar month, read from the rules
(DOMAIN.md "Visits", POLICIES.md). Pure Python without Django:
`tanfang.visits.generation` stores what this computes.

- regular: one task per required visit per period of each of the tier's
  rules. Periods are weeks (Monday–Sunday), the half-months 1st–15th and
  16th–last day (POLICIES.md), calendar months, quarters, half-years and years,
  or N days counted from a fixed anchor day, so that they are the same in
  every run. A month is owed the periods that overlap it. The deadline is the
  rule's day of the month when it falls inside the period (Linzi: every month's
  visits by the 20th, 003_fe235aaa23e67560.txt 五(二)), else the period's last
  day; the window ends with the period, so a visit after the deadline is
  overdue but still counts. A task counts in the month of its deadline (a
  quarter's in its last month).
- festival: for each festival of the profile whose day falls in the month,
  inside its window, counted in that month even when the window crosses a
  month end (tanfang.policy.festivals computes the lunar calendar).
- event: for each event declared for the elder's region that touches the month,
  inside the event, one set a month of the event counted from its first day
  (Sichuan's epidemic rule asks for more remote visits,
  001_35a01bee4c628ebd.txt 二(五)2), counted in the month its span starts.
- trigger: a visit within H hours after a major change (跌倒, 出院 …) is recorded
  on the file (a profile's `triggers`), counted in the month it falls due.
- review: the half-year check of the file (000_4970ff49482a0570.txt 三(四):
  每半年动态更新一次), in the 30 days up to the day it is due.

A festival or event rule that is not mandatory asks for more visits
(000_4970ff49482a0570.txt 四(二) 适当增加探访频次): its tasks are `extra`, of
any mode, and count for the surge's coverage only. A mandatory one
(001_35a01bee4c628ebd.txt 二(五)2 必须开展探访) asks for a visit inside the
window in the modes of the regular rules, and counts for compliance.
"""

import calendar
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tanfang.months import add_months, month_of
from tanfang.policy import engine
from tanfang.policy.changes import CHANGE_LABELS, Change
from tanfang.policy.engine import (
    EVENT_LABELS,
    EventKind,
    Facts,
    Mode,
    Period,
    Profile,
    SpecialRule,
    Tier,
    TriggerRule,
    Version,
    VisitRule,
)
from tanfang.policy.festivals import windows_between


class Kind(StrEnum):
    """The values of tanfang.visits.models.TaskKind."""

    REGULAR = "regular"
    FESTIVAL = "festival"
    EVENT = "event"
    REVIEW = "review"
    TRIGGER = "trigger"
    # Made by tanfang.care.follow_up for what a visit found, never by the schedule.
    FOLLOW_UP = "follow_up"


# An "extra" visit may be of any mode (POLICIES.md fujian-shishi: one extra visit, any mode).
ANY_MODE = tuple(sorted(str(m) for m in Mode))
# N-day periods are counted from this day (a Monday), whatever the day of the run.
DAYS_ANCHOR = date(2000, 1, 3)
REVIEW_LEAD_DAYS = 30
REVIEW_LABEL = "档案半年核查"
REVIEW_CITE = "000_4970ff49482a0570.txt 三(四) 每半年动态更新一次"
# A trigger's task stays open this long after it falls due: a late visit is
# still recorded against it (and counted as late).
TRIGGER_GRACE_DAYS = 7
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class EventSpan:
    """A declared event (tanfang.jurisdiction.models.DeclaredEvent) as the schedule reads it."""

    id: int
    kind: EventKind
    title: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class ChangeSpan:
    """A major change recorded on the file (tanfang.registry.models.LifeEvent)
    as the schedule reads it."""

    id: int
    change: Change
    recorded_at: datetime  # aware


@dataclass(frozen=True)
class TaskSpec:
    """One task as tanfang.visits.models.VisitTask stores it."""

    kind: Kind
    key: str
    label: str
    window_start: date
    deadline: date
    window_end: date
    modes: tuple[str, ...]
    cite: str
    # The month whose figures the task counts in (its first day); see VisitTask.month.
    month: date = field(default=date.min)
    # Asked for on top of compliance ("适当增加"); see VisitTask.extra.
    extra: bool = False
    remote_counts_as_home: bool = False
    due_at: datetime | None = None

    @property
    def identity(self) -> tuple[str, date]:
        """What the database keeps unique per elder (with the cancelled tasks left out)."""
        return self.key, self.window_start


def month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def next_month(year: int, month: int, months: int = 1) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


# --- Which rules ------------------------------------------------------------------


def version_for_month(
    profile: Profile, overrides: dict[str, object], year: int, month: int
) -> Version:
    """The profile's rules in force on the month's first day (the first version
    for a month before it), with the county's numbers for the open parameters."""
    first = date(year, month, 1)
    version = profile.version_on(max(first, profile.versions[0].since))
    return engine.with_params(version, overrides) if overrides else version


def tier_of(version: Version, key: str) -> Tier:
    """The stored tier's rules; a tier the profile does not know (none stored
    yet) gets the last tier, which takes everyone the others do not."""
    for tier in version.tiers:
        if tier.key == key:
            return tier
    return version.tiers[-1]


def rules_for(tier: Tier, facts: Facts) -> tuple[VisitRule, ...]:
    """The tier's visit rules as they apply to this elder: the engine's own
    adjustments hold here too (004_1657df0ed1e05604.txt 二(四)2: 电话、线上、路遇
    only for elders in good health who look after themselves)."""
    return engine.adjusted_rules(tier, facts)


# --- Tasks of a month ----------------------------------------------------------------


def tasks_for_month(
    rules: VisitRule | Sequence[VisitRule],
    version: Version,
    events: Sequence[EventSpan],
    year: int,
    month: int,
) -> list[TaskSpec]:
    """The regular, festival and event tasks of periods and windows that
    overlap the month (some counted in another month: see `TaskSpec.month`)."""
    rules = (rules,) if isinstance(rules, VisitRule) else tuple(rules)
    return [
        *(task for rule in rules for task in regular_tasks(rule, year, month)),
        *festival_tasks(rules, version, year, month),
        *event_tasks(rules, version, events, year, month),
    ]


def periods(rule: VisitRule, year: int, month: int) -> list[tuple[date, date, str]]:
    """The rule's periods that overlap the month: (first day, last day, words)."""
    first, last = month_bounds(year, month)
    if rule.period is Period.HALF_MONTH:
        # POLICIES.md: a half-month is the 1st–15th and the 16th–last day.
        return [
            (first, date(year, month, 15), f"{month}月上半月"),
            (date(year, month, 16), last, f"{month}月下半月"),
        ]
    if rule.period is Period.MONTH:
        return [(first, last, f"{month}月")]
    if rule.period is Period.WEEK:
        start = first - timedelta(days=first.weekday())
        found = []
        while start <= last:
            found.append((start, start + timedelta(days=6), f"{start.month}月{start.day}日起一周"))
            start += timedelta(days=7)
        return found
    if rule.period is Period.QUARTER:
        number = (month - 1) // 3 + 1
        start = date(year, 3 * number - 2, 1)
        return [(start, month_bounds(year, 3 * number)[1], f"{year}年第{number}季度")]
    if rule.period is Period.HALF_YEAR:
        upper = month <= 6
        start = date(year, 1 if upper else 7, 1)
        end = date(year, 6, 30) if upper else date(year, 12, 31)
        return [(start, end, f"{year}年{'上' if upper else '下'}半年")]
    if rule.period is Period.YEAR:
        return [(date(year, 1, 1), date(year, 12, 31), f"{year}年")]
    length = rule.days or 0
    if length < 1:
        raise ValueError("按天计算的探访周期须至少1天")
    skipped = (first - DAYS_ANCHOR).days // length  # periods ended before the month
    start = DAYS_ANCHOR + timedelta(days=skipped * length)
    found = []
    while start <= last:
        end = start + timedelta(days=length - 1)
        if end >= first:
            found.append((start, end, f"{start.month}月{start.day}日起{length}天"))
        start += timedelta(days=length)
    return found


def deadline_in(rule: VisitRule, start: date, end: date) -> date:
    """The rule's day of the month when it falls inside the period, else the
    period's last day (003_fe235aaa23e67560.txt 五(二): 每月20日前完成)."""
    if rule.deadline_day:
        last = calendar.monthrange(start.year, start.month)[1]
        day = date(start.year, start.month, min(rule.deadline_day, last))
        if start <= day <= end:
            return day
    return end


def regular_tasks(rule: VisitRule, year: int, month: int) -> list[TaskSpec]:
    modes = tuple(sorted(str(m) for m in rule.modes))
    what = rule.label or "例行探访"
    tasks = []
    for start, end, words in periods(rule, year, month):
        deadline = deadline_in(rule, start, end)
        for number in range(1, rule.count + 1):
            label = f"{words}{what}"
            if rule.count > 1:
                label += f"（第{number}次，共{rule.count}次）"
            tasks.append(
                TaskSpec(
                    kind=Kind.REGULAR,
                    key=f"{rule.key}:{number}",
                    label=label[:100],
                    window_start=start,
                    deadline=deadline,
                    window_end=end,
                    modes=modes,
                    cite=rule.cite,
                    month=month_of(deadline),
                )
            )
    return tasks


def festival_tasks(
    rules: Sequence[VisitRule], version: Version, year: int, month: int
) -> list[TaskSpec]:
    """For the festivals whose day falls in the month; the window may begin in
    the month before or end in the month after, and counts here once."""
    if version.festival_rule is None:
        return []
    first, last = month_bounds(year, month)
    tasks = []
    for window in windows_between(
        first - timedelta(days=62), last + timedelta(days=62), version.festival_spans
    ):
        if first <= window.day <= last:
            name = window.festival.value
            tasks.extend(
                _special(
                    Kind.FESTIVAL,
                    f"festival:{name}",
                    f"{name}节日探访",
                    window.start,
                    window.end,
                    version.festival_rule,
                    rules,
                    month_of(window.day),
                )
            )
    return tasks


def event_tasks(
    rules: Sequence[VisitRule],
    version: Version,
    events: Sequence[EventSpan],
    year: int,
    month: int,
) -> list[TaskSpec]:
    first, last = month_bounds(year, month)
    tasks = []
    for event in sorted(events, key=lambda e: (e.starts_on, e.id)):
        special = version.event_rules.get(event.kind)
        if special is None:
            continue
        label = f"{EVENT_LABELS[event.kind]}期间探访：{event.title}"
        for start, end in event_months(event):
            if start <= last and first <= end:
                tasks.extend(
                    _special(
                        Kind.EVENT,
                        f"event:{event.id}",
                        label,
                        start,
                        end,
                        special,
                        rules,
                        month_of(start),
                    )
                )
    return tasks


def event_months(event: EventSpan) -> Iterator[tuple[date, date]]:
    """The event in spans of one month counted from its first day."""
    number = 0
    while (start := add_months(event.starts_on, number)) <= event.ends_on:
        number += 1
        yield start, min(add_months(event.starts_on, number) - timedelta(days=1), event.ends_on)


def _special(
    kind: Kind,
    key: str,
    label: str,
    start: date,
    end: date,
    special: SpecialRule,
    rules: Sequence[VisitRule],
    month: date,
) -> list[TaskSpec]:
    if special.modes is not None:
        modes = tuple(sorted(str(m) for m in special.modes))
    elif special.mandatory:
        modes = tuple(sorted({str(m) for rule in rules for m in rule.modes}))
    else:
        modes = ANY_MODE
    return [
        TaskSpec(
            kind=kind,
            key=key if number == 1 else f"{key}:{number}",
            label=(label if special.count == 1 else f"{label}（第{number}次）")[:100],
            window_start=start,
            deadline=end,
            window_end=end,
            modes=modes,
            cite=special.cite,
            month=month,
            extra=not special.mandatory,
            remote_counts_as_home=special.remote_counts_as_home,
        )
        for number in range(1, special.count + 1)
    ]


def trigger_tasks(version: Version, tier_key: str, changes: Sequence[ChangeSpan]) -> list[TaskSpec]:
    """A task for each change recorded on the file that a trigger rule of the
    elder's tier names: due `within_hours` after it was recorded."""
    tasks = []
    for change in sorted(changes, key=lambda c: (c.recorded_at, c.id)):
        matching = [
            t for t in version.triggers if change.change in t.changes and t.applies_to(tier_key)
        ]
        for number, trigger in enumerate(matching, start=1):
            tasks.append(_trigger_task(change, trigger, number))
    return tasks


def _trigger_task(change: ChangeSpan, trigger: TriggerRule, number: int) -> TaskSpec:
    recorded = change.recorded_at.astimezone(SHANGHAI)
    due = recorded + timedelta(hours=trigger.within_hours)
    what = CHANGE_LABELS[change.change]
    label = trigger.label or "重大变故后探访"
    return TaskSpec(
        kind=Kind.TRIGGER,
        key=f"trigger:{change.id}" if number == 1 else f"trigger:{change.id}:{number}",
        label=f"{what}：{label}（{trigger.within_hours}小时内）"[:100],
        window_start=recorded.date(),
        deadline=due.date(),
        window_end=due.date() + timedelta(days=TRIGGER_GRACE_DAYS),
        modes=tuple(sorted(str(m) for m in trigger.modes)),
        cite=trigger.cite,
        month=month_of(due.date()),
        due_at=due,
    )


def review_task(due: date) -> TaskSpec:
    """The file check due on `due` (000_4970ff49482a0570.txt 三(四)), open for
    the 30 days before."""
    return TaskSpec(
        kind=Kind.REVIEW,
        key="review",
        label=REVIEW_LABEL,
        window_start=due - timedelta(days=REVIEW_LEAD_DAYS),
        deadline=due,
        window_end=due,
        modes=(),
        cite=REVIEW_CITE,
        month=month_of(due),
    )

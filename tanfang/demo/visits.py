"""The demo county's visitors, who is responsible for whom, and six months of
visits (issue 5 item 9), made through the same actions as real ones.

- The roster and the assignments: tanfang.demo.roster.
- Tasks: the past months' tasks are made by `generate_tasks` as the daily run
  would have made them on each day, from each file's 建档日期 on; a cold wave (or
  the season's extreme weather) declared for the last days ends today, so that
  visitors have tasks due today.
- Visits: drawn by tanfang.demo.plans, stored by tanfang.demo.store through
  `record_visit` and its bulk variant (tanfang.visits.bulk), with the same
  checks.
- What became of the hazards and needs found, and a few emergencies: made
  by tanfang.demo.care while the visits are stored, so that the follow-ups it
  owes are made by the elders' later visits.

Everything is drawn from the seed (per elder and per visitor, so the draw does
not depend on database keys); a second run adds nothing.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from tanfang.demo.actors import COUNTY, Accounts, actor_for, county_elders
from tanfang.demo.care import CareHistory, CareSeeded
from tanfang.demo.plans import WEATHER, history_start, plan_visits
from tanfang.demo.roster import seed_assignments, seed_roster
from tanfang.demo.store import RECENT_DAYS, excuse_absences, store_visits
from tanfang.jurisdiction.actions import declare_event
from tanfang.jurisdiction.models import DeclaredEvent
from tanfang.months import add_months, months_between
from tanfang.regions.models import Region
from tanfang.reports.rebuild import recompute_month
from tanfang.visits.generation import generate_tasks
from tanfang.visits.models import Visit


@dataclass
class Seeded:
    visitors: int = 0
    assignments: int = 0
    tasks: int = 0
    visits: int = 0
    hazards: int = 0
    needs: int = 0
    excused: int = 0
    # The closed loop of the history, when it was made by this run.
    care: CareSeeded | None = None

    def __str__(self) -> str:
        visits = (
            f"探访：新增探访人员 {self.visitors} 名，包干 {self.assignments} 条，"
            f"历史探访任务 {self.tasks} 项，探访记录 {self.visits} 条"
            f"（发现安全隐患 {self.hazards} 处、未满足需求 {self.needs} 项），"
            f"免除任务 {self.excused} 项。"
        )
        return visits if self.care is None else f"{visits}\n{self.care}"


def seed_visits(*, accounts: Accounts, seed: int, today: date, now: datetime) -> Seeded:
    """Add the roster, the assignments and the history; safe to run again."""
    seeded = Seeded()
    seeded.visitors = seed_roster(accounts, seed)
    seeded.assignments = seed_assignments(accounts, seed)
    elders = county_elders()
    county = Region.objects.get(code=COUNTY.ljust(12, "0"))
    if (
        Visit.objects.filter(elder__in=elders).exists()
        or DeclaredEvent.objects.filter(region=county).exists()
    ):
        return seeded  # The history is there: a second run adds nothing.
    declare_weather(accounts, county, today)
    start = history_start(today)
    seeded.tasks = generate_past_tasks(elders, start, today)
    plans = plan_visits(seed=seed, today=today, now=now)
    # What became of what the visits found (tanfang.demo.care): made while they
    # are stored, so that later visits make the follow-ups it owes.
    care = CareHistory(
        actor=partial(actor_for, accounts),
        demo_village=accounts.liaison.region_id,
        seed=seed,
        today=today,
        now=now,
    )
    care.before_visits(plans, cutoff=today - timedelta(days=RECENT_DAYS))
    stored = store_visits(plans, accounts, seed, today, care)
    seeded.visits, seeded.hazards, seeded.needs = stored
    seeded.excused = excuse_absences(plans, accounts, now)
    seeded.care = care.finish()
    # The visits were stored in bulk, past the actions' rollup hooks: every
    # month of the history is counted afresh (tanfang.reports.rollups).
    for month in months_between(start, today):
        recompute_month(month, today)
    return seeded


def declare_weather(accounts: Accounts, county: Region, today: date) -> None:
    """Extreme weather for the last four days, ending today: its extra visit
    (any mode) is due today, as the visitor's home page shows it."""
    kind, title = WEATHER[today.month]
    declare_event(
        acting_user=accounts.county,
        region=county,
        kind=str(kind),
        title=f"{today.month}月{title}",
        starts_on=today - timedelta(days=3),
        ends_on=today,
    )


def generate_past_tasks(elders: Any, start: date, today: date) -> int:
    """The tasks the daily run would have made since `start`: each month's on
    its first day for the files opened by then, and for a file opened later in
    the month, on the day it was opened (`generate_tasks` only makes tasks whose
    window has not ended, so none before the file existed)."""
    created = 0
    month = start
    while month <= today:
        created += generate_tasks(
            today=month, months=1, elders=elders.filter(registered_on__lte=month)
        )
        end = min(add_months(month, 1) - timedelta(days=1), today - timedelta(days=1))
        opened = (
            elders.filter(registered_on__gt=month, registered_on__lte=end)
            .order_by("registered_on")
            .values_list("registered_on", flat=True)
            .distinct()
        )
        for day in opened:
            created += generate_tasks(today=day, months=1, elders=elders.filter(registered_on=day))
        month = add_months(month, 1)
    return created

"""The demo county's full seed: `manage.py seed_demo` with its 2,000 elders and
six months of visits, timed, then checked for what only the full county shows.

The test suite seeds 40 demo elders (tests/demo, issue 15 "the demo tests on a
small seed"); these checks were its `all_elders` tests. They run here at the
tests' moment and seed, so that the figures are the same on every run; a
failed check fails `make bench`.
"""

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from io import StringIO

from bench.common import timed

SEED = "302"
# The tests' moment: a Monday afternoon, visits were made this morning.
NOW = "2026-11-23 15:00 +0800"
TODAY = date(2026, 11, 23)
COUNTY = "350581000000"

Check = Callable[[str, bool], None]


def run() -> None:
    import time_machine
    from django.core.management import call_command

    print("\n## bench_demo: seed_demo, the full demo county")
    outputs: list[str] = []

    def seed() -> None:
        out = StringIO()
        call_command("seed_demo", "--seed", SEED, stdout=out)
        outputs.append(out.getvalue())

    with time_machine.travel(NOW, tick=False):
        timed("seed_demo, 2,000 elders and their history (first run)", seed, repeat=1)
        timed("seed_demo again (adds nothing)", seed, repeat=1)
        failed = [label for label, ok in checks(outputs) if not ok]
    for line in outputs[0].splitlines()[:8]:
        print(f"  {line}")
    if failed:
        raise SystemExit("bench_demo: failed checks: " + "; ".join(failed))


def checks(outputs: list[str]) -> list[tuple[str, bool]]:
    """What the full county must show, each printed as it is checked."""
    found: list[tuple[str, bool]] = []

    def check(label: str, ok: bool) -> None:
        print(f"  {'ok    ' if ok else 'FAILED'} {label}")
        found.append((label, ok))

    first, again = outputs
    for part, label in ((_elders, "elders"), (_visits, "visits"), (_care, "closed loop")):
        print(f"  {label}:")
        part(first, check)
    check("a second run adds no elder", "老年人档案：新增 0 份。" in again)
    check(
        "a second run adds no visitor, assignment, task or visit",
        "探访：新增探访人员 0 名，包干 0 条，历史探访任务 0 项，探访记录 0 条" in again,
    )
    return found


def _elders(out: str, check: Check) -> None:
    from django.db.models import Count

    from tanfang.registry.models import Ability, Category, Elder, ElderCategory

    check("2,000 files registered", "老年人档案：新增 2000 份。" in out)
    check("2,000 elders", Elder.objects.count() == 2000)
    categories = set(ElderCategory.objects.values_list("category", flat=True))
    check("every category", categories == set(Category.values))
    check(
        "every ability",
        set(Elder.objects.values_list("ability", flat=True)) == set(Ability.values),
    )
    ages = [elder.age_on(TODAY) for elder in Elder.objects.all()]
    check("the youngest 60, the oldest 95 or more", min(ages) == 60 and max(ages) >= 95)
    check("more than 500 aged 75 to 84", sum(75 <= age < 85 for age in ages) > 500)
    per_village = Elder.objects.values("village").annotate(n=Count("id"))
    check("elders in each of the 100 villages", len(per_village) == 100)


def _visits(out: str, check: Check) -> None:
    from tanfang.accounts.models import User
    from tanfang.demo.roster import UNASSIGNED
    from tanfang.registry.models import Elder
    from tanfang.visits import page_queries
    from tanfang.visits.models import TaskKind, TaskState, Visit, VisitTask
    from tanfang.visits.queries import elders_without_visitor

    visits = Visit.objects.count()
    print(f"         {visits:,} visits")
    check("15,000 to 25,000 visits", 15000 <= visits <= 25000)
    account = User.objects.get(username="visitor")
    visitor = page_queries.visitor_of(account)
    caseload = Elder.objects.filter(assignments__visitor=visitor, assignments__ended_at=None)
    check("the demo visitor has 10 to 25 elders", 10 <= caseload.count() <= 25)
    check("some of them key elders", caseload.filter(tier="key").exists())
    assert visitor is not None  # noqa: S101 - checked above: the caseload is there
    home = page_queries.home(account, visitor, TODAY)
    check(
        "the demo visitor has tasks due today, this period, and done",
        bool(home.due_today and home.this_period and home.done),
    )
    check(
        f"{UNASSIGNED} active elders without a visitor",
        len(elders_without_visitor(Elder.objects.all())) == UNASSIGNED,
    )
    tasks = VisitTask.objects.exclude(kind__in=[TaskKind.REVIEW, TaskKind.FOLLOW_UP])
    states = Counter(t.state_on(TODAY) for t in tasks)
    check(
        "more tasks done than missed, more missed than excused, some excused",
        states[TaskState.DONE] > states[TaskState.MISSED] > states[TaskState.EXCUSED] > 0,
    )


def _care(out: str, check: Check) -> None:
    from tanfang.accounts.models import User
    from tanfang.care import queries
    from tanfang.care.models import (
        Emergency,
        Hazard,
        HazardSeverity,
        HazardStatus,
        Need,
        NeedStatus,
    )
    from tanfang.demo.care import RECENT_NEED_DAYS
    from tanfang.demo.plans import history_start
    from tanfang.months import months_between

    check("the closed loop is summarised", "闭环：" in out)
    needs = Counter(Need.objects.values_list("status", flat=True))
    print(f"         needs {dict(needs)}")
    check(
        "more needs resolved than declined, some declined",
        needs[NeedStatus.RESOLVED] > needs[NeedStatus.DECLINED] > 0,
    )
    check("some needs open", needs[NeedStatus.OPEN] > 0)
    check(
        "some needs referred or in progress",
        needs[NeedStatus.IN_PROGRESS] + needs[NeedStatus.REFERRED] > 0,
    )
    resolved = Need.objects.filter(status=NeedStatus.RESOLVED)
    confirmed = resolved.filter(confirmed_at__isnull=False).count()
    check(
        "half or more of the resolved needs confirmed by a follow-up, not all",
        resolved.count() / 2 <= confirmed < resolved.count(),
    )
    overdue = queries.overdue_needs(User.objects.get(username="county"), today=TODAY)
    check("some needs overdue", overdue.exists())
    recent = TODAY - timedelta(days=RECENT_NEED_DAYS)
    check(
        "some recent needs still open",
        Need.objects.filter(status=NeedStatus.OPEN, created_at__date__gte=recent).exists(),
    )
    hazards = Hazard.objects.all()
    check(
        "most hazards reminded",
        hazards.filter(reminded_at__isnull=False).count() > hazards.count() / 2,
    )
    removed = hazards.filter(status=HazardStatus.REMOVED).count()
    check(
        "a third or more of the hazards removed, not all",
        hazards.count() / 3 < removed < hazards.count(),
    )
    check(
        "some hazards graded serious or major",
        hazards.exclude(severity=HazardSeverity.ORDINARY).exists(),
    )
    check("five emergencies", Emergency.objects.count() == 5)
    counts_of = [
        queries.care_counts(COUNTY, month, TODAY)
        for month in months_between(history_start(TODAY), TODAY)
    ]
    check(
        "the months' reports count every resolved need",
        sum(c.resolved_in_month for c in counts_of) == needs[NeedStatus.RESOLVED],
    )
    check(
        "the months' reports count every hazard",
        sum(c.hazards_found for c in counts_of) == hazards.count(),
    )
    check("this month's report shows one open emergency", counts_of[-1].emergencies_open == 1)
    check(
        "a median time to resolve in some month",
        any(c.median_days_to_resolve for c in counts_of),
    )

"""The monthly rollups kept current as things happen (issue 6 items 1 and 2;
docs/统计口径.md): a hand-counted month of two villages, the month's bounds at
midnight in Asia/Shanghai, an elder who died during the month, elders who
declined visits, the deadline day, excused tasks, an elder moving village,
a month once over keeping what it said, and counters that never go negative.

Every action goes through the real code (register_elder, record_visit,
change_status, update_elder, excuse_task, generate_tasks as the daily run),
with the clock moved from day to day; each test ends by comparing the tables
with a full `recompute_month`.
"""

import threading
import uuid
from datetime import date
from typing import Any

import pytest
from django.db import connection, connections

from tanfang.registry.actions import change_status, update_elder
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder
from tanfang.registry.registration import register_elder
from tanfang.reports import rollups
from tanfang.reports.models import ElderMonth, VillageMonth
from tanfang.reports.rebuild import recompute_month
from tanfang.reports.rows import no_task_words, surges_of, task_words
from tanfang.visits.actions import excuse_task, record_visit
from tanfang.visits.generation import generate_tasks
from tanfang.visits.models import Visitor, VisitTask
from tests.conftest import TOWNSHIP_B, VILLAGE_A, VILLAGE_B, aware
from tests.visits.factories import GOOD, PNG, follow_shishi, make_visitor

OCTOBER, NOVEMBER, DECEMBER = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
LIAISON = {VILLAGE_A: "liaison_a", VILLAGE_B: "liaison_b"}


# --- Helpers shared with test_recompute.py ------------------------------------------------


def tables(empty_rows: bool = True) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every ElderMonth row (without the empty ones, which a recompute keeps
    but does not make, when `empty_rows` is False) and every counter that is
    not all zero (a counter row at zero is the same as none), comparable
    between two computations."""
    rows = sorted(
        (
            r.elder_id,
            r.month,
            r.village_id,
            r.tier,
            tuple(r.categories),
            r.consents,
            r.counted,
            r.declined,
            r.visits,
            r.visited,
            r.compliant,
            r.quarter_compliant,
            tuple(r.missing),
            surges_of(r.surges),
            r.rules,
        )
        for r in ElderMonth.objects.all()
        if empty_rows or r.counted or r.declined or r.visits
    )
    counters = sorted(
        (
            c.month,
            c.village_id,
            c.dimension,
            c.counted,
            c.visited,
            c.compliant,
            c.declined,
            c.quarter_compliant,
        )
        for c in VillageMonth.objects.all()
        if (c.counted, c.visited, c.compliant, c.declined, c.quarter_compliant) != (0, 0, 0, 0, 0)
    )
    return rows, counters


def assert_never_negative() -> None:
    assert not VillageMonth.objects.filter(counted__lt=0).exists()
    assert not VillageMonth.objects.filter(visited__lt=0).exists()
    assert not VillageMonth.objects.filter(compliant__lt=0).exists()
    assert not VillageMonth.objects.filter(declined__lt=0).exists()
    assert not VillageMonth.objects.filter(quarter_compliant__lt=0).exists()
    for c in VillageMonth.objects.all():
        assert c.visited <= c.counted and c.compliant <= c.counted, c
        assert c.quarter_compliant <= c.compliant, c


def assert_same_as_recomputed(months: list[date], today: date) -> None:
    """The incremental tables equal a full recompute of every month, row by row."""
    incremental = tables()
    assert_never_negative()
    for month in months:
        recompute_month(month, today)
    assert tables() == incremental


# --- The setting -----------------------------------------------------------------------------


@pytest.fixture
def clock(time_machine):
    def move(*moment: int) -> None:
        time_machine.move_to(aware(*moment), tick=False)

    move(2026, 10, 20, 9, 0)
    return move


def make_visitors(users, regions) -> dict[str, Visitor]:
    """石狮's rules for the county, and a visitor serving each village."""
    follow_shishi(users)
    return {
        VILLAGE_A: make_visitor(users, regions, user=None),
        VILLAGE_B: make_visitor(
            users, regions, "王丽", township=TOWNSHIP_B, villages=(VILLAGE_B,), user=None
        ),
    }


@pytest.fixture
def visitors(users, regions) -> dict[str, Visitor]:
    return make_visitors(users, regions)


def register(users, regions, number: int, village: str = VILLAGE_A, **details: Any) -> Elder:
    return register_elder(
        acting_user=users[LIAISON[village]],
        id_number=make_id_number("350581", date(1940, 3, 1), number, "女"),
        name=f"老人{number}",
        village=regions[village],
        **details,
    )


# 003_fe235aaa23e67560.txt 附件2: the Linzi form, every item well.
LINZI_GOOD = {
    **dict.fromkeys(
        [
            "self_care",
            "illness",
            "mobility",
            "personal_hygiene",
            "indoor_environment",
            "outdoor_environment",
            "housing_safety",
            "gas_safety",
            "fire_safety",
            "epidemic_safety",
            "thinking",
            "food_safety",
        ],
        "good",
    ),
    "home_service_need": {"needed": False},
    "companionship_need": {"needed": False},
    "meal_medical_need": {"needed": False},
    "other_needs": "",
    "children_return": "",
    "children_return_plan": "",
}


def visit(
    users, visitors, elder: Elder, *moment: int, mode="home", refused=False, form="fujian"
) -> None:
    elder.refresh_from_db()
    signed = not refused and form == "fujian"
    record_visit(
        acting_user=users[LIAISON[elder.village_id]],
        uuid=uuid.uuid4(),
        elder=elder,
        mode=mode,
        visited_at=aware(*moment),
        visitors=[visitors[elder.village_id]],
        answers={} if refused else (GOOD if form == "fujian" else LINZI_GOOD),
        refused=refused,
        visitor_signature=PNG if signed else "",
        elder_signature=PNG if signed and mode == "home" else "",
    )


def row(elder: Elder, month: date) -> ElderMonth:
    return ElderMonth.objects.get(elder=elder, month=month)


def counts(village: str, month: date, dimension: str = "") -> tuple[int, int, int, int]:
    found = VillageMonth.objects.filter(village_id=village, month=month, dimension=dimension)
    c = found.first()
    return (c.counted, c.visited, c.compliant, c.declined) if c else (0, 0, 0, 0)


# --- A month counted by hand ---------------------------------------------------------------


def test_it_counts_a_month_of_two_villages_as_by_hand(users, regions, visitors, clock):
    # 000_4970ff49482a0570.txt 四(二): 重点对象每半月至少上门探访1次; 一般对象每月至少上门探访1次.
    a1 = register(users, regions, 1, ability="severe")
    a2 = register(users, regions, 2, ability="severe")
    a3 = register(users, regions, 3)
    a4 = register(users, regions, 4, consents_to_visits=False)
    b1 = register(users, regions, 5, VILLAGE_B)
    b2 = register(users, regions, 6, VILLAGE_B)
    b3 = register(users, regions, 7, VILLAGE_B)
    clock(2026, 11, 1, 1, 0)
    generate_tasks(today=date(2026, 11, 1))  # the daily run opens November
    clock(2026, 11, 5, 10, 0)
    visit(users, visitors, a1, 2026, 11, 5, 9, 0)
    visit(users, visitors, a2, 2026, 11, 5, 9, 30)
    visit(users, visitors, a3, 2026, 11, 5, 9, 45, mode="phone")
    clock(2026, 11, 8, 10, 0)
    visit(users, visitors, b2, 2026, 11, 8, 9, 0, refused=True)
    clock(2026, 11, 12, 10, 0)
    change_status(
        acting_user=users["liaison_b"],
        elder=b3,
        to_status="deceased",
        effective_on=date(2026, 11, 10),
        reason="病故",
    )
    clock(2026, 11, 20, 10, 0)
    visit(users, visitors, a1, 2026, 11, 20, 9, 0)
    clock(2026, 12, 1, 1, 0)
    generate_tasks(today=date(2026, 12, 1))

    # 村A: a1, a2, a3 counted and visited (a phone call is a valid visit), a1 alone
    # compliant; a4 declined. 村B: b1 and b2 counted, neither visited (a refused
    # visit is not one); b3 died on the 10th and is not counted.
    assert counts(VILLAGE_A, NOVEMBER) == (3, 3, 1, 1)
    assert counts(VILLAGE_B, NOVEMBER) == (2, 0, 0, 0)
    assert counts(VILLAGE_A, NOVEMBER, "tier:key") == (2, 2, 1, 0)
    assert counts(VILLAGE_A, NOVEMBER, "tier:general") == (1, 1, 0, 1)
    assert counts(VILLAGE_B, NOVEMBER, "tier:general") == (2, 0, 0, 0)
    assert row(a1, NOVEMBER).compliant and row(a1, NOVEMBER).visits == 2
    assert row(a2, NOVEMBER).missing == ["11月下半月例行探访未完成（须上门探访，截止11月30日）"]
    assert row(a3, NOVEMBER).missing == ["11月例行探访未完成（须上门探访，截止11月30日）"]
    assert row(a4, NOVEMBER).declined and not row(a4, NOVEMBER).counted
    assert row(a4, NOVEMBER).missing == []
    assert (row(b1, NOVEMBER).visited, row(b2, NOVEMBER).visited) == (False, False)
    assert row(b2, NOVEMBER).visits == 0
    b3_november = row(b3, NOVEMBER)  # made on the 1st, kept empty
    assert (b3_november.counted, b3_november.declined, b3_november.visits) == (False, False, 0)
    assert b3_november.village_id == VILLAGE_B
    assert not ElderMonth.objects.filter(elder=b3, month=DECEMBER).exists()
    assert counts(VILLAGE_B, DECEMBER) == (2, 0, 0, 0)
    assert_same_as_recomputed([OCTOBER, NOVEMBER, DECEMBER], date(2026, 12, 1))


def test_a_visit_recorded_now_moves_the_village_at_once(users, regions, visitors, clock):
    elder = register(users, regions, 1)
    assert counts(VILLAGE_A, OCTOBER) == (1, 0, 0, 0)
    assert counts(VILLAGE_A, OCTOBER, "surge:festival:重阳") == (1, 0, 0, 0)

    clock(2026, 10, 20, 9, 1)
    visit(users, visitors, elder, 2026, 10, 20, 9, 0)

    # 000_4970ff49482a0570.txt 四(二): the month's home visit, made inside the
    # 重阳 window, is also the festival's visit (适当增加: coverage only).
    assert counts(VILLAGE_A, OCTOBER) == (1, 1, 1, 0)
    assert counts(VILLAGE_A, OCTOBER, "surge:festival:重阳") == (1, 1, 1, 0)
    assert counts(VILLAGE_A, OCTOBER, "must:festival:重阳") == (0, 0, 0, 0)
    assert row(elder, OCTOBER).surges == {"festival:重阳": {"covered": True, "mandatory": False}}
    clock(2026, 10, 21, 9, 1)
    visit(users, visitors, elder, 2026, 10, 21, 9, 0, mode="phone")
    assert counts(VILLAGE_A, OCTOBER) == (1, 1, 1, 0)
    assert row(elder, OCTOBER).visits == 2


# --- Bounds of a month ----------------------------------------------------------------------


def test_it_counts_a_visit_by_its_day_in_shanghai(users, regions, visitors, clock):
    early = register(users, regions, 1)
    late = register(users, regions, 2)
    clock(2026, 11, 1, 0, 30)

    # 23:59 on 31 October in Shanghai is 15:59 UTC: October. 00:00 on 1 November
    # is 16:00 UTC on 31 October, but November in Shanghai.
    visit(users, visitors, early, 2026, 10, 31, 23, 59)
    visit(users, visitors, late, 2026, 11, 1, 0, 0)

    assert row(early, OCTOBER).visits == 1
    assert row(late, OCTOBER).visits == 0
    assert row(late, NOVEMBER).visits == 1
    assert counts(VILLAGE_A, OCTOBER) == (2, 1, 1, 0)
    # The daily run has not opened November yet; the visit of 31 October made
    # `early`'s row of November too, whose quarter compliance reads October's.
    assert row(early, NOVEMBER).visits == 0
    assert counts(VILLAGE_A, NOVEMBER) == (2, 1, 1, 0)
    generate_tasks(today=date(2026, 11, 1))
    assert counts(VILLAGE_A, NOVEMBER) == (2, 1, 1, 0)
    assert_same_as_recomputed([OCTOBER, NOVEMBER], date(2026, 11, 1))


def test_an_elder_owed_no_task_is_compliant_when_visited(users, regions, visitors, clock):
    elder = register(users, regions, 1)
    VisitTask.objects.filter(elder=elder).delete()
    rollups.refresh_elder_month(elder.pk, OCTOBER)

    assert row(elder, OCTOBER).missing == ["10月未探访"]
    clock(2026, 10, 22, 9, 0)
    visit(users, visitors, elder, 2026, 10, 22, 8, 0)
    assert row(elder, OCTOBER).compliant
    assert row(elder, OCTOBER).missing == []


# --- Who is counted ---------------------------------------------------------------------------


def test_it_does_not_count_an_elder_who_died_during_the_month(users, regions, visitors, clock):
    elder = register(users, regions, 1, ability="severe")
    clock(2026, 11, 1, 1, 0)
    generate_tasks(today=date(2026, 11, 1))
    clock(2026, 11, 3, 10, 0)
    visit(users, visitors, elder, 2026, 11, 3, 9, 0)
    assert counts(VILLAGE_A, NOVEMBER) == (1, 1, 0, 0)

    # Recorded on 2 December, died on 28 November: November no longer counts
    # the elder, and keeps the visit on record.
    clock(2026, 12, 2, 10, 0)
    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status="deceased",
        effective_on=date(2026, 11, 28),
        reason="病故",
    )

    assert counts(VILLAGE_A, NOVEMBER) == (0, 0, 0, 0)
    november = row(elder, NOVEMBER)
    assert (november.counted, november.declined, november.visits) == (False, False, 1)
    assert counts(VILLAGE_A, OCTOBER) == (1, 0, 0, 0)
    assert not ElderMonth.objects.filter(elder=elder, month=DECEMBER).exists()
    assert_same_as_recomputed([OCTOBER, NOVEMBER, DECEMBER], date(2026, 12, 2))


def test_it_counts_an_elder_who_returned_before_the_months_end(users, regions, visitors, clock):
    elder = register(users, regions, 1)
    clock(2026, 10, 22, 9, 0)
    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status="moved_away",
        effective_on=date(2026, 10, 21),
        reason="随子女迁居",
        destination="厦门市",
    )
    assert counts(VILLAGE_A, OCTOBER) == (0, 0, 0, 0)
    clock(2026, 10, 25, 9, 0)
    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status="active",
        effective_on=date(2026, 10, 25),
        reason="返回本村居住",
    )

    assert counts(VILLAGE_A, OCTOBER) == (1, 0, 0, 0)
    assert_same_as_recomputed([OCTOBER], date(2026, 10, 25))


def test_it_keeps_declined_elders_outside_the_rate(users, regions, visitors, clock):
    willing = register(users, regions, 1)
    declining = register(users, regions, 2, consents_to_visits=False, categories=["独居"])

    assert counts(VILLAGE_A, OCTOBER) == (1, 0, 0, 1)
    assert counts(VILLAGE_A, OCTOBER, "category:独居") == (0, 0, 0, 1)
    assert row(declining, OCTOBER).declined

    clock(2026, 10, 23, 9, 0)
    update_elder(
        acting_user=users["liaison_a"], elder=declining, changes={"consents_to_visits": True}
    )
    assert counts(VILLAGE_A, OCTOBER) == (2, 0, 0, 0)
    assert counts(VILLAGE_A, OCTOBER, "category:独居") == (1, 0, 0, 0)
    assert row(willing, OCTOBER).counted
    assert_same_as_recomputed([OCTOBER], date(2026, 10, 23))


# --- Compliance ---------------------------------------------------------------------------------


def test_a_task_done_after_its_deadline_day_is_not_met(users, regions, visitors, clock):
    # 003_fe235aaa23e67560.txt 五(二): 各镇街道应于每月20日前完成巡访.
    from tanfang.jurisdiction.models import PolicyChoice

    PolicyChoice.objects.filter(region_id="350581000000").update(profile="linzi")
    clock(2026, 11, 2, 9, 0)
    elder = register(users, regions, 1)
    task = VisitTask.objects.get(elder=elder, kind="regular", window_start=NOVEMBER)
    assert task.deadline == date(2026, 11, 20)
    clock(2026, 11, 22, 9, 0)
    visit(users, visitors, elder, 2026, 11, 21, 15, 0, form="linzi")

    november = row(elder, NOVEMBER)
    assert november.visited and not november.compliant
    assert november.missing == [f"{task.label}逾期完成（截止11月20日）"]
    assert_same_as_recomputed([NOVEMBER], date(2026, 11, 22))


def test_an_excused_task_is_met(users, regions, visitors, clock):
    elder = register(users, regions, 1)
    clock(2026, 10, 22, 9, 0)
    for task in VisitTask.objects.filter(elder=elder, window_start__lt=NOVEMBER):
        excuse_task(acting_user=users["township_a"], task=task, reason="hospital", note="")

    october = row(elder, OCTOBER)
    assert october.compliant and not october.visited
    assert counts(VILLAGE_A, OCTOBER) == (1, 0, 1, 0)
    assert_same_as_recomputed([OCTOBER], date(2026, 10, 22))


# --- Village, tier and categories --------------------------------------------------------------


def test_it_moves_an_elder_to_the_new_village_from_this_month_on(users, regions, visitors, clock):
    elder = register(users, regions, 1, ability="severe", categories=["孤寡"])
    clock(2026, 11, 1, 1, 0)
    generate_tasks(today=date(2026, 11, 1))
    clock(2026, 11, 3, 10, 0)
    update_elder(acting_user=users["county"], elder=elder, changes={"village": regions[VILLAGE_B]})

    assert counts(VILLAGE_A, NOVEMBER) == (0, 0, 0, 0)
    assert counts(VILLAGE_B, NOVEMBER) == (1, 0, 0, 0)
    assert counts(VILLAGE_B, NOVEMBER, "category:孤寡") == (1, 0, 0, 0)
    assert counts(VILLAGE_B, NOVEMBER, "tier:key") == (1, 0, 0, 0)
    # October is over: the elder lived in 村A at its end and is counted there.
    assert counts(VILLAGE_A, OCTOBER) == (1, 0, 0, 0)
    assert row(elder, OCTOBER).village_id == VILLAGE_A
    clock(2026, 11, 4, 10, 0)
    visit(users, visitors, elder, 2026, 10, 30, 9, 0)  # recorded late, for October
    assert row(elder, OCTOBER).village_id == VILLAGE_A
    # Registered on the 20th: owed October's second half-month only.
    assert counts(VILLAGE_A, OCTOBER) == (1, 1, 1, 0)
    assert_same_as_recomputed([OCTOBER, NOVEMBER], date(2026, 11, 4))


def test_a_tier_override_moves_the_elder_between_tiers(users, regions, visitors, clock):
    from tanfang.registry.actions import override_tier

    elder = register(users, regions, 1)
    assert counts(VILLAGE_A, OCTOBER, "tier:general") == (1, 0, 0, 0)

    override_tier(
        acting_user=users["county"],
        elder=elder,
        tier="key",
        reason="子女长期在外",
        # 000_4970ff49482a0570.txt 四(二): 重点对象
        document="000_4970ff49482a0570.txt",
        section="四(二)",
    )

    assert counts(VILLAGE_A, OCTOBER, "tier:general") == (0, 0, 0, 0)
    assert counts(VILLAGE_A, OCTOBER, "tier:key") == (1, 0, 0, 0)
    assert row(elder, OCTOBER).tier == "key"
    assert_same_as_recomputed([OCTOBER], date(2026, 10, 20))


def test_the_counters_never_go_negative(users, regions, visitors, clock):
    elder = register(users, regions, 1, categories=["空巢"])
    clock(2026, 10, 21, 9, 0)
    visit(users, visitors, elder, 2026, 10, 21, 8, 0)
    update_elder(acting_user=users["county"], elder=elder, changes={"village": regions[VILLAGE_B]})
    change_status(
        acting_user=users["county"],
        elder=elder,
        to_status="in_institution",
        effective_on=date(2026, 10, 21),
        reason="入住养老院",
        destination="石狮市社会福利中心",
    )
    rollups.refresh_elder_month(elder.pk, OCTOBER)
    rollups.refresh_elder_month(elder.pk, OCTOBER)

    assert_never_negative()
    assert counts(VILLAGE_A, OCTOBER) == (0, 0, 0, 0)
    assert counts(VILLAGE_B, OCTOBER) == (0, 0, 0, 0)
    assert row(elder, OCTOBER).visits == 1  # the visit stays on record
    assert_same_as_recomputed([OCTOBER], date(2026, 10, 21))


# --- One by one and set-based ------------------------------------------------------------------


def test_many_elders_refreshed_set_based_match_one_by_one(
    users, regions, visitors, clock, monkeypatch
):
    elders = [register(users, regions, n, VILLAGE_A if n % 2 else VILLAGE_B) for n in range(1, 6)]
    clock(2026, 10, 22, 9, 0)
    visit(users, visitors, elders[0], 2026, 10, 21, 9, 0)
    visit(users, visitors, elders[1], 2026, 10, 22, 8, 0, mode="phone")
    one_by_one = tables()

    ElderMonth.objects.all().delete()
    VillageMonth.objects.all().delete()
    monkeypatch.setattr(rollups, "PYTHON_LIMIT", 0)
    rollups.refresh_elders([e.pk for e in elders], [OCTOBER])

    assert tables() == one_by_one


def test_it_leaves_a_month_not_yet_begun_alone(users, regions, visitors, clock):
    elder = register(users, regions, 1)
    rollups.refresh_elder_month(elder.pk, NOVEMBER)

    assert not ElderMonth.objects.filter(month=NOVEMBER).exists()
    with pytest.raises(ValueError, match="尚未开始"):
        recompute_month(NOVEMBER, date(2026, 10, 20))


# --- Words ----------------------------------------------------------------------------------------


def test_it_says_what_is_missing_in_words():
    assert (
        task_words("12月下半月例行探访", ["home"], date(2026, 12, 31), late=False)
        == "12月下半月例行探访未完成（须上门探访，截止12月31日）"
    )
    assert (
        task_words("12月例行探访", ["home", "phone"], date(2026, 12, 31), late=False)
        == "12月例行探访未完成（须上门探访或电话探访，截止12月31日）"
    )
    every_mode = ["home", "monitoring", "phone", "street", "video"]
    assert (
        task_words("重阳节日探访", every_mode, date(2026, 10, 21), late=False)
        == "重阳节日探访未完成（截止10月21日）"
    )
    assert (
        task_words("11月例行探访", ["home"], date(2026, 11, 20), late=True)
        == "11月例行探访逾期完成（截止11月20日）"
    )
    assert no_task_words(date(2026, 12, 1)) == "12月未探访"


# --- Two writers at once (PostgreSQL) -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_visits_at_once_to_one_village_lose_no_increment(users, regions, visitors, clock):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite takes one writer at a time)")
    elders = [register(users, regions, n) for n in range(1, 9)]
    clock(2026, 10, 22, 9, 0)
    start = threading.Barrier(len(elders))
    errors: list[BaseException] = []

    def one(elder: Elder) -> None:
        try:
            start.wait()
            visit(users, visitors, elder, 2026, 10, 22, 8, 0)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one, args=(e,)) for e in elders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert counts(VILLAGE_A, OCTOBER) == (8, 8, 8, 0)
    assert counts(VILLAGE_A, OCTOBER, "tier:general") == (8, 8, 8, 0)
    # After the 重阳 window (to the 21st): in scope, not covered.
    assert counts(VILLAGE_A, OCTOBER, "surge:festival:重阳") == (8, 0, 0, 0)
    assert_same_as_recomputed([OCTOBER], date(2026, 10, 22))

"""The closed loop's lists and counts: open items of a village with their age,
lists of a subtree by type, state and age, overdue needs, and the numbers of the
rate reports, each in a fixed number of queries."""

from datetime import date

import pytest
from django.http import Http404

from tanfang.care import emergencies, hazards, needs, queries
from tanfang.care.models import Hazard
from tests.conftest import COUNTY, OTHER_COUNTY, TOWNSHIP_A, TOWNSHIP_B, VILLAGE_A, VILLAGE_B, aware
from tests.visits.factories import make_elder


def need(users, elder, need_type="meals", who="visitor_a"):
    return needs.raise_need(
        acting_user=users[who], elder=elder, need_type=need_type, source="phone"
    )


def measured(users, made, due_on, who="liaison_a"):
    return needs.set_measure(
        acting_user=users[who], need=made, measure="送餐", responsible_unit="食堂", due_on=due_on
    )


@pytest.fixture
def history(users, regions, elder, time_machine):
    """村A: needs entered on 11-01 (overdue on 11-20), 11-10 (resolved 11-20) and 11-23;
    a hazard of 11-01 removed 11-05 and an open one of 11-10; an emergency of 11-22.
    村B: one need of 11-15."""
    time_machine.move_to(aware(2026, 11, 1, 9, 0), tick=False)
    overdue = measured(users, need(users, elder), date(2026, 11, 20))
    gas = hazards.raise_hazard(
        acting_user=users["visitor_a"], elder=elder, item="gas", description="软管老化"
    )
    time_machine.move_to(aware(2026, 11, 10, 9, 0), tick=False)
    done = measured(users, need(users, elder, "bathing"), date(2026, 11, 30))
    housing = hazards.raise_hazard(
        acting_user=users["visitor_a"],
        elder=elder,
        item="housing",
        severity="major",
        description="墙裂",
    )
    time_machine.move_to(aware(2026, 11, 15, 9, 0), tick=False)
    elder_b = make_elder(users, regions, 2, village=VILLAGE_B)
    in_b = need(users, elder_b, who="liaison_b")
    time_machine.move_to(aware(2026, 11, 20, 9, 0), tick=False)
    needs.change_need_status(acting_user=users["liaison_a"], need=done, to_status="resolved")
    time_machine.move_to(aware(2026, 11, 22, 9, 0), tick=False)
    fall = emergencies.raise_emergency(
        acting_user=users["visitor_a"], elder=elder, kind="fall", source="phone", description="跌倒"
    )
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)
    fresh = need(users, elder, "medical")
    # The gas hazard removed on 11-05 (by photo, on that day).
    Hazard.objects.filter(pk=gas.pk).update(status="removed", removed_at=aware(2026, 11, 5, 9, 0))
    return {
        "overdue": overdue,
        "done": done,
        "fresh": fresh,
        "in_b": in_b,
        "gas": gas,
        "housing": housing,
        "fall": fall,
    }


TODAY = date(2026, 11, 23)


def test_the_open_items_of_a_village_with_their_age(users, history, django_assert_num_queries):
    with django_assert_num_queries(4):
        items = queries.village_open_items(users["liaison_a"], VILLAGE_A, TODAY)

    assert [(a.item.pk, a.age_days) for a in items.needs] == [
        (history["overdue"].pk, 22),
        (history["fresh"].pk, 0),
    ]
    assert [(a.item.pk, a.age_days) for a in items.hazards] == [(history["housing"].pk, 13)]
    assert [(a.item.pk, a.age_days) for a in items.emergencies] == [(history["fall"].pk, 1)]


def test_another_townships_village_is_404(users, history):
    with pytest.raises(Http404):
        queries.village_open_items(users["township_b"], VILLAGE_A, TODAY)


def test_the_needs_of_a_subtree_by_type_state_and_age(users, history):
    county = users["county"]
    everything = queries.needs_in(county, today=TODAY)
    assert set(everything) == {history[k] for k in ("overdue", "done", "fresh", "in_b")}
    assert list(queries.needs_in(county, today=TODAY, region=TOWNSHIP_B)) == [history["in_b"]]
    assert list(queries.needs_in(county, today=TODAY, need_type="bathing")) == [history["done"]]
    assert list(
        queries.needs_in(county, today=TODAY, region=TOWNSHIP_A, status=queries.OPEN_ALL)
    ) == [
        history["overdue"],
        history["fresh"],
    ]
    # At least 8 days old: entered on or before 11-15.
    assert list(queries.needs_in(county, today=TODAY, min_age_days=8, status=queries.OPEN_ALL)) == [
        history["overdue"],
        history["in_b"],
    ]
    # The township sees only its own.
    assert list(queries.needs_in(users["township_b"], today=TODAY)) == [history["in_b"]]
    assert not queries.needs_in(users["county_other"], today=TODAY).exists()


def test_overdue_needs(users, history):
    assert list(queries.overdue_needs(users["liaison_a"], today=TODAY)) == [history["overdue"]]
    assert list(queries.overdue_needs(users["liaison_a"], today=date(2026, 11, 20))) == []


def test_hazards_and_emergencies_of_a_subtree(users, history):
    county = users["county"]
    assert list(queries.hazards_in(county, today=TODAY, status="open")) == [history["housing"]]
    assert list(queries.hazards_in(county, today=TODAY, severity="major")) == [history["housing"]]
    assert list(queries.hazards_in(county, today=TODAY, item="gas")) == [history["gas"]]
    assert list(queries.hazards_in(county, today=TODAY, min_age_days=20)) == [history["gas"]]
    assert list(queries.hazards_in(county, today=TODAY, region=TOWNSHIP_B)) == []
    assert list(queries.emergencies_in(county, today=TODAY, state="open")) == [history["fall"]]
    assert list(queries.emergencies_in(county, today=TODAY, state="closed")) == []
    assert list(queries.emergencies_in(county, today=TODAY, kind="fire")) == []


def test_the_counts_of_the_rate_report(history, django_assert_num_queries):
    with django_assert_num_queries(4):
        counts = queries.care_counts(COUNTY, date(2026, 11, 1), TODAY)

    assert counts == queries.CareCounts(
        open_needs=3,
        overdue_needs=1,
        resolved_in_month=1,
        median_days_to_resolve=10.0,
        hazards_found=2,
        hazards_removed_in_time=1,
        hazards_open=1,
        emergencies=1,
        emergencies_open=1,
    )
    village = queries.care_counts(VILLAGE_B, date(2026, 11, 1), TODAY)
    assert (village.open_needs, village.hazards_found, village.median_days_to_resolve) == (
        1,
        0,
        None,
    )
    elsewhere = queries.care_counts(OTHER_COUNTY, date(2026, 11, 1), TODAY)
    assert elsewhere.open_needs == 0
    october = queries.care_counts(COUNTY, date(2026, 10, 1), TODAY)
    assert (october.hazards_found, october.emergencies, october.resolved_in_month) == (0, 0, 0)


def test_a_hazard_removed_after_30_days_is_not_in_time(users, elder, time_machine):
    time_machine.move_to(aware(2026, 10, 1, 9, 0), tick=False)
    slow = hazards.raise_hazard(
        acting_user=users["visitor_a"], elder=elder, item="gas", description="漏气"
    )
    Hazard.objects.filter(pk=slow.pk).update(status="removed", removed_at=aware(2026, 11, 2, 9, 0))

    counts = queries.care_counts(VILLAGE_A, date(2026, 10, 1), TODAY)
    assert (counts.hazards_found, counts.hazards_removed_in_time) == (1, 0)

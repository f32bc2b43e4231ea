"""The half-year review (000_4970ff49482a0570.txt 三(四): 每半年动态更新一次):
each file shows when it was last reviewed, a review records who, when and what
changed, and overdue reviews are listed per village and counted per township."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from tanfang.audit.models import Action, AuditEvent
from tanfang.months import add_months
from tanfang.registry import queries
from tanfang.registry.actions import review_elder, update_elder
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder, Review
from tanfang.registry.registration import register_elder
from tests.conftest import TOWNSHIP_A, VILLAGE_A, VILLAGE_B, aware


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


def make(users, regions, sequence, village=VILLAGE_A, registered_on=date(2026, 1, 10)):
    user = users["liaison_a"] if village == VILLAGE_A else users["liaison_b"]
    elder = register_elder(
        acting_user=user,
        id_number=make_id_number("350581", date(1940, 1, 1), sequence, "男"),
        name=f"老人{sequence}",
        village=regions[village],
    )
    Elder.objects.filter(pk=elder.pk).update(registered_on=registered_on)
    elder.refresh_from_db()
    return elder


@pytest.mark.parametrize(
    ("today", "cutoff"),
    [
        (date(2026, 11, 23), date(2026, 5, 23)),
        (date(2026, 8, 31), date(2026, 3, 1)),
        (date(2026, 8, 29), date(2026, 3, 1)),
        (date(2027, 2, 28), date(2026, 8, 28)),
        (date(2027, 1, 5), date(2026, 7, 5)),
    ],
)
def test_the_overdue_cutoff(today, cutoff):
    assert queries.review_overdue_before(today) == cutoff


def test_the_cutoff_agrees_with_the_due_day_on_every_day_of_two_years():
    # A file is overdue exactly when its due day (six months on) lies before today.
    start = date(2026, 1, 1)
    for offset in range(0, 800, 3):
        today = start + timedelta(days=offset)
        cutoff = queries.review_overdue_before(today)
        for back in range(150, 230):
            base = today - timedelta(days=back)
            assert (base < cutoff) == (add_months(base, 6) < today), (today, base)


def test_a_review_records_who_when_and_what_changed(users, regions):
    elder = make(users, regions, 1)
    update_elder(acting_user=users["liaison_a"], elder=elder, changes={"ability": "mild"})

    review = review_elder(
        acting_user=users["township_a"],
        elder=elder,
        reviewed_on=date(2026, 11, 22),
        notes="入户核实",
    )

    assert review.reviewed_by == users["township_a"]
    assert review.changes == {"fields": ["能力程度"]}
    elder.refresh_from_db()
    assert elder.last_reviewed_on == date(2026, 11, 22)
    event = AuditEvent.objects.get(action=Action.ELDER_REVIEWED)
    assert event.detail == {"reviewed_on": "2026-11-22", "fields": ["能力程度"]}


def test_a_review_in_the_future_or_before_the_last_one_is_refused(users, regions):
    elder = make(users, regions, 1)
    with pytest.raises(ValidationError) as raised:
        review_elder(acting_user=users["liaison_a"], elder=elder, reviewed_on=date(2026, 11, 24))
    assert raised.value.message_dict == {"reviewed_on": ["核查日期不能晚于今天。"]}

    with pytest.raises(ValidationError):
        review_elder(acting_user=users["liaison_a"], elder=elder, reviewed_on=date(2025, 12, 1))
    assert not Review.objects.exists()


def test_overdue_files_are_listed_and_counted(users, regions):
    due_today = make(users, regions, 1, registered_on=date(2026, 5, 23))
    overdue = make(users, regions, 2, registered_on=date(2026, 5, 22))
    reviewed = make(users, regions, 3, registered_on=date(2025, 1, 1))
    review_elder(acting_user=users["liaison_a"], elder=reviewed, reviewed_on=date(2026, 10, 1))
    make(users, regions, 4, village=VILLAGE_B, registered_on=date(2025, 1, 1))

    found = queries.review_overdue(Elder.objects.filter(village_id=VILLAGE_A), date(2026, 11, 23))
    assert list(found) == [overdue]
    assert due_today not in found

    township = regions[TOWNSHIP_A]
    counts = {
        c.region.code: (c.active, c.overdue)
        for c in queries.overdue_by_child(township, Elder.objects.all(), date(2026, 11, 23))
    }
    assert counts[VILLAGE_A] == (3, 1)


def test_the_overview_pages_count_per_child_and_list_a_village(
    users, regions, client_for, django_assert_num_queries
):
    make(users, regions, 2, registered_on=date(2026, 5, 22))
    county = client_for("county")

    with django_assert_num_queries(11):
        response = county.get(f"/elders/reviews/?region={TOWNSHIP_A}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "核查逾期 <strong>1</strong> 人" in page

    village = client_for("liaison_a").get("/elders/reviews/")
    assert "老人2" in village.content.decode()
    assert client_for("liaison_b").get(f"/elders/reviews/?region={VILLAGE_A}").status_code == 404


def test_the_list_filters_overdue_reviews_and_warnings(users, regions, client_for):
    make(users, regions, 1, registered_on=date(2026, 5, 22))
    fresh = make(users, regions, 2, registered_on=date(2026, 11, 1))
    Elder.objects.filter(pk=fresh.pk).update(quality_warnings=[])
    liaison = client_for("liaison_a")

    overdue_page = liaison.get("/elders/?review=overdue").content.decode()
    assert "老人1" in overdue_page and "老人2" not in overdue_page

    warned = liaison.get("/elders/?warnings=yes").content.decode()
    assert "老人1" in warned and "老人2" not in warned

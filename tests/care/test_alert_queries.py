"""The alerts at the top of the home pages and reports (issue 16 "Emergencies and
overdue on every dashboard"): open emergencies (001_35a01bee4c628ebd.txt 二(五)1:
第一时间…事后做好处置情况记录归档) and hazards past their deadline
(001_35a01bee4c628ebd.txt 二(二)2: 提醒其及时消除隐患; the deadline is the 30 days of
docs/统计口径.md §12 "其中30天内消除"), in the user's scope, the oldest first,
with how long each has been open, until closed; two queries whatever their number.

The clock stands on 2026-11-23 10:00 (tests/care/conftest.py).
"""

from datetime import datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tanfang.care import emergencies, hazards, queries
from tanfang.care.models import Emergency, Hazard
from tanfang.regions.models import Level
from tests.conftest import COUNTY, TOWNSHIP_A, TOWNSHIP_B, VILLAGE_A, VILLAGE_B, aware
from tests.visits.factories import make_elder

NOW = aware(2026, 11, 23, 10, 0)
JPEG = b"\xff\xd8\xff\xe0" + b"0" * 100


def emergency_at(users, elder, when: datetime, *, who="liaison_a", kind="fall") -> Emergency:
    return emergencies.raise_emergency(
        acting_user=users[who],
        elder=elder,
        kind=kind,
        source="phone",
        description="邻居来电：老人在院中跌倒",
        raised_at=when,
    )


def hazard_entered(
    users, elder, when: datetime, time_machine, *, who="liaison_a", item="gas", now=NOW
) -> Hazard:
    """A hazard entered at `when`, the clock then back at `now`."""
    time_machine.move_to(when, tick=False)
    made = hazards.raise_hazard(
        acting_user=users[who], elder=elder, item=item, description="燃气软管老化"
    )
    time_machine.move_to(now, tick=False)
    return made


def close(users, emergency: Emergency, who="liaison_a") -> None:
    """The steps the documents require (001_35a01bee4c628ebd.txt 二(五)1), then closed."""
    at = max(emergency.raised_at, NOW - timedelta(minutes=30))
    for kind, fields in (
        ("help_called", {"number": "120"}),
        ("family_notified", {"whom": "儿子", "how": "phone", "answered": True}),
        ("village_informed", {"how": "phone"}),
    ):
        emergencies.record_step(
            acting_user=users[who], emergency=emergency, kind=kind, at=at, **fields
        )
    emergencies.close_emergency(
        acting_user=users[who], emergency=emergency, outcome_kind="hospital", outcome="送市医院"
    )


@pytest.fixture
def village_b_elder(users, regions):
    return make_elder(users, regions, 2, village=VILLAGE_B)


@pytest.fixture
def opened(users, elder, village_b_elder, time_machine):
    """村A: emergencies raised 2 days and 3 hours ago; hazards entered 40 and 31
    days ago (past the deadline), 29 days ago (not yet) and one of 45 days ago
    removed. 村B: an emergency of 20 minutes ago, a hazard of 35 days ago."""
    made = {
        "recent": emergency_at(users, elder, NOW - timedelta(hours=3)),
        "older": emergency_at(users, elder, NOW - timedelta(days=2, hours=1), kind="illness"),
        "hazard_40": hazard_entered(users, elder, NOW - timedelta(days=40), time_machine),
        "hazard_31": hazard_entered(
            users, elder, NOW - timedelta(days=31), time_machine, item="electricity"
        ),
        "hazard_29": hazard_entered(users, elder, NOW - timedelta(days=29), time_machine),
        "removed": hazard_entered(users, elder, NOW - timedelta(days=45), time_machine),
        "b_emergency": emergency_at(
            users, village_b_elder, NOW - timedelta(minutes=20), who="liaison_b"
        ),
        "b_hazard": hazard_entered(
            users, village_b_elder, NOW - timedelta(days=35), time_machine, who="liaison_b"
        ),
    }
    Hazard.objects.filter(pk=made["removed"].pk).update(
        status="removed", removed_at=NOW - timedelta(days=44)
    )
    return made


def rows(found: queries.Alerts) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    return (
        [(a.item.pk, a.open_for) for a in found.emergencies],
        [(a.item.pk, a.open_for) for a in found.hazards],
    )


def test_it_lists_open_emergencies_and_overdue_hazards_oldest_first(
    users, opened, django_assert_num_queries
):
    with django_assert_num_queries(2):
        found = queries.open_alerts(users["liaison_a"], NOW)

    assert rows(found) == (
        [(opened["older"].pk, "2天"), (opened["recent"].pk, "3小时")],
        [(opened["hazard_40"].pk, "40天"), (opened["hazard_31"].pk, "31天")],
    )
    assert (found.emergencies_open, found.hazards_overdue, found.total) == (2, 2, 4)
    assert found.emergencies[0].since == NOW - timedelta(days=2, hours=1)


def test_a_township_sees_only_its_villages_and_the_county_both(users, opened):
    township_b = queries.open_alerts(users["township_b"], NOW)
    county = queries.open_alerts(users["county"], NOW)
    other_county = queries.open_alerts(users["county_other"], NOW)

    assert rows(township_b) == (
        [(opened["b_emergency"].pk, "20分钟")],
        [(opened["b_hazard"].pk, "35天")],
    )
    assert (county.emergencies_open, county.hazards_overdue) == (3, 3)
    assert [a.item.pk for a in county.hazards] == [
        opened["hazard_40"].pk,
        opened["b_hazard"].pk,
        opened["hazard_31"].pk,
    ]
    assert other_county.total == 0
    assert queries.open_alerts(users["liaison_b"], NOW).total == 2


def test_a_node_of_the_users_subtree_narrows_them(users, opened):
    found = queries.open_alerts(users["county"], NOW, region=TOWNSHIP_A)

    assert (found.emergencies_open, found.hazards_overdue) == (2, 2)
    assert {a.item.elder.village_id for a in found.emergencies + found.hazards} == {VILLAGE_A}


def test_closing_an_emergency_removes_it(users, opened):
    close(users, opened["older"])

    found = queries.open_alerts(users["liaison_a"], NOW)
    assert [a.item.pk for a in found.emergencies] == [opened["recent"].pk]
    assert found.emergencies_open == 1
    assert Emergency.objects.get(pk=opened["older"].pk).closed_at == NOW


def test_removing_a_hazard_removes_it(users, opened, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    hazards.confirm_hazard_removed(
        acting_user=users["liaison_a"],
        hazard=opened["hazard_40"],
        photo=SimpleUploadedFile("gas.jpg", JPEG, content_type="image/jpeg"),
    )

    found = queries.open_alerts(users["liaison_a"], NOW)
    assert [a.item.pk for a in found.hazards] == [opened["hazard_31"].pk]
    assert Hazard.objects.get(pk=opened["hazard_40"].pk).status == "removed"


def test_a_hazard_is_past_its_deadline_30_times_24_hours_after_entry(users, elder, time_machine):
    # docs/统计口径.md §12: removed at most 30 days (30×24 hours) after entry is
    # "removed in time"; a hazard still open after that can no longer be.
    entered = aware(2026, 10, 24, 10, 0)
    hazard = hazard_entered(users, elder, entered, time_machine)
    deadline = entered + timedelta(days=queries.REMOVED_IN_TIME_DAYS)

    assert queries.open_alerts(users["liaison_a"], deadline).hazards_overdue == 0
    later = deadline + timedelta(minutes=1)
    found = queries.open_alerts(users["liaison_a"], later)
    assert [(a.item.pk, a.open_for) for a in found.hazards] == [(hazard.pk, "30天")]


def test_it_counts_all_and_lists_the_first_few(users, elder, django_assert_num_queries):
    raised = [emergency_at(users, elder, NOW - timedelta(hours=hours)) for hours in range(1, 8)]

    with django_assert_num_queries(2):
        found = queries.open_alerts(users["county"], NOW)

    assert found.emergencies_open == 7
    assert len(found.emergencies) == queries.ALERTS_SHOWN == 5
    assert [a.item.pk for a in found.emergencies] == [e.pk for e in reversed(raised)][:5]


def test_nothing_open_is_no_alert(users, elder):
    found = queries.open_alerts(users["liaison_a"], NOW)

    assert (found.emergencies, found.hazards, found.total) == ([], [], 0)


def test_it_counts_per_place_below_a_node(users, opened, django_assert_num_queries):
    with django_assert_num_queries(2):
        by_township = queries.alert_counts_by_place(users["county"], NOW, COUNTY, Level.TOWNSHIP)
    by_village = queries.alert_counts_by_place(users["township_a"], NOW, TOWNSHIP_A, Level.VILLAGE)

    assert by_township == {TOWNSHIP_A: 4, TOWNSHIP_B: 2}
    assert by_village == {VILLAGE_A: 4}
    # Scoped: the township of 村B counts nothing of 村A under the county.
    assert queries.alert_counts_by_place(users["township_b"], NOW, COUNTY, Level.TOWNSHIP) == {
        TOWNSHIP_B: 2
    }


@pytest.mark.parametrize(
    ("elapsed", "words"),
    [
        (timedelta(seconds=-30), "不到1分钟"),
        (timedelta(seconds=59), "不到1分钟"),
        (timedelta(minutes=1), "1分钟"),
        (timedelta(minutes=59, seconds=59), "59分钟"),
        (timedelta(hours=1), "1小时"),
        (timedelta(hours=23, minutes=59), "23小时"),
        (timedelta(days=1), "1天"),
        (timedelta(days=2, hours=23), "2天"),
    ],
)
def test_it_says_how_long_in_the_largest_whole_unit(elapsed, words):
    assert queries.open_for(NOW - elapsed, NOW) == words

"""The visitor's task list (/visits/, issue 16 item 5): one card per elder with
every task due on it, the most urgent first; today's first, then the late
ones, then those coming; ordered as a route; a name search; the masked address
revealed in full, audited, to the visitor assigned to the elder; the last visit
and what is still open; a fixed number of queries.

The clock stands on Tuesday 2026-12-08 10:00 under 石狮's rules
(000_4970ff49482a0570.txt 四(二)); the tasks the registry makes are removed so
that each test states its own.
"""

import re
import uuid
from datetime import date

import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.care.models import (
    Emergency,
    EmergencyKind,
    EmergencySource,
    Hazard,
    HazardItem,
    HazardStatus,
    Need,
    NeedSource,
    NeedStatus,
)
from tanfang.registry import crypto
from tanfang.visits import page_queries, route
from tanfang.visits.findings import NeedType
from tanfang.visits.models import TaskKind, Visit, VisitTask
from tests.conftest import aware
from tests.visits.factories import assign, follow_shishi, make_elder, make_task, make_visitor

TODAY = date(2026, 12, 8)
ADDRESS = "石狮市灵秀镇村A新湖路18号"
PHONE = "13812345678"
# Along one road of 村A, 0.01° of longitude (about 1 km) apart.
LAT, LNG = 24.70, 118.60


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 12, 8, 10, 0), tick=False)


@pytest.fixture
def visitor(users, regions):
    follow_shishi(users)
    return make_visitor(users, regions)


def elder_of(users, regions, visitor, sequence, **details):
    elder = make_elder(users, regions, sequence, **details)
    VisitTask.objects.filter(elder=elder).delete()
    assign(users, elder, visitor)
    return elder


def home_visit(users, elder, day, x=None, *, mode="home", accuracy=10.0, by="visitor_a", hour=9):
    """A visit at `x` km east along the road (None: no fix)."""
    number = Visit.objects.filter(elder=elder).count() + 1
    return Visit.objects.create(
        uuid=uuid.uuid4(),
        content_hash="x",
        elder=elder,
        village_id=elder.village_id,
        sequence=number,
        mode=mode,
        visited_at=aware(day.year, day.month, day.day, hour, 0),
        recorded_by=users[by],
        checklist="fujian",
        latitude=None if x is None else f"{LAT:.6f}",
        longitude=None if x is None else f"{LNG + x * 0.01:.6f}",
        location_accuracy=accuracy if x is not None else None,
    )


def caseload(users, regions, visitor, count=14):
    """`count` elders as the issue found them, 36 task rows for 14: each owes
    the first half of December's home visit and the second half's (opening in
    8 days); the first eight also the cold wave's visit, due today."""
    elders = []
    for sequence in range(1, count + 1):
        elder = elder_of(users, regions, visitor, sequence, phone=PHONE, residence_address=ADDRESS)
        make_task(elder, date(2026, 12, 1), date(2026, 12, 15), label="12月上半月例行探访")
        make_task(elder, date(2026, 12, 16), date(2026, 12, 31), label="12月下半月例行探访")
        if sequence <= 8:
            make_task(
                elder,
                date(2026, 12, 5),
                TODAY,
                kind=TaskKind.EVENT,
                key="event:1",
                modes=("home", "monitoring", "phone", "street", "video"),
                label="寒潮期间探访：寒潮蓝色预警",
                extra=True,
            )
        elders.append(elder)
    return elders


def card_html(text, elder):
    """The HTML of `elder`'s card on the page."""
    start = text.index(f'id="elder-{elder.pk}"')
    end = text.find('<li class="task ', start)
    return text[start : end if end != -1 else None]


def cards_in(text):
    return re.findall(r'<li class="task section-[a-z-]+" id="elder-(\d+)"', text)


# --- One card per elder ----------------------------------------------------------------


def test_it_shows_one_card_per_elder_with_every_task_due_on_it(client_for, users, regions, visitor):
    elders = caseload(users, regions, visitor)
    assert VisitTask.objects.count() == 36

    response = client_for("visitor_a").get("/visits/")

    assert response.status_code == 200
    text = response.content.decode()
    shown = cards_in(text)
    assert len(shown) == len(set(shown)) == 14
    assert {int(pk) for pk in shown} == {e.pk for e in elders}
    home = response.context["home"]
    first = next(c for c in home.cards if c.elder == elders[0])
    # The cold wave before the routine visit, each with its due date; the
    # second half of December is not due yet.
    assert [line.task.label for line in first.tasks] == [
        "寒潮期间探访：寒潮蓝色预警",
        "12月上半月例行探访",
    ]
    card = card_html(text, elders[0])
    assert card.index("寒潮期间探访") < card.index("12月上半月例行探访")
    assert "今天到期" in card and "12月15日前" in card
    assert "12月下半月例行探访" not in text


def test_it_lists_today_first_then_the_late_then_those_coming(client_for, users, regions, visitor):
    late_and_today = elder_of(users, regions, visitor, 1)
    make_task(late_and_today, date(2026, 12, 1), date(2026, 12, 5), date(2026, 12, 31))
    make_task(late_and_today, date(2026, 12, 7), TODAY, kind=TaskKind.TRIGGER, key="trigger:1")
    late = elder_of(users, regions, visitor, 2)
    make_task(late, date(2026, 12, 1), date(2026, 12, 5), date(2026, 12, 31))
    coming = elder_of(users, regions, visitor, 3)
    make_task(coming, date(2026, 12, 1), date(2026, 12, 15))
    later = elder_of(users, regions, visitor, 4)
    make_task(later, date(2026, 12, 16), date(2026, 12, 31))
    done = elder_of(users, regions, visitor, 5)
    finished = make_task(done, date(2026, 12, 1), date(2026, 12, 15))
    VisitTask.objects.filter(pk=finished.pk).update(done_at=aware(2026, 12, 3, 9, 0))

    response = client_for("visitor_a").get("/visits/")

    home = response.context["home"]
    assert [[c.elder.name for c in cards] for _, _, cards in home.groups()] == [
        ["老人1"],
        ["老人2"],
        ["老人3"],
        ["老人4"],
        ["老人5"],
    ]
    # On 老人1's card the fall's visit comes before the late routine one.
    assert [line.task.kind for line in home.due_today[0].tasks] == [
        TaskKind.TRIGGER,
        TaskKind.REGULAR,
    ]
    text = response.content.decode()
    assert (
        text.index('id="due-today"') < text.index('id="overdue"') < text.index('id="this-period"')
    )
    assert "应于12月5日前，已逾期" in text
    assert "今天到期 <strong>1</strong> 位" in text


def test_it_leaves_out_elders_of_other_visitors_and_file_reviews(
    client_for, users, regions, visitor
):
    mine = elder_of(users, regions, visitor, 1)
    make_task(mine, date(2026, 12, 1), date(2026, 12, 15))
    make_task(mine, date(2026, 12, 1), date(2026, 12, 20), kind=TaskKind.REVIEW, key="review")
    colleague = make_visitor(users, regions, "王建国", user=None)
    other = make_elder(users, regions, 2)
    assign(users, other, colleague)

    response = client_for("visitor_a").get("/visits/")

    home = response.context["home"]
    assert [c.elder.name for c in home.cards] == ["老人1"]
    assert [line.task.kind for line in home.cards[0].tasks] == [TaskKind.REGULAR]


# --- The route -------------------------------------------------------------------------


@pytest.fixture
def road(users, regions, visitor):
    """Four elders due this half month: 老人1 lives 3.5 km along the road, 老人2
    at 1 km, 老人3 at 2 km, 老人4 has no home visit with a fix."""
    elders = {}
    for sequence, x in ((1, 3.5), (2, 1.0), (3, 2.0), (4, None)):
        elder = elder_of(users, regions, visitor, sequence)
        make_task(elder, date(2026, 12, 1), date(2026, 12, 15))
        for day in (3, 10, 17):
            home_visit(users, elder, date(2026, 11, day), x)
        elders[sequence] = elder
    return elders


def order(response):
    return [c.elder.name for c in response.context["home"].this_period]


def test_it_orders_the_day_nearest_first_from_the_visitors_position(client_for, road):
    response = client_for("visitor_a").get("/visits/", {"lat": LAT, "lng": LNG})

    assert order(response) == ["老人2", "老人3", "老人1", "老人4"]
    home = response.context["home"]
    assert home.start_words == page_queries.START_HERE
    assert [c.stop for c in home.this_period] == [1, 2, 3, None]
    assert [c.leg for c in home.this_period] == [
        "距您现在的位置约1.0公里",
        "距上一站约1.0公里",
        "距上一站约1.5公里",
        "",
    ]
    text = response.content.decode()
    assert "位置未知" in text
    # The search keeps the position.
    assert 'name="lat" value="24.700000"' in text


def test_it_starts_from_the_first_home_without_a_position_and_is_stable(client_for, road):
    client = client_for("visitor_a")

    first = client.get("/visits/")
    again = client.get("/visits/")

    # 老人1 comes first in the list's own order (due together, then by name).
    assert order(first) == order(again) == ["老人1", "老人3", "老人2", "老人4"]
    assert first.context["home"].start_words == page_queries.START_FIRST_HOME


def test_it_starts_where_the_visitor_recorded_a_visit_today(client_for, users, road):
    home_visit(users, road[3], TODAY, 2.1, hour=9)

    response = client_for("visitor_a").get("/visits/")

    assert order(response)[:2] == ["老人3", "老人2"]
    assert response.context["home"].start_words == page_queries.START_LAST_VISIT


def test_it_places_a_home_by_the_median_of_its_latest_home_visits(client_for, users, road):
    elder = road[2]  # at 1 km
    home_visit(users, elder, date(2026, 11, 20), 1.0)
    home_visit(users, elder, date(2026, 11, 24), 1.0)
    # The latest fix is from the road back (far off); a phone visit and an
    # imprecise fix are left out; the median does not move.
    home_visit(users, elder, date(2026, 11, 30), 9.0)
    home_visit(users, elder, date(2026, 12, 1), 5.0, mode="phone")
    home_visit(users, elder, date(2026, 12, 2), 7.0, accuracy=900)

    response = client_for("visitor_a").get("/visits/", {"lat": LAT, "lng": LNG})

    card = next(c for c in response.context["home"].cards if c.elder == elder)
    assert card.position == pytest.approx((LAT, LNG + 0.01))
    assert order(response)[0] == "老人2"


def test_it_keeps_todays_cards_before_nearer_ones_due_later(client_for, users, road):
    make_task(road[1], date(2026, 12, 7), TODAY, kind=TaskKind.TRIGGER, key="trigger:1")

    response = client_for("visitor_a").get("/visits/", {"lat": LAT, "lng": LNG})

    home = response.context["home"]
    assert [c.elder.name for c in home.due_today] == ["老人1"]
    # The rest of the route continues from 老人1's home.
    assert [c.elder.name for c in home.this_period] == ["老人3", "老人2", "老人4"]
    assert [c.stop for c in home.this_period] == [2, 3, None]


@pytest.mark.parametrize(
    "params",
    [
        {"lat": "abc", "lng": "1"},
        {"lat": "95", "lng": "118"},
        {"lat": "nan", "lng": "inf"},
        {"lat": "1"},
    ],
)
def test_it_ignores_a_position_that_is_not_one(client_for, road, params):
    response = client_for("visitor_a").get("/visits/", params)

    assert response.status_code == 200
    assert response.context["home"].start_words == page_queries.START_FIRST_HOME


# --- Search by name ---------------------------------------------------------------------


def test_it_finds_elders_by_name(client_for, users, regions, visitor):
    caseload(users, regions, visitor)

    response = client_for("visitor_a").get("/visits/", {"q": "老人1"})

    names = sorted(c.elder.name for c in response.context["home"].cards)
    assert names == ["老人1", "老人10", "老人11", "老人12", "老人13", "老人14"]
    text = response.content.decode()
    assert 'value="老人1"' in text
    assert "显示全部" in text


def test_the_name_box_also_filters_the_cards_on_the_phone(client_for, users, regions, visitor):
    caseload(users, regions, visitor, count=2)

    text = client_for("visitor_a").get("/visits/", {"q": "x" * 80}).content.decode()

    # No card for an unknown name, and no server error for a long one.
    assert cards_in(text) == []
    full = client_for("visitor_a").get("/visits/").content.decode()
    assert 'data-name="老人1"' in full and "data-filter-cards" in full
    assert "/static/js/task_list.js" in full


# --- The address ------------------------------------------------------------------------


@pytest.fixture
def addressed(users, regions, visitor):
    elder = elder_of(users, regions, visitor, 1, residence_address=ADDRESS)
    make_task(elder, date(2026, 12, 1), date(2026, 12, 15))
    return elder


def test_it_shows_the_address_masked_on_the_card(client_for, addressed):
    text = client_for("visitor_a").get("/visits/").content.decode()

    assert crypto.mask_address(ADDRESS) in text
    assert ADDRESS not in text
    assert f'hx-post="/visits/address/{addressed.pk}/"' in text
    assert f'href="/visits/new/{addressed.pk}/"' in text


def test_it_reveals_the_address_to_the_assigned_visitor_and_logs_it(client_for, users, addressed):
    response = client_for("visitor_a").post(
        f"/visits/address/{addressed.pk}/", HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert ADDRESS in response.content.decode()
    assert "<html" not in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action=Action.ELDER_REVEALED)
    assert (event.actor, event.object_id) == (users["visitor_a"], str(addressed.pk))
    assert event.detail == {"field": "residence_address", "purpose": "address"}


def test_it_reveals_the_address_on_a_page_without_htmx(client_for, addressed):
    response = client_for("visitor_a").post(f"/visits/address/{addressed.pk}/")

    text = response.content.decode()
    assert ADDRESS in text and "返回我的探访" in text


def test_it_reveals_nothing_on_a_get(client_for, addressed):
    response = client_for("visitor_a").get(f"/visits/address/{addressed.pk}/")

    assert response.status_code == 405
    assert not AuditEvent.objects.filter(action=Action.ELDER_REVEALED).exists()


def test_it_refuses_the_address_to_a_visitor_not_assigned_to_the_elder(
    client_for, users, regions, visitor, addressed
):
    colleague = make_visitor(users, regions, "王建国", user=None)
    other = make_elder(users, regions, 2, residence_address=ADDRESS)
    assign(users, other, colleague)

    # Another visitor's elder: not this visitor's to see (404 once a visitor
    # sees only the elders assigned to them, 403 before).
    assert client_for("visitor_a").post(f"/visits/address/{other.pk}/").status_code in (403, 404)
    assert not AuditEvent.objects.filter(action=Action.ELDER_REVEALED).exists()


def test_a_liaison_who_may_reveal_the_file_may_reveal_it_here_too(client_for, users, addressed):
    response = client_for("liaison_a").post(f"/visits/address/{addressed.pk}/")

    assert ADDRESS in response.content.decode()
    event = AuditEvent.objects.get(action=Action.ELDER_REVEALED)
    assert (event.actor, event.detail) == (
        users["liaison_a"],
        {"field": "residence_address", "purpose": "address"},
    )


def test_it_says_when_the_file_has_no_address(client_for, users, regions, visitor):
    elder = elder_of(users, regions, visitor, 3)
    make_task(elder, date(2026, 12, 1), date(2026, 12, 15))

    text = client_for("visitor_a").get("/visits/").content.decode()
    response = client_for("visitor_a").post(f"/visits/address/{elder.pk}/")

    assert "未登记居住地址" in text
    assert "未填写" in response.content.decode()
    assert not AuditEvent.objects.filter(action=Action.ELDER_REVEALED).exists()


# --- The last visit and what is open ----------------------------------------------------


def test_it_shows_the_last_visit_and_what_is_still_open(client_for, users, addressed):
    elder = addressed
    last = home_visit(users, elder, date(2026, 12, 4), 1.0)
    Hazard.objects.create(
        elder=elder,
        visit=last,
        item=HazardItem.GAS,
        finding="燃气软管老化",
        created_by=users["visitor_a"],
    )
    Hazard.objects.create(
        elder=elder,
        item=HazardItem.ELECTRICITY,
        finding="插线板超负荷",
        status=HazardStatus.REMOVED,
        created_by=users["visitor_a"],
    )
    Need.objects.create(
        elder=elder,
        source=NeedSource.VISIT,
        need_type=NeedType.MEALS,
        status=NeedStatus.IN_PROGRESS,
        created_by=users["visitor_a"],
    )
    Need.objects.create(
        elder=elder,
        source=NeedSource.VISIT,
        need_type=NeedType.CLEANING,
        status=NeedStatus.RESOLVED,
        created_by=users["visitor_a"],
    )
    Emergency.objects.create(
        elder=elder,
        source=EmergencySource.PHONE,
        kind=EmergencyKind.FALL,
        description="在家跌倒",
        raised_at=aware(2026, 12, 7, 20, 0),
        raised_by=users["visitor_a"],
    )

    response = client_for("visitor_a").get("/visits/")

    card = response.context["home"].cards[0]
    assert card.last_visit_at == last.visited_at
    assert card.last_visit_mode == "上门探访"
    assert card.findings == [
        "应急事件（跌倒）处置中",
        "燃气隐患未消除（燃气软管老化）",
        "助餐需求处理中",
    ]
    text = response.content.decode()
    assert "上次探访：12月4日 上门探访" in text
    assert "插线板超负荷" not in text


# --- Queries ----------------------------------------------------------------------------


@pytest.mark.parametrize("count", [14, 40])
def test_it_reads_the_list_in_a_fixed_number_of_queries(
    client_for, users, regions, visitor, count, django_assert_num_queries
):
    elders = caseload(users, regions, visitor, count)
    for number, elder in enumerate(elders):
        visit = home_visit(users, elder, date(2026, 11, 20), number / 10)
        home_visit(users, elder, date(2026, 12, 3), number / 10)
        if number % 2:
            Hazard.objects.create(
                elder=elder,
                visit=visit,
                item=HazardItem.GAS,
                finding="燃气软管老化",
                created_by=users["visitor_a"],
            )
            Need.objects.create(
                elder=elder,
                source=NeedSource.VISIT,
                need_type=NeedType.MEALS,
                created_by=users["visitor_a"],
            )
    client = client_for("visitor_a")

    # The session, the user, the OTP device, the visitor's record, the bar's
    # region, the tasks with their elders and last visits, the homes' fixes,
    # the last fix of the visitor today, the open emergencies, hazards and
    # needs, and the session's last-seen time (savepoint, update, release).
    with django_assert_num_queries(14):
        response = client.get("/visits/")

    assert len(response.context["home"].cards) == count
    assert all(card.stop for card in response.context["home"].cards)


# --- The route's rules (tanfang.visits.route) --------------------------------------------


def test_a_home_is_the_median_of_its_fixes():
    assert route.home_position([]) is None
    assert route.home_position([(24.0, 118.0), (24.2, 118.2), (30.0, 100.0)]) == (24.2, 118.0)


def test_nearest_first_breaks_ties_by_the_lists_order_and_puts_the_unplaced_last():
    spots = {"a": (0.0, 0.02), "b": (0.0, -0.02), "c": None, "d": (0.0, 0.05)}

    stops = route.nearest_first(list(spots), spots.get, start=(0.0, 0.0))

    # a and b are as near: a comes first in the list; from a, d is nearer than b.
    assert [s.item for s in stops] == ["a", "d", "b", "c"]
    assert stops[0].leg_m == pytest.approx(2224, rel=0.01)
    assert stops[-1].leg_m is None
    again = route.nearest_first(["b", "a", "c", "d"], spots.get, start=(0.0, 0.0))
    assert [s.item for s in again][:2] == ["b", "a"]


def test_distances_are_said_in_round_words():
    assert route.distance_words(4) == "约10米"
    assert route.distance_words(447) == "约450米"
    assert route.distance_words(1234) == "约1.2公里"

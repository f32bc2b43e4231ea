"""The auditor's page: the events of the own subtree and the failed logins of
unknown usernames, newest first, filtered by username, action and date range
(dates in Asia/Shanghai), with Chinese labels and a fixed number of queries."""

import re

import pytest
from django.test import Client

from tanfang.audit.actions import record
from tanfang.audit.models import Action, AuditEvent
from tests.conftest import (
    CITY,
    COUNTY,
    OTHER_COUNTY,
    OTHER_VILLAGE,
    PASSWORD,
    TOWNSHIP_B,
    VILLAGE_A,
    aware,
)

NOW = aware(2026, 11, 25, 9, 0)


@pytest.fixture
def clock(time_machine):
    """The clock, frozen; `clock(moment)` moves it."""

    def move(moment):
        time_machine.move_to(moment, tick=False)

    move(NOW)
    return move


def shown(response) -> list[tuple[str, str]]:
    """(username, action) of each row on the page, in order."""
    return [(event.username, event.action) for event in response.context["page"]]


def fail_login(username):
    Client().post("/accounts/login/", {"username": username, "password": "wrong-Password1"})


def see(clock, client_for, who="auditor", **query):
    """The page as `who` sees it now, signed in now."""
    clock(NOW)
    return client_for(who).get("/audit/", query)


@pytest.fixture
def events(clock, users):
    """One event in each part of the tree, and a failed login of an unknown username."""
    clock(aware(2026, 11, 24, 10, 0))
    record(Action.ACCOUNT_CREATED, actor=users["secadmin"], region_code=VILLAGE_A)
    record(Action.REGION_RENAMED, actor=users["sysadmin"], region_code=TOWNSHIP_B)
    record(Action.PASSWORD_CHANGED, actor=users["county"])
    record(Action.ACCOUNT_CREATED, actor=users["secadmin_other"], region_code=OTHER_VILLAGE)
    record(Action.PASSWORD_CHANGED, actor=users["county_other"])
    record(Action.PASSWORD_CHANGED, actor=users["supervisor"])
    fail_login("nobody")
    fail_login("liaison_a")


def test_it_lists_the_events_of_the_own_subtree_and_of_unknown_usernames(clock, client_for, events):
    response = see(clock, client_for)

    assert response.status_code == 200
    assert sorted(shown(response)) == sorted(
        [
            ("auditor", Action.LOGIN),  # signing in to read the page
            ("liaison_a", Action.LOGIN_FAILED),
            ("nobody", Action.LOGIN_FAILED),
            ("county", Action.PASSWORD_CHANGED),
            ("sysadmin", Action.REGION_RENAMED),
            ("secadmin", Action.ACCOUNT_CREATED),
        ]
    )
    body = response.content.decode()
    assert "county_other" not in body
    assert "supervisor" not in re.sub(r"<option.*?</option>", "", body)


def test_it_lists_the_neighbouring_county_to_its_own_auditor(clock, client_for, events):
    response = see(clock, client_for, "auditor_other")

    assert sorted(shown(response)) == sorted(
        [
            ("auditor_other", Action.LOGIN),
            ("nobody", Action.LOGIN_FAILED),
            ("county_other", Action.PASSWORD_CHANGED),
            ("secadmin_other", Action.ACCOUNT_CREATED),
        ]
    )


def test_it_records_the_region_of_a_failed_login_of_a_known_username(clock, users):
    fail_login("liaison_a")
    fail_login("nobody")

    assert dict(AuditEvent.objects.values_list("username", "region_code")) == {
        "liaison_a": VILLAGE_A,
        "nobody": "",
    }


def test_it_shows_the_newest_first(clock, client_for, users):
    for hour in (8, 10, 9):
        clock(aware(2026, 11, 24, hour, 0))
        record(Action.LOGOUT, actor=users["county"], detail={"hour": hour})

    response = see(clock, client_for, action=Action.LOGOUT)

    assert [event.detail["hour"] for event in response.context["page"]] == [10, 9, 8]
    assert "2026-11-24 10:00:00" in response.content.decode()


def test_it_shows_chinese_action_labels(clock, client_for, events):
    body = see(clock, client_for).content.decode()

    for label in (
        "<td>登录失败</td>",
        "<td>创建账号</td>",
        "<td>区划更名</td>",
        "<td>修改密码</td>",
    ):
        assert label in body
    assert "<td>login_failed</td>" not in body


def test_it_filters_by_username(clock, client_for, events):
    response = see(clock, client_for, username="secadmin")

    assert shown(response) == [("secadmin", Action.ACCOUNT_CREATED)]


def test_it_does_not_show_other_regions_when_filtering_by_their_username(clock, client_for, events):
    response = see(clock, client_for, username="county_other")

    assert shown(response) == []
    assert "没有符合条件的记录。" in response.content.decode()


def test_it_filters_by_action(clock, client_for, events):
    response = see(clock, client_for, action=Action.LOGIN_FAILED)

    assert sorted(shown(response)) == [
        ("liaison_a", Action.LOGIN_FAILED),
        ("nobody", Action.LOGIN_FAILED),
    ]


@pytest.fixture
def around_midnight(clock, users):
    """Events just before and after the two midnights of 2026-11-23, Shanghai time."""
    for moment in [
        aware(2026, 11, 22, 23, 59, 59),
        aware(2026, 11, 23, 0, 0),
        aware(2026, 11, 23, 23, 59, 59),
        aware(2026, 11, 24, 0, 0),
    ]:
        clock(moment)
        record(Action.LOGOUT, actor=users["county"], detail={"at": moment.isoformat()})


def logout_times(response) -> list[str]:
    return sorted(event.detail["at"] for event in response.context["page"])


def test_it_filters_by_a_day_in_local_time(clock, client_for, around_midnight):
    response = see(clock, client_for, action="logout", since="2026-11-23", until="2026-11-23")

    assert logout_times(response) == [
        "2026-11-23T00:00:00+08:00",
        "2026-11-23T23:59:59+08:00",
    ]


def test_it_filters_from_a_date_on(clock, client_for, around_midnight):
    response = see(clock, client_for, action="logout", since="2026-11-23")

    assert logout_times(response) == [
        "2026-11-23T00:00:00+08:00",
        "2026-11-23T23:59:59+08:00",
        "2026-11-24T00:00:00+08:00",
    ]


def test_it_filters_up_to_a_date(clock, client_for, around_midnight):
    response = see(clock, client_for, action="logout", until="2026-11-22")

    assert logout_times(response) == ["2026-11-22T23:59:59+08:00"]


def test_it_refuses_a_range_that_ends_before_it_starts(clock, client_for, around_midnight):
    response = see(clock, client_for, since="2026-11-24", until="2026-11-23")

    assert response.status_code == 200
    body = response.content.decode()
    assert "起始日期不能晚于截止日期。" in body
    assert shown(response) == []


def test_it_names_the_field_of_a_bad_date(clock, client_for, around_midnight):
    response = see(clock, client_for, since="2026-13-45")

    assert response.status_code == 200
    assert "起始日期：输入一个有效的日期。" in response.content.decode()
    assert shown(response) == []


def test_it_names_the_field_of_an_unknown_action(clock, client_for, around_midnight):
    response = see(clock, client_for, action="drop_table")

    assert response.status_code == 200
    assert "操作：选择一个有效的选项。" in response.content.decode()
    assert shown(response) == []


def make_events(users, count):
    for i in range(count):
        record(Action.LOGOUT, actor=users["liaison_a"], detail={"n": i})


def test_it_paginates_by_fifty_and_keeps_the_filter(clock, client_for, users):
    make_events(users, 60)

    first = see(clock, client_for, action="logout")
    second = client_for("auditor").get("/audit/", {"action": "logout", "page": 2})

    assert len(shown(first)) == 50
    assert len(shown(second)) == 10
    assert "?action=logout&amp;page=2" in first.content.decode()
    assert "第 2 / 2 页" in second.content.decode()
    numbers = [e.detail["n"] for page in (first, second) for e in page.context["page"]]
    assert sorted(numbers) == list(range(60))


@pytest.mark.parametrize("count", [5, 60])
def test_it_lists_with_a_fixed_number_of_queries(
    clock, client_for, users, django_assert_num_queries, count
):
    make_events(users, count)
    client = client_for("auditor")

    # session, user, OTP device, the user's region, count, page, the record of
    # the reading, and the session's new last-seen time (three with its savepoint)
    with django_assert_num_queries(10):
        response = client.get("/audit/", {"username": "liaison_a", "since": "2026-11-01"})

    assert response.status_code == 200


def test_it_ends_the_auditors_session_after_fifteen_idle_minutes(clock, client_for, events):
    clock(NOW)
    client = client_for("auditor")
    assert client.get("/audit/").status_code == 200
    clock(aware(2026, 11, 25, 9, 15))

    response = client.get("/audit/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert AuditEvent.objects.filter(action=Action.SESSION_EXPIRED, username="auditor").exists()


def test_it_records_that_the_auditor_read_the_log(clock, client_for, events):
    client = client_for("auditor")
    before = AuditEvent.objects.count()

    response = client.get("/audit/", {"username": "secadmin"})

    assert AuditEvent.objects.count() == before + 1
    reading = AuditEvent.objects.get(action=Action.AUDIT_VIEWED)
    assert reading.username == "auditor"
    assert reading.region_code == COUNTY
    assert reading.detail == {"query": {"username": "secadmin"}}
    # The page does not list its own reading.
    assert Action.AUDIT_VIEWED not in {action for _, action in shown(response)}


def test_it_logs_a_failed_login_at_the_county_of_the_account(clock, client_for, users):
    fail_login("county")
    Client().post("/accounts/login/", {"username": "county", "password": PASSWORD})

    response = see(clock, client_for, username="county")

    assert {action for _, action in shown(response)} == {Action.LOGIN_FAILED, Action.LOGIN}
    assert (
        AuditEvent.objects.filter(username="county")
        .values_list("region_code", flat=True)
        .distinct()
        .get()
        == COUNTY
    )


def test_it_does_not_show_the_county_auditor_events_of_the_city(clock, client_for, users):
    record(Action.LOGIN, actor=users["supervisor"])

    response = see(clock, client_for, username="supervisor")

    assert AuditEvent.objects.get(username="supervisor").region_code == CITY
    assert shown(response) == []
    assert OTHER_COUNTY not in response.content.decode()

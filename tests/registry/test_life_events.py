"""Major life changes (重大变故) on the elder's file: recorded by a visitor or an
officer, kept to the minute, never twice for one double tap, refused with a
Chinese message naming the field, withdrawn (never deleted) with the reason;
and the set-based reads the visit rules use."""

from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from tanfang import refresh
from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import actions, queries
from tanfang.registry.actions import change_status
from tanfang.registry.identity import make_id_number
from tanfang.registry.life_events import record_life_event, withdraw_life_event
from tanfang.registry.models import HouseholdMember, LifeEvent
from tanfang.registry.registration import register_elder
from tests.conftest import VILLAGE_A, aware

NOW = aware(2026, 11, 23, 10, 0)
BORN = date(1940, 3, 8)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def make_elder(users, regions, sequence=1, village=VILLAGE_A, registrar="liaison_a"):
    return register_elder(
        acting_user=users[registrar],
        id_number=make_id_number("350581", BORN, sequence, "女"),
        name=f"老人{sequence}",
        village=regions[village],
    )


@pytest.fixture
def elder(users, regions):
    return make_elder(users, regions)


def record(users, elder, user="liaison_a", **overrides):
    arguments = {
        "acting_user": users[user],
        "elder": elder,
        "change": "fell",
        "occurred_at": aware(2026, 11, 23, 8, 30),
    }
    arguments.update(overrides)
    return record_life_event(**arguments)


def recorded_events():
    return AuditEvent.objects.filter(action=Action.LIFE_EVENT_RECORDED)


# --- Recording ------------------------------------------------------------------------


def test_it_records_a_fall_with_who_and_when(users, elder):
    event = record(users, elder, note=" 夜间在卫生间跌倒 ")

    stored = LifeEvent.objects.get()
    assert stored == event and not event.replayed
    assert (stored.elder, stored.change, stored.occurred_at) == (
        elder,
        "fell",
        aware(2026, 11, 23, 8, 30),
    )
    assert (stored.note, stored.source) == ("夜间在卫生间跌倒", "file")
    assert (stored.recorded_by, stored.recorded_at) == (users["liaison_a"], NOW)
    assert (stored.withdrawn_at, stored.withdrawn_by, stored.withdraw_reason) == (None, None, "")
    audit = recorded_events().get()
    assert (audit.actor, audit.region_code) == (users["liaison_a"], VILLAGE_A)
    assert (audit.object_type, audit.object_id) == ("lifeevent", str(event.pk))
    assert audit.detail == {
        "elder": elder.pk,
        "change": "fell",
        "label": "跌倒",
        "occurred_at": "2026-11-23T08:30:00+08:00",
        "source": "file",
    }


def test_it_keeps_the_time_to_the_minute(users, elder):
    event = record(users, elder, occurred_at=aware(2026, 11, 23, 8, 30) + timedelta(seconds=42.5))

    event.refresh_from_db()
    assert event.occurred_at == aware(2026, 11, 23, 8, 30)


def test_it_reads_a_time_without_a_zone_as_beijing_time(users, elder):
    event = record(users, elder, occurred_at=datetime(2026, 11, 23, 8, 30))  # noqa: DTZ001

    event.refresh_from_db()
    assert event.occurred_at == aware(2026, 11, 23, 8, 30)
    assert event.occurred_at.utctimetuple()[:5] == (2026, 11, 23, 0, 30)


def test_it_takes_the_source(users, elder):
    event = record(users, elder, source="visit")

    assert LifeEvent.objects.get(pk=event.pk).source == "visit"


def test_it_allows_a_phone_clock_running_a_little_fast(users, elder):
    record(users, elder, occurred_at=NOW + timedelta(minutes=4))

    assert LifeEvent.objects.count() == 1


def test_it_lets_a_visitor_record(users, elder):
    event = record(users, elder, user="visitor_a", source="visit")

    assert LifeEvent.objects.get().recorded_by == users["visitor_a"] == event.recorded_by


def test_it_lets_the_township_record(users, elder):
    record(users, elder, user="township_a")

    assert LifeEvent.objects.get().recorded_by == users["township_a"]


# --- A double tap -----------------------------------------------------------------------


def test_it_returns_the_first_entry_for_a_repeated_submission(users, elder):
    first = record(users, elder)

    again = record(
        users, elder, occurred_at=aware(2026, 11, 23, 8, 30) + timedelta(seconds=30), note="又一次"
    )

    assert again.pk == first.pk
    assert again.replayed
    assert LifeEvent.objects.count() == 1
    assert LifeEvent.objects.get().note == ""
    assert recorded_events().count() == 1


def test_it_records_another_change_at_the_same_minute(users, elder):
    record(users, elder)
    record(users, elder, change="hospitalised")

    assert sorted(LifeEvent.objects.values_list("change", flat=True)) == ["fell", "hospitalised"]


def test_it_records_the_same_change_at_another_minute(users, elder):
    record(users, elder)
    record(users, elder, occurred_at=aware(2026, 11, 23, 8, 31))

    assert LifeEvent.objects.count() == 2


def test_it_records_again_what_was_withdrawn(users, elder):
    first = record(users, elder)
    withdraw_life_event(acting_user=users["liaison_a"], event=first, reason="登记错了")

    again = record(users, elder)

    assert again.pk != first.pk and not again.replayed
    assert LifeEvent.objects.count() == 2


def test_it_keeps_one_entry_per_minute_in_the_database_too(users, elder):
    first = record(users, elder)

    with pytest.raises(IntegrityError), transaction.atomic():
        LifeEvent.objects.create(
            elder=elder,
            change=first.change,
            occurred_at=first.occurred_at,
            recorded_by=users["visitor_a"],
        )


def test_it_returns_the_entry_of_a_submission_that_won_the_race(users, elder, monkeypatch):
    first = record(users, elder)
    found = iter([None, first])
    # The second submission looked before the first one committed.
    monkeypatch.setattr(
        "django.db.models.query.QuerySet.first", lambda queryset: next(found), raising=True
    )

    again = record(users, elder)

    monkeypatch.undo()
    assert again.pk == first.pk and again.replayed
    assert LifeEvent.objects.count() == 1
    assert recorded_events().count() == 1


# --- Refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"change": ""}, "change", "请选择变故类型。"),
        ({"change": "stroke"}, "change", "未知的变故类型：stroke"),
        ({"occurred_at": NOW + timedelta(minutes=6)}, "occurred_at", "发生时间不能晚于现在。"),
        (
            {"occurred_at": aware(1940, 3, 7, 23, 59)},
            "occurred_at",
            "发生时间不能早于出生日期。",
        ),
        ({"occurred_at": None}, "occurred_at", "请填写发生时间。"),
        ({"note": "跌" * 201}, "note", "说明不能超过200字。"),
        ({"note": "跌倒\x00"}, "note", "说明含有无法保存的控制字符，请删除后重新填写。"),
        ({"note": "跌倒\ud800"}, "note", "说明含有无法保存的控制字符，请删除后重新填写。"),
        ({"source": "phone"}, "source", "未知的来源：phone"),
    ],
)
def test_it_refuses_a_bad_entry_and_stores_nothing(users, elder, overrides, field, message):
    with pytest.raises(ValidationError) as refused:
        record(users, elder, **overrides)

    assert refused.value.message_dict == {field: [message]}
    assert not LifeEvent.objects.exists()
    assert not recorded_events().exists()


def test_it_takes_the_day_of_birth_itself(users, elder):
    record(users, elder, occurred_at=aware(1940, 3, 8, 0, 0))

    assert LifeEvent.objects.count() == 1


def test_it_names_every_bad_field_at_once(users, elder):
    with pytest.raises(ValidationError) as refused:
        record(users, elder, change="stroke", note="跌" * 201)

    assert set(refused.value.message_dict) == {"change", "note"}


def test_it_refuses_a_file_no_longer_active(users, elder):
    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status="deceased",
        effective_on=date(2026, 11, 22),
        reason="病逝",
    )

    with pytest.raises(ValidationError) as refused:
        record(users, elder)

    assert refused.value.message_dict == {"elder": ["该老人档案状态为“去世”，不能登记重大变故。"]}
    assert not LifeEvent.objects.exists()


@pytest.mark.parametrize("user", ["liaison_b", "township_b", "county_other"])
def test_it_refuses_a_user_outside_the_elders_area(users, elder, user):
    with pytest.raises(PermissionDenied):
        record(users, elder, user=user)

    assert not LifeEvent.objects.exists()


@pytest.mark.parametrize("user", ["supervisor", "auditor", "sysadmin"])
def test_it_refuses_a_role_that_neither_visits_nor_keeps_files(users, elder, user):
    with pytest.raises(PermissionDenied):
        record(users, elder, user=user)

    assert not LifeEvent.objects.exists()


# --- The file is refreshed at once --------------------------------------------------------


def test_it_refreshes_the_tier_and_tasks_after_recording(users, elder, monkeypatch):
    refreshed = []
    monkeypatch.setattr(refresh, "after_elder_changed", refreshed.append)

    record(users, elder)

    assert refreshed == [elder]


def test_it_does_not_refresh_for_a_repeated_submission(users, elder, monkeypatch):
    record(users, elder)
    refreshed = []
    monkeypatch.setattr(refresh, "after_elder_changed", refreshed.append)

    record(users, elder)

    assert refreshed == []


def test_it_refreshes_the_tier_and_tasks_after_withdrawing(users, elder, monkeypatch):
    event = record(users, elder)
    refreshed = []
    monkeypatch.setattr(refresh, "after_elder_changed", refreshed.append)

    withdraw_life_event(acting_user=users["liaison_a"], event=event, reason="登记错了")

    assert refreshed == [elder]


# --- Withdrawing ------------------------------------------------------------------------


def test_it_withdraws_an_entry_with_who_when_and_why(users, elder, time_machine):
    event = record(users, elder)
    time_machine.move_to(NOW + timedelta(hours=1), tick=False)

    withdraw_life_event(acting_user=users["liaison_a"], event=event, reason=" 登记错了老人 ")

    stored = LifeEvent.objects.get()
    assert (stored.withdrawn_at, stored.withdrawn_by, stored.withdraw_reason) == (
        NOW + timedelta(hours=1),
        users["liaison_a"],
        "登记错了老人",
    )
    assert stored.is_withdrawn()
    audit = AuditEvent.objects.get(action=Action.LIFE_EVENT_WITHDRAWN)
    assert (audit.actor, audit.region_code, audit.object_id) == (
        users["liaison_a"],
        VILLAGE_A,
        str(event.pk),
    )
    assert audit.detail == {"elder": elder.pk, "change": "fell", "reason": "登记错了老人"}


def test_it_keeps_a_withdrawn_entry(users, elder):
    event = record(users, elder)

    withdraw_life_event(acting_user=users["liaison_a"], event=event, reason="登记错了")

    assert LifeEvent.objects.filter(pk=event.pk).exists()


def test_it_changes_nothing_when_withdrawn_again(users, elder):
    event = record(users, elder)
    withdraw_life_event(acting_user=users["liaison_a"], event=event, reason="登记错了")

    withdraw_life_event(acting_user=users["township_a"], event=event, reason="另一个原因")

    stored = LifeEvent.objects.get()
    assert (stored.withdrawn_by, stored.withdraw_reason) == (users["liaison_a"], "登记错了")
    assert AuditEvent.objects.filter(action=Action.LIFE_EVENT_WITHDRAWN).count() == 1


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("  ", "请填写撤销原因。"),
        ("错" * 201, "撤销原因不能超过200字。"),
        ("错\x00", "撤销原因含有无法保存的控制字符，请删除后重新填写。"),
    ],
)
def test_it_refuses_a_withdrawal_without_a_good_reason(users, elder, reason, message):
    event = record(users, elder)

    with pytest.raises(ValidationError) as refused:
        withdraw_life_event(acting_user=users["liaison_a"], event=event, reason=reason)

    assert refused.value.message_dict == {"reason": [message]}
    assert LifeEvent.objects.get().withdrawn_at is None
    assert not AuditEvent.objects.filter(action=Action.LIFE_EVENT_WITHDRAWN).exists()


@pytest.mark.parametrize("user", ["liaison_b", "supervisor"])
def test_it_refuses_a_withdrawal_by_someone_who_may_not(users, elder, user):
    event = record(users, elder)

    with pytest.raises(PermissionDenied):
        withdraw_life_event(acting_user=users[user], event=event, reason="登记错了")

    assert LifeEvent.objects.get().withdrawn_at is None


# --- Reads for the visit rules -------------------------------------------------------------


@pytest.fixture
def two(users, regions):
    return make_elder(users, regions, 1), make_elder(users, regions, 2)


def test_it_lists_the_entries_since_a_moment_oldest_first(users, two, django_assert_num_queries):
    first, second = two
    old = record(users, first, occurred_at=aware(2026, 11, 1, 9, 0))
    fall = record(users, first, occurred_at=aware(2026, 11, 22, 7, 0))
    hospital = record(users, first, change="hospitalised", occurred_at=aware(2026, 11, 20, 9, 0))
    withdrawn = record(users, second, occurred_at=aware(2026, 11, 21, 9, 0))
    withdraw_life_event(acting_user=users["liaison_a"], event=withdrawn, reason="登记错了")
    moved = record(users, second, change="moved", occurred_at=aware(2026, 11, 20, 0, 0))

    with django_assert_num_queries(1):
        found = queries.life_events_of([first.pk, second.pk], since=aware(2026, 11, 20, 0, 0))

    assert found == {first.pk: [hospital, fall], second.pk: [moved]}
    assert old not in found[first.pk]


def test_it_lists_nothing_for_elders_without_entries(two, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert queries.life_events_of([e.pk for e in two], since=aware(2026, 1, 1, 0, 0)) == {}


def test_it_gives_the_beijing_day_of_the_latest_stay_in_hospital(
    users, regions, two, django_assert_num_queries
):
    first, second = two
    third = make_elder(users, regions, 3)
    record(users, first, change="hospitalised", occurred_at=aware(2026, 11, 10, 9, 0))
    # 00:30 in Beijing is still the day before in UTC.
    record(users, first, change="discharged", occurred_at=aware(2026, 11, 20, 0, 30))
    record(users, first, change="fell", occurred_at=aware(2026, 11, 22, 9, 0))
    record(users, second, change="hospitalised", occurred_at=aware(2026, 11, 5, 9, 0))
    later = record(users, second, change="discharged", occurred_at=aware(2026, 11, 21, 9, 0))
    withdraw_life_event(acting_user=users["liaison_a"], event=later, reason="登记错了")
    record(users, third, change="bereaved", occurred_at=aware(2026, 11, 21, 9, 0))

    with django_assert_num_queries(1):
        found = queries.last_hospital_day([first.pk, second.pk, third.pk])

    assert found == {first.pk: date(2026, 11, 20), second.pk: date(2026, 11, 5)}


def test_it_tells_who_lives_alone_by_the_household_on_the_file(
    users, regions, django_assert_num_queries
):
    together, alone, unknown, removed = (make_elder(users, regions, n) for n in range(1, 5))
    HouseholdMember.objects.create(elder=together, name="老伴", relation="spouse")
    HouseholdMember.objects.create(
        elder=together, name="儿子", relation="son", lives_with_elder=True
    )
    HouseholdMember.objects.create(elder=alone, name="女儿", relation="daughter")
    HouseholdMember.objects.create(elder=alone, name="老伴", relation="spouse", deceased=True)
    # The only one living with the elder was taken off the file.
    HouseholdMember.objects.create(
        elder=removed, name="儿子", relation="son", lives_with_elder=True, active=False
    )
    HouseholdMember.objects.create(elder=removed, name="女儿", relation="daughter")
    ids = [together.pk, alone.pk, unknown.pk, removed.pk]

    with django_assert_num_queries(1):
        found = queries.lives_alone(ids)

    assert found == {together.pk: False, alone.pk: True, unknown.pk: None, removed.pk: True}


def test_it_reads_only_the_elders_asked_for(users, regions, two):
    first, second = two
    record(users, second, change="hospitalised")
    HouseholdMember.objects.create(elder=second, name="女儿", relation="daughter")

    assert queries.life_events_of([first.pk], since=aware(2026, 1, 1, 0, 0)) == {}
    assert queries.last_hospital_day([first.pk]) == {}
    assert queries.lives_alone([first.pk]) == {first.pk: None}


def test_it_registers_the_life_threatening_illness(users, regions):
    elder = register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", BORN, 9, "男"),
        name="蔡阿伯",
        village=regions[VILLAGE_A],
        life_threatening_illness=True,
    )

    elder.refresh_from_db()
    assert elder.life_threatening_illness is True


def test_it_changes_the_life_threatening_illness(users, elder):
    changed = actions.update_elder(
        acting_user=users["liaison_a"], elder=elder, changes={"life_threatening_illness": True}
    )

    elder.refresh_from_db()
    assert changed == ["life_threatening_illness"]
    assert elder.life_threatening_illness is True

"""A county chooses its rules and the stored tiers follow; ages crossing 80 are
picked up by the daily run; officers override a tier with a reason; declared
events apply to their own subtree only."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from tanfang.audit.models import Action, AuditEvent
from tanfang.jurisdiction.actions import choose_profile, declare_event, end_event
from tanfang.jurisdiction.models import PolicyChoice
from tanfang.jurisdiction.queries import events_for
from tanfang.policy.problems import OverridesRefused
from tanfang.registry.actions import confirm_categories, override_tier, update_elder
from tanfang.registry.identity import make_id_number
from tanfang.registry.registration import register_elder
from tests.conftest import COUNTY, TOWNSHIP_A, TOWNSHIP_B, VILLAGE_A, VILLAGE_B, aware


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def elder(users, regions):
    elder = register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", date(1946, 11, 24), 3, "女"),  # 80 tomorrow
        name="林阿婆",
        village=regions[VILLAGE_A],
        ability="moderate",
    )
    confirm_categories(acting_user=users["liaison_a"], elder=elder, categories=["独居"])
    elder.refresh_from_db()
    return elder


def test_without_a_choice_the_national_rules_apply(elder):
    assert (elder.tier_profile, elder.tier) == ("national", "key")
    assert elder.tier_reasons == ["失能老年人（每月至少探访1次）"]


def test_a_county_switching_profiles_changes_the_stored_tiers(users, regions, elder):
    changed = choose_profile(acting_user=users["county"], region=regions[COUNTY], profile="jining")

    elder.refresh_from_db()
    assert changed == 1
    assert (elder.tier_profile, elder.tier, elder.tier_reasons) == (
        "jining",
        "secondary",
        ["中度失能"],
    )
    event = AuditEvent.objects.get(action=Action.POLICY_CHOSEN)
    assert event.detail["profile"] == "jining"

    choose_profile(acting_user=users["county"], region=regions[COUNTY], profile="fujian-shishi")
    elder.refresh_from_db()
    assert (elder.tier, elder.tier_reasons) == ("key", ["中度以上失能"])


def test_a_township_cannot_choose_and_an_open_number_is_checked(users, regions):
    with pytest.raises(ValidationError):
        choose_profile(
            acting_user=users["township_a"], region=regions[TOWNSHIP_A], profile="jining"
        )
    with pytest.raises(OverridesRefused) as raised:
        choose_profile(
            acting_user=users["county"],
            region=regions[COUNTY],
            profile="jining",
            overrides={"advanced_age": 85, "key_visits": "2"},
        )
    assert raised.value.parameters() == [
        ("advanced_age", "“高龄（周岁）”由文件明确规定，不能调整"),
        ("key_visits", "“重点人群每半月探访次数”应为 1 至 4 之间的整数"),
    ]
    assert not PolicyChoice.objects.exists()
    # The refusal is on record, though nothing was stored.
    refused = AuditEvent.objects.get(action=Action.POLICY_REFUSED)
    assert (refused.actor, refused.region_code) == (users["county"], COUNTY)
    assert refused.detail["overrides"] == {"advanced_age": "85", "key_visits": "'2'"}


def test_a_fact_change_recomputes_the_tier(users, regions, elder):
    choose_profile(acting_user=users["county"], region=regions[COUNTY], profile="jining")

    update_elder(acting_user=users["liaison_a"], elder=elder, changes={"ability": "severe"})

    elder.refresh_from_db()
    assert (elder.tier, elder.tier_reasons) == ("key", ["重度失能"])


def test_the_daily_run_picks_up_the_80th_birthday(users, regions, elder, time_machine):
    choose_profile(acting_user=users["county"], region=regions[COUNTY], profile="jining")
    update_elder(acting_user=users["liaison_a"], elder=elder, changes={"ability": "intact"})
    elder.refresh_from_db()
    assert elder.tier == "general"

    time_machine.move_to(aware(2026, 11, 24, 1, 0), tick=False)
    call_command("refresh_tiers")

    elder.refresh_from_db()
    assert (elder.tier, elder.tier_reasons) == ("key", ["年满80周岁"])


# 004_1657df0ed1e05604.txt 二(一): the classification, adjusted as things change.
CITED = {"document": "004_1657df0ed1e05604.txt", "section": "二(一)"}


def test_an_officer_overrides_a_tier_with_a_reason(users, elder):
    with pytest.raises(ValidationError) as raised:
        override_tier(
            acting_user=users["township_a"], elder=elder, tier="general", reason="", **CITED
        )
    assert raised.value.message_dict == {"reason": ["请填写调整理由。"]}

    override_tier(
        acting_user=users["township_a"],
        elder=elder,
        tier="general",
        reason="已由子女接回同住",
        **CITED,
    )

    elder.refresh_from_db()
    assert (elder.tier, elder.tier_override) == ("key", "general")
    assert elder.tier_override_by == users["township_a"]
    assert elder.tier_override_citation == "004_1657df0ed1e05604.txt 二(一)"
    with pytest.raises(PermissionDenied):
        override_tier(acting_user=users["township_b"], elder=elder, tier="key", reason="x")


def test_the_file_page_shows_the_tier_and_why(client_for, elder):
    page = client_for("liaison_a").get(f"/elders/{elder.pk}/").content.decode()

    assert "分级：重点对象" in page
    assert "失能老年人（每月至少探访1次）" in page
    assert "每月至少探访1次" in page


def test_an_event_on_one_township_does_not_touch_another(users, regions):
    declare_event(
        acting_user=users["township_a"],
        region=regions[TOWNSHIP_A],
        kind="heat",
        title="高温橙色预警",
        starts_on=date(2026, 7, 20),
        ends_on=date(2026, 7, 25),
    )

    assert events_for(VILLAGE_A, date(2026, 7, 1), date(2026, 7, 31)).count() == 1
    assert events_for(VILLAGE_B, date(2026, 7, 1), date(2026, 7, 31)).count() == 0
    assert regions[VILLAGE_B].code.startswith(TOWNSHIP_B[:9])
    assert events_for(VILLAGE_A, date(2026, 8, 1), date(2026, 8, 31)).count() == 0


def test_a_declared_event_is_checked_and_ended(users, regions):
    with pytest.raises(ValidationError) as raised:
        declare_event(
            acting_user=users["county"],
            region=regions[COUNTY],
            kind="meteor",
            title="",
            starts_on=date(2026, 7, 25),
            ends_on=date(2026, 7, 20),
        )
    assert set(raised.value.message_dict) == {"kind", "title", "ends_on"}

    event = declare_event(
        acting_user=users["county"],
        region=regions[COUNTY],
        kind="typhoon",
        title="台风“海葵”",
        starts_on=date(2026, 11, 20),
        ends_on=date(2026, 11, 30),
    )
    end_event(acting_user=users["county"], event=event)
    event.refresh_from_db()
    assert event.ends_on == date(2026, 11, 23)
    with pytest.raises(ValidationError):
        end_event(acting_user=users["county"], event=event)
    with pytest.raises(PermissionDenied):
        declare_event(
            acting_user=users["township_b"],
            region=regions[TOWNSHIP_A],
            kind="heat",
            title="x",
            starts_on=date(2026, 7, 1),
            ends_on=date(2026, 7, 2),
        )


def test_a_past_month_uses_the_choice_then_in_force(users, regions, time_machine):
    # POLICIES.md: last year's reports are computed with last year's rules.
    from tanfang.jurisdiction.tiers import choice_for

    time_machine.move_to(aware(2026, 3, 1, 10, 0), tick=False)
    choose_profile(acting_user=users["county"], region=regions[COUNTY], profile="sichuan")
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)
    choose_profile(acting_user=users["county"], region=regions[COUNTY], profile="jining")

    assert choice_for(VILLAGE_A, date(2026, 10, 31))[0] == "sichuan"
    assert choice_for(VILLAGE_A, date(2026, 11, 23))[0] == "jining"
    assert choice_for(VILLAGE_A, date(2026, 2, 28))[0] == "national"
    assert PolicyChoice.objects.filter(region_id=COUNTY).count() == 2

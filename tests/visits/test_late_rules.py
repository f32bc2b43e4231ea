"""When a month locks, and when a visit is a late entry (补录): the rules'
`close_day` (default the 5th, a county may set its own), checked like every
other number of a profile, and the moment of the lock in Asia/Shanghai
(issue 16 "Closed months"; docs/统计口径.md §13, docs/规则配置.md 3.4)."""

import tomllib
from datetime import date, datetime
from pathlib import Path

import pytest

from tanfang.jurisdiction.models import PolicyChoice
from tanfang.months import zone
from tanfang.policy import engine, schema
from tanfang.visits import closing
from tests.conftest import COUNTY, OTHER_VILLAGE, VILLAGE_A

NOVEMBER = date(2026, 11, 1)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone())


def choose(users, profile: str, **overrides: int) -> None:
    PolicyChoice.objects.create(
        region_id=COUNTY,
        since=date(2023, 1, 1),
        profile=profile,
        overrides=overrides,
        changed_by=users["county"],
    )


# --- The rule, pure --------------------------------------------------------------------------


def test_it_locks_a_month_at_midnight_of_the_close_day_in_shanghai():
    # 5 December 00:00 in Shanghai is 4 December 16:00 UTC.
    assert closing.locks_at(NOVEMBER, 5) == at(2026, 12, 5)
    assert closing.locks_at(date(2026, 12, 17), 5) == at(2027, 1, 5)
    assert closing.locks_at(NOVEMBER, 28) == at(2026, 12, 28)


def test_every_built_in_profile_locks_on_the_5th_unless_a_county_says_otherwise():
    for name in engine.profile_names():
        profile = engine.load(name)
        assert {v.close_day for v in profile.versions} == {5}, name
        assert engine.close_day(profile, NOVEMBER, {}) == 5
        assert engine.close_day(profile, NOVEMBER, {"close_day": 20}) == 20
        # A number the profile refuses leaves its own day.
        assert engine.close_day(profile, NOVEMBER, {"close_day": 40}) == 5


def test_linzis_20th_is_a_visit_deadline_not_the_close():
    # 003_fe235aaa23e67560.txt 五(二): 各镇街道应于每月20日前完成巡访.
    linzi = engine.load("linzi")
    version = linzi.version_on(NOVEMBER)
    assert {rule.deadline_day for tier in version.tiers for rule in tier.rules} == {20}
    assert version.close_day == 5


def test_a_profile_without_close_day_locks_on_the_default_day():
    data = tomllib.loads((Path(engine.PROFILES_DIR) / "national.toml").read_text(encoding="utf-8"))
    for version in data["versions"]:
        del version["close_day"]
        del version["params"]["close_day"]
    profile = engine.parse("bare", data)
    assert profile.versions[0].close_day == engine.DEFAULT_CLOSE_DAY == 5


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (29, "应为 1 至 28 之间的整数（现为 29）"),
        (0, "应为 1 至 28 之间的整数（现为 0）"),
        ("@lock_day", "参数“@lock_day”未在本版本的 params 中声明"),
        ("5", "应为整数，或以 @ 开头的参数名"),
    ],
)
def test_it_refuses_a_close_day_out_of_range_or_unknown(value, message):
    data = tomllib.loads((Path(engine.PROFILES_DIR) / "national.toml").read_text(encoding="utf-8"))
    data["versions"][0]["close_day"] = value
    with pytest.raises(engine.ConfigError) as refused:
        engine.parse("bad", data)
    assert message in refused.value.words()
    assert "versions[0].close_day" in refused.value.words()


def test_a_county_may_choose_a_close_day_from_1_to_28_only():
    profile = engine.load("fujian-shishi")
    declared: schema.ProfileIn = profile.raw
    assert schema.validate_overrides("fujian-shishi.toml", declared, 0, {"close_day": 10}) == []
    for bad in (0, 29, "10", True):
        (problem,) = schema.validate_overrides(
            "fujian-shishi.toml", declared, 0, {"close_day": bad}
        )
        assert problem.zh == "“上月数据锁定日（每月几日）”应为 1 至 28 之间的整数"


# --- A county's lock, and a visit's lateness ------------------------------------------------


def test_a_county_without_a_choice_locks_on_the_5th(regions):
    assert closing.month_locks_at(VILLAGE_A, NOVEMBER) == at(2026, 12, 5)


def test_a_county_that_chose_the_10th_locks_then_and_its_neighbour_does_not(users, regions):
    choose(users, "fujian-shishi", close_day=10)

    assert closing.close_day_of(VILLAGE_A, NOVEMBER) == 10
    assert closing.month_locks_at(VILLAGE_A, NOVEMBER) == at(2026, 12, 10)
    assert closing.month_locks_at(OTHER_VILLAGE, NOVEMBER) == at(2026, 12, 5)


def test_a_visit_entered_before_the_lock_is_in_time_even_a_second_before(regions):
    # Issue 16: 14 November entered on 4 December counts; on 7 December it waits.
    assert closing.lateness(VILLAGE_A, date(2026, 11, 14), at(2026, 12, 4, 10, 0)) is None
    assert closing.lateness(VILLAGE_A, date(2026, 11, 14), at(2026, 12, 4, 23, 59, 59)) is None
    late = closing.lateness(VILLAGE_A, date(2026, 11, 14), at(2026, 12, 5))
    assert late == closing.Lateness(NOVEMBER, at(2026, 12, 5))
    assert late.words() == "11月的数字已于12月5日0时锁定"
    assert closing.lateness(VILLAGE_A, date(2026, 11, 14), at(2026, 12, 7, 9, 0)) is not None

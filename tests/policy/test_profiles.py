"""Each profile's tiers and visit rules (POLICIES.md), with the boundaries: the
80th birthday (the day before, the day), moderate vs mild disability, grade 2 vs
3, 完全失能, Jining's not-assessed variants, dementia."""

from datetime import date

import pytest

from tanfang.policy import engine
from tanfang.policy.engine import Facts, Mode, Period

DAY = date(2026, 11, 23)
EIGHTY_TODAY = date(1946, 11, 23)
EIGHTY_TOMORROW = date(1946, 11, 24)
SEVENTY = date(1956, 5, 1)


def facts(birth=SEVENTY, categories=(), **kwargs):
    return Facts(birth_date=birth, categories=frozenset(categories), **kwargs)


def test_all_five_profiles_load():
    assert engine.profile_names() == ["fujian-shishi", "jining", "linzi", "national", "sichuan"]


# fujian-shishi and sichuan: 000_4970ff49482a0570.txt 四(二), 001_35a01bee4c628ebd.txt 二(四)1:
# 孤寡、高龄独居、重（中）度失能、重度残疾 are key objects, every half-month a home visit.
KEY_CASES = [
    (facts(categories=["孤寡"]), "key", "孤寡老年人"),
    (facts(EIGHTY_TODAY, ["独居"]), "key", "年满80周岁且独居"),
    (facts(EIGHTY_TOMORROW, ["独居"]), "general", "不属于重点对象的特殊困难老年人"),
    (facts(EIGHTY_TODAY, ["空巢"]), "general", "不属于重点对象的特殊困难老年人"),
    (facts(ability="moderate"), "key", "中度以上失能"),
    (facts(ability="mild"), "general", "不属于重点对象的特殊困难老年人"),
    (facts(ability="complete"), "key", "中度以上失能"),
    (facts(ability="bedridden"), "key", "中度以上失能"),
    (facts(disability_grade=2), "key", "重度残疾（一、二级）"),
    (facts(disability_grade=3), "general", "不属于重点对象的特殊困难老年人"),
]


@pytest.mark.parametrize("name", ["fujian-shishi", "sichuan"])
@pytest.mark.parametrize(("elder", "tier", "reason"), KEY_CASES)
def test_fujian_and_sichuan_tiers(name, elder, tier, reason):
    result = engine.evaluate(engine.load(name), elder, DAY)

    assert (result.tier, result.reasons[0]) == (tier, reason)
    expected = Period.HALF_MONTH if tier == "key" else Period.MONTH
    assert (result.rule.period, result.rule.count, result.rule.modes) == (
        expected,
        1,
        frozenset({Mode.HOME}),
    )


def test_every_reason_that_holds_is_given():
    result = engine.evaluate(
        engine.load("fujian-shishi"),
        facts(EIGHTY_TODAY, ["孤寡", "独居"], ability="severe"),
        DAY,
    )

    assert result.reasons == ("孤寡老年人", "年满80周岁且独居", "中度以上失能")


# jining: 004_1657df0ed1e05604.txt 二(一)1–3, in the document's words.
GENERAL = "年龄<80岁，轻度失能或身体健康"
JINING = [
    (facts(EIGHTY_TODAY), "key", "年满80周岁"),
    (facts(EIGHTY_TOMORROW), "general", GENERAL),
    (facts(disability_grade=2), "key", "重残（残疾等级1—2级）"),
    (facts(disability_grade=3), "general", GENERAL),
    (facts(ability="severe"), "key", "重度失能"),
    (facts(ability="complete"), "key", "完全失能"),
    (
        facts(ability="bedridden"),
        "key",
        "未开展能力评估，因身体原因长期卧床（按重度失能归类）",
    ),
    (facts(dementia=True), "key", "失智老年人"),
    (facts(ability="moderate"), "secondary", "中度失能"),
    (
        facts(ability="impaired_mobility"),
        "secondary",
        "未开展能力评估，因身体原因行动不便（按中度失能归类）",
    ),
    (facts(ability="mild"), "general", GENERAL),
    (facts(ability="intact"), "general", GENERAL),
]


@pytest.mark.parametrize(("elder", "tier", "reason"), JINING)
def test_jining_three_tiers(elder, tier, reason):
    result = engine.evaluate(engine.load("jining"), elder, DAY)

    assert (result.tier, result.reasons[0]) == (tier, reason)


def test_jining_remote_modes_count_only_for_healthy_self_caring_elders():
    # 004_1657df0ed1e05604.txt 二(四)2
    jining = engine.load("jining")
    healthy = engine.evaluate(jining, facts(ability="intact", health="good"), DAY)
    frail = engine.evaluate(jining, facts(ability="mild", health="poor"), DAY)

    assert Mode.PHONE in healthy.rule.modes
    assert frail.rule.modes == frozenset({Mode.HOME})
    assert frail.notes == ("身体状况不佳或不能自理，须入户探访，电话、线上、路遇不计入",)
    assert frail.rule.home_needs_consent


def test_a_home_visit_without_consent_is_noted():
    result = engine.evaluate(
        engine.load("jining"), facts(ability="severe", consents_to_home_visits=False), DAY
    )

    assert any("未同意入户探访" in note for note in result.notes)


# linzi: 003_fe235aaa23e67560.txt 五(二): 高龄独居、重残失能 key — 失能 of every
# grade, as the document does not limit it (二(五) names 失能 as such); the 20th.
@pytest.mark.parametrize(
    ("elder", "tier"),
    [
        (facts(EIGHTY_TODAY, ["独居"]), "key"),
        (facts(EIGHTY_TOMORROW, ["独居"]), "general"),
        (facts(disability_grade=2), "key"),
        (facts(disability_grade=3), "general"),
        (facts(ability="moderate"), "key"),
        (facts(ability="mild"), "key"),
        (facts(ability="intact"), "general"),
        (facts(dementia=True), "general"),
    ],
)
def test_linzi_tiers_and_the_20th(elder, tier):
    result = engine.evaluate(engine.load("linzi"), elder, DAY)

    assert result.tier == tier
    assert all(rule.deadline_day == 20 for rule in result.rules)
    if tier == "general":
        assert Mode.PHONE in result.rule.modes
    else:
        # 五(二)、四: 以上门巡访为主 — mostly at home: one home visit and one more
        # at home, by phone or by video each month.
        assert [(r.key, r.count, r.modes) for r in result.rules] == [
            ("home", 1, frozenset({Mode.HOME})),
            ("regular", 1, frozenset({Mode.HOME, Mode.PHONE, Mode.VIDEO})),
        ]


def test_national_disabled_elders_are_visited_monthly():
    # 002_8b4fd75972db9bc5.txt 二(四): 对失能的特殊困难老年人，每月探访关爱不少于一次
    national = engine.load("national")

    result = engine.evaluate(national, facts(ability="mild"), DAY)

    assert (result.tier, result.rule.period, result.rule.count) == ("key", Period.MONTH, 1)
    assert engine.evaluate(national, facts(), DAY).tier == "general"


def test_a_29_february_birthday_turns_80_on_1_march_in_a_common_year():
    leap = facts(date(1944, 2, 29), ["独居"])
    fujian = engine.load("fujian-shishi")

    assert engine.evaluate(fujian, leap, date(2024, 2, 28)).tier == "general"
    assert engine.evaluate(fujian, leap, date(2024, 2, 29)).tier == "key"
    assert engine.age_on(date(1944, 2, 29), date(2025, 2, 28)) == 80
    assert engine.age_on(date(1948, 2, 29), date(2027, 2, 28)) == 78
    assert engine.age_on(date(1948, 2, 29), date(2027, 3, 1)) == 79


def test_a_county_may_change_an_open_number_but_not_a_written_one():
    fujian = engine.load("fujian-shishi")
    elder = facts(date(1944, 1, 1), ["独居"])  # 82

    assert engine.evaluate(fujian, elder, DAY).tier == "key"
    changed = engine.evaluate(fujian, elder, DAY, {"advanced_age": 85})
    assert changed.tier == "general"
    with pytest.raises(engine.ConfigError, match="fixed by the document") as fixed:
        engine.evaluate(engine.load("jining"), elder, DAY, {"advanced_age": 85})
    assert "由文件明确规定，不能调整" in fixed.value.words()
    # A number the version does not have plays no part (it may belong to another version).
    assert engine.evaluate(fujian, elder, DAY, {"nonsense": 1}).tier == "key"
    for bad in ("85", None, -3, True, 85.0, 200):
        with pytest.raises(engine.ConfigError) as refused:
            engine.evaluate(fujian, elder, DAY, {"advanced_age": bad})
        assert "“高龄（周岁）”应为 60 至 100 之间的整数" in refused.value.words()


def test_every_open_number_is_marked_with_its_citation():
    for name in engine.profile_names():
        for param in engine.open_params(engine.load(name), DAY):
            assert param.cite and param.label, (name, param.name)


def test_a_past_day_uses_the_version_then_in_force():
    data = {
        "title": "测试",
        "checklist": "fujian",
        "versions": [
            _version(date(2023, 10, 1), per="month"),
            _version(date(2026, 7, 1), per="half_month"),
        ],
    }
    profile = engine.parse("test", data)

    assert engine.evaluate(profile, facts(), date(2026, 6, 30)).rule.period == Period.MONTH
    assert engine.evaluate(profile, facts(), date(2026, 7, 1)).rule.period == Period.HALF_MONTH
    with pytest.raises(ValueError, match="无规则"):
        engine.evaluate(profile, facts(), date(2023, 9, 30))


def _version(since, per):
    return {
        "since": since,
        "document": "000_4970ff49482a0570.txt",
        "tiers": [
            {
                "key": "general",
                "label": "一般对象",
                "cite": "000_4970ff49482a0570.txt 四(二)",
                "otherwise": "其他",
                "visits": [
                    {
                        "per": per,
                        "count": 1,
                        "modes": ["home"],
                        "cite": "000_4970ff49482a0570.txt 四(二)",
                    }
                ],
            }
        ],
        "festivals": {
            "mandatory": False,
            "cite": "000_4970ff49482a0570.txt 四(二)",
            "windows": {"春节": [7, 3]},
        },
    }


# Each profile's first version starts on the day its document took effect
# (the dates the documents were issued: 000_… 2023-09-28, 001_… 2023-10-30,
# 002_… 2022-09-27, 003_… 2022-08-29, 004_… 2023-08-15).
@pytest.mark.parametrize(
    ("name", "since"),
    [
        ("fujian-shishi", date(2023, 9, 28)),
        ("sichuan", date(2023, 10, 30)),
        ("national", date(2022, 9, 27)),
        ("linzi", date(2022, 8, 29)),
        ("jining", date(2023, 8, 15)),
    ],
)
def test_each_profile_starts_when_its_document_took_effect(name, since):
    profile = engine.load(name)

    assert profile.versions[0].since == since
    assert profile.versions[0].document().effective_on == since


def test_linzi_surges_come_from_the_national_guidance_not_its_own_document():
    # 003_fe235aaa23e67560.txt names no festival visits; 002_8b4fd75972db9bc5.txt
    # 二(五) applies from 2022-09-27.
    linzi = engine.load("linzi")

    first, second = linzi.versions
    assert (first.festival_rule, dict(first.event_rules)) == (None, {})
    assert second.since == date(2022, 9, 27)
    assert second.festival_rule is not None
    assert second.festival_rule.cite.startswith("002_8b4fd75972db9bc5.txt 二(五)")
    assert not second.festival_rule.mandatory


def test_only_sichuan_makes_festival_and_weather_visits_mandatory():
    # 001_35a01bee4c628ebd.txt 二(五)2 必须开展; the others 适当增加.
    for name in engine.profile_names():
        version = engine.load(name).versions[-1]
        assert version.festival_rule is not None
        assert version.festival_rule.mandatory == (name == "sichuan"), name
        weather = [version.event_rules[k] for k in ("heat", "cold", "typhoon", "flood")]
        assert all(rule.mandatory == (name == "sichuan") for rule in weather), name
        assert not version.event_rules[engine.EventKind.EPIDEMIC].mandatory


def test_jining_epidemic_visits_are_home_visits():
    # 004_1657df0ed1e05604.txt 二(四)2: 入户探访适用于受公共卫生事件等影响的老年人.
    epidemic = engine.load("jining").versions[-1].event_rules[engine.EventKind.EPIDEMIC]

    assert epidemic.modes == frozenset({Mode.HOME})
    assert not epidemic.remote_counts_as_home


def test_jining_uses_its_own_checklist_of_eight_service_contents():
    # 004_1657df0ed1e05604.txt 二(三)1–8
    assert engine.load("jining").checklist == "jining"

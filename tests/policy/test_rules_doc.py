"""docs/规则配置.md, the guide a county reads to write its own rules, kept true:
every complete example in it loads, and every key of the schema, every
condition key and every life change is explained in it."""

import re
import tomllib
from pathlib import Path
from typing import get_args

import pytest

from tanfang.policy import engine, schema
from tanfang.policy.changes import Change
from tanfang.policy.facts import CONDITION_FACTS
from tanfang.policy.festivals import Festival

DOC = Path(__file__).resolve().parents[2] / "docs" / "规则配置.md"
TEXT = DOC.read_text(encoding="utf-8")
TOML_BLOCKS = re.findall(r"^```toml\n(.*?)^```", TEXT, re.S | re.M)
# A block with `[[versions]]` is a whole profile; the others are fragments.
PROFILES = [block for block in TOML_BLOCKS if "[[versions]]" in block]
MODELS = [
    schema.ProfileIn,
    schema.VersionIn,
    schema.ParamIn,
    schema.TierIn,
    schema.ConditionIn,
    schema.VisitsIn,
    schema.FestivalsIn,
    schema.SurgeIn,
    schema.TriggerIn,
    schema.DocumentIn,
]


def named(word: str) -> bool:
    """`word` stands in the guide, in backticks or as a word of its own."""
    if f"`{word}`" in TEXT:
        return True
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])", TEXT) is not None


def test_it_has_the_complete_examples():
    # The minimal file, 某某县 and Linzi.
    assert len(PROFILES) >= 3
    assert any("[[documents]]" in block and "[[versions.triggers]]" in block for block in PROFILES)


@pytest.mark.parametrize("index", range(len(PROFILES)))
def test_it_parses_every_complete_example(index):
    profile = engine.parse(f"example-{index}", tomllib.loads(PROFILES[index]))
    assert profile.versions


def test_it_parses_the_made_up_county_as_described():
    block = next(b for b in PROFILES if "moumou-2025" in b)
    profile = engine.parse("moumou", tomllib.loads(block))
    version = profile.versions[-1]
    assert [t.rule.period for t in version.tiers] == [
        engine.Period.WEEK,
        engine.Period.MONTH,
        engine.Period.QUARTER,
    ]
    fall = version.triggers[0]
    assert fall.changes == {Change.FELL, Change.DISCHARGED}
    assert fall.within_hours == 24
    assert fall.modes == {engine.Mode.HOME}
    assert {p.name for p in version.params.values() if p.default and p.min is not None}


@pytest.mark.parametrize("key", sorted(CONDITION_FACTS))
def test_it_explains_every_condition_key(key):
    assert named(key)


@pytest.mark.parametrize(
    ("model", "field"),
    [(model.__name__, field) for model in MODELS for field in model.model_fields],
)
def test_it_explains_every_field_of_the_schema(model, field):
    assert named(field), f"{model}.{field}"


@pytest.mark.parametrize("change", [c.value for c in Change])
def test_it_explains_every_life_change(change):
    assert named(change)


@pytest.mark.parametrize(
    "value",
    [
        *get_args(schema.ModeName),
        *get_args(schema.PeriodName),
        *get_args(schema.EventName),
        *get_args(schema.AbilityName),
        *get_args(schema.HealthName),
        *get_args(schema.CategoryName),
        *(f.value for f in Festival),
    ],
)
def test_it_lists_every_allowed_value(value):
    assert named(value)

"""`manage.py check` (and so every deployment and CI) refuses broken rules: every
policy profile and every visit checklist is validated against its declared
schema, and every profile's checklist must exist (docs/规则配置.md)."""

from collections.abc import Sequence
from typing import Any

from django.core import checks

from tanfang.policy import engine
from tanfang.policy.problems import ConfigError, Problem
from tanfang.visits import checklist


def rule_problems() -> list[Problem]:
    """Every problem of the profiles and checklists in use."""
    problems = [*engine.check_all(), *checklist.check_all()]
    names = set(checklist.names())
    for name in engine.profile_names():
        try:
            profile = engine.load(name)
        except ConfigError:
            continue  # reported above
        if profile.checklist not in names:
            problems.append(
                Problem(
                    f"{name}.toml",
                    "checklist",
                    f"没有名为“{profile.checklist}”的探访记录表（可选：{'、'.join(sorted(names))}）",
                    f"no checklist {profile.checklist!r} (have: {', '.join(sorted(names))})",
                )
            )
    return problems


@checks.register("tanfang")
def check_rules(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    return [
        checks.Error(problem.log_line(), hint=problem.words(), id="tanfang.E001")
        for problem in rule_problems()
    ]

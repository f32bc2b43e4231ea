"""The stable interfaces of the policy engine: `manage.py policy_eval` (JSON lines
in, JSON lines out) and `POST /api/v1/policy/evaluate`."""

import io
import json
import sys
from datetime import date

import pytest
from django.core.management import call_command

from tanfang.policy.engine import age_on

LINES = [
    {"id": "a", "birth_date": "1946-11-23", "categories": ["独居"]},
    {"id": "b", "birth_date": "1946-11-24", "categories": ["独居"]},
    {"birth_date": "1950-01-01", "ability": "moderate"},
]


def run(monkeypatch, lines, *args):
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    status = 0
    try:
        call_command("policy_eval", *args)
    except SystemExit as exit_:
        status = exit_.code
    return [json.loads(line) for line in out.getvalue().splitlines()], status


def test_it_answers_each_line_in_order(monkeypatch):
    results, status = run(
        monkeypatch,
        [json.dumps(line, ensure_ascii=False) for line in LINES],
        "--profile",
        "fujian-shishi",
        "--date",
        "2026-11-23",
    )

    assert status == 0
    assert [(r.get("id"), r["tier"]) for r in results] == [
        ("a", "key"),
        ("b", "general"),
        (None, "key"),
    ]
    assert results[0]["reasons"] == ["年满80周岁且独居"]
    assert results[0]["visit_rule"]["period"] == "half_month"
    assert results[0]["visit_rule"]["modes"] == ["home"]


def test_a_bad_line_is_reported_and_the_rest_answered(monkeypatch):
    results, status = run(
        monkeypatch,
        [
            "not json",
            json.dumps({"birth_date": "1950-13-01"}),
            json.dumps({"birth_date": "1950-01-01", "ability": "weak"}),
            json.dumps({"birth_date": "1950-01-01", "categories": ["贫困"]}, ensure_ascii=False),
            json.dumps({"birth_date": "1950-01-01", "colour": "red"}),
            json.dumps(LINES[0], ensure_ascii=False),
        ],
        "--profile",
        "jining",
        "--date",
        "2026-11-23",
    )

    assert status == 1
    assert results[0] == {"line": 1, "error": "不是有效的 JSON"}
    assert [r.get("field") for r in results[1:5]] == [
        "birth_date",
        "ability",
        "categories",
        "colour",
    ]
    assert results[5]["tier"] == "key"


def test_an_unknown_profile_is_refused(monkeypatch):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        run(monkeypatch, [], "--profile", "mars", "--date", "2026-11-23")


def test_the_api_evaluates_with_overrides(client_for):
    liaison = client_for("liaison_a")
    body = {
        "profile": "fujian-shishi",
        "date": "2026-11-23",
        "facts": {"birth_date": "1944-01-01", "categories": ["独居"]},
    }

    plain = liaison.post("/api/v1/policy/evaluate", body, content_type="application/json")
    assert plain.status_code == 200
    assert (plain.json()["tier"], plain.json()["reasons"]) == ("key", ["年满80周岁且独居"])
    assert age_on(date(1944, 1, 1), date(2026, 11, 23)) == 82

    tuned = liaison.post(
        "/api/v1/policy/evaluate",
        {**body, "overrides": {"advanced_age": 85}},
        content_type="application/json",
    )
    assert tuned.json()["tier"] == "general"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"profile": "mars"}, "profile"),
        ({"facts": {"birth_date": "yesterday"}}, "birth_date"),
        ({"facts": {"birth_date": "1950-01-01", "disability_grade": 7}}, "disability_grade"),
        ({"date": "2020-01-01"}, "date"),
    ],
)
def test_the_api_names_the_bad_field(client_for, change, field):
    body = {
        "profile": "fujian-shishi",
        "date": "2026-11-23",
        "facts": {"birth_date": "1944-01-01"},
        **change,
    }

    response = client_for("county").post(
        "/api/v1/policy/evaluate", body, content_type="application/json"
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field


def test_the_api_refuses_anonymous_users(client, db):
    response = client.post("/api/v1/policy/evaluate", {}, content_type="application/json")
    assert response.status_code == 401


# A county's numbers are checked against the profile's declaration (min/max,
# integer, open): 400 naming the parameter and its range, never a 500 and never
# a silently dropped test.
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"advanced_age": "85"}, "“高龄（周岁）”应为 60 至 100 之间的整数"),
        ({"advanced_age": None}, "“高龄（周岁）”应为 60 至 100 之间的整数"),
        ({"advanced_age": -3}, "“高龄（周岁）”应为 60 至 100 之间的整数"),
        ({"advanced_age": True}, "“高龄（周岁）”应为 60 至 100 之间的整数"),
        ({"festival_before": 99}, "“节日探访窗口：节前天数”应为 0 至 30 之间的整数"),
        ({"nonsense": 1}, "不能调整的参数“nonsense”"),
    ],
)
def test_the_api_refuses_bad_numbers_with_400(client_for, overrides, message):
    body = {
        "profile": "fujian-shishi",
        "date": "2026-11-23",
        "facts": {"birth_date": "1944-01-01", "categories": ["独居"]},
        "overrides": overrides,
    }

    response = client_for("county").post(
        "/api/v1/policy/evaluate", body, content_type="application/json"
    )

    assert response.status_code == 400
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", "payload", "overrides", next(iter(overrides))]
    assert message in detail["msg"]

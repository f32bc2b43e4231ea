"""`manage.py policy_eval --profile P --date D`: facts as JSON lines on stdin,
results as JSON lines on stdout, one per input line, in order (README.md
"Policy engine"). A bad line gives {"line": n, "error": ..., "field": ...}
and the command goes on; the exit status is 1 if any line was bad."""

import json
import sys
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tanfang.policy import engine
from tanfang.policy.facts import FactsError, parse_facts


class Command(BaseCommand):
    help = "Evaluate tiers and visit rules for facts read as JSON lines on stdin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--profile", required=True, choices=engine.profile_names())
        parser.add_argument("--date", required=True, type=date.fromisoformat)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            profile = engine.load(options["profile"])
            profile.version_on(options["date"])
        except engine.ConfigError as error:
            raise CommandError(engine.problem_of(options["profile"], error)) from error
        except ValueError as error:
            raise CommandError(str(error)) from error
        out = sys.stdout
        bad = 0
        for number, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise FactsError("", "每行应为一个 JSON 对象")
                facts = parse_facts(data, extra=frozenset({"id"}))
            except json.JSONDecodeError:
                bad += 1
                out.write(json.dumps({"line": number, "error": "不是有效的 JSON"}) + "\n")
                continue
            except FactsError as error:
                bad += 1
                result = {"line": number, "field": error.field, "error": error.message}
                out.write(json.dumps(result, ensure_ascii=False) + "\n")
                continue
            result = engine.evaluate(profile, facts, options["date"]).as_dict()
            if "id" in data:
                result = {"id": data["id"], **result}
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
        if bad:
            sys.exit(1)

"""`manage.py policy_eval` over 100,000 facts lines (issue: "policy_eval answers
a file of 100,000 facts lines in under 10 seconds"), as a user runs it: a new
process reading stdin and writing stdout."""

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LINES = 100_000
ABILITIES = ["intact", "mild", "moderate", "severe", "complete", "bedridden", None]


def facts_file(path: Path) -> None:
    rng = random.Random(1)  # noqa: S311 - benchmark data
    with path.open("w", encoding="utf-8") as out:
        for number in range(LINES):
            line = {
                "id": number,
                "birth_date": f"{rng.randrange(1925, 1966)}-{rng.randrange(1, 13):02d}-"
                f"{rng.randrange(1, 29):02d}",
                "categories": rng.sample(
                    ["孤寡", "独居", "空巢", "留守", "失能"], rng.randrange(3)
                ),
                "ability": rng.choice(ABILITIES),
                "dementia": rng.random() < 0.05,
                "disability_grade": rng.choice([None] * 8 + [1, 2, 3, 4]),
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def run() -> None:
    print(f"\n## bench_policy_eval: {LINES:,} facts lines through manage.py policy_eval")
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / "facts.jsonl"
        facts_file(source)
        manage = Path(__file__).resolve().parent.parent / "manage.py"
        for profile in ("fujian-shishi", "jining", "linzi"):
            start = time.perf_counter()
            with source.open("rb") as stdin:
                done = subprocess.run(  # noqa: S603 - our own command
                    [
                        sys.executable,
                        str(manage),
                        "policy_eval",
                        "--profile",
                        profile,
                        "--date",
                        "2026-11-23",
                    ],
                    stdin=stdin,
                    capture_output=True,
                    check=True,
                    env=os.environ,
                )
            seconds = time.perf_counter() - start
            answered = done.stdout.count(b"\n")
            print(f"policy_eval --profile {profile:<14} {answered:,} lines   {seconds:6.2f} s")

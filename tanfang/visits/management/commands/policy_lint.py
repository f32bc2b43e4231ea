"""`manage.py policy_lint FILE …`: check a profile or a visit checklist a county
is writing, before it is deployed (docs/规则配置.md). Each problem is printed with
the file, the path inside it and the reason in Chinese (and in English with
--english); the exit status is 1 when any file has a problem."""

import tomllib
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tanfang.policy import engine
from tanfang.policy.problems import ConfigError, Problem
from tanfang.visits import checklist


class Command(BaseCommand):
    help = "Check policy profile or visit checklist files against their schema."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, help="TOML files to check")
        parser.add_argument("--english", action="store_true", help="the reasons in English")

    def handle(self, *args: Any, **options: Any) -> None:
        failed = 0
        for path in options["files"]:
            problems = lint(path)
            if not problems:
                self.stdout.write(f"{path}：没有发现问题。")
                continue
            failed += 1
            for problem in problems:
                line = problem.log_line() if options["english"] else problem.words()
                self.stdout.write(line)
        if failed:
            raise CommandError(f"{failed} 个文件有问题，未通过检查。")


def lint(path: Path) -> list[Problem]:
    """A profile (it has `versions`) or a checklist (anything else), checked."""
    if not path.is_file():
        return [Problem(path.name, "", "文件不存在", "no such file")]
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        return [Problem(path.name, "", f"不是有效的 TOML：{error}", f"not valid TOML: {error}")]
    if "versions" not in data:
        return checklist.lint(path)
    try:
        profile = engine.read(path)
    except ConfigError as error:
        return list(error.problems)
    if profile.checklist not in checklist.names():
        return [
            Problem(
                path.name,
                "checklist",
                f"没有名为“{profile.checklist}”的探访记录表（可选：{'、'.join(checklist.names())}）",
                f"no checklist {profile.checklist!r}",
            )
        ]
    return []

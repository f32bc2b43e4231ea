from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tanfang.regions.actions import ImportRejected, import_regions


class Command(BaseCommand):
    help = "Load or update the administrative tree from a CSV file (columns code,name[,kind])."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--apply-renames",
            action="store_true",
            help="Apply name changes of existing codes (otherwise they reject the file).",
        )

    def handle(self, *args: Any, file: Path, apply_renames: bool, **options: Any) -> None:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as problem:
            raise CommandError(f"无法读取文件 {file}：{problem}") from problem
        try:
            summary = import_regions(
                acting_user=None, text=text, apply_renames=apply_renames, source=file.name
            )
        except ImportRejected as rejected:
            for error in rejected.errors:
                self.stderr.write(f"第 {error.row} 行\t{error.code}\t{error.reason}")
            raise CommandError(
                f"文件被拒绝：{len(rejected.errors)} 行有误，未导入任何数据。"
            ) from rejected
        self.stdout.write(
            f"导入完成：新增 {summary.created}，更新 {summary.changed}，未变 {summary.unchanged}。"
        )

"""`manage.py recompute_rates --month 2026-10` (or `--from 2026-01 --to 2026-10`,
this month by default): rebuild the monthly rollups of those months from the
files, visits and tasks (tanfang.reports.rebuild.recompute_month), each month in
its own transaction. The numbers are the ones the actions keep current; run it
after restoring data, after a change of the definitions, or when a daily task
run was missed.

A month's quarter compliance reads the rows of the earlier months of its
quarter: the months are rebuilt oldest first, and the later months of the last
one's quarter (up to this month) after it, so `--month 2026-10` rebuilds
October, November and December (tanfang.reports.rebuild.months_to_recompute).
Start a range at the first month of a quarter to rebuild whole quarters."""

import argparse
import re
import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tanfang.months import month_of
from tanfang.reports.rebuild import months_to_recompute, recompute_month

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _month(text: str) -> date:
    found = _MONTH.fullmatch(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise argparse.ArgumentTypeError(f"月份“{text}”格式应为 YYYY-MM，例如 2026-10")
    return date(int(found.group(1)), int(found.group(2)), 1)


class Command(BaseCommand):
    help = "Rebuild the monthly visit-rate rollups of a month or a range of months."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--month", type=_month, help="one month, YYYY-MM (this month by default)"
        )
        parser.add_argument("--from", dest="first", type=_month, help="first month, YYYY-MM")
        parser.add_argument("--to", dest="last", type=_month, help="last month, YYYY-MM")

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        single, first, last = options["month"], options["first"], options["last"]
        if single is not None and (first is not None or last is not None):
            raise CommandError("--month 与 --from/--to 不能同时使用。")
        if single is not None:
            first = last = single
        first = first or last or month_of(today)
        last = last or (first if options["first"] is None else month_of(today))
        if first > last:
            raise CommandError(f"起始月份 {first:%Y-%m} 晚于结束月份 {last:%Y-%m}。")
        if last > month_of(today):
            raise CommandError(f"月份 {last:%Y-%m} 尚未开始，不能统计。")
        for month in months_to_recompute(first, last, today):
            started = time.perf_counter()
            result = recompute_month(month, today)
            self.stdout.write(
                f"{month:%Y-%m}：{result.rows} 人（新增 {result.inserted}，更新 {result.updated}，"
                f"删除 {result.deleted}），计数 {result.counters} 行，"
                f"用时 {time.perf_counter() - started:.1f} 秒。"
            )

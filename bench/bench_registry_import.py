"""Importing and exporting the elder registry in Excel (issue 3, item 7;
NONFUNCTIONAL.md: a 100,000-row registry imports in under 2 minutes with a
row-by-row report).

A file of BENCH_IMPORT_ROWS valid rows (default 10,000) is written under the
header of the downloaded template, for the demo county's villages, then:
uploaded (`start_import`: the file checked as a whole and kept), imported by
the task (`run_import`: every row checked with the registry's rules, then
stored), imported again (every row already registered), and the ledger of all
of them exported. For comparison, `register_elder` one row at a time, the path
of the registration page, on a few hundred rows.
"""

import io
import os
import random
import resource
import time
from datetime import date, timedelta

from bench.common import timed

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "10000"))
FLOOR_ROWS = 300
COUNTY = "350581"
SURNAMES = "陈林黄张吴王蔡郑李许杨洪邱施苏曾谢柯庄卢"
GIVEN = ["秀英", "玉兰", "淑珍", "建国", "金水", "国栋", "文华", "美玉", "丽珠", "天福"]
ABILITIES = ["能力完好", "轻度失能", "中度失能", "重度失能", "未评估，长期卧床"]
CATEGORIES = ["独居", "空巢", "留守", "失能", "孤寡、独居", "空巢、失能"]


def _birth(index: int) -> tuple[date, int, str]:
    """A distinct (birth date, order, sex) for each row: 68 to 96 years old in 2026."""
    return date(1930, 1, 1) + timedelta(days=index % 10_000), index // 10_000, "女男"[index % 2]


def registry_file(titles: list[str], villages: list[str], rows: int, *, start: int = 0) -> bytes:
    from openpyxl import Workbook

    from tanfang.registry.identity import make_id_number

    rng = random.Random(2026)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("老年人信息")
    sheet.append(titles)
    for index in range(start, start + rows):
        birth, order, sex = _birth(index)
        values = {
            "姓名": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "身份证号码": make_id_number(COUNTY, birth, order, sex),
            "民族": "汉族",
            "联系电话": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
            "居住地村(社区)": rng.choice(villages),
            "居住地址": f"南洋路{rng.randrange(1, 300)}号",
            "是否居住在户籍所在地": "是",
            "农村户籍": rng.choice(["是", "否"]),
            "能力程度": rng.choice(ABILITIES),
            "失智": "否",
            "低保": rng.choice(["是", "否"]),
            "月可支配收入(元)": rng.randrange(300, 3000),
            "养老保险(元/月)": rng.choice(["", 150, 300]),
            "子女个数": rng.randrange(0, 4),
            "有配偶": rng.choice(["是", "否"]),
            "对象类型": rng.choice(CATEGORIES),
            "同意拍照": "否",
        }
        sheet.append([values.get(title, "") for title in titles])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run() -> None:
    import python_calamine

    from tanfang.accounts.models import User
    from tanfang.accounts.permissions import Role
    from tanfang.demo.regions import demo_tree_csv
    from tanfang.exchange import actions, sheets
    from tanfang.exchange.models import ImportJob, Mode
    from tanfang.regions.actions import import_regions
    from tanfang.regions.models import Level, Region, in_subtree
    from tanfang.registry.identity import make_id_number
    from tanfang.registry.models import Elder
    from tanfang.registry.registration import register_elder

    print(f"\n## bench_registry_import: {ROWS:,} rows from the template")
    if not Region.objects.filter(code=f"{COUNTY}000000").exists():
        import_regions(acting_user=None, text=demo_tree_csv(2026), source="bench")
    county = Region.objects.get(code=f"{COUNTY}000000")
    officer, _ = User.objects.get_or_create(
        username="bench_county",
        defaults={"full_name": "县级民政", "role": Role.COUNTY, "region": county},
    )
    villages = list(
        Region.objects.filter(in_subtree("code", COUNTY), level=Level.VILLAGE)
        .select_related("parent")
        .order_by("code")
    )
    template = sheets.template(villages)
    header = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(template))
    titles = [str(t) for t in header.get_sheet_by_name(sheets.DATA_SHEET).to_python()[0]]
    choices = [sheets.village_choice(v) for v in villages]

    started = time.perf_counter()
    data = registry_file(titles, choices, ROWS)
    print(
        f"{'write the file (openpyxl, write-only)':<60} {time.perf_counter() - started:9.1f} s"
        f"  ({len(data) / 1e6:.1f} MB, {len(villages)} villages)"
    )
    timed("read it (python-calamine) and check the header", lambda: sheets.read_upload(data), 3)

    jobs: list[ImportJob] = []

    def upload() -> None:
        jobs.append(
            actions.start_import(
                acting_user=officer, data=data, file_name="bench.xlsx", mode=Mode.WHOLE_FILE
            )
        )

    before = Elder.objects.count()
    upload_ms = timed(f"start_import (upload: check and keep), {ROWS:,} rows", upload, 1)
    import_ms = timed(
        f"run_import: check and store {ROWS:,} new rows",
        lambda: actions.run_import(job_id=jobs[-1].pk),
        1,
    )
    job = ImportJob.objects.get(pk=jobs[-1].pk)
    stored = Elder.objects.count() - before
    assert (job.state, job.rows_ok, stored) == ("done", ROWS, ROWS), (job.state, job.message)
    seconds = (upload_ms + import_ms) / 1000
    print(f"{'  upload + import':<60} {seconds:9.1f} s  ({ROWS / seconds:,.0f} rows/s)")

    upload()
    timed(
        f"run_import again: {ROWS:,} rows already registered",
        lambda: actions.run_import(job_id=jobs[-1].pk),
        1,
    )
    job = ImportJob.objects.get(pk=jobs[-1].pk)
    assert (job.rows_ok, job.rows_skipped) == (0, ROWS), (job.rows_ok, job.rows_skipped)

    def export() -> None:
        actions.export_ledger(
            acting_user=officer,
            elders=Elder.objects.filter(in_subtree("village_id", COUNTY)),
            filters={},
            region_code=county.code,
            out=io.BytesIO(),
        )

    timed(f"export_ledger of {Elder.objects.count():,} elders (masked, write-only)", export, 1)

    village = villages[0]

    def one_by_one() -> None:
        for index in range(FLOOR_ROWS):
            birth, _, sex = _birth(index)
            register_elder(
                acting_user=officer,
                id_number=make_id_number("350582", birth, 400, sex),
                name="林秀英",
                village=village,
                phone="13812345678",
                residence_address="南洋路18号",
                categories=["独居"],
            )

    floor = timed(f"register_elder one row at a time, {FLOOR_ROWS} rows", one_by_one, 1)
    print(f"{'  register_elder, ms per row':<60} {floor / FLOOR_ROWS:9.2f}")
    print(f"{'  the import, ms per row':<60} {import_ms / ROWS:9.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak memory of the process':<60} {peak:9.0f} MB")

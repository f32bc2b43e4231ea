"""The administrative tree at province scale: loading it, and the subtree
queries every scoped page runs (a prefix match on the indexed code)."""

import io

from bench.common import timed

CITIES = 10
COUNTIES_PER_CITY = 10
TOWNSHIPS_PER_COUNTY = 15
VILLAGES_PER_TOWNSHIP = 20


def province_csv() -> str:
    out = io.StringIO()
    out.write("code,name,kind\n990000000000,测试省,\n")
    for c in range(1, CITIES + 1):
        out.write(f"99{c:02d}00000000,市{c},\n")
        for k in range(1, COUNTIES_PER_CITY + 1):
            county = f"99{c:02d}{k:02d}"
            out.write(f"{county}000000,县{c}-{k},\n")
            for t in range(1, TOWNSHIPS_PER_COUNTY + 1):
                township = f"{county}{100 + t:03d}"
                out.write(f"{township}000,镇{c}-{k}-{t},\n")
                for v in range(1, VILLAGES_PER_TOWNSHIP + 1):
                    out.write(f"{township}{200 + v:03d},村{c}-{k}-{t}-{v},村\n")
    return out.getvalue()


def run() -> None:
    from tanfang.regions.actions import import_regions
    from tanfang.regions.models import Region, in_subtree
    from tanfang.regions.queries import children_with_counts

    text = province_csv()
    rows = text.count("\n") - 1
    print(f"\n## bench_regions: a province of {rows:,} nodes")
    timed(
        f"import_regions, {rows:,} new nodes",
        lambda: (
            Region.objects.filter(in_subtree("code", "99")).delete(),
            import_regions(acting_user=None, text=text, source="bench"),
        ),
        repeat=1,
    )
    timed(
        f"import_regions again, {rows:,} unchanged nodes",
        lambda: import_regions(acting_user=None, text=text, source="bench"),
        repeat=3,
    )
    province = Region.objects.get(code="990000000000")
    county = Region.objects.get(code="990101000000")
    timed(
        "count of one county's subtree (range on the code)",
        lambda: Region.objects.filter(county.subtree()).count(),
        repeat=20,
    )
    timed(
        "count of the province's subtree (range on the code)",
        lambda: Region.objects.filter(province.subtree()).count(),
        repeat=20,
    )
    timed(
        "province page: cities with their village counts",
        lambda: children_with_counts(province),
        repeat=20,
    )
    timed(
        "county page: townships with their village counts",
        lambda: children_with_counts(county),
        repeat=20,
    )

"""The demo county: the real tree of 石狮市 (shipped in regions/data/350581.csv)
with synthetic villages and communities under each township, about ten each.

The village names and codes below township level are invented for the demo;
they are not the real villages of 石狮市.
"""

import csv
import io
import random
from pathlib import Path

from tanfang.regions.models import Level, level_of_code

REAL_TREE = Path(__file__).resolve().parent.parent / "regions" / "data" / "350581.csv"
VILLAGES_PER_TOWNSHIP = 10

FIRST = "东西南北新前后上下大小长永福安宁兴华光明凤林塘湖山海石溪"
SECOND = "头尾厝埔洋坑港美盛丰和平顺兴园坂林山亭桥"


def _names(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = rng.choice(FIRST) + rng.choice(SECOND)
        if name not in names:
            names.append(name)
    return names


def demo_tree_csv(seed: int) -> str:
    """The real tree plus synthetic villages, as CSV text for `import_regions`."""
    rng = random.Random(seed)  # noqa: S311 - demo names, not secrets
    real = list(csv.DictReader(io.StringIO(REAL_TREE.read_text(encoding="utf-8"))))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "name", "kind"])
    for row in real:
        writer.writerow([row["code"], row["name"], ""])
        if level_of_code(row["code"]) != Level.TOWNSHIP:
            continue
        township = row["code"][:9]
        is_town = row["name"].endswith(("镇", "乡"))
        names = _names(rng, VILLAGES_PER_TOWNSHIP)
        for index, name in enumerate(names):
            # Towns have two communities at the seat and villages around it;
            # streets and the development zone have communities only.
            if is_town and index >= 2:
                writer.writerow([f"{township}{200 + index - 1:03d}", f"{name}村", "rural"])
            else:
                writer.writerow([f"{township}{index + 1:03d}", f"{name}社区", "urban"])
    return out.getvalue()

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from tanfang.accounts.actions import create_account
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Role
from tanfang.demo.actors import Accounts
from tanfang.demo.elders import seed_elders
from tanfang.demo.regions import demo_tree_csv
from tanfang.demo.visits import seed_visits
from tanfang.jurisdiction.actions import choose_profile, date_choice
from tanfang.jurisdiction.models import PolicyChoice
from tanfang.policy import engine
from tanfang.regions.actions import import_regions, read_rows
from tanfang.regions.models import Level, Region, in_subtree

DEMO_PASSWORD = "Tanfang@2026"  # noqa: S105 - printed on the console by `make run`

# username, full name, role, where: the county, the first township, its first village, or the city.
DEMO_ACCOUNTS = [
    ("visitor", "林秀英", Role.VISITOR, "village"),
    ("liaison", "蔡志明", Role.LIAISON, "village"),
    ("township", "王丽华", Role.TOWNSHIP, "township"),
    ("county", "陈建国", Role.COUNTY, "county"),
    ("supervisor", "黄美玲", Role.SUPERVISOR, "city"),
    ("sysadmin", "吴海涛", Role.SYSADMIN, "county"),
    ("secadmin", "郑雅琴", Role.SECADMIN, "county"),
    ("auditor", "许文斌", Role.AUDITOR, "county"),
]
COUNTY = "350581000000"
CITY = "350500000000"
TOWNSHIP = "350581100000"  # 灵秀镇


class Command(BaseCommand):
    help = "Load the demo county (石狮市) and one account per role; safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026, help="Seed of the synthetic names.")

    @transaction.atomic
    def handle(self, *args: Any, seed: int, **options: Any) -> None:
        text = demo_tree_csv(seed)
        wanted = {row.code: row.name for row in read_rows(text)}
        have = dict(Region.objects.filter(code__in=wanted).values_list("code", "name"))
        if have != wanted:
            summary = import_regions(
                acting_user=None, text=text, apply_renames=True, source="seed_demo"
            )
            self.stdout.write(f"行政区划：新增 {summary.created}，更新 {summary.changed}。")
        places = {
            "county": Region.objects.get(code=COUNTY),
            "city": Region.objects.get(code=CITY),
            "township": Region.objects.get(code=TOWNSHIP),
            "village": Region.objects.filter(
                in_subtree("code", TOWNSHIP[:9]), level=Level.VILLAGE
            ).earliest("code"),
        }
        created = 0
        for username, full_name, role, where in DEMO_ACCOUNTS:
            if User.objects.filter(username=username).exists():
                continue
            create_account(
                acting_user=None,
                username=username,
                full_name=full_name,
                role=role,
                region=places[where],
                known_password=DEMO_PASSWORD,
            )
            created += 1
        self.stdout.write(f"演示账号：新增 {created} 个。")
        county_officer = User.objects.get(username="county")
        if not PolicyChoice.objects.filter(region_id=COUNTY).exists():
            # 石狮 follows its own 2023 scheme (000_4970ff49482a0570.txt).
            choose_profile(
                acting_user=county_officer,
                region=Region.objects.get(code=COUNTY),
                profile="fujian-shishi",
            )
            # In force since the scheme took effect, not only from today: the
            # demo's past months of visits are judged by it.
            date_choice(
                Region.objects.get(code=COUNTY),
                since=min(engine.load("fujian-shishi").versions[0].since, timezone.localdate()),
            )
        elders = seed_elders(acting_user=county_officer, seed=seed, today=timezone.localdate())
        self.stdout.write(f"老年人档案：新增 {elders} 份。")
        demo = {
            user.username: user
            for user in User.objects.filter(username__in=[a[0] for a in DEMO_ACCOUNTS])
        }
        visits = seed_visits(
            accounts=Accounts(
                county=county_officer,
                township=demo["township"],
                liaison=demo["liaison"],
                visitor=demo["visitor"],
            ),
            seed=seed,
            today=timezone.localdate(),
            now=timezone.now(),
        )
        self.stdout.write(str(visits))
        self.stdout.write(f"\n演示账号（密码均为 {DEMO_PASSWORD}）：")
        for user in User.objects.filter(username__in=[a[0] for a in DEMO_ACCOUNTS]).select_related(
            "region"
        ):
            self.stdout.write(
                f"  {user.username:<11} {user.get_role_display()} · {user.region.name}"
            )

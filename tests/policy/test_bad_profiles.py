"""A wrong profile is refused with the file, the path inside it and the reason,
by the loader, `manage.py check` and `manage.py policy_lint`; at run time a
broken profile affects only the counties that chose it (issue 14 "Bad input").
"""

from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from tanfang.jurisdiction import tiers
from tanfang.jurisdiction.models import PolicyChoice
from tanfang.policy import engine
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder
from tanfang.registry.registration import register_elder
from tanfang.reports.models import ElderMonth
from tanfang.visits.generation import generate_tasks
from tanfang.visits.models import VisitTask
from tests.conftest import CITY, COUNTY, OTHER_COUNTY, OTHER_VILLAGE, VILLAGE_A
from tests.visits.factories import make_elder

SHISHI = (Path(engine.PROFILES_DIR) / "fujian-shishi.toml").read_text(encoding="utf-8")
TODAY = date(2026, 11, 23)


@pytest.fixture
def folder(tmp_path: Path):
    """A deployment's own folder of profiles, looked up after the built-in one."""
    engine.configure([tmp_path])
    yield tmp_path
    engine.configure(settings.TANFANG_PROFILE_DIRS)


def write(folder: Path, text: str, name: str = "mouxian") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    engine.configure([folder])  # forget what was loaded, as a restart does
    return path


# (what is wrong, the change to Shishi's file, the path, the Chinese words)
BAD = [
    (
        "a misspelt condition key",
        ('age_at_least = "@advanced_age"', 'agee_at_least = "@advanced_age"'),
        "versions[0].tiers[0].when[1].agee_at_least",
        "不认识的键（拼写错误，或本平台不支持的条件）",
    ),
    (
        "a number written as text",
        ('per = "half_month", count = 1', 'per = "half_month", count = "1"'),
        "versions[0].tiers[0].visits[0].count",
        "应为整数，或以 @ 开头的参数名",
    ),
    (
        "an unknown period",
        ('per = "half_month"', 'per = "fortnight"'),
        "versions[0].tiers[0].visits[0].per",
        "应为 week, half_month, month, quarter, half_year, year or days 之一",
    ),
    (
        "an unknown mode",
        (
            'count = 1, modes = ["home"], cite = "000_4970ff49482a0570.txt 四(二) 重点',
            'count = 1, modes = ["house"], cite = "000_4970ff49482a0570.txt 四(二) 重点',
        ),
        "versions[0].tiers[0].visits[0].modes[0]",
        "应为 home, phone, video, street or monitoring 之一",
    ),
    (
        "an unknown category",
        ('{ category = "孤寡"', '{ category = "孤独"'),
        "versions[0].tiers[0].when[0].category",
        "之一",
    ),
    (
        "an unresolved parameter",
        ('age_at_least = "@advanced_age"', 'age_at_least = "@advanced_agee"'),
        "versions[0].tiers[0].when[1].age_at_least",
        "参数“@advanced_agee”未在本版本的 params 中声明",
    ),
    (
        "a parameter out of its range",
        ("advanced_age = { value = 80,", "advanced_age = { value = 40,"),
        "versions[0].params.advanced_age.value",
        "取值 40 超出 60 至 100 的范围",
    ),
    (
        "an open range wider than where it is used",
        (
            "special_extra = { value = 1, open = true, min = 1, max = 5,",
            "special_extra = { value = 1, open = true, min = 1, max = 50,",
        ),
        "versions[0].params.special_extra",
        "可调整范围 1 至 50 超出其用处允许的 1 至 10",
    ),
    (
        "a tier without its citation",
        ('label = "重点对象"\ncite = "000_4970ff49482a0570.txt 四(二)"\n', 'label = "重点对象"\n'),
        "versions[0].tiers[0].cite",
        "缺少必填项",
    ),
    (
        "a citation of a section the document does not have",
        (
            'label = "重点对象"\ncite = "000_4970ff49482a0570.txt 四(二)"',
            'label = "重点对象"\ncite = "000_4970ff49482a0570.txt 四(九)"',
        ),
        "versions[0].tiers[0].cite",
        "没有条款“四(九)”",
    ),
    (
        "a surge without its citation",
        (
            'heat = { mandatory = false, count = "@special_extra", cite = "000_4970ff49482a0570'
            '.txt 四(二) 极端恶劣天气应适当增加探访频次" }',
            'heat = { mandatory = false, count = "@special_extra" }',
        ),
        "versions[0].events.heat.cite",
        "缺少必填项",
    ),
    (
        "a version before its document",
        ("since = 2023-09-28", "since = 2023-01-01"),
        "versions[0].since",
        "早于《石狮市民政局等9部门关于开展特殊困难老年人探访关爱服务的通知》的施行日期 2023-09-28",
    ),
    (
        "a last tier with a condition",
        (
            'otherwise = "不属于重点对象的特殊困难老年人"',
            'when = [{ dementia = true, reason = "失智" }]',
        ),
        "versions[0].tiers[1].when",
        "最后一级不写条件（when）",
    ),
]


@pytest.mark.parametrize(("what", "change", "path", "words"), BAD, ids=[b[0] for b in BAD])
def test_it_refuses_a_wrong_file_with_the_path_and_reason(folder, what, change, path, words):
    old, new = change
    assert old in SHISHI, what
    write(folder, SHISHI.replace(old, new, 1))

    with pytest.raises(engine.ConfigError) as refused:
        engine.load("mouxian")

    problems = {(p.file, p.path): p for p in refused.value.problems}
    assert ("mouxian.toml", path) in problems, [p.log_line() for p in refused.value.problems]
    problem = problems["mouxian.toml", path]
    assert words in problem.zh
    assert problem.en and problem.en != problem.zh
    assert f"文件 mouxian.toml，{path}：" in problem.words()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "缺少必填项"),
        ("title = \n", "不是有效的 TOML"),
        ('title = "x"\n[[versions]\n', "不是有效的 TOML"),
    ],
    ids=["empty", "no value", "broken table"],
)
def test_it_refuses_a_file_that_is_not_a_profile(folder, text, words):
    write(folder, text)

    with pytest.raises(engine.ConfigError) as refused:
        engine.load("mouxian")

    assert any(words in p.zh for p in refused.value.problems)


def test_it_lists_every_problem_of_a_file_at_once(folder):
    text = SHISHI.replace("since = 2023-09-28", "since = 2023-01-01").replace(
        'per = "half_month"', 'per = "fortnight"'
    )
    write(folder, text)

    with pytest.raises(engine.ConfigError) as refused:
        engine.load("mouxian")

    assert {p.path for p in refused.value.problems} >= {"versions[0].tiers[0].visits[0].per"}


def test_manage_py_check_fails_on_a_broken_profile(folder):
    write(folder, SHISHI.replace("agee", "agee").replace("age_at_least", "agee_at_least", 1))

    with pytest.raises(SystemCheckError) as failed:
        call_command("check")

    assert "mouxian.toml at versions[0].tiers[0].when[1].agee_at_least" in str(failed.value)


def test_manage_py_check_passes_on_the_shipped_files():
    call_command("check")


def test_policy_lint_names_the_problem_and_fails(folder, capsys):
    path = write(folder, SHISHI.replace('per = "half_month"', 'per = "fortnight"'))

    with pytest.raises(CommandError, match="1 个文件有问题"):
        call_command("policy_lint", str(path))

    out = capsys.readouterr().out
    assert "文件 mouxian.toml，versions[0].tiers[0].visits[0].per：应为 week" in out


def test_policy_lint_passes_a_good_file(folder, capsys):
    path = write(folder, SHISHI)

    call_command("policy_lint", str(path))

    assert "没有发现问题" in capsys.readouterr().out


def test_a_profile_may_not_shadow_a_built_in_one(folder):
    write(folder, SHISHI, name="fujian-shishi")

    problems = engine.check_all()

    assert [p.file for p in problems] == ["fujian-shishi.toml"]
    assert "不会被使用" in problems[0].zh


# --- At run time: only the counties that chose the broken rules ------------------------


@pytest.fixture
def two_counties(folder, users, regions, time_machine):
    """石狮市 follows a county's own file, 晋江市 the national rules; each has an
    elder with this month's tasks."""
    time_machine.move_to(TODAY)
    write(folder, SHISHI)
    PolicyChoice.objects.create(
        region_id=COUNTY, since=date(2026, 1, 1), profile="mouxian", changed_by=users["county"]
    )
    ours = make_elder(users, regions, 1, ability="severe")
    theirs = register_elder(
        acting_user=users["county_other"],
        id_number=make_id_number("350582", date(1940, 3, 1), 2, "女"),
        name="晋江老人",
        village=regions[OTHER_VILLAGE],
        ability="severe",
    )
    generate_tasks(today=TODAY)
    return ours, theirs


def test_a_broken_file_leaves_other_counties_working(two_counties, folder, client_for):
    ours, theirs = two_counties
    kept = sorted(VisitTask.objects.filter(elder=ours).values_list("pk", "cancelled_at"))
    write(folder, SHISHI.replace("age_at_least", "agee_at_least", 1))

    # The county that chose it: its pages say so and whom to tell; nothing of
    # its tasks is made or cancelled.
    county = client_for("county")
    page = county.get(f"/rules/?region={COUNTY}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "本地区的探访规则暂时无法读取" in text
    assert "versions[0].tiers[0].when[1].agee_at_least" in text
    assert "石狮市民政局" in text
    file_page = county.get(f"/elders/{ours.pk}/")
    assert file_page.status_code == 200
    assert "本地区的探访规则暂时无法读取" in file_page.content.decode()
    generate_tasks(today=date(2026, 11, 24))
    assert sorted(VisitTask.objects.filter(elder=ours).values_list("pk", "cancelled_at")) == kept
    Elder.objects.filter(pk=ours.pk).update(ability="intact")
    assert not tiers.evaluate_tier(Elder.objects.get(pk=ours.pk), TODAY)
    assert Elder.objects.get(pk=ours.pk).tier == "key"

    # The other county: its rules, files, tasks and reports as ever.
    other = client_for("county_other")
    assert (
        "本地区的探访规则暂时无法读取"
        not in other.get(f"/rules/?region={OTHER_COUNTY}").content.decode()
    )
    assert other.get(f"/elders/{theirs.pk}/").status_code == 200
    assert VisitTask.objects.filter(elder=theirs, month=date(2026, 12, 1)).exists()
    assert client_for("supervisor").get(f"/reports/{CITY}/").status_code == 200
    assert client_for("supervisor").get(f"/reports/{CITY}/?by=tier").status_code == 200
    assert client_for("county_other").get(f"/reports/{OTHER_COUNTY}/").status_code == 200
    assert ElderMonth.objects.filter(elder=theirs, month=date(2026, 11, 1)).exists()
    assert client_for("liaison_a").get(f"/elders/?village={VILLAGE_A}").status_code == 200

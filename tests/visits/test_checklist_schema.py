"""A visit form's definition file is checked against its declared schema when it
loads (tanfang.visits.checklist_schema.ChecklistFile): a wrong file is refused with
every problem, each naming the file, the path inside it and what is wrong in
Chinese and English, and nothing of it is loaded. Citations are read against
the documents (tanfang.policy.documents)."""

import shutil

import pytest

from tanfang.policy.problems import ConfigError
from tanfang.visits import checklist

# The smallest definition that loads: one safety item, one need item.
GOOD = """\
title = "测试探访记录表"
source = "000_4970ff49482a0570.txt 附件4"
signatures = ["visitor"]
text_fields = [{ field = "notes", label = "备注" }]
modes = [{ value = "home", label = "上门探访" }]

[options]
safety = [
  { value = "safe", label = "安全" },
  { value = "unsafe", label = "不安全", bad = true },
]

[[sections]]
key = "safety"
title = "安全情况"

[[sections.items]]
key = "gas_safety"
label = "燃气安全"
kind = "choice"
options = "safety"
hazard = "gas"
required = true
cite = "000_4970ff49482a0570.txt 附件4 安全情况"

[[sections.items]]
key = "meal_need"
label = "助餐需求"
kind = "need"
need_type = "meals"
detail_label = "是否满足"
cite = "003_fe235aaa23e67560.txt 附件2 老年人需求情况"
"""

GAS = "sections[0].items[0]"
MEAL = "sections[0].items[1]"
SECOND_SECTION = """
[[sections]]
key = "safety"
title = "又一部分"

[[sections.items]]
key = "mood"
label = "情绪状态"
kind = "text"
cite = "000_4970ff49482a0570.txt 附件4 精神状态"
"""


def spoiled(old, new):
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


@pytest.fixture
def write(tmp_path):
    def write(text, name="test.toml"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """`checklists/` moved to a temporary folder with copies of the shipped files,
    nothing cached before or after."""
    shutil.copytree(checklist.CHECKLISTS_DIR, tmp_path / "checklists")
    monkeypatch.setattr(checklist, "CHECKLISTS_DIR", tmp_path / "checklists")
    checklist.load.cache_clear()
    yield tmp_path / "checklists"
    checklist.load.cache_clear()


def test_the_shipped_definitions_have_no_problem():
    assert checklist.check_all() == []


def test_the_smallest_definition_loads(write):
    assert checklist.lint(write(GOOD)) == []


@pytest.mark.parametrize(
    ("text", "path", "zh"),
    [
        # A key the schema does not know, at item level: a misspelt hazard.
        (spoiled('hazard = "gas"', 'hazrd = "gas"'), f"{GAS}.hazrd", "不认识的键"),
        (
            spoiled('title = "测试探访记录表"', 'title = "测试探访记录表"\ncolour = "red"'),
            "colour",
            "不认识的键",
        ),
        # Wrong types.
        (spoiled("required = true", 'required = "yes"'), f"{GAS}.required", "应为 true 或 false"),
        (spoiled('label = "燃气安全"', "label = 5"), f"{GAS}.label", "应为文字"),
        (spoiled('signatures = ["visitor"]', 'signatures = "visitor"'), "signatures", "应为列表"),
        (
            spoiled('[[sections.items]]\nkey = "gas_safety"', "[[sections.items]]\nkey = 1"),
            f"{GAS}.key",
            "应为文字",
        ),
        # Empty words.
        (spoiled('title = "测试探访记录表"', 'title = "  "'), "title", "不能为空"),
        (spoiled('label = "燃气安全"', 'label = ""'), f"{GAS}.label", "不能为空"),
        # Values outside the enumerations.
        (spoiled('hazard = "gas"', 'hazard = "flood"'), f"{GAS}.hazard", "“flood”不是隐患类别"),
        (
            spoiled('need_type = "meals"', 'need_type = "lunch"'),
            f"{MEAL}.need_type",
            "“lunch”不是需求类型",
        ),
        (spoiled('value = "home"', 'value = "car"'), "modes[0].value", "“car”不是探访方式"),
        (spoiled('kind = "choice"', 'kind = "radio"'), f"{GAS}.kind", "“radio”不是项目类型"),
        (
            spoiled('signatures = ["visitor"]', 'signatures = ["witness"]'),
            "signatures[0]",
            "“witness”不是签字人",
        ),
        (
            spoiled('field = "notes"', 'field = "photo"'),
            "text_fields[0].field",
            "“photo”不是探访记录的文字栏",
        ),
        # Keys: their format, and each used once.
        (
            spoiled('key = "gas_safety"', 'key = "燃气"'),
            f"{GAS}.key",
            "应由小写英文字母、数字和下划线组成",
        ),
        (
            spoiled('key = "meal_need"', 'key = "gas_safety"'),
            f"{MEAL}.key",
            "项目代码“gas_safety”重复（sections[0].items[0].key 已用过）",
        ),
        (GOOD + SECOND_SECTION, "sections[1].key", "部分代码“safety”重复"),
        (
            spoiled('value = "unsafe", label = "不安全"', 'value = "safe", label = "不安全"'),
            "options.safety[1].value",
            "选项值“safe”重复",
        ),
        (
            spoiled('label = "不安全"', 'label = "安全"'),
            "options.safety[1].label",
            "选项名称“安全”重复",
        ),
        (
            spoiled('label = "不安全"', 'label = "safe"'),
            "options.safety[1].label",
            "选项名称“safe”是另一个选项的值",
        ),
        (
            spoiled(
                '{ value = "home", label = "上门探访" }',
                '{ value = "home", label = "上门探访" }, { value = "home", label = "入户探访" }',
            ),
            "modes[1].value",
            "探访方式“home”重复",
        ),
        # Citations: present, and to a document and section that exist.
        (
            spoiled('cite = "000_4970ff49482a0570.txt 附件4 安全情况"\n', ""),
            f"{GAS}.cite",
            "缺少必填项",
        ),
        (
            spoiled(
                "000_4970ff49482a0570.txt 附件4 安全情况",
                "000_4970ff49482a0570.txt 九(二) 安全情况",
            ),
            f"{GAS}.cite",
            "没有条款“九(二)”",
        ),
        (
            spoiled("000_4970ff49482a0570.txt 附件4 安全情况", "000_4970ff49482a0570.txt 附件9"),
            f"{GAS}.cite",
            "没有条款“附件9”",
        ),
        (
            spoiled("000_4970ff49482a0570.txt 附件4 安全情况", "fujian.txt 附件4"),
            f"{GAS}.cite",
            "应以文件名开头",
        ),
        (
            spoiled("000_4970ff49482a0570.txt 附件4 安全情况", "000_4970ff49482a0570.txt"),
            f"{GAS}.cite",
            "缺少条款",
        ),
        (
            spoiled('source = "000_4970ff49482a0570.txt 附件4"', 'source = "附件4"'),
            "source",
            "应以文件名开头",
        ),
        # What holds together.
        (
            spoiled('options = "safety"', 'options = "colours"'),
            f"{GAS}.options",
            "没有名为“colours”的选项组（[options] 中有：safety）",
        ),
        (spoiled('options = "safety"\n', ""), f"{GAS}.options", "单选项目须以 options 指明选项组"),
        (
            spoiled('options = "safety"', 'options = "safety"\ndetail_options = ["unsafe"]'),
            f"{GAS}.detail_options",
            "单选项目（choice）不填写说明或人数",
        ),
        (
            spoiled(
                'kind = "choice"',
                'kind = "choice_text"\ndetail_label = "说明"\ndetail_options = ["bad"]',
            ),
            f"{GAS}.detail_options[0]",
            "“bad”不是选项组 safety 中的选项值",
        ),
        (
            spoiled('kind = "choice"', 'kind = "choice_text"\ndetail_label = "说明"'),
            f"{GAS}.detail_options",
            "choice_text 项目须以 detail_options 指明哪些选项要填写说明",
        ),
        (
            spoiled(", bad = true", ""),
            f"{GAS}.hazard",
            "安全项的选项组 safety 须有标为 bad = true 的选项",
        ),
        (
            spoiled('need_type = "meals"', 'need_type = "meals"\nhazard = "food"'),
            f"{MEAL}.hazard",
            "只有单选项目（choice、choice_text）可以是安全项",
        ),
        (
            spoiled('need_type = "meals"\n', ""),
            f"{MEAL}.need_type",
            '需求项目（kind = "need"）须有 need_type',
        ),
        (
            spoiled('hazard = "gas"', 'hazard = "gas"\nneed_type = "meals"'),
            f"{GAS}.need_type",
            '只有需求项目（kind = "need"）有 need_type',
        ),
        (
            spoiled('need_type = "meals"', 'need_type = "meals"\noptions = "safety"'),
            f"{MEAL}.options",
            "need 项目没有选项",
        ),
        (
            spoiled('detail_label = "是否满足"\n', ""),
            f"{MEAL}.detail_label",
            "need 项目须有 detail_label（如“是否满足”）",
        ),
        # Sizes.
        (spoiled("[options]\n", "[options]\nempty = []\n"), "options.empty", "至少要有 1 项"),
        (
            spoiled('modes = [{ value = "home", label = "上门探访" }]', "modes = []"),
            "modes",
            "至少要有 1 项",
        ),
        (
            spoiled("required = true", "required = true\nmax_length = 0"),
            f"{GAS}.max_length",
            "不能小于 1",
        ),
    ],
)
def test_it_refuses_a_wrong_definition_naming_where_and_what(write, text, path, zh):
    problems = checklist.lint(write(text))

    assert [(p.file, p.path) for p in problems] == [("test.toml", path)], problems
    assert zh in problems[0].zh
    assert problems[0].en and "|" not in problems[0].zh


def test_a_problem_reads_as_the_file_the_place_and_what_is_wrong(write):
    (problem,) = checklist.lint(write(spoiled('hazard = "gas"', 'hazrd = "gas"')))

    assert problem.words() == (
        "文件 test.toml，sections[0].items[0].hazrd：不认识的键（拼写错误，或本平台不支持的条件）"
    )
    assert (
        problem.log_line()
        == "test.toml at sections[0].items[0].hazrd: Extra inputs are not permitted"
    )


def test_it_names_every_problem_at_once(write):
    text = (
        spoiled('hazard = "gas"', 'hazrd = "gas"')
        .replace('need_type = "meals"', 'need_type = "lunch"')
        .replace('key = "meal_need"', 'key = "gas_safety"')
        .replace('options = "safety"', 'options = "colours"')
    )

    problems = checklist.lint(write(text))

    assert {p.path for p in problems} == {
        f"{GAS}.hazrd",
        f"{MEAL}.need_type",
        f"{MEAL}.key",
        f"{GAS}.options",
    }


def test_it_refuses_toml_that_cannot_be_read(write):
    (problem,) = checklist.lint(write(spoiled("required = true", "required = ")))

    line = spoiled("required = true", "required = ").splitlines().index("required = ") + 1
    assert (problem.path, problem.zh) == ("", f"不是有效的 TOML：第 {line} 行第 12 列有语法错误")
    assert problem.en.startswith("invalid TOML: ")


@pytest.mark.parametrize("text", ["", "\n# 只有注释\n"])
def test_it_refuses_an_empty_file(write, text):
    (problem,) = checklist.lint(write(text))

    assert (problem.file, problem.path) == ("test.toml", "")
    assert problem.zh.startswith("文件是空的")


def test_it_refuses_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "gbk.toml"
    path.write_bytes(GOOD.encode("gbk"))

    assert [p.zh for p in checklist.lint(path)] == ["文件不是 UTF-8 编码"]


def test_it_says_a_missing_file_cannot_be_read(tmp_path):
    assert [p.zh for p in checklist.lint(tmp_path / "none.toml")] == ["文件无法读取"]


def test_a_satisfaction_scale_cites_where_it_comes_from(write):
    scale = '\n[satisfaction]\noptions = [{ value = "satisfied", label = "满意" }]\n'

    (problem,) = checklist.lint(write(GOOD + scale))

    assert (problem.path, problem.zh) == ("satisfaction.cite", "缺少必填项")


def test_parse_raises_a_config_error_with_every_problem():
    with pytest.raises(ConfigError) as caught:
        checklist.parse("test", {"title": "表", "sections": []})

    assert {p.path for p in caught.value.problems} == {"source", "modes", "sections"}
    assert all(p.file == "test.toml" for p in caught.value.problems)


# --- Loading from checklists/ -----------------------------------------------------------


def test_load_refuses_a_wrong_file_and_loads_it_once_mended(folder):
    (folder / "sichuan.toml").write_text(
        (folder / "sichuan.toml").read_text().replace('hazard = "gas"', 'hazrd = "gas"'),
        encoding="utf-8",
    )

    with pytest.raises(ConfigError) as caught:
        checklist.load("sichuan")

    (problem,) = caught.value.problems
    assert (problem.file, problem.path.endswith(".hazrd")) == ("sichuan.toml", True)
    # Nothing of it was kept: mended, it loads.
    (folder / "sichuan.toml").write_text(
        (folder / "sichuan.toml").read_text().replace('hazrd = "gas"', 'hazard = "gas"'),
        encoding="utf-8",
    )
    assert checklist.load("sichuan").item("gas_safety").hazard == "gas"
    assert checklist.load("fujian").name == "fujian"


def test_check_all_names_the_problems_of_every_file_in_the_folder(folder):
    (folder / "broken.toml").write_text("title = \n", encoding="utf-8")
    (folder / "empty.toml").write_text("", encoding="utf-8")

    problems = checklist.check_all()

    assert [p.file for p in problems] == ["broken.toml", "empty.toml"]


def test_a_missing_definition_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        checklist.load("hunan")

    assert caught.value.words() == "文件 hunan.toml：没有名为 hunan 的探访记录表"


def test_the_message_for_a_county_whose_form_cannot_be_read():
    error = ConfigError(checklist.lint(checklist.CHECKLISTS_DIR / "hunan.toml"))

    assert checklist.unavailable_words(error) == (
        "本县的探访记录表无法读取，暂不能录入探访："
        "文件 hunan.toml：文件无法读取。请告知系统管理员。"
    )

"""Proposes an elder's categories (对象类型) from the facts of the file.

The seven categories, their definitions and their order are 附件2 of
000_4970ff49482a0570.txt (Fujian) and 附件1 of 001_35a01bee4c628ebd.txt (Sichuan),
which carry the same text. The system only proposes, each category with its
reasons in words; an officer confirms, and a confirmed set that disagrees with the
facts is a data-quality warning (DOMAIN.md "The seven categories", `differences`).

Pure Python without Django: the caller builds `Facts` from the file.

How the facts are read:

- `children` lists every child the elder ever had, born or adopted, alive or
  deceased; an empty tuple means the elder has no children. A deceased child is
  nobody's company and lives nowhere: it counts only for 孤寡 ("子女均已去世") and
  for 计划生育特殊家庭.
- `household` lists the living family other than spouse and children
  (grandchildren, siblings, in-laws ...), the "其他家属" of 附件2 (2).
- A township code is the 12-digit statistical code of the township or of a
  village inside it; two places are in the same township when the first nine
  digits agree. A coarser code (county, city, province: 000 in the township
  digits) says "somewhere there": it is elsewhere when that area does not contain
  the elder's township, and unknown when it does. `None` is unknown.
- `children_known` is False when the file does not yet say whether the elder has
  children (no children entered and no number of children): then no category
  that depends on children is proposed, rather than "无子女" by default.
- `ELSEWHERE` stands for a place the file only knows is not the elder's
  township (the forms ask "是否居住在本乡镇", not where).
- Facts that are registry data (spouse, children, where they live, household
  registration, ability, certificate) must be known for a category to be
  proposed; the two judgments of the home visit (有无人照顾, 劳动能力) may be
  unknown for 孤寡, which is then proposed with a reason asking to verify it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from tanfang.months import add_months


class Category(StrEnum):
    """对象类型, in the order of 附件2 (000_… and 001_…); values are the labels, as in
    `tanfang.registry.models.Category`."""

    SOLITARY_CHILDLESS = "孤寡"
    LIVING_ALONE = "独居"
    EMPTY_NEST = "空巢"
    LEFT_BEHIND = "留守"
    DISABLED = "失能"
    SEVERELY_HANDICAPPED = "重残"
    FAMILY_PLANNING = "计划生育特殊家庭"


class Ability(StrEnum):
    """能力程度 (《老年人能力评估规范》) with Jining's two not-assessed variants
    (004_1657df0ed1e05604.txt 二(一)); values as in `tanfang.registry.models.Ability`."""

    INTACT = "intact"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    COMPLETE = "complete"
    BEDRIDDEN = "bedridden"
    IMPAIRED_MOBILITY = "impaired_mobility"


# 000_4970ff49482a0570.txt 附件2 (5): four grades of 失能, 轻度 included. The
# registration form's box "失能老年人（包括中、重）" (000_… 附件3, 001_… 附件2) names the
# grades that make a key object (000_… 四(二) "重（中）度失能"), not the category:
# the same forms offer 轻度失能 as an ability level.
# 004_1657df0ed1e05604.txt 二(一): not assessed but long bedridden counts as severe,
# not assessed but moving with difficulty counts as moderate.
_DISABILITY_REASONS = {
    Ability.MILD: "轻度失能",
    Ability.MODERATE: "中度失能",
    Ability.SEVERE: "重度失能",
    Ability.COMPLETE: "完全失能",
    Ability.BEDRIDDEN: "未评估，因身体原因长期卧床，按重度失能",
    Ability.IMPAIRED_MOBILITY: "未评估，因身体原因行动不便，按中度失能",
}

_GRADE_NAMES = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}

# 000_4970ff49482a0570.txt 附件2 (4): 长期（通常半年以上）. "以上" includes the number
# itself (《民法典》第1259条), and a period in months ends on the corresponding day
# of the last month, or on its last day when it has none (《民法典》第202条): away
# since 2026-05-23 is half a year on 2026-11-23, since 2026-08-31 on 2027-02-28.
HALF_YEAR_MONTHS = 6

# A code inside no township (no province has the number 99): "not in this township".
ELSEWHERE = "999999999999"


@dataclass(frozen=True, kw_only=True)
class Child:
    """A child of the elder, born or adopted (家庭成员, 000_… 附件3; Linzi 003_… 附件1)."""

    deceased: bool = False
    lives_with_elder: bool = False
    township_code: str | None = None
    # 外出时间 (003_… 附件1): away from the place of registration for work, business or
    # other production since this day (附件2 (4) 务工或经商或从事其他生产经营活动).
    away_since: date | None = None
    disability_grade: int | None = None

    def __post_init__(self) -> None:
        _check_grade(self.disability_grade)
        _check_code(self.township_code)


@dataclass(frozen=True, kw_only=True)
class Relative:
    """A living family member other than spouse and children (其他家属, 附件2 (2))."""

    relation: str
    lives_with_elder: bool = False
    township_code: str | None = None

    def __post_init__(self) -> None:
        _check_code(self.township_code)


@dataclass(frozen=True, kw_only=True)
class Facts:
    """What the file says, on `on_date`. `None` means the file does not say."""

    on_date: date
    township_code: str
    has_spouse: bool | None = None
    spouse_lives_with_elder: bool = False
    spouse_township_code: str | None = None
    children: tuple[Child, ...] = ()
    children_known: bool = True
    household: tuple[Relative, ...] = ()
    has_carer: bool | None = None
    able_to_work: bool | None = None
    rural_registration: bool | None = None
    ability: Ability | None = None
    dementia: bool = False
    disability_grade: int | None = None
    disability_certificate_valid: bool = False

    def __post_init__(self) -> None:
        _check_code(self.township_code)
        if self.township_code[6:9] == "000":
            raise ValueError(f"居住地须为乡镇（街道）或村（社区）代码：{self.township_code}")
        _check_code(self.spouse_township_code)
        _check_grade(self.disability_grade)
        if self.has_spouse is not True and (
            self.spouse_lives_with_elder or self.spouse_township_code is not None
        ):
            raise ValueError("未登记配偶，不能填写配偶居住情况")


@dataclass(frozen=True)
class Proposal:
    category: Category
    reasons: tuple[str, ...]


def propose(facts: Facts) -> tuple[Proposal, ...]:
    """The categories the facts support, in the order of 附件2, each with its reasons."""
    return tuple(
        Proposal(category, verdict.reasons)
        for category, verdict in _verdicts(facts)
        if verdict.applies
    )


def differences(facts: Facts, confirmed: Iterable[Category]) -> tuple[str, ...]:
    """Data-quality warnings where the confirmed categories disagree with the facts:
    a proposal not confirmed, or a confirmed category the facts contradict or do not
    show, with the first reason why. In the order of 附件2."""
    chosen = set(confirmed)
    warnings = []
    for category, verdict in _verdicts(facts):
        if verdict.applies and category not in chosen:
            warnings.append(f"系统建议“{category}”，但未确认")
        elif not verdict.applies and category in chosen:
            warnings.append(f"已确认“{category}”，但{verdict.reasons[0]}")
    return tuple(warnings)


@dataclass(frozen=True)
class _Verdict:
    applies: bool
    # Why it applies; or, when it does not, why not ("档案显示…", "档案未登记…").
    reasons: tuple[str, ...]


def _yes(*reasons: str) -> _Verdict:
    return _Verdict(True, reasons)


def _no(reason: str) -> _Verdict:
    return _Verdict(False, (reason,))


def _verdicts(facts: Facts) -> tuple[tuple[Category, _Verdict], ...]:
    solitary = _solitary_childless(facts)
    return (
        (Category.SOLITARY_CHILDLESS, solitary),
        (Category.LIVING_ALONE, _living_alone(facts, solitary)),
        (Category.EMPTY_NEST, _empty_nest(facts)),
        (Category.LEFT_BEHIND, _left_behind(facts)),
        (Category.DISABLED, _disabled(facts)),
        (Category.SEVERELY_HANDICAPPED, _severely_handicapped(facts)),
        (Category.FAMILY_PLANNING, _family_planning(facts)),
    )


# 000_4970ff49482a0570.txt 附件2 (1), 001_35a01bee4c628ebd.txt 附件1 (1): 孤寡 —
# 无配偶、无子女，无人照顾，丧失劳动能力. Unknown care or ability to work does not
# stop the proposal: they are judged at the home check (000_… 三(二) 入户调查核实,
# 不漏一户、不漏一人), and 60周岁以上的老年人 count as 无劳动能力 in
# 《特困人员认定办法》(民发〔2021〕43号), the scheme 附件2 (1) itself points to.
def _solitary_childless(facts: Facts) -> _Verdict:
    if facts.has_spouse is None:
        return _no("档案未登记有无配偶")
    if facts.has_spouse:
        return _no("档案显示有配偶")
    if not facts.children_known:
        return _no("档案未登记子女情况")
    if _living_children(facts):
        return _no("档案显示有子女")
    if facts.has_carer:
        return _no("档案显示有人照顾")
    if facts.able_to_work:
        return _no("档案显示有劳动能力")
    return _yes(
        "无配偶、子女均已去世" if facts.children else "无配偶、无子女",
        "无人照顾" if facts.has_carer is False else "是否有人照顾未登记，请核实",
        "丧失劳动能力"
        if facts.able_to_work is False
        else "劳动能力未登记（60周岁以上老年人视为无劳动能力），请核实",
    )


# 000_4970ff49482a0570.txt 附件2 (2), 001_35a01bee4c628ebd.txt 附件1 (2): 独居 —
# 无儿无女无老伴的孤寡老年人, or 不与子女或其他家属共同居住且子女或其他家属不在同一镇
# （街道）居住.
def _living_alone(facts: Facts, solitary: _Verdict) -> _Verdict:
    apart = _apart_from_family(facts)
    if solitary.applies:
        return _yes("属孤寡老年人", *(apart.reasons if apart.applies else ()))
    return apart


def _apart_from_family(facts: Facts) -> _Verdict:
    if facts.has_spouse is None:
        return _no("档案未登记有无配偶")
    if not facts.children_known:
        return _no("档案未登记子女情况")
    family: list[tuple[str, bool, str | None]] = []
    if facts.has_spouse:
        family.append(("配偶", facts.spouse_lives_with_elder, facts.spouse_township_code))
    family.extend(("子女", c.lives_with_elder, c.township_code) for c in _living_children(facts))
    family.extend((r.relation, r.lives_with_elder, r.township_code) for r in facts.household)
    for relation, lives_with_elder, _ in family:
        if lives_with_elder:
            return _no(f"档案显示与{relation}共同居住")
    places = [(relation, _same_township(facts, code)) for relation, _, code in family]
    for relation, same in places:
        if same:
            return _no(f"档案显示{relation}在本乡镇居住")
    for relation, same in places:
        if same is None:
            return _no(f"档案未登记{relation}的居住乡镇")
    if not family:
        return _yes("无配偶、子女及其他家属")
    return _yes("不与子女或其他家属共同居住", "子女及其他家属均不在本乡镇居住")


# 000_4970ff49482a0570.txt 附件2 (3), 001_35a01bee4c628ebd.txt 附件1 (3): 空巢 —
# 子女长大成人后从父母家庭中相继分离出去，且与子女不在同一镇（街道）居住. The file has
# no ages of children; an elder's children are taken as grown up.
def _empty_nest(facts: Facts) -> _Verdict:
    if not facts.children_known:
        return _no("档案未登记子女情况")
    children = _living_children(facts)
    if not children:
        return _no("档案显示子女均已去世" if facts.children else "档案显示无子女")
    if any(c.lives_with_elder for c in children):
        return _no("档案显示有子女共同居住")
    places = [_same_township(facts, c.township_code) for c in children]
    if any(places):
        return _no("档案显示有子女在本乡镇居住")
    if None in places:
        return _no("档案未登记子女的居住乡镇")
    return _yes("子女均不在本乡镇居住")


# 000_4970ff49482a0570.txt 附件2 (4), 001_35a01bee4c628ebd.txt 附件1 (4): 留守 —
# 因全部子女长期（通常半年以上）离开户籍地进入城镇务工或经商或从事其他生产经营活动，
# 而在家留守的农村户籍老年人. Half a year: see HALF_YEAR_MONTHS.
def _left_behind(facts: Facts) -> _Verdict:
    if facts.rural_registration is None:
        return _no("档案未登记户籍类别")
    if not facts.rural_registration:
        return _no("档案显示为城镇户籍")
    if not facts.children_known:
        return _no("档案未登记子女情况")
    children = _living_children(facts)
    if not children:
        return _no("档案显示子女均已去世" if facts.children else "档案显示无子女")
    if any(c.away_since is None for c in children):
        return _no("档案显示有子女未外出务工")
    if not all(_away_half_a_year(c, facts.on_date) for c in children):
        return _no("档案显示有子女外出不满半年")
    return _yes("农村户籍，子女均外出务工半年以上")


def _away_half_a_year(child: Child, on_date: date) -> bool:
    return child.away_since is not None and on_date >= add_months(
        child.away_since, HALF_YEAR_MONTHS
    )


# 000_4970ff49482a0570.txt 附件2 (5), 001_35a01bee4c628ebd.txt 附件1 (5): 失能 —
# 丧失生活自理能力, four grades (see _DISABILITY_REASONS). Dementia (失智) is not a
# grade; it is given as a reason, and an elder with dementia who was never assessed
# is proposed so that the assessment is done (004_… 二(一) counts 失智老年人 among
# the key group).
def _disabled(facts: Facts) -> _Verdict:
    dementia = ("失智",) if facts.dementia else ()
    if facts.ability is None:
        if facts.dementia:
            return _yes("失智，尚未进行能力评估，请评估失能等级")
        return _no("档案未登记能力程度")
    if facts.ability is Ability.INTACT:
        return _no("档案显示能力完好")
    return _yes(_DISABILITY_REASONS[facts.ability], *dementia)


# 000_4970ff49482a0570.txt 附件2 (6), 001_35a01bee4c628ebd.txt 附件1 (6): 重残 —
# 持有效《中华人民共和国残疾人证》，残疾程度为一级、二级.
def _severely_handicapped(facts: Facts) -> _Verdict:
    grade = facts.disability_grade
    if grade is None:
        return _no("档案中无残疾人证")
    if grade > 2:
        return _no(f"档案显示残疾等级为{_GRADE_NAMES[grade]}")
    if not facts.disability_certificate_valid:
        return _no("档案显示残疾人证无效")
    return _yes(f"持{_GRADE_NAMES[grade]}残疾证")


# 000_4970ff49482a0570.txt 附件2 (7), 001_35a01bee4c628ebd.txt 附件1 (7): 计划生育特殊
# 家庭 — 独生子女三级以上伤残或死后未再生育或无收养子女. "三级以上" is grade 1, 2 or 3
# (《民法典》第1259条: 以上 includes the number). The only child is the one child of
# the file; a second child, born or adopted, before or after, ends it.
def _family_planning(facts: Facts) -> _Verdict:
    if not facts.children_known:
        return _no("档案未登记子女情况")
    if not facts.children:
        return _no("档案显示无子女")
    if len(facts.children) > 1:
        return _no("档案显示有多名子女")
    only = facts.children[0]
    if only.deceased:
        return _yes("独生子女死亡，未再生育或收养子女")
    if only.disability_grade is not None and only.disability_grade <= 3:
        grade = _GRADE_NAMES[only.disability_grade]
        return _yes(f"独生子女{grade}残疾，未再生育或收养子女")
    return _no("档案显示独生子女健在且无三级以上残疾")


def _living_children(facts: Facts) -> tuple[Child, ...]:
    return tuple(c for c in facts.children if not c.deceased)


def _same_township(facts: Facts, code: str | None) -> bool | None:
    """Whether `code` lies in the elder's township; None when the file cannot tell."""
    if code is None:
        return None
    for digits in (2, 4, 6):  # province, city, county: "somewhere there"
        if code[digits:] == "0" * (12 - digits):
            return None if facts.township_code.startswith(code[:digits]) else False
    return code[:9] == facts.township_code[:9]


def _check_code(code: str | None) -> None:
    if code is not None and (len(code) != 12 or not code.isascii() or not code.isdigit()):
        raise ValueError(f"行政区划代码须为12位数字：{code}")


def _check_grade(grade: int | None) -> None:
    if grade is not None and grade not in _GRADE_NAMES:
        raise ValueError(f"残疾等级须为1至4级：{grade}")

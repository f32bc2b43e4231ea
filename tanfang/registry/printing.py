"""The printable registration form (信息登记表) in the layout of the elder's
jurisdiction, filled from the file, and a blank one for door-to-door collection.

Three layouts, as restated field by field in FORMS.md "Registration":

- Fujian, 000_4970ff49482a0570.txt 附件3 《特殊困难老年人信息登记表》; also the
  layout for every jurisdiction without a form of its own (the national
  guidance 002_… has no registration form);
- Sichuan, 001_35a01bee4c628ebd.txt 附件2 《四川省特殊困难老年人信息登记表》;
- Linzi, 003_fe235aaa23e67560.txt 附件1 《临淄区特殊关爱群体老年人信息采集表》.

The templates (templates/registry/print/) hold the annexes' wording and order;
this module only turns the file into the facts they show (`Sheet`). ID numbers,
phones, addresses and certificate numbers are masked unless a user holding
Perm.PEOPLE_REVEAL asks for "打印完整信息" (a POST, audited as one reveal with
field "print_form"). No script is needed for the layout, so that the same
template can be rendered to PDF later.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods

from tanfang.accounts import access
from tanfang.accounts.permissions import Perm
from tanfang.jurisdiction import tiers
from tanfang.policy import documents, engine
from tanfang.regions.models import CODE_LENGTH, PREFIX_LENGTH, Level, Region
from tanfang.registry import crypto, reveal
from tanfang.registry.models import (
    Ability,
    Elder,
    EmergencyContact,
    Health,
    HelpReceived,
    HouseholdMember,
    Relation,
    Status,
)

# How a form shows an encrypted value: whole or masked (see build_sheet).
Show = Callable[[str, Callable[[str], str]], str]

TICKED = "☑"
UNTICKED = "□"


@dataclass(frozen=True)
class Layout:
    key: str  # the template: registry/print/<key>.html
    title: str
    source: str
    member_rows: int  # rows of the household table on the blank annex


FUJIAN = Layout("fujian", "特殊困难老年人信息登记表", "000_4970ff49482a0570.txt 附件3", 4)
SICHUAN = Layout("sichuan", "四川省特殊困难老年人信息登记表", "001_35a01bee4c628ebd.txt 附件2", 5)
LINZI = Layout("linzi", "临淄区特殊关爱群体老年人信息采集表", "003_fe235aaa23e67560.txt 附件1", 2)

# By the leading digits of the village code: 370305 is 淄博市临淄区, 51 is
# Sichuan. Everything else prints Fujian's form (the national profile's).
_BY_PREFIX = (("370305", LINZI), ("51", SICHUAN))


def layout_for(code: str) -> Layout:
    for prefix, layout in _BY_PREFIX:
        if code.startswith(prefix):
            return layout
    return FUJIAN


class Boxes(dict[str, str]):
    """The check boxes of a form, looked up by key in the templates
    (`sheet.box.孤寡`): ☑ for a ticked key, □ for every other."""

    def __init__(self, ticked: Iterable[str] = ()) -> None:
        super().__init__((key, TICKED) for key in ticked)

    def __missing__(self, key: str) -> str:
        return UNTICKED


@dataclass(frozen=True)
class Person:
    """A row of the household table, an emergency contact, a person living with
    the elder, the main supporter or a helping contact; blank on a blank form."""

    name: str = ""
    sex: str = ""
    relation: str = ""
    id_number: str = ""
    phone: str = ""
    health: str = ""
    on_minimum_living: str = ""
    visits_often: str = ""
    away_since: str = ""
    away_where: str = ""
    planned_return: str = ""
    unit: str = ""
    box: Boxes = field(default_factory=Boxes)


@dataclass(frozen=True)
class Sheet:
    """What a registration form shows; every text is ready to print."""

    registered_on: date | None = None
    name: str = ""
    sex: str = ""
    born: str = ""  # 出生年月
    id_number: str = ""
    phone: str = ""
    county: str = ""
    township: str = ""
    village: str = ""
    residence_address: str = ""
    registration_township: str = ""
    registration_village: str = ""
    registration_address: str = ""
    ability_note: str = ""  # the file's level where the form's four boxes differ
    disease_history: str = ""
    disability: str = ""  # 残疾类别和等级
    certificate: str = ""
    monthly_disposable_income: str = ""
    income_sources: str = ""
    annual_income: str = ""
    pension_monthly: str = ""
    household_monthly_income: str = ""
    water_safe: str = ""
    electricity_safe: str = ""
    housing_safe: str = ""
    children_count: str = ""
    other_notes: str = ""
    assistance: list[tuple[str, str]] = field(default_factory=list)
    helpers_responsible: str = ""
    helpers_measures: str = ""
    contacts: list[Person] = field(default_factory=list)
    members: list[Person] = field(default_factory=list)
    co_residents: list[Person] = field(default_factory=list)
    main_supporter: Person = field(default_factory=Person)
    help_contact: Person = field(default_factory=Person)
    box: Boxes = field(default_factory=Boxes)
    # An officer's tier in place of the computed one, who made it and when
    # (issue 16: the printed file shows the override as the screen does).
    tier_override: str = ""


# 能力程度 has four boxes on the forms; the file's other levels are ticked as
# the level they count as (DOMAIN.md; 004_1657df0ed1e05604.txt 二(一) for the
# two not-assessed variants), with the file's own words beside the box.
_ABILITY_BOX = {
    Ability.INTACT: Ability.INTACT,
    Ability.MILD: Ability.MILD,
    Ability.MODERATE: Ability.MODERATE,
    Ability.SEVERE: Ability.SEVERE,
    Ability.COMPLETE: Ability.SEVERE,
    Ability.BEDRIDDEN: Ability.SEVERE,
    Ability.IMPAIRED_MOBILITY: Ability.MODERATE,
}
# 共同居住人身体状况 of 003_… 附件1 says 健康 / 一般 / 较差.
_LINZI_HEALTH = {Health.GOOD: "健康", Health.FAIR: "一般", Health.POOR: "较差"}
_CHINESE_GRADES = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def build_sheet(elder: Elder, *, full: bool) -> Sheet:
    """The form's facts for one elder; `full` shows the encrypted values whole."""

    def show(token: str, mask: Callable[[str], str]) -> str:
        if not token:
            return ""
        value = crypto.decrypt(token)
        return value if full else mask(value)

    names = _place_names(elder)
    contacts = list(elder.emergency_contacts.filter(active=True))
    members = list(elder.household.filter(active=True))
    helps = list(elder.help_received.filter(active=True).order_by("id"))
    categories = {c.category for c in elder.categories.filter(withdrawn_at__isnull=True)}

    ticked: set[str] = set(categories)
    if elder.ability:
        ticked.add(_ABILITY_BOX[Ability(elder.ability)])
    if elder.health:
        ticked.add(elder.health)
    if elder.living_source:
        ticked.add(elder.living_source)
    if elder.extreme_poverty:
        ticked.add("extreme_poverty")
    if elder.minimum_living or elder.minimum_living_edge:
        ticked.add("minimum_living")
    if elder.lives_at_registration is not None:
        ticked.add("lives_at_registration" if elder.lives_at_registration else "lives_elsewhere")
    # A blank pension is left unticked: the file page reads it as "无或未填写",
    # and a printed form must not assert what the file does not say.
    if elder.pension_monthly is not None:
        ticked.add("pension" if elder.pension_monthly > 0 else "no_pension")
    ticked.update(given.helper_type for given in helps)

    village = elder.village_id
    registration = elder.registration_village_id or ""
    supporter = next((m for m in members if m.main_supporter), None)
    return Sheet(
        registered_on=elder.registered_on,
        name=elder.name,
        sex=elder.sex,
        born=f"{elder.birth_date.year}年{elder.birth_date.month}月",
        id_number=show(elder.id_number_token, crypto.mask_id),
        phone=show(elder.phone_token, crypto.mask_phone),
        county=names.get(_node(village, Level.COUNTY), ""),
        township=names.get(_node(village, Level.TOWNSHIP), ""),
        village=names.get(village, ""),
        residence_address=show(elder.residence_address_token, crypto.mask_address),
        registration_township=(
            names.get(_node(registration, Level.TOWNSHIP), "") if registration else ""
        ),
        registration_village=names.get(registration, ""),
        registration_address=show(elder.registration_address_token, crypto.mask_address),
        ability_note=(
            elder.get_ability_display()
            if elder.ability and _ABILITY_BOX[Ability(elder.ability)] != elder.ability
            else ""
        ),
        disease_history=elder.disease_history,
        disability=_disability(elder),
        certificate=show(elder.disability_certificate_token, crypto.mask_id),
        monthly_disposable_income=_amount(elder.monthly_disposable_income),
        income_sources=elder.income_sources,
        annual_income=_amount(elder.annual_income),
        pension_monthly=_amount(elder.pension_monthly) if elder.pension_monthly else "",
        household_monthly_income=_amount(elder.household_monthly_income),
        water_safe=_yes_no(elder.water_safe),
        electricity_safe=_yes_no(elder.electricity_safe),
        housing_safe=_yes_no(elder.housing_safe),
        children_count=_number(elder.children_count),
        other_notes=elder.other_notes,
        assistance=[
            (item.item, _amount(item.monthly_amount))
            for item in elder.assistance.filter(active=True).order_by("id")
        ],
        helpers_responsible="、".join(h.responsible_person for h in helps if h.responsible_person),
        helpers_measures="；".join(h.measures for h in helps if h.measures),
        contacts=[_contact(contact, show) for contact in contacts],
        members=[_member(member, show) for member in members],
        co_residents=[_co_resident(member) for member in members if member.lives_with_elder],
        main_supporter=_member(supporter, show) if supporter else Person(),
        help_contact=_help_contact(helps[0], show) if helps else Person(),
        box=Boxes(ticked),
        tier_override=_override_words(elder),
    )


def _place_names(elder: Elder) -> dict[str, str]:
    """Names of the villages of residence and registration and of their
    townships and counties, by code, in one query."""
    codes = set()
    for village in (elder.village_id, elder.registration_village_id):
        if village:
            codes.update({village, _node(village, Level.TOWNSHIP), _node(village, Level.COUNTY)})
    return dict(Region.objects.filter(code__in=codes).values_list("code", "name"))


def _node(code: str, level: Level) -> str:
    """The code of the node at `level` above (or at) the node `code`."""
    return code[: PREFIX_LENGTH[level]].ljust(CODE_LENGTH, "0")


def _contact(contact: EmergencyContact, show: Show) -> Person:
    return Person(
        name=contact.name,
        sex=contact.sex,
        relation=contact.relation,
        phone=show(contact.phone_token, crypto.mask_phone),
    )


def _member(member: HouseholdMember, show: Show) -> Person:
    return Person(
        name=member.name,
        sex=member.sex,
        relation=member.get_relation_display(),
        id_number=show(member.id_number_token, crypto.mask_id),
        phone=show(member.phone_token, crypto.mask_phone),
        health=member.get_health_display(),
        on_minimum_living=_yes_no(member.on_minimum_living),
        visits_often=_yes_no(member.visits_often),
        away_since=f"{member.away_since.year}年{member.away_since.month}月"
        if member.away_since
        else "",
        away_where=member.away_where,
        planned_return=member.planned_return,
    )


def _co_resident(member: HouseholdMember) -> Person:
    """共同居住人 of 003_… 附件1: 与本人关系 □配偶 □残疾子女 □其他, 身体状况 □健康 □一般 □较差."""
    if member.relation == Relation.SPOUSE:
        relation = "spouse"
    elif member.is_child() and member.disability_grade:
        relation = "disabled_child"
    else:
        relation = "other"
    ticked = {relation}
    if member.health:
        ticked.add(member.health)
    return Person(
        name=member.name,
        relation=member.get_relation_display(),
        health=_LINZI_HEALTH.get(Health(member.health), "") if member.health else "",
        box=Boxes(ticked),
    )


def _help_contact(given: HelpReceived, show: Show) -> Person:
    """帮扶联系人 of 003_… 附件1: 姓名, 联系电话, 身份, 帮扶人所在单位."""
    return Person(
        name=given.responsible_person,
        phone=show(given.contact_phone_token, crypto.mask_phone),
        unit=given.unit_name,
        box=Boxes([given.contact_identity] if given.contact_identity else []),
    )


def _disability(elder: Elder) -> str:
    if not elder.disability_grade:
        return ""
    grade = _CHINESE_GRADES.get(elder.disability_grade, f"{elder.disability_grade}级")
    return f"{elder.get_disability_type_display()}{grade}"


def _amount(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value.normalize():f}"


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _override_words(elder: Elder) -> str:
    """人工调整为“重点”（按规则为“一般”）；理由：…；依据：《…》二(一)；
    调整人：…，2026年12月01日 10:00。"""
    if not elder.tier_override:
        return ""
    name, _ = tiers.choice_for(elder.village_id)
    try:
        profile = engine.load(name)
        labels, own = dict(profile.tier_keys()), profile.versions[-1].own_documents
    except engine.ConfigError:
        labels, own = {}, ()
    parts = [
        f"人工调整为“{labels.get(elder.tier_override, elder.tier_override)}”"
        f"（按规则为“{elder.tier_label or '—'}”）",
        f"理由：{elder.tier_override_reason}",
    ]
    if elder.tier_override_citation:
        parts.append(f"依据：{documents.label(elder.tier_override_citation, own)}")
    who = elder.tier_override_by.full_name if elder.tier_override_by else ""
    when = (
        f"{timezone.localtime(elder.tier_override_at):%Y年%m月%d日 %H:%M}"
        if elder.tier_override_at
        else ""
    )
    parts.append(f"调整人：{who}，{when}")
    return "；".join(parts) + "。"


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def _pad(rows: list[Person], count: int) -> list[Person]:
    return rows + [Person()] * max(0, count - len(rows))


def _render(
    request: HttpRequest,
    layout: Layout,
    sheet: Sheet,
    *,
    elder: Elder | None = None,
    full: bool = False,
    can_reveal: bool = False,
) -> HttpResponse:
    padded = replace(
        sheet,
        members=_pad(sheet.members, layout.member_rows),
        contacts=_pad(sheet.contacts, 1),
        co_residents=_pad(sheet.co_residents, 2 if layout is LINZI else 0),
    )
    context = {
        "layout": layout,
        "sheet": padded,
        "elder": elder,
        "full": full,
        "can_reveal": can_reveal,
        "inactive": elder is not None and elder.status != Status.ACTIVE,
    }
    response = render(request, f"registry/print/{layout.key}.html", context)
    patch_cache_control(response, no_store=True)
    return response


@access.requires(Perm.PEOPLE_VIEW)
@require_http_methods(["GET", "POST"])
def print_form(request: HttpRequest, elder_id: int) -> HttpResponse:
    """GET: the form with masked values. POST ("打印完整信息"): the same form
    with every value whole, for a user who may reveal, audited."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    full = request.method == "POST"
    if full:
        reveal.reveal_form(acting_user=user, elder=elder, request=request)
    return _render(
        request,
        layout_for(elder.village_id),
        build_sheet(elder, full=full),
        elder=elder,
        full=full,
        can_reveal=reveal.may_reveal(user, elder),
    )


@access.requires(Perm.PEOPLE_VIEW)
@require_GET
def print_blank(request: HttpRequest) -> HttpResponse:
    """An empty form of the user's jurisdiction, to fill in by hand at the door."""
    user = access.signed_in_user(request)
    return _render(request, layout_for(user.region_id), Sheet())

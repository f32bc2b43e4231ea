"""The shapes of the registry's JSON API (tanfang/registry/api.py).

What goes out is the file as the pages show it: the ID number, phones,
addresses and the disability certificate masked (`crypto.mask_*`), never a
token or a hash. What comes in are the arguments of the actions, typed; the
rules about their values (checksum, age, scope, one active file per ID) are
the actions' own, so that the API refuses exactly what the pages refuse.
"""

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, field_validator

from tanfang.accounts.models import User
from tanfang.inputs import beijing_time
from tanfang.policy.changes import CHANGE_LABELS, Change
from tanfang.regions.models import Region
from tanfang.registry import crypto, quality, queries
from tanfang.registry.models import (
    Ability,
    AssistanceItem,
    Category,
    DisabilityType,
    Elder,
    EmergencyContact,
    Health,
    HelperType,
    HelpReceived,
    HouseholdMember,
    LifeEvent,
    LifeEventSource,
    LivingSource,
    Relation,
    Sex,
    Status,
    StatusChange,
)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

# Fields stored as "" when not filled in: null in the API, both ways.
BLANK_CHOICES = ("ability", "health", "disability_type", "living_source")


def _masked(token: str, mask: Callable[[str], str]) -> str:
    return mask(crypto.decrypt(token)) if token else ""


def mask_certificate(value: str) -> str:
    """A disability certificate number (残疾证号: the ID number and two digits)
    shown as an ID number is."""
    return crypto.mask_id(value)


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


# Out: references -----------------------------------------------------------------


class RegionRef(Schema):
    code: str
    name: str


class UserRef(Schema):
    id: int
    full_name: str


def region_ref(region: Region | None) -> RegionRef | None:
    return RegionRef(code=region.code, name=region.name) if region is not None else None


def user_ref(user: User | None) -> UserRef | None:
    return UserRef(id=user.pk, full_name=user.full_name) if user is not None else None


# Out: the list -----------------------------------------------------------------


class _Masked(Schema):
    """Age, masked ID number and phone, and village: the same in a row of the
    list and in the whole file."""

    @staticmethod
    def resolve_age(elder: Elder) -> int:
        return elder.age_on(timezone.localdate())

    @staticmethod
    def resolve_id_number(elder: Elder) -> str:
        return crypto.mask_id(crypto.decrypt(elder.id_number_token))

    @staticmethod
    def resolve_phone(elder: Elder) -> str:
        return _masked(elder.phone_token, crypto.mask_phone)

    @staticmethod
    def resolve_village(elder: Elder) -> RegionRef | None:
        return region_ref(elder.village)


class ElderListItem(_Masked):
    """A row of the list; needs `queries.with_confirmed_categories`."""

    id: int
    name: str
    sex: Sex
    age: int
    id_number: str = Field(description="脱敏的身份证号码，如 350581********123X")
    phone: str = Field(description="脱敏的联系电话，如 138****5678")
    village: RegionRef
    status: Status
    categories: list[Category]
    quality_warnings: list[str]

    @staticmethod
    def resolve_categories(elder: Elder) -> list[str]:
        return queries.category_labels(elder)


class ElderPage(Schema):
    count: int = Field(description="符合条件的档案总数")
    items: list[ElderListItem]


class ElderFilters(Schema):
    """The filters of the list page (/elders/)."""

    q: str = Field("", max_length=50, description="姓名（或其一部分），或身份证、电话后四位")
    subtree: str = Field("", description="区划代码（12 位）：只列出该区划下的老人")
    category: Category | None = Field(None, description="对象类型")
    status: Status | Literal["all"] = Field(Status.ACTIVE, description="状态；all 为全部状态")
    page: int = Field(1, ge=1)
    page_size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)

    _blank_category = field_validator("category", mode="before")(_blank_to_none)


# Out: the file -----------------------------------------------------------------


class HouseholdMemberOut(Schema):
    id: int
    name: str
    sex: Sex | None
    relation: Relation
    id_number: str
    phone: str
    health: Health | None
    disability_grade: int | None
    deceased: bool
    on_minimum_living: bool
    visits_often: bool | None
    lives_with_elder: bool
    same_township: bool | None
    main_supporter: bool
    away_since: date | None
    away_where: str
    planned_return: str
    adopted: bool
    order: int

    _blank = field_validator("sex", "health", mode="before")(_blank_to_none)

    @staticmethod
    def resolve_id_number(member: HouseholdMember) -> str:
        return _masked(member.id_number_token, crypto.mask_id)

    @staticmethod
    def resolve_phone(member: HouseholdMember) -> str:
        return _masked(member.phone_token, crypto.mask_phone)


class EmergencyContactOut(Schema):
    id: int
    name: str
    sex: Sex | None
    relation: str
    phone: str
    first_contact: bool = Field(description="第一探访联系人")
    named_by_township: bool = Field(description="由乡镇（街道）、村（居）指定")
    order: int

    _blank = field_validator("sex", mode="before")(_blank_to_none)

    @staticmethod
    def resolve_phone(contact: EmergencyContact) -> str:
        return _masked(contact.phone_token, crypto.mask_phone)


class AssistanceItemOut(Schema):
    id: int
    item: str
    monthly_amount: Decimal


class HelpReceivedOut(Schema):
    id: int
    helper_type: HelperType
    unit_name: str
    responsible_person: str
    contact_phone: str
    contact_identity: str
    measures: str

    @staticmethod
    def resolve_contact_phone(help_received: HelpReceived) -> str:
        return _masked(help_received.contact_phone_token, crypto.mask_phone)


class StatusChangeOut(Schema):
    from_status: Status
    to_status: Status
    effective_on: date
    reason: str
    destination: str
    changed_by: UserRef
    changed_at: datetime

    @staticmethod
    def resolve_changed_by(change: StatusChange) -> UserRef | None:
        return user_ref(change.changed_by)

    @staticmethod
    def resolve_changed_at(change: StatusChange) -> datetime:
        return timezone.localtime(change.changed_at)


class ProposalOut(Schema):
    category: Category
    reasons: list[str]


class _Details(Schema):
    """The fields of the file that `register_elder` takes as they are
    (`registration.PLAIN_FIELDS`), with the values a new file gets when they are left out."""

    ethnicity: str = ""
    lives_at_registration: bool | None = Field(None, description="是否居住在户籍所在地")
    rural_registration: bool | None = Field(None, description="农村户籍")
    ability: Ability | None = Field(None, description="能力程度")
    ability_assessed_on: date | None = None
    ability_source: str = ""
    health: Health | None = None
    dementia: bool = False
    life_threatening_illness: bool = Field(False, description="患有可能危及生命的慢性病")
    disease_history: str = ""
    disability_type: DisabilityType | None = None
    disability_grade: int | None = Field(None, description="残疾等级 1–4")
    extreme_poverty: bool = Field(False, description="特困人员")
    dispersed_support: bool = Field(False, description="分散供养")
    minimum_living: bool = Field(False, description="低保")
    minimum_living_edge: bool = Field(False, description="低保边缘")
    monthly_disposable_income: Decimal | None = None
    income_sources: str = ""
    living_source: LivingSource | None = None
    annual_income: Decimal | None = Field(None, description="年收入（万元）")
    pension_monthly: Decimal | None = Field(None, description="养老保险（元/月）；无则为 null")
    household_monthly_income: Decimal | None = None
    water_safe: bool | None = None
    electricity_safe: bool | None = None
    housing_safe: bool | None = None
    children_count: int | None = None
    has_spouse: bool | None = None
    able_to_work: bool | None = None
    has_carer: bool | None = None
    children_asked_for_visits: bool = False
    consents_to_visits: bool = True
    consents_to_home_visits: bool = True
    consents_to_photos: bool = False
    other_notes: str = ""

    _blank = field_validator(*BLANK_CHOICES, mode="before")(_blank_to_none)


class ElderFile(_Details, _Masked):
    """The whole file (一人一档), masked."""

    id: int
    name: str
    sex: Sex
    birth_date: date
    age: int
    id_number: str = Field(description="脱敏的身份证号码")
    phone: str = Field(description="脱敏的联系电话")
    village: RegionRef = Field(description="居住地村(社区)")
    residence_address: str = Field(description="脱敏的居住地址")
    registration_village: RegionRef | None = Field(description="户籍地村(社区)")
    registration_address: str = Field(description="脱敏的户籍地址")
    disability_certificate: str = Field(description="脱敏的残疾证号")
    consent_recorded_at: datetime | None
    consent_recorded_by: UserRef | None
    registered_on: date
    registered_by: UserRef
    last_reviewed_on: date | None
    status: Status
    quality_warnings: list[str]
    categories: list[Category] = Field(description="已确认的对象类型")
    proposed_categories: list[ProposalOut] = Field(description="系统根据档案建议的对象类型及理由")
    household: list[HouseholdMemberOut]
    emergency_contacts: list[EmergencyContactOut]
    assistance: list[AssistanceItemOut]
    help_received: list[HelpReceivedOut]
    status_changes: list[StatusChangeOut]

    @staticmethod
    def resolve_residence_address(elder: Elder) -> str:
        return _masked(elder.residence_address_token, crypto.mask_address)

    @staticmethod
    def resolve_registration_village(elder: Elder) -> RegionRef | None:
        return region_ref(elder.registration_village)

    @staticmethod
    def resolve_registration_address(elder: Elder) -> str:
        return _masked(elder.registration_address_token, crypto.mask_address)

    @staticmethod
    def resolve_disability_certificate(elder: Elder) -> str:
        return _masked(elder.disability_certificate_token, mask_certificate)

    @staticmethod
    def resolve_consent_recorded_at(elder: Elder) -> datetime | None:
        at = elder.consent_recorded_at
        return timezone.localtime(at) if at is not None else None

    @staticmethod
    def resolve_consent_recorded_by(elder: Elder) -> UserRef | None:
        return user_ref(elder.consent_recorded_by)

    @staticmethod
    def resolve_registered_by(elder: Elder) -> UserRef | None:
        return user_ref(elder.registered_by)

    @staticmethod
    def resolve_categories(elder: Elder) -> list[str]:
        return queries.categories_of(elder)

    @staticmethod
    def resolve_proposed_categories(elder: Elder) -> list[dict[str, Any]]:
        return [
            {"category": proposal.category, "reasons": list(proposal.reasons)}
            for proposal in quality.proposals(elder, timezone.localdate())
        ]

    @staticmethod
    def resolve_household(elder: Elder) -> list[HouseholdMember]:
        return list(elder.household.filter(active=True))

    @staticmethod
    def resolve_emergency_contacts(elder: Elder) -> list[EmergencyContact]:
        return list(elder.emergency_contacts.filter(active=True))

    @staticmethod
    def resolve_assistance(elder: Elder) -> list[AssistanceItem]:
        return list(elder.assistance.filter(active=True).order_by("id"))

    @staticmethod
    def resolve_help_received(elder: Elder) -> list[HelpReceived]:
        return list(elder.help_received.filter(active=True).order_by("id"))

    @staticmethod
    def resolve_status_changes(elder: Elder) -> list[StatusChange]:
        return list(elder.status_changes.select_related("changed_by"))


# In -------------------------------------------------------------------------------


class ElderIn(_Details):
    """A new file: the arguments of `actions.register_elder`."""

    model_config = ConfigDict(extra="forbid")

    name: str
    id_number: str = Field(description="18 位身份证号码；出生日期和性别由它决定")
    sex: Sex | None = Field(None, description="可不填；填写时须与身份证号码一致")
    birth_date: date | None = Field(None, description="可不填；填写时须与身份证号码一致")
    phone: str = Field("", description="手机或固定电话")
    village: str = Field(description="居住地村(社区)的 12 位区划代码")
    residence_address: str = ""
    registration_village: str | None = Field(None, description="户籍地村(社区)的 12 位区划代码")
    registration_address: str = ""
    disability_certificate: str = ""
    categories: list[Category] = Field([], description="确认的对象类型")


# The default of a field that may be left out of a PATCH but cannot be null:
# pydantic does not validate defaults, so leaving it out is fine, and an
# explicit null is refused by the field's type.
LEFT_OUT: Any = None


class ElderPatch(Schema):
    """Fields of the file to change (`actions.EDITABLE_FIELDS`); a field left out
    stays as it is. Null clears a field that may be empty (a choice, a date, a
    number, a yes/no left unanswered); text is cleared with ""."""

    model_config = ConfigDict(extra="forbid")

    name: str = LEFT_OUT
    id_number: str = Field(LEFT_OUT, description="更正后的身份证号码；出生日期和性别随之更正")
    phone: str = Field(LEFT_OUT, description="空字符串为清除")
    village: str = Field(LEFT_OUT, description="居住地村(社区)的 12 位区划代码")
    residence_address: str = LEFT_OUT
    registration_village: str | None = Field(None, description="户籍地村(社区)的区划代码")
    registration_address: str = LEFT_OUT
    disability_certificate: str = LEFT_OUT
    ethnicity: str = LEFT_OUT
    lives_at_registration: bool | None = None
    rural_registration: bool | None = None
    ability: Ability | None = None
    ability_assessed_on: date | None = None
    ability_source: str = LEFT_OUT
    health: Health | None = None
    dementia: bool = LEFT_OUT
    life_threatening_illness: bool = LEFT_OUT
    disease_history: str = LEFT_OUT
    disability_type: DisabilityType | None = None
    disability_grade: int | None = None
    extreme_poverty: bool = LEFT_OUT
    dispersed_support: bool = LEFT_OUT
    minimum_living: bool = LEFT_OUT
    minimum_living_edge: bool = LEFT_OUT
    monthly_disposable_income: Decimal | None = None
    income_sources: str = LEFT_OUT
    living_source: LivingSource | None = None
    annual_income: Decimal | None = None
    pension_monthly: Decimal | None = None
    household_monthly_income: Decimal | None = None
    water_safe: bool | None = None
    electricity_safe: bool | None = None
    housing_safe: bool | None = None
    children_count: int | None = None
    has_spouse: bool | None = None
    able_to_work: bool | None = None
    has_carer: bool | None = None
    children_asked_for_visits: bool = LEFT_OUT
    consents_to_visits: bool = LEFT_OUT
    consents_to_home_visits: bool = LEFT_OUT
    consents_to_photos: bool = LEFT_OUT
    other_notes: str = LEFT_OUT

    _blank = field_validator(*BLANK_CHOICES, mode="before")(_blank_to_none)


class StatusChangeIn(Schema):
    """The arguments of `actions.change_status`."""

    model_config = ConfigDict(extra="forbid")

    to_status: Status
    effective_on: date
    reason: str
    destination: str = Field("", description="迁出时迁往何处、入住机构时的机构名称（此两种必填）")


class CategoriesIn(Schema):
    """The officer's confirmed set (`actions.confirm_categories`); the ones left
    out are withdrawn."""

    model_config = ConfigDict(extra="forbid")

    categories: list[Category]


# Major life changes (重大变故) ---------------------------------------------------------


_CHANGES_DESCRIBED = "；".join(f"{c.value}：{CHANGE_LABELS[c]}" for c in Change)


class LifeEventIn(Schema):
    """The arguments of `life_events.record_life_event`."""

    model_config = ConfigDict(extra="forbid")

    change: Change = Field(description=f"变故类型（{_CHANGES_DESCRIBED}）")
    occurred_at: Annotated[datetime, AfterValidator(beijing_time)] = Field(
        description="发生时间，如 2026-12-01T09:30:00+08:00；不带时区的按北京时间；"
        "精确到分钟，不能晚于现在，不能早于出生日期"
    )
    note: str = Field("", description="说明，不超过 200 字")
    source: LifeEventSource = Field(
        LifeEventSource.FILE, description="来源：file 档案登记、visit 探访发现、device 智能设备"
    )


class WithdrawLifeEventIn(Schema):
    """The arguments of `life_events.withdraw_life_event`."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(description="撤销原因，不超过 200 字")


class LifeEventOut(Schema):
    id: int
    change: Change
    change_label: str
    occurred_at: datetime = Field(description="发生时间（北京时间）")
    note: str
    source: LifeEventSource
    recorded_by: UserRef
    recorded_at: datetime
    withdrawn: bool
    withdrawn_at: datetime | None
    withdrawn_by: UserRef | None
    withdraw_reason: str

    @staticmethod
    def resolve_change_label(event: LifeEvent) -> str:
        return event.get_change_display()

    @staticmethod
    def resolve_occurred_at(event: LifeEvent) -> datetime:
        return timezone.localtime(event.occurred_at)

    @staticmethod
    def resolve_recorded_by(event: LifeEvent) -> UserRef | None:
        return user_ref(event.recorded_by)

    @staticmethod
    def resolve_recorded_at(event: LifeEvent) -> datetime:
        return timezone.localtime(event.recorded_at)

    @staticmethod
    def resolve_withdrawn(event: LifeEvent) -> bool:
        return event.is_withdrawn()

    @staticmethod
    def resolve_withdrawn_at(event: LifeEvent) -> datetime | None:
        at = event.withdrawn_at
        return timezone.localtime(at) if at is not None else None

    @staticmethod
    def resolve_withdrawn_by(event: LifeEvent) -> UserRef | None:
        return user_ref(event.withdrawn_by)

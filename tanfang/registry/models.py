"""The elder's file (台账, 一人一档): one record per elder, keyed by the ID number.

The fields are the union of the registration forms of Fujian (000_… 附件3),
Sichuan (001_… 附件2) and Linzi (003_… 附件1), restated in FORMS.md
"Registration". The ID number, phone numbers and street addresses are stored
encrypted (`crypto.encrypt`) beside a keyed hash for exact lookup; nothing here
holds them in plain text. Records are never deleted: an elder leaves the active
registry by a status change with its date, reason and who.
"""

from datetime import date
from typing import TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.policy.changes import CHANGE_LABELS, Change
from tanfang.regions.models import Region
from tanfang.registry import identity


class Sex(models.TextChoices):
    MALE = "男", "男"
    FEMALE = "女", "女"


class Ability(models.TextChoices):
    """能力程度 (《老年人能力评估规范》), with Jining's two not-assessed variants
    (004_1657df0ed1e05604.txt 二(一)): they count as severe and moderate."""

    INTACT = "intact", "能力完好"
    MILD = "mild", "轻度失能"
    MODERATE = "moderate", "中度失能"
    SEVERE = "severe", "重度失能"
    COMPLETE = "complete", "完全失能"
    BEDRIDDEN = "bedridden", "未评估，长期卧床"
    IMPAIRED_MOBILITY = "impaired_mobility", "未评估，行动不便"


class Health(models.TextChoices):
    """健康状况 of the Linzi form (003_… 附件1) and of household members."""

    GOOD = "good", "良好"
    FAIR = "fair", "一般"
    POOR = "poor", "差"


class DisabilityType(models.TextChoices):
    VISUAL = "visual", "视力残疾"
    HEARING = "hearing", "听力残疾"
    SPEECH = "speech", "言语残疾"
    PHYSICAL = "physical", "肢体残疾"
    INTELLECTUAL = "intellectual", "智力残疾"
    MENTAL = "mental", "精神残疾"
    MULTIPLE = "multiple", "多重残疾"


class Status(models.TextChoices):
    ACTIVE = "active", "在册"
    MOVED_AWAY = "moved_away", "迁出"
    IN_INSTITUTION = "in_institution", "入住机构"
    DECEASED = "deceased", "去世"


class LivingSource(models.TextChoices):
    """生活来源 of the Linzi form."""

    SAVINGS = "savings", "个人积蓄"
    CHILDREN = "children", "子女赡养"


# The people querysets are generic in their model: django-stubs types
# `.annotate()` of a custom QuerySet only so.
_E = TypeVar("_E", bound="Elder")


class ElderQuerySet(models.QuerySet[_E, _E]):
    def visible_to(self, user: User, *, visiting: bool = False) -> models.QuerySet["Elder"]:
        """Files of elders living in the user's subtree (accounts' role rules:
        PEOPLE_VIEW, then the subtree). The one way views and API handlers
        reach elders (tests/test_scope.py).

        A visitor (`access.assigned_only`) sees only the elders assigned to them
        now (an open 包干, 000_4970ff49482a0570.txt 三(二)). `visiting`: the
        elders the user may record a visit for, which for a visitor is every
        elder of their subtree; the visit then needs a reason
        (tanfang.visits.actions.check_visit), and the pages show such an elder
        no more than the visit form needs."""
        access.check(user, Perm.PEOPLE_VIEW)
        elders = access.scope(user, self.select_related("village"), "village_id")
        if visiting:
            access.check(user, Perm.VISITS_RECORD)
        elif access.assigned_only(user):
            # One filter() call: one join, and at most one open assignment per
            # elder and visitor (visits_one_open_assignment), so no duplicates.
            elders = elders.filter(
                assignments__visitor__user=user, assignments__ended_at__isnull=True
            )
        return elders


class Elder(models.Model):
    # 基本情况
    name = models.CharField("姓名", max_length=50)
    sex = models.CharField("性别", max_length=1, choices=Sex.choices)
    birth_date = models.DateField("出生日期")
    ethnicity = models.CharField("民族", max_length=20, blank=True)
    id_number_token = models.TextField("身份证号码（密文）")
    id_number_hash = models.CharField(max_length=64, db_index=True)
    phone_token = models.TextField("联系电话（密文）", blank=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # For the search box's "last 4 digits". The ID's last four only as a keyed
    # hash: in clear, with the birth date and the county code, they would give
    # back the whole ID number from a database dump. A phone's last four are
    # shown by the mask anyway and give nothing back.
    id_last4_hash = models.CharField(max_length=64, db_index=True)
    phone_last4 = models.CharField(max_length=4, blank=True, db_index=True)

    # 地址: residence decides who sees the file; registration may be elsewhere.
    village = models.ForeignKey(
        Region, verbose_name="居住地村(社区)", on_delete=models.PROTECT, related_name="elders"
    )
    residence_address_token = models.TextField("居住地址（密文）", blank=True)
    registration_village = models.ForeignKey(
        Region,
        verbose_name="户籍地村(社区)",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="registered_elders",
    )
    registration_address_token = models.TextField("户籍地址（密文）", blank=True)
    lives_at_registration = models.BooleanField("是否居住在户籍所在地", null=True, blank=True)
    rural_registration = models.BooleanField("农村户籍", null=True, blank=True)

    # 健康
    ability = models.CharField("能力程度", max_length=20, choices=Ability.choices, blank=True)
    ability_assessed_on = models.DateField("能力评估日期", null=True, blank=True)
    ability_source = models.CharField("评估来源", max_length=100, blank=True)
    health = models.CharField("健康状况", max_length=10, choices=Health.choices, blank=True)
    dementia = models.BooleanField("失智", default=False)
    life_threatening_illness = models.BooleanField("患有可能危及生命的慢性病", default=False)
    disease_history = models.TextField("曾患病史", blank=True)
    disability_certificate_token = models.TextField("残疾证号（密文）", blank=True)
    disability_type = models.CharField(
        "残疾类别", max_length=20, choices=DisabilityType.choices, blank=True
    )
    disability_grade = models.PositiveSmallIntegerField(
        "残疾等级", null=True, blank=True, choices=[(n, f"{n}级") for n in range(1, 5)]
    )

    # 经济
    extreme_poverty = models.BooleanField("特困人员", default=False)
    dispersed_support = models.BooleanField("分散供养", default=False)
    minimum_living = models.BooleanField("低保", default=False)
    minimum_living_edge = models.BooleanField("低保边缘", default=False)
    monthly_disposable_income = models.DecimalField(
        "月可支配收入(元)", max_digits=10, decimal_places=2, null=True, blank=True
    )
    income_sources = models.CharField("经济来源", max_length=200, blank=True)
    living_source = models.CharField(
        "生活来源", max_length=10, choices=LivingSource.choices, blank=True
    )
    annual_income = models.DecimalField(
        "年收入(万元)", max_digits=8, decimal_places=2, null=True, blank=True
    )
    # None: no pension (□无养老保险); a number: the monthly amount.
    pension_monthly = models.DecimalField(
        "养老保险(元/月)", max_digits=10, decimal_places=2, null=True, blank=True
    )
    household_monthly_income = models.DecimalField(
        "家庭月收入(元)", max_digits=10, decimal_places=2, null=True, blank=True
    )

    # 家庭生活条件
    water_safe = models.BooleanField("饮水安全", null=True, blank=True)
    electricity_safe = models.BooleanField("生活用电安全", null=True, blank=True)
    housing_safe = models.BooleanField("住房安全", null=True, blank=True)

    # 家庭 (Linzi): children and the main supporter working away.
    children_count = models.PositiveSmallIntegerField("子女个数", null=True, blank=True)
    has_spouse = models.BooleanField("有配偶", null=True, blank=True)
    able_to_work = models.BooleanField("有劳动能力", null=True, blank=True)
    has_carer = models.BooleanField("有赡养、扶养人照料", null=True, blank=True)
    children_asked_for_visits = models.BooleanField("子女申请定期探访", default=False)

    # 意愿 (consent), with who recorded it and when.
    consents_to_visits = models.BooleanField("愿意接受探访", default=True)
    consents_to_home_visits = models.BooleanField("同意入户探访", default=True)
    consents_to_photos = models.BooleanField("同意拍照", default=False)
    consent_recorded_at = models.DateTimeField("意愿登记时间", null=True, blank=True)
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="意愿登记人",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    other_notes = models.TextField("其他需要说明的问题", blank=True)

    # 档案
    registered_on = models.DateField("建档日期", default=timezone.localdate)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="建档人", on_delete=models.PROTECT, related_name="+"
    )
    last_reviewed_on = models.DateField("最近核查日期", null=True, blank=True)
    status = models.CharField(
        "状态", max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    # 分级 under the county's rules (tanfang.policy), kept current by the actions
    # and by `manage.py refresh_tiers` (ages cross thresholds); an officer may
    # set another tier with a written reason, shown beside the computed one.
    tier = models.CharField("分级", max_length=20, blank=True, db_index=True)
    tier_label = models.CharField("分级名称", max_length=20, blank=True)
    tier_reasons = models.JSONField("分级理由", default=list, blank=True)
    tier_profile = models.CharField("适用规则", max_length=40, blank=True)
    tier_override = models.CharField("人工调整分级", max_length=20, blank=True)
    tier_override_reason = models.TextField("调整理由", blank=True)
    tier_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    tier_override_at = models.DateTimeField(null=True, blank=True)
    # The document and section the override rests on, as a citation
    # ("<document> <section>", tanfang.policy.documents), shown as its title.
    tier_override_citation = models.CharField("调整依据", max_length=200, blank=True)
    # A confirmed set of categories that differs from the proposal (see categories.py).
    quality_warnings = models.JSONField("数据质量提示", default=list, blank=True)

    objects = ElderQuerySet.as_manager()

    class Meta:
        ordering = ["village_id", "name", "id"]
        verbose_name = "老年人档案"
        verbose_name_plural = "老年人档案"
        constraints = [
            # One active file per ID number (DOMAIN.md "The elder's file").
            models.UniqueConstraint(
                fields=["id_number_hash"],
                condition=Q(status="active"),
                name="registry_one_active_file_per_id",
            ),
            models.CheckConstraint(
                condition=Q(disability_grade__isnull=True)
                | Q(disability_grade__gte=1, disability_grade__lte=4),
                name="registry_disability_grade_1_to_4",
            ),
        ]
        indexes = [models.Index(fields=["village", "status"], name="registry_village_status")]

    def __str__(self) -> str:
        return self.name

    def age_on(self, day: date) -> int:
        return identity.age_on(self.birth_date, day)

    def is_active(self) -> bool:
        return self.status == Status.ACTIVE


class Category(models.TextChoices):
    """对象类型: the seven categories of 附件2 (000_… and 001_…), and Linzi's extras."""

    SOLITARY_CHILDLESS = "孤寡", "孤寡"
    LIVING_ALONE = "独居", "独居"
    EMPTY_NEST = "空巢", "空巢"
    LEFT_BEHIND = "留守", "留守"
    DISABLED = "失能", "失能"
    SEVERELY_HANDICAPPED = "重残", "重残"
    FAMILY_PLANNING = "计划生育特殊家庭", "计划生育特殊家庭"


class ElderCategory(models.Model):
    """A category confirmed by an officer (several per elder). A category that no
    longer applies is withdrawn, with who and when, not deleted."""

    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="categories")
    category = models.CharField("对象类型", max_length=20, choices=Category.choices)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(default=timezone.now)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["elder", "category"],
                condition=Q(withdrawn_at__isnull=True),
                name="registry_category_once",
            )
        ]

    def __str__(self) -> str:
        return self.category


class EmergencyContact(models.Model):
    """紧急联系人 (000_… 附件3, 001_… 附件2): receives alerts; not a system user."""

    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="emergency_contacts")
    name = models.CharField("姓名", max_length=50)
    sex = models.CharField("性别", max_length=1, choices=Sex.choices, blank=True)
    relation = models.CharField("关系", max_length=20, blank=True)
    phone_token = models.TextField("联系电话（密文）")
    phone_hash = models.CharField(max_length=64, db_index=True)
    # 第一探访联系人 (000_4970ff49482a0570.txt 二(三)): every child in the same place, all children
    # when there are several, or a person named by township and village.
    first_contact = models.BooleanField("第一探访联系人", default=False)
    named_by_township = models.BooleanField("乡镇、村指定", default=False)
    order = models.PositiveSmallIntegerField("顺序", default=0)
    active = models.BooleanField("有效", default=True)

    class Meta:
        ordering = ["elder_id", "order", "id"]

    def __str__(self) -> str:
        return self.name


class Relation(models.TextChoices):
    SPOUSE = "spouse", "配偶"
    SON = "son", "儿子"
    DAUGHTER = "daughter", "女儿"
    SON_IN_LAW = "son_in_law", "女婿"
    DAUGHTER_IN_LAW = "daughter_in_law", "儿媳"
    GRANDCHILD = "grandchild", "孙子女、外孙子女"
    SIBLING = "sibling", "兄弟姐妹"
    OTHER = "other", "其他"


class HouseholdMember(models.Model):
    """家庭成员 (000_… 附件3, 001_… 附件2) and 共同居住人 (003_… 附件1); children
    working away with their return plans (003_… 台账)."""

    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="household")
    name = models.CharField("姓名", max_length=50)
    sex = models.CharField("性别", max_length=1, choices=Sex.choices, blank=True)
    relation = models.CharField("与本人关系", max_length=20, choices=Relation.choices)
    id_number_token = models.TextField("身份证号码（密文）", blank=True)
    id_number_hash = models.CharField(max_length=64, blank=True, db_index=True)
    phone_token = models.TextField("联系电话（密文）", blank=True)
    health = models.CharField("健康状况", max_length=10, choices=Health.choices, blank=True)
    disability_grade = models.PositiveSmallIntegerField(
        "残疾等级", null=True, blank=True, choices=[(n, f"{n}级") for n in range(1, 5)]
    )
    deceased = models.BooleanField("已故", default=False)
    on_minimum_living = models.BooleanField("低保对象/特困人员", default=False)
    visits_often = models.BooleanField("经常探访", null=True, blank=True)
    lives_with_elder = models.BooleanField("共同居住", default=False)
    same_township = models.BooleanField("居住在本乡镇(街道)", null=True, blank=True)
    main_supporter = models.BooleanField("主要赡养人", default=False)
    away_since = models.DateField("外出时间", null=True, blank=True)
    away_where = models.CharField("外出地点", max_length=100, blank=True)
    planned_return = models.CharField("计划返回时间", max_length=50, blank=True)
    adopted = models.BooleanField("收养", default=False)
    order = models.PositiveSmallIntegerField("序号", default=0)
    active = models.BooleanField("有效", default=True)

    class Meta:
        ordering = ["elder_id", "order", "id"]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_relation_display()}）"

    def is_child(self) -> bool:
        return self.relation in {Relation.SON, Relation.DAUGHTER}


class AssistanceItem(models.Model):
    """享受社会救助和社会福利补贴项目, 每月补贴金额 (000_… 附件3, 001_… 附件2)."""

    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="assistance")
    item = models.CharField("项目", max_length=100)
    monthly_amount = models.DecimalField("每月补贴金额(元)", max_digits=10, decimal_places=2)
    active = models.BooleanField("有效", default=True)

    def __str__(self) -> str:
        return self.item


class HelperType(models.TextChoices):
    PARTY_GOVERNMENT = "party_government", "党政机关、群团组织"
    TOWNSHIP_VILLAGE = "township_village", "乡镇(街道)、村(居)委员会"
    ENTERPRISE = "enterprise", "企业"
    SOCIAL_ORGANISATION = "social_organisation", "社会组织"
    SOCIAL_WORKER = "social_worker", "专业社会工作者"
    VOLUNTEER = "volunteer", "志愿者"
    OTHER = "other", "其他"


class HelpReceived(models.Model):
    """已享受帮扶 (000_… 附件3, 001_… 附件2) and 帮扶联系人 (003_… 附件1)."""

    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="help_received")
    helper_type = models.CharField("开展帮扶单位(组织)", max_length=30, choices=HelperType.choices)
    unit_name = models.CharField("所在单位", max_length=100, blank=True)
    responsible_person = models.CharField("帮扶责任人", max_length=50, blank=True)
    contact_phone_token = models.TextField("联系电话（密文）", blank=True)
    contact_identity = models.CharField(
        "身份",
        max_length=10,
        blank=True,
        choices=[("党员", "党员"), ("村干部", "村干部"), ("志愿者", "志愿者"), ("其他", "其他")],
    )
    measures = models.TextField("帮扶措施", blank=True)
    active = models.BooleanField("有效", default=True)

    def __str__(self) -> str:
        return self.get_helper_type_display()


class StatusChange(models.Model):
    """Every change of an elder's status: nothing is deleted (DOMAIN.md)."""

    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=Status.choices)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    effective_on = models.DateField("生效日期")
    reason = models.TextField("原因")
    destination = models.CharField("迁往/入住机构", max_length=200, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["elder_id", "-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"


class Review(models.Model):
    """A half-yearly review of the file (每半年动态更新, 000_4970ff49482a0570.txt 三(四))."""

    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="reviews")
    reviewed_on = models.DateField("核查日期")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changes = models.JSONField("变更内容", default=dict, blank=True)
    notes = models.TextField("说明", blank=True)

    class Meta:
        ordering = ["elder_id", "-reviewed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.reviewed_on}"


# The stored values are what profiles name in `triggers[].change`.
CHANGE_CHOICES = [(c.value, CHANGE_LABELS[c]) for c in Change]


class LifeEventSource(models.TextChoices):
    FILE = "file", "档案登记"
    VISIT = "visit", "探访发现"
    DEVICE = "device", "智能设备"


class LifeEvent(models.Model):
    """A major change in the elder's life (重大变故: a fall, a stay in hospital,
    a bereavement…, tanfang.policy.changes), recorded on the file so that the
    county's trigger rules can ask for a visit soon after it.

    Nothing is deleted: an entry made by mistake is withdrawn with who, when and
    why, and then no rule counts it. The time is kept to the minute, so that a
    second tap on the same form finds the first entry (`registry_life_event_once`).
    """

    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="life_events")
    change = models.CharField("变故", max_length=20, choices=CHANGE_CHOICES)
    occurred_at = models.DateTimeField("发生时间")
    note = models.CharField("说明", max_length=200, blank=True)
    source = models.CharField(
        "来源", max_length=10, choices=LifeEventSource.choices, default=LifeEventSource.FILE
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="登记人", on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField("登记时间", default=timezone.now)
    withdrawn_at = models.DateTimeField("撤销时间", null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="撤销人",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    withdraw_reason = models.CharField("撤销原因", max_length=200, blank=True)

    # Set on the row `life_events.record_life_event` returns when the same event was
    # already on the file (a repeated submission): nothing new was stored.
    replayed = False

    class Meta:
        ordering = ["elder_id", "-occurred_at", "-id"]
        verbose_name = "重大变故"
        verbose_name_plural = "重大变故"
        indexes = [models.Index(fields=["elder", "occurred_at"], name="registry_life_event_when")]
        constraints = [
            models.UniqueConstraint(
                fields=["elder", "change", "occurred_at"],
                condition=Q(withdrawn_at__isnull=True),
                name="registry_life_event_once",
            ),
            # Withdrawn with who and why, or not withdrawn at all.
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True, withdrawn_by__isnull=True)
                | (
                    Q(withdrawn_at__isnull=False, withdrawn_by__isnull=False)
                    & ~Q(withdraw_reason="")
                ),
                name="registry_life_event_withdrawn_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.get_change_display()

    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None


# --- A visitor's report of a death or a move ------------------------------------------

# What a visitor may report: the file leaves the registry (DOMAIN.md "status").
REPORTABLE = (Status.DECEASED, Status.MOVED_AWAY, Status.IN_INSTITUTION)


class ReportState(models.TextChoices):
    PENDING = "pending", "待确认"
    CONFIRMED = "confirmed", "已确认"
    REJECTED = "rejected", "已驳回"


_R = TypeVar("_R", bound="ChangeReport")


class ChangeReportQuerySet(models.QuerySet[_R, _R]):
    def visible_to(self, user: User) -> models.QuerySet["ChangeReport"]:
        """Reports about elders living in the user's subtree; a visitor sees the
        ones they made."""
        access.check(user, Perm.PEOPLE_VIEW)
        reports = access.scope(
            user,
            self.select_related("elder", "elder__village", "reported_by", "decided_by"),
            "elder__village_id",
        )
        if access.assigned_only(user):
            reports = reports.filter(reported_by=user)
        return reports


class ChangeReport(models.Model):
    """A visitor reports that an elder has died or moved; the village liaison (or
    the township) confirms it, which changes the file's status through
    `registry.actions.change_status`, or rejects it with a reason (issue 16:
    visitors do not change the status, they report). Nothing is deleted."""

    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="change_reports")
    to_status = models.CharField(
        "报告情况", max_length=20, choices=[(s.value, s.label) for s in REPORTABLE]
    )
    occurred_on = models.DateField("发生日期")
    destination = models.CharField("迁往/入住机构", max_length=200, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="报告人", on_delete=models.PROTECT, related_name="+"
    )
    reported_at = models.DateTimeField("报告时间", default=timezone.now)
    state = models.CharField(
        "处理状态", max_length=10, choices=ReportState.choices, default=ReportState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="处理人",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField("处理时间", null=True, blank=True)
    decision_note = models.CharField("处理意见", max_length=200, blank=True)
    # The status change a confirmation made.
    status_change = models.OneToOneField(
        StatusChange,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="report",
    )

    # Set on the row `change_reports.report_change` returns when the same report
    # was already waiting (a repeated submission): nothing new was stored.
    replayed = False

    objects = ChangeReportQuerySet.as_manager()

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = "去世、迁出报告"
        verbose_name_plural = "去世、迁出报告"
        constraints = [
            # One report waits per elder at a time.
            models.UniqueConstraint(
                fields=["elder"],
                condition=Q(state="pending"),
                name="registry_one_pending_change_report",
            ),
            # Decided with who and when, or not decided at all.
            models.CheckConstraint(
                condition=Q(state="pending", decided_by__isnull=True, decided_at__isnull=True)
                | (~Q(state="pending") & Q(decided_by__isnull=False, decided_at__isnull=False)),
                name="registry_change_report_decided_with_who",
            ),
        ]
        indexes = [models.Index(fields=["state", "elder"], name="registry_change_report_state")]

    def __str__(self) -> str:
        return f"{self.elder}：{self.get_to_status_display()}"

    def is_pending(self) -> bool:
        return self.state == ReportState.PENDING

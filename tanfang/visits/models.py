"""Visitors, who is responsible for whom, the visits each elder is owed, and the
visits made (DOMAIN.md "Visits").

- `Visitor` (探访人员 / 服务力量): the roster of a township; may have a login.
- `Assignment` (包干): a visitor responsible for an elder, kept as history.
- `VisitTask`: one visit an elder is owed in a period under the county's rules,
  with the window in which a visit counts and the deadline; its state is read
  from its dates and the clock (`state_on`), so it is never stale.
- `Visit` (探访关爱服务记录): one record of the visit form, made once per
  client-made UUID.
"""

from datetime import date
from typing import TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.regions.models import Level, Region, parent_code_of
from tanfang.registry.models import Elder


class VisitorKind(models.TextChoices):
    """服务力量 (002_8b4fd75972db9bc5.txt 三, 000_4970ff49482a0570.txt 三(二),
    001_35a01bee4c628ebd.txt 二(三), 003_fe235aaa23e67560.txt 四)."""

    GRID_WORKER = "grid_worker", "网格员"
    FAMILY_DOCTOR = "family_doctor", "家庭医生"
    SOCIAL_WORKER = "social_worker", "社会工作者"
    CARE_STAFF = "care_staff", "养老服务机构人员"
    VOLUNTEER = "volunteer", "志愿者"
    ELDERS_ASSOCIATION = "elders_association", "老年协会成员"
    PROPERTY_STAFF = "property_staff", "物业服务人员"
    PARTY_MEMBER = "party_member", "党员干部（结对帮扶）"
    RELATIVE_NEIGHBOUR = "relative_neighbour", "亲属邻里"
    WELFARE_POST = "welfare_post", "公益性岗位人员"
    DELIVERY = "delivery", "快递送餐人员"
    OTHER = "other", "其他"


# The people querysets are generic in their model: django-stubs types
# `.annotate()` of a custom QuerySet only so.
_V = TypeVar("_V", bound="Visitor")


class VisitorQuerySet(models.QuerySet[_V, _V]):
    def visible_to(self, user: User) -> models.QuerySet["Visitor"]:
        """The rosters of the townships in the user's subtree. Below a township (a
        village liaison, a visitor bound to a village), the roster of their own
        township, restricted to the visitors who serve their village or serve no
        village in particular (the township's roster, 001_35a01bee4c628ebd.txt 二(三)1)."""
        access.check(user, Perm.PEOPLE_VIEW)
        visitors = self.select_related("township")
        region = user.region
        if region.level <= Level.TOWNSHIP:
            return access.scope(user, visitors, "township_id")
        # Only villages lie below townships: the township is the village's parent.
        township = parent_code_of(region.code)
        served = Visitor.villages.through.objects.filter(visitor_id=OuterRef("pk"))
        return visitors.filter(township_id=township).filter(
            Exists(served.filter(region_id=region.code)) | ~Exists(served)
        )


class Visitor(models.Model):
    township = models.ForeignKey(
        Region, verbose_name="所属乡镇(街道)", on_delete=models.PROTECT, related_name="visitors"
    )
    name = models.CharField("姓名", max_length=50)
    kind = models.CharField("类别", max_length=30, choices=VisitorKind.choices)
    organisation = models.CharField("所在单位(组织)", max_length=100, blank=True)
    phone_token = models.TextField("联系电话（密文）", blank=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Students earn volunteer credits (DOMAIN.md "Time bank").
    is_student = models.BooleanField("学生志愿者", default=False)
    school = models.CharField("学校", max_length=100, blank=True)
    villages = models.ManyToManyField(
        Region, verbose_name="服务村(社区)", related_name="served_by", blank=True
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="登录账号",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visitor",
    )
    active = models.BooleanField("在岗", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    deactivated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivation_reason = models.CharField("停用原因", max_length=200, blank=True)

    objects = VisitorQuerySet.as_manager()

    class Meta:
        ordering = ["township_id", "name", "id"]
        verbose_name = "探访人员"
        verbose_name_plural = "探访人员"

    def __str__(self) -> str:
        return self.name


def assigned_to_user(user: User, elder_field: str = "elder_id") -> Exists:
    """For filtering the rows about elders (visits, tasks, needs, hazards,
    emergencies): the elder is assigned to `user`'s visitor record now (an open
    包干). The narrowing of a visitor's `visible_to` (access.assigned_only)."""
    return Exists(
        Assignment.objects.filter(
            elder_id=OuterRef(elder_field), visitor__user=user, ended_at__isnull=True
        )
    )


class Assignment(models.Model):
    """包干: `visitor` is responsible for visiting `elder` from `started_at`
    until `ended_at` (000_4970ff49482a0570.txt 三(二): 落实包干责任人)."""

    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="assignments")
    visitor = models.ForeignKey(Visitor, on_delete=models.PROTECT, related_name="assignments")
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    end_reason = models.CharField("结束原因", max_length=200, blank=True)

    class Meta:
        ordering = ["elder_id", "-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["elder", "visitor"],
                condition=Q(ended_at__isnull=True),
                name="visits_one_open_assignment",
            )
        ]
        indexes = [
            models.Index(fields=["visitor", "ended_at"], name="visits_assignment_visitor"),
        ]

    def __str__(self) -> str:
        return f"{self.visitor} → {self.elder}"

    def is_active(self) -> bool:
        return self.ended_at is None


class TaskKind(models.TextChoices):
    REGULAR = "regular", "例行探访"
    FESTIVAL = "festival", "节日探访"
    EVENT = "event", "特殊时段探访"
    REVIEW = "review", "档案半年核查"
    # A visit owed within hours of a major change recorded on the file (跌倒,
    # 出院 …, tanfang.policy.changes), by a profile's trigger rule.
    TRIGGER = "trigger", "重大变故后探访"
    # 跟踪回访 of a resolved need or a closed emergency (tanfang.care.follow_up),
    # owed on top of the rules: never part of the monthly compliance, never
    # cancelled by a refresh of the rules.
    FOLLOW_UP = "follow_up", "跟踪回访"


# The kinds of task counted in their month's visit figures (the monthly
# rollups, tanfang.reports.rows): the rules' visits, not the file's half-year
# review nor a follow-up (跟踪回访).
VISIT_KINDS = (
    str(TaskKind.REGULAR),
    str(TaskKind.TRIGGER),
    str(TaskKind.FESTIVAL),
    str(TaskKind.EVENT),
)
# Always part of compliance.
ALWAYS_REQUIRED = (str(TaskKind.REGULAR), str(TaskKind.TRIGGER))
# Surges of visits (节日/天气): part of compliance only when mandatory (not
# `extra`, 001_35a01bee4c628ebd.txt 二(五)2 "必须开展"); each has its coverage.
SURGE_KINDS = (str(TaskKind.FESTIVAL), str(TaskKind.EVENT))


class TaskState(models.TextChoices):
    """CHT's states (DOMAIN.md "Visits"), read from the dates by `state_on`."""

    SCHEDULED = "scheduled", "未开始"
    DUE = "due", "待探访"
    OVERDUE = "overdue", "已逾期"
    MISSED = "missed", "未完成"
    DONE = "done", "已完成"
    EXCUSED = "excused", "已免除"
    CANCELLED = "cancelled", "已取消"


class ExcuseReason(models.TextChoices):
    HOSPITAL = "hospital", "住院"
    AWAY = "away", "外出（不在家）"
    DECLINED = "declined", "老人拒绝探访"
    OTHER = "other", "其他"


_VT = TypeVar("_VT", bound="VisitTask")


class VisitTaskQuerySet(models.QuerySet[_VT, _VT]):
    def visible_to(self, user: User) -> models.QuerySet["VisitTask"]:
        """Visit tasks of elders living in the user's subtree now; a visitor's,
        of the elders assigned to them."""
        access.check(user, Perm.PEOPLE_VIEW)
        tasks = access.scope(user, self.select_related("elder"), "elder__village_id")
        if access.assigned_only(user):
            tasks = tasks.filter(assigned_to_user(user))
        return tasks


class VisitTask(models.Model):
    """One visit (or file review) `elder` is owed.

    A visit of an allowed mode made between `window_start` and `window_end`
    completes it; after `deadline` it is overdue but still doable, after
    `window_end` missed. A task whose requirement no longer applies (the tier
    changed, the elder died) is cancelled, not deleted.
    """

    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="visit_tasks")
    kind = models.CharField("类别", max_length=20, choices=TaskKind.choices)
    # The requirement within the period: "regular:1", "festival:重阳", "event:12", "review".
    key = models.CharField(max_length=60)
    label = models.CharField("说明", max_length=100)
    window_start = models.DateField("开始日期")
    deadline = models.DateField("截止日期")
    window_end = models.DateField("最迟日期")
    # Modes that count (tanfang.policy.engine.Mode values); empty for a review.
    modes = models.JSONField("计入的探访方式", default=list)
    # Asked for on top of the rules' compliance: a festival or weather visit
    # that the documents ask to "适当增加" (000_4970ff49482a0570.txt 四(二)) counts
    # for that surge's coverage (节日/天气探访覆盖率), never for the month's
    # compliance. A mandatory one (001_35a01bee4c628ebd.txt 二(五)2 "必须开展") is
    # not extra: it is part of compliance. Either is completed by any valid
    # visit inside its window in one of its modes, the regular visit made there
    # included.
    extra = models.BooleanField("额外探访", default=False)
    # Remote modes count as home visits inside this window (epidemic rules).
    remote_counts_as_home = models.BooleanField(default=False)
    # The month whose figures the task counts in (its first day): a period's
    # task in the month of its deadline (a quarter's in its last month), a
    # festival's in the month of the festival day even when its window crosses a
    # month end, an event's in the month its span starts, a trigger's in the
    # month it falls due (docs/统计口径.md).
    month = models.DateField("计入月份")
    # A trigger's due moment ("24 hours after the fall was recorded"); the
    # dates above hold its day.
    due_at = models.DateTimeField("应探访时间", null=True, blank=True)
    tier = models.CharField("分级", max_length=20, blank=True)
    profile = models.CharField("适用规则", max_length=40, blank=True)
    cite = models.CharField("依据", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField("完成时间", null=True, blank=True)
    done_by_visit = models.ForeignKey(
        "Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="completed_tasks"
    )
    excused_at = models.DateTimeField(null=True, blank=True)
    excused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    excuse_reason = models.CharField(
        "免除原因", max_length=20, choices=ExcuseReason.choices, blank=True
    )
    excuse_note = models.CharField("说明", max_length=200, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField("取消原因", max_length=200, blank=True)

    objects = VisitTaskQuerySet.as_manager()

    class Meta:
        ordering = ["deadline", "elder_id", "id"]
        constraints = [
            # A cancelled task (the tier changed, then changed back) does not keep
            # its requirement from being owed again.
            models.UniqueConstraint(
                fields=["elder", "key", "window_start"],
                condition=Q(cancelled_at__isnull=True),
                name="visits_one_task_per_requirement",
            ),
            models.CheckConstraint(
                condition=Q(window_start__lte=models.F("deadline"))
                & Q(deadline__lte=models.F("window_end")),
                name="visits_task_dates_in_order",
            ),
        ]
        indexes = [
            models.Index(fields=["elder", "window_end"], name="visits_task_elder_end"),
            models.Index(fields=["window_start", "window_end"], name="visits_task_window"),
            models.Index(fields=["month", "elder"], name="visits_task_month"),
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.window_start}–{self.window_end}"

    def is_open(self) -> bool:
        return self.done_at is None and self.excused_at is None and self.cancelled_at is None

    def state_on(self, today: date) -> TaskState:
        if self.cancelled_at is not None:
            return TaskState.CANCELLED
        if self.done_at is not None:
            return TaskState.DONE
        if self.excused_at is not None:
            return TaskState.EXCUSED
        if today < self.window_start:
            return TaskState.SCHEDULED
        if today <= self.deadline:
            return TaskState.DUE
        if today <= self.window_end:
            return TaskState.OVERDUE
        return TaskState.MISSED

    def is_overdue(self, today: date) -> bool:
        return self.state_on(today) == TaskState.OVERDUE


class LateState(models.TextChoices):
    """A visit entered after its month closed (补录): it waits for a township or
    county officer before it changes that month's figures (issue 16 "Closed
    months")."""

    PENDING = "pending", "待审核"
    APPROVED = "approved", "已同意计入"
    REFUSED = "refused", "不予计入"


class VisitMode(models.TextChoices):
    """服务方式 / 探访方式 of the forms (FORMS.md "Visit record"); the first four
    are tanfang.policy.engine.Mode values."""

    HOME = "home", "上门探访"
    PHONE = "phone", "电话探访"
    VIDEO = "video", "互联网音(视)频探访"
    STREET = "street", "路遇"
    OTHER = "other", "其他"


_VR = TypeVar("_VR", bound="Visit")


class VisitQuerySet(models.QuerySet[_VR, _VR]):
    def visible_to(self, user: User) -> models.QuerySet["Visit"]:
        """Visit records made where the elder lived at the time, in the user's
        subtree; a visitor's, those of the elders assigned to them and those they
        recorded themselves (a visit outside their assignment, with its reason)."""
        access.check(user, Perm.PEOPLE_VIEW)
        visits = access.scope(user, self.select_related("elder", "village"), "village_id")
        if access.assigned_only(user):
            visits = visits.filter(assigned_to_user(user) | Q(recorded_by=user))
        return visits


class Visit(models.Model):
    """探访关爱服务记录 (000_… 附件4, 001_… 附件3, 003_… 附件2)."""

    # Made by the phone; the same UUID again changes nothing (ARCHITECTURE.md).
    uuid = models.UUIDField(unique=True)
    # Of the request as received, to tell a retry (same) from a conflict (409).
    content_hash = models.CharField(max_length=64)
    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="visits")
    # Where the elder lived at the visit: scope and reports follow it.
    village = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    # 第 N 次 (FORMS.md header), given by the server.
    sequence = models.PositiveIntegerField("探访次数")
    mode = models.CharField("探访方式", max_length=20, choices=VisitMode.choices)
    # The elder refused the visit at the door or on the phone: recorded, never counted.
    refused = models.BooleanField("老人拒绝探访", default=False)
    visited_at = models.DateTimeField("探访时间", db_index=True)
    visitors = models.ManyToManyField(Visitor, verbose_name="探访人员", related_name="visits")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="记录人", on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField("记录时间", default=timezone.now)
    # The form: tanfang/visits/checklists/<checklist>.toml, and the answers by item key.
    checklist = models.CharField("记录表", max_length=20)
    answers = models.JSONField("检查项目", default=dict)
    # Needs named on the form: [{"type": NeedType, "met": bool, "note": str}].
    needs_found = models.JSONField("发现的需求", default=list, blank=True)
    services_given = models.TextField("关爱服务情况", blank=True)
    suggestions = models.TextField("实施关爱服务建议", blank=True)
    satisfaction = models.CharField("满意度评价", max_length=20, blank=True)
    notes = models.TextField("其他需说明的问题", blank=True)
    # PNG data of the signatures drawn on the screen.
    visitor_signature = models.TextField("探访人员签字", blank=True)
    elder_signature = models.TextField("被探访人签字", blank=True)
    photo = models.FileField("照片", upload_to="visits/%Y/%m/", blank=True)
    # What the phone adds when the visitor allows it.
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    location_accuracy = models.FloatField("定位精度(米)", null=True, blank=True)
    # Whether it counted towards a task, and why not in words when it did not.
    counted = models.BooleanField("计入探访要求", default=False)
    not_counted_reason = models.TextField("不计入原因", blank=True)
    # 补录: recorded after the month of its visit date had closed; empty when
    # recorded in time. The reason is the recorder's; the decision an officer's.
    late_state = models.CharField(
        "补录审核", max_length=10, choices=LateState.choices, blank=True, db_index=True
    )
    late_reason = models.TextField("补录原因", blank=True)
    late_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    late_decided_at = models.DateTimeField("补录审核时间", null=True, blank=True)
    late_decision_note = models.TextField("审核意见", blank=True)
    # A visitor who visits an elder not assigned to them (包干) says why; the
    # liaison sees it on the record.
    outside_reason = models.TextField("非包干探访原因", blank=True)

    objects = VisitQuerySet.as_manager()

    class Meta:
        ordering = ["-visited_at", "-id"]
        verbose_name = "探访记录"
        verbose_name_plural = "探访记录"
        constraints = [
            models.UniqueConstraint(fields=["elder", "sequence"], name="visits_sequence_per_elder")
        ]
        indexes = [
            models.Index(fields=["elder", "visited_at"], name="visits_visit_elder_at"),
            models.Index(fields=["village", "visited_at"], name="visits_visit_village_at"),
        ]

    def __str__(self) -> str:
        return f"第{self.sequence}次 {self.elder}"

"""The closed loop (闭环管理, DOMAIN.md "Needs, hazards, emergencies"): what visits,
calls, devices and departments find, followed to the end.

- `Need` (帮扶需求) gets one measure (帮扶措施), a responsible unit and a due
  date, moves through its states with every move kept as a `NeedEvent`, and is
  confirmed by a follow-up visit (跟踪回访) once resolved
  (001_35a01bee4c628ebd.txt 二(二)5: 帮扶需求和帮扶措施要一一对应，落实情况形成闭环管理).
- `Hazard` (安全隐患): the elder and family reminded, tracked until a later visit
  or a photo shows it removed (001_35a01bee4c628ebd.txt 二(二)2).
- `Emergency` (应急事件) and its `EmergencyStep`s: help called, family and contacts
  notified, the village informed, recorded with their times, archived read-only
  once closed (001_35a01bee4c628ebd.txt 二(五)1).
"""

from datetime import date, datetime
from typing import TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.registry.models import Elder
from tanfang.visits.findings import HazardItem, NeedType
from tanfang.visits.models import assigned_to_user


class NeedSource(models.TextChoices):
    VISIT = "visit", "探访发现"
    DEVICE = "device", "设备告警"
    PHONE = "phone", "电话反映"
    DEPARTMENT = "department", "部门转来"
    FAMILY = "family", "家属反映"


class NeedStatus(models.TextChoices):
    OPEN = "open", "待处理"
    REFERRED = "referred", "已转介"
    IN_PROGRESS = "in_progress", "处理中"
    RESOLVED = "resolved", "已解决"
    DECLINED = "declined", "老人谢绝"


# The states a need is finished in: neither overdue nor open.
NEED_CLOSED = frozenset({NeedStatus.RESOLVED, NeedStatus.DECLINED})


# The people querysets are generic in their model: django-stubs types
# `.annotate()` of a custom QuerySet only so.
_N = TypeVar("_N", bound="Need")


class NeedQuerySet(models.QuerySet[_N, _N]):
    def visible_to(self, user: User) -> models.QuerySet["Need"]:
        """Needs of elders living in the user's subtree now."""
        access.check(user, Perm.PEOPLE_VIEW)
        needs = self.select_related("elder", "elder__village")
        needs = access.scope(user, needs, "elder__village_id")
        # A visitor's: those of the elders assigned to them.
        return needs.filter(assigned_to_user(user)) if access.assigned_only(user) else needs


class Need(models.Model):
    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="needs")
    visit = models.ForeignKey(
        "visits.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="needs"
    )
    source = models.CharField("来源", max_length=20, choices=NeedSource.choices)
    need_type = models.CharField("需求类型", max_length=30, choices=NeedType.choices)
    description = models.TextField("需求描述", blank=True)
    status = models.CharField(
        "状态", max_length=20, choices=NeedStatus.choices, default=NeedStatus.OPEN, db_index=True
    )
    # One need, one measure (001_35a01bee4c628ebd.txt 二(二)5 一一对应).
    measure = models.TextField("帮扶措施", blank=True)
    responsible_unit = models.CharField("责任单位", max_length=100, blank=True)
    responsible_person = models.CharField("责任人", max_length=50, blank=True)
    due_on = models.DateField("办理期限", null=True, blank=True)
    resolved_at = models.DateTimeField("解决时间", null=True, blank=True)
    # Set when the follow-up visit (跟踪回访) was made.
    confirmed_at = models.DateTimeField("回访确认时间", null=True, blank=True)
    follow_up_task = models.ForeignKey(
        "visits.VisitTask",
        verbose_name="跟踪回访任务",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("登记时间", default=timezone.now)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    objects = NeedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "帮扶需求"
        verbose_name_plural = "帮扶需求"
        indexes = [
            models.Index(fields=["status", "due_on"], name="care_need_status_due"),
            models.Index(fields=["resolved_at"], name="care_need_resolved"),
        ]

    def __str__(self) -> str:
        return self.get_need_type_display()

    def is_closed(self) -> bool:
        return self.status in NEED_CLOSED

    def is_overdue(self, today: date) -> bool:
        return not self.is_closed() and self.due_on is not None and self.due_on < today


class NeedEvent(models.Model):
    """One move of a need: its creation (`from_status` blank), a change of state,
    the follow-up visit's confirmation (resolved → resolved, with the visit)."""

    need = models.ForeignKey(Need, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField("原状态", max_length=20, choices=NeedStatus.choices, blank=True)
    to_status = models.CharField("新状态", max_length=20, choices=NeedStatus.choices)
    note = models.TextField("说明", blank=True)
    visit = models.ForeignKey(
        "visits.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField("时间", default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "需求处理记录"
        verbose_name_plural = "需求处理记录"

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


class HazardSeverity(models.TextChoices):
    ORDINARY = "ordinary", "一般"
    SERIOUS = "serious", "较大"
    MAJOR = "major", "重大"


class HazardStatus(models.TextChoices):
    OPEN = "open", "未消除"
    REMOVED = "removed", "已消除"


_H = TypeVar("_H", bound="Hazard")


class HazardQuerySet(models.QuerySet[_H, _H]):
    def visible_to(self, user: User) -> models.QuerySet["Hazard"]:
        """Hazards at the homes of elders living in the user's subtree now."""
        access.check(user, Perm.PEOPLE_VIEW)
        hazards = self.select_related("elder", "elder__village", "visit")
        hazards = access.scope(user, hazards, "elder__village_id")
        # A visitor's: those of the elders assigned to them.
        return hazards.filter(assigned_to_user(user)) if access.assigned_only(user) else hazards


class Hazard(models.Model):
    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="hazards")
    visit = models.ForeignKey(
        "visits.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="hazards"
    )
    item = models.CharField("隐患类别", max_length=20, choices=HazardItem.choices)
    # The answer as the form put it ("不安全", "较差"), and where on the form.
    finding = models.CharField("探访发现", max_length=100)
    description = models.TextField("说明", blank=True)
    severity = models.CharField(
        "严重程度",
        max_length=20,
        choices=HazardSeverity.choices,
        default=HazardSeverity.ORDINARY,
    )
    status = models.CharField(
        "状态",
        max_length=20,
        choices=HazardStatus.choices,
        default=HazardStatus.OPEN,
        db_index=True,
    )
    # 提醒其及时消除隐患 (001_35a01bee4c628ebd.txt 二(二)2).
    reminded_elder = models.BooleanField("已提醒老人", default=False)
    reminded_family = models.BooleanField("已提醒家属", default=False)
    reminded_at = models.DateTimeField("提醒时间", null=True, blank=True)
    reminded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removed_at = models.DateTimeField("消除时间", null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The evidence of the removal: a later visit, or a photo (one at least).
    removal_visit = models.ForeignKey(
        "visits.Visit",
        verbose_name="确认消除的探访",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    removal_photo = models.FileField("消除照片", upload_to="hazards/%Y/%m/", blank=True)
    removal_note = models.CharField("消除说明", max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("登记时间", default=timezone.now)

    objects = HazardQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "安全隐患"
        verbose_name_plural = "安全隐患"

    def __str__(self) -> str:
        return self.get_item_display()

    @property
    def found_at(self) -> datetime:
        """When the hazard was seen: the visit's time, else when it was entered."""
        return self.visit.visited_at if self.visit is not None else self.created_at


class EmergencySource(models.TextChoices):
    VISIT = "visit", "探访发现"
    PHONE = "phone", "电话报告"
    DEVICE = "device", "设备告警"


class EmergencyKind(models.TextChoices):
    ILLNESS = "illness", "突发疾病"
    FALL = "fall", "跌倒"
    FIRE = "fire", "火灾"
    GAS_LEAK = "gas_leak", "燃气泄漏"
    MISSING = "missing", "走失"
    OTHER = "other", "其他"


class EmergencyOutcome(models.TextChoices):
    HOSPITAL = "hospital", "送医"
    FAMILY = "family", "家属接回"
    ON_SITE = "on_site", "现场处置"
    CLEARED = "cleared", "已排除（无需救援）"
    DIED = "died", "死亡"
    OTHER = "other", "其他"


_E = TypeVar("_E", bound="Emergency")


class EmergencyQuerySet(models.QuerySet[_E, _E]):
    def visible_to(self, user: User) -> models.QuerySet["Emergency"]:
        """Emergencies of elders living in the user's subtree now."""
        access.check(user, Perm.PEOPLE_VIEW)
        emergencies = self.select_related("elder", "elder__village")
        emergencies = access.scope(user, emergencies, "elder__village_id")
        # A visitor's: those of the elders assigned to them.
        if access.assigned_only(user):
            emergencies = emergencies.filter(assigned_to_user(user))
        return emergencies


class Emergency(models.Model):
    """应急事件: open while `closed_at` is empty; read-only once closed
    (事后做好处置情况记录归档, 001_35a01bee4c628ebd.txt 二(五)1)."""

    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="emergencies")
    source = models.CharField("来源", max_length=20, choices=EmergencySource.choices)
    visit = models.ForeignKey(
        "visits.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField("事件类型", max_length=20, choices=EmergencyKind.choices)
    description = models.TextField("情况描述")
    raised_at = models.DateTimeField("发生(报告)时间", db_index=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="登记人", on_delete=models.PROTECT, related_name="+"
    )
    outcome_kind = models.CharField(
        "处置结果", max_length=20, choices=EmergencyOutcome.choices, blank=True
    )
    outcome = models.TextField("处置情况", blank=True)
    closed_at = models.DateTimeField("结案时间", null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    follow_up_task = models.ForeignKey(
        "visits.VisitTask",
        verbose_name="跟踪回访任务",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField("登记时间", default=timezone.now)

    objects = EmergencyQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = "应急事件"
        verbose_name_plural = "应急事件"
        indexes = [
            models.Index(
                fields=["raised_at"],
                condition=Q(closed_at__isnull=True),
                name="care_emergency_open",
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()

    def is_closed(self) -> bool:
        return self.closed_at is not None


class StepKind(models.TextChoices):
    HELP_CALLED = "help_called", "拨打紧急求助电话"
    FAMILY_NOTIFIED = "family_notified", "通知家庭成员"
    CONTACT_NOTIFIED = "contact_notified", "通知紧急联系人"
    VILLAGE_INFORMED = "village_informed", "报告村(社区)"
    TOWNSHIP_INFORMED = "township_informed", "报告乡镇(街道)"
    OTHER = "other", "其他处置"


class HelpNumber(models.TextChoices):
    AMBULANCE = "120", "120 急救"
    FIRE = "119", "119 消防"
    POLICE = "110", "110 报警"


class ContactMeans(models.TextChoices):
    PHONE = "phone", "电话"
    SMS = "sms", "短信"
    IN_PERSON = "in_person", "当面"
    WECHAT = "wechat", "微信"


class EmergencyStep(models.Model):
    emergency = models.ForeignKey(Emergency, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField("处置步骤", max_length=20, choices=StepKind.choices)
    # When the step was taken (not when it was entered).
    at = models.DateTimeField("时间")
    number = models.CharField("求助电话", max_length=10, choices=HelpNumber.choices, blank=True)
    whom = models.CharField("联系对象", max_length=50, blank=True)
    how = models.CharField("联系方式", max_length=20, choices=ContactMeans.choices, blank=True)
    # Whether the person was reached; None where it does not apply.
    answered = models.BooleanField("是否联系上", null=True, blank=True)
    note = models.CharField("说明", max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="记录人", on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField("记录时间", default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "应急处置步骤"
        verbose_name_plural = "应急处置步骤"

    def __str__(self) -> str:
        return self.get_kind_display()

"""What visits find (DOMAIN.md "Needs, hazards, emergencies"): needs and hazards
linked to the visit that found them. The workflow that follows them to the end
(measures, referrals, follow-up visits) builds on these records.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tanfang.registry.models import Elder


class NeedType(models.TextChoices):
    """需求类型 (DOMAIN.md "Needs, hazards, emergencies")."""

    DAILY_CARE = "daily_care", "生活照料"
    REHABILITATION = "rehabilitation", "康复护理"
    COMPANIONSHIP = "companionship", "精神慰藉"
    EMERGENCY_RESCUE = "emergency_rescue", "紧急救援"
    HOME_ADAPTATION = "home_adaptation", "居家适老化改造"
    POLICY_APPLICATION = "policy_application", "政策申请"
    MEALS = "meals", "助餐"
    MEDICAL = "medical", "助医"
    BATHING = "bathing", "助浴"
    CLEANING = "cleaning", "助洁"
    ERRANDS = "errands", "代购/代办"
    COUNSELLING = "counselling", "心理疏导"
    FAMILY_RELATIONS = "family_relations", "家庭关系调适"
    SUPPORT_DISPUTE = "support_dispute", "赡养纠纷"
    COMMUNITY_ACTIVITY = "community_activity", "社区活动"
    ANTI_FRAUD = "anti_fraud", "防诈骗"
    OTHER = "other", "其他"


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
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("登记时间", default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "帮扶需求"
        verbose_name_plural = "帮扶需求"

    def __str__(self) -> str:
        return self.get_need_type_display()


class HazardItem(models.TextChoices):
    """安全隐患的类别: the safety items of the visit forms (FORMS.md)."""

    GAS = "gas", "燃气"
    WATER_HEATING = "water_heating", "水暖"
    ELECTRICITY = "electricity", "用电"
    HOUSING = "housing", "房屋"
    FIRE_HEATING = "fire_heating", "消防(取暖)"
    FOOD = "food", "食品"
    EPIDEMIC = "epidemic", "疫情防控"


class HazardStatus(models.TextChoices):
    OPEN = "open", "未消除"
    REMOVED = "removed", "已消除"


class Hazard(models.Model):
    elder = models.ForeignKey(Elder, on_delete=models.PROTECT, related_name="hazards")
    visit = models.ForeignKey(
        "visits.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="hazards"
    )
    item = models.CharField("隐患类别", max_length=20, choices=HazardItem.choices)
    # The answer as the form put it ("不安全", "较差"), and where on the form.
    finding = models.CharField("探访发现", max_length=100)
    description = models.TextField("说明", blank=True)
    status = models.CharField(
        "状态",
        max_length=20,
        choices=HazardStatus.choices,
        default=HazardStatus.OPEN,
        db_index=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("登记时间", default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "安全隐患"
        verbose_name_plural = "安全隐患"

    def __str__(self) -> str:
        return self.get_item_display()

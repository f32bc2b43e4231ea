"""What a visit can find: the kinds of need and of safety hazard that the visit
forms name (FORMS.md "What follows for the design").

The visit form's items carry these values (`need = "meals"`, `hazard = "gas"`,
tanfang.visits.checklist), the phone page and the API offer them, and care
stores what a visit found with them (tanfang.care.findings), so they live at
the bottom of visits, below the checklist and below care: visits need not know
care's tables to know what a visit may find. tanfang.care.models uses the same
choices for its `Need.need_type` and `Hazard.item` columns.
"""

from django.db import models


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


class HazardItem(models.TextChoices):
    """安全隐患的类别: the safety items of the visit forms (FORMS.md)."""

    GAS = "gas", "燃气"
    WATER_HEATING = "water_heating", "水暖"
    ELECTRICITY = "electricity", "用电"
    HOUSING = "housing", "房屋"
    FIRE_HEATING = "fire_heating", "消防(取暖)"
    FOOD = "food", "食品"
    EPIDEMIC = "epidemic", "疫情防控"

"""What the demo county's closed loop says (tanfang.demo.care): the measures
taken for each kind of need, the notes of declines, reminders and removals,
and the scripts of the emergencies, step by step."""

from dataclasses import dataclass

from tanfang.care.models import ContactMeans, EmergencyKind, EmergencyOutcome, StepKind
from tanfang.visits.findings import HazardItem, NeedType

SURNAMES = "陈林黄张吴王蔡郑李许杨洪"
GIVEN = ["志强", "秀琴", "丽华", "建明", "美珍", "国平", "玉兰", "文杰", "淑芬", "海峰"]

# need type: (measure, responsible unit, what was done when resolved). The unit
# names the township ({township}), the village committee ({committee}) or a
# county body.
MEASURES: dict[str, list[tuple[str, str, str]]] = {
    NeedType.MEALS: [
        ("纳入长者食堂助餐名单，每日午餐送餐上门。", "{township}长者食堂", "已开始每日送餐上门。"),
        (
            "申请助餐补贴，由配餐员每日送餐。",
            "{township}社会事务服务中心",
            "助餐补贴已批准，按日送餐。",
        ),
    ],
    NeedType.HOME_ADAPTATION: [
        (
            "申报居家适老化改造，安装卫生间扶手和防滑垫。",
            "石狮市民政局",
            "扶手和防滑垫已安装完毕。",
        ),
        ("联系施工单位上门评估，加装床边扶手。", "{committee}", "改造完成，老人试用良好。"),
    ],
    NeedType.MEDICAL: [
        (
            "家庭医生预约复诊号，安排志愿者陪同就医。",
            "{township}卫生院",
            "已陪同到卫生院完成复诊。",
        ),
        ("协调石狮市医院门诊预约，村里派车接送。", "石狮市医院", "已接送老人完成门诊复查。"),
    ],
    NeedType.POLICY_APPLICATION: [
        ("协助准备材料，代为申请高龄津贴。", "{committee}", "高龄津贴已审批，按月发放。"),
        (
            "帮助办理长期护理评估申请。",
            "{township}社会事务服务中心",
            "评估已完成，结果已告知老人。",
        ),
    ],
    NeedType.COMPANIONSHIP: [
        (
            "安排社工每周上门陪伴聊天，联系子女多打电话。",
            "{township}社工站",
            "社工每周上门，老人情绪好转。",
        ),
        (
            "邀请老人参加老年协会活动，志愿者结对陪伴。",
            "{committee}",
            "老人已参加协会活动，志愿者定期陪伴。",
        ),
    ],
    NeedType.CLEANING: [
        (
            "购买助洁服务，每两周上门打扫一次。",
            "石狮市颐年居家养老服务中心",
            "助洁服务已开始，家中卫生改善。",
        ),
        (
            "组织志愿者上门大扫除，联系子女定期清理。",
            "{committee}",
            "已完成大扫除，子女每周回家清理。",
        ),
    ],
}
GENERIC_MEASURE = [
    ("由村（社区）协调相关单位上门服务。", "{committee}", "已上门服务，老人表示满意。"),
    ("转介社工站跟进，制定帮扶计划。", "{township}社工站", "帮扶计划已落实。"),
]
DECLINED_NOTES = [
    "老人表示子女会安排，谢绝帮扶。",
    "老人不愿他人上门，暂不需要。",
    "家属已自行解决，老人谢绝。",
]
REMINDER_NOTES = ["已当面提醒老人注意安全。", "已提醒老人并电话告知子女尽快处理。", ""]
REMOVAL_NOTES = {
    HazardItem.GAS: "复访查看，燃气软管已由子女更换。",
    HazardItem.WATER_HEATING: "复访查看，热水器排气管已重新安装固定。",
    HazardItem.ELECTRICITY: "复访查看，已更换插线板，裸露电线已处理。",
}
SEVERE = {
    HazardItem.GAS: "软管开裂处有轻微漏气，老人独居且嗅觉减退。",
    HazardItem.WATER_HEATING: "排气管脱落，浴室通风差，有一氧化碳中毒风险。",
    HazardItem.ELECTRICITY: "插线板发烫、有焦痕，靠近床铺。",
}


@dataclass(frozen=True)
class Step:
    minutes: int  # after the emergency was raised
    kind: str
    number: str = ""
    whom: str = ""
    how: str = ""
    answered: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class Script:
    """One emergency as it was handled: what happened, its steps, how it ended."""

    kind: str
    description: str
    steps: tuple[Step, ...]
    outcome_kind: str
    outcome: str
    # Closed this many minutes after the last step.
    closed_after: int = 180
    # The form's answer a visit that finds it has unsafe, if any.
    answer: str = ""


PHONE_SCRIPTS = [
    Script(
        EmergencyKind.FALL,
        "邻居来电：老人在家中卫生间跌倒，无法自行起身。",
        (
            Step(6, StepKind.HELP_CALLED, number="120"),
            Step(
                9, StepKind.FAMILY_NOTIFIED, whom="老人之子", how=ContactMeans.PHONE, answered=True
            ),
            Step(15, StepKind.VILLAGE_INFORMED, how=ContactMeans.PHONE),
            Step(40, StepKind.TOWNSHIP_INFORMED, how=ContactMeans.PHONE),
        ),
        EmergencyOutcome.HOSPITAL,
        "120送石狮市医院急诊，诊断为右髋部骨折，住院治疗，儿子陪护。",
    ),
    Script(
        EmergencyKind.ILLNESS,
        "老人来电称胸闷气短、头晕，说话断续。",
        (
            Step(3, StepKind.HELP_CALLED, number="120"),
            Step(
                7, StepKind.FAMILY_NOTIFIED, whom="老人女儿", how=ContactMeans.PHONE, answered=False
            ),
            Step(
                10,
                StepKind.CONTACT_NOTIFIED,
                whom="紧急联系人（邻居）",
                how=ContactMeans.PHONE,
                answered=True,
            ),
            Step(18, StepKind.VILLAGE_INFORMED, how=ContactMeans.WECHAT),
        ),
        EmergencyOutcome.HOSPITAL,
        "邻居陪同，120送石狮市医院急诊，留观一日后由女儿接回家。",
        closed_after=1500,
    ),
]
VISIT_SCRIPTS = [
    Script(
        EmergencyKind.GAS_LEAK,
        "探访时闻到厨房有明显燃气味，老人未察觉。",
        (
            Step(2, StepKind.OTHER, note="关闭燃气总阀，开窗通风，带老人到屋外。"),
            Step(
                8, StepKind.FAMILY_NOTIFIED, whom="老人之子", how=ContactMeans.PHONE, answered=True
            ),
            Step(12, StepKind.VILLAGE_INFORMED, how=ContactMeans.IN_PERSON),
        ),
        EmergencyOutcome.CLEARED,
        "燃气公司上门检修，更换老化软管，排除险情，无需救援。",
        answer="gas_safety",
    ),
    Script(
        EmergencyKind.MISSING,
        "探访时老人不在家，邻居称其早上外出至今未归，老人有轻度认知障碍。",
        (
            Step(
                5, StepKind.FAMILY_NOTIFIED, whom="老人女儿", how=ContactMeans.PHONE, answered=True
            ),
            Step(20, StepKind.HELP_CALLED, number="110"),
            Step(25, StepKind.VILLAGE_INFORMED, how=ContactMeans.PHONE),
            Step(30, StepKind.TOWNSHIP_INFORMED, how=ContactMeans.PHONE),
        ),
        EmergencyOutcome.FAMILY,
        "派出所和村干部分头寻找，傍晚在镇区菜市场附近找到老人，由女儿接回家。",
    ),
]
OPEN_SCRIPT = Script(
    EmergencyKind.FALL,
    "老人女儿来电：老人在家中跌倒，腿部疼痛无法行走，女儿在外地。",
    (
        Step(5, StepKind.HELP_CALLED, number="120"),
        Step(12, StepKind.FAMILY_NOTIFIED, whom="老人之子", how=ContactMeans.PHONE, answered=False),
    ),
    EmergencyOutcome.HOSPITAL,
    "",
)

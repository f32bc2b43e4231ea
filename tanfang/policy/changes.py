"""Major changes in an elder's life (重大变故) that a profile's trigger rules
react to: "visit within H hours after a fall is recorded on the file".

Jining names them as what makes a home visit necessary: "受家庭变故、突发自然
灾害、事故灾害、公共卫生事件等影响的老年人" (004_1657df0ed1e05604.txt 二(四)2).
A visitor or the village liaison records one on the elder's file
(tanfang.registry), later a device alert will too; the values below are what
profiles name in `triggers[].change` and what the file stores.
"""

from enum import StrEnum


class Change(StrEnum):
    HOSPITALISED = "hospitalised"  # 住院
    DISCHARGED = "discharged"  # 出院
    BEREAVED = "bereaved"  # 丧偶或亲人离世
    FELL = "fell"  # 跌倒
    MOVED = "moved"  # 搬家（居住地变更）
    CARER_LOST = "carer_lost"  # 失去照料人
    DISASTER = "disaster"  # 受自然灾害、事故灾害影响


CHANGE_LABELS = {
    Change.HOSPITALISED: "住院",
    Change.DISCHARGED: "出院",
    Change.BEREAVED: "丧偶或亲人离世",
    Change.FELL: "跌倒",
    Change.MOVED: "搬家（居住地变更）",
    Change.CARER_LOST: "失去照料人",
    Change.DISASTER: "受自然灾害、事故灾害影响",
}

# A stay in hospital, for the condition `hospitalised_within_days`.
HOSPITAL = frozenset({Change.HOSPITALISED, Change.DISCHARGED})

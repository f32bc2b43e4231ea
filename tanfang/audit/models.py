"""The append-only audit log (NONFUNCTIONAL.md "Audit trail").

Rows are only ever inserted. Database triggers (see `guard.py`, installed by
the migration) make UPDATE and DELETE fail for the application itself, on
SQLite and PostgreSQL alike.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    LOGIN = "login", "登录成功"
    LOGIN_FAILED = "login_failed", "登录失败"
    LOCKOUT = "lockout", "账号锁定"
    LOGOUT = "logout", "退出登录"
    SESSION_EXPIRED = "session_expired", "会话超时"
    PASSWORD_CHANGED = "password_changed", "修改密码"
    PASSWORD_RESET = "password_reset", "重置密码"
    OTP_DEVICE_ADDED = "otp_added", "绑定动态口令"
    OTP_DEVICE_REMOVED = "otp_removed", "解绑动态口令"
    OTP_FAILED = "otp_failed", "动态口令错误"
    OTP_VERIFIED = "otp_verified", "动态口令验证通过"
    ACCOUNT_CREATED = "account_created", "创建账号"
    ACCOUNT_CHANGED = "account_changed", "修改账号"
    ACCOUNT_UNLOCKED = "account_unlocked", "解除锁定"
    AUDIT_VIEWED = "audit_viewed", "查阅审计日志"
    REGIONS_IMPORTED = "regions_imported", "导入行政区划"
    REGION_RENAMED = "region_renamed", "区划更名"
    ELDER_REGISTERED = "elder_registered", "老年人建档"
    ELDER_STATUS_CHANGED = "elder_status_changed", "档案状态变更"
    ELDER_UPDATED = "elder_updated", "修改档案"
    ELDER_CATEGORIES_CONFIRMED = "elder_categories_confirmed", "确认对象类型"
    ELDER_REVIEWED = "elder_reviewed", "档案半年核查"
    ELDER_REVEALED = "elder_revealed", "查看完整身份证号或电话"
    LIFE_EVENT_RECORDED = "life_event_recorded", "登记重大变故"
    LIFE_EVENT_WITHDRAWN = "life_event_withdrawn", "撤销重大变故"
    CHANGE_REPORTED = "change_reported", "报告老人去世或迁出"
    CHANGE_REPORT_CONFIRMED = "change_report_confirmed", "确认去世或迁出报告"
    CHANGE_REPORT_REJECTED = "change_report_rejected", "驳回去世或迁出报告"
    ELDERS_IMPORTED = "elders_imported", "导入老年人台账"
    ELDERS_EXPORTED = "elders_exported", "导出老年人台账"
    FIELDS_REENCRYPTED = "fields_reencrypted", "敏感字段重新加密"
    POLICY_CHOSEN = "policy_chosen", "设置探访规则"
    POLICY_REFUSED = "policy_refused", "探访规则设置被拒绝"
    EVENT_DECLARED = "event_declared", "发布特殊时段"
    EVENT_ENDED = "event_ended", "结束特殊时段"
    ELDER_TIER_OVERRIDDEN = "elder_tier_overridden", "人工调整分级"
    VISITOR_CREATED = "visitor_created", "新增探访人员"
    VISITOR_CHANGED = "visitor_changed", "修改探访人员"
    VISITOR_DEACTIVATED = "visitor_deactivated", "停用探访人员"
    ELDER_ASSIGNED = "elder_assigned", "指定包干探访人员"
    ASSIGNMENT_ENDED = "assignment_ended", "结束包干"
    VISIT_RECORDED = "visit_recorded", "录入探访记录"
    LATE_VISIT_APPROVED = "late_visit_approved", "同意补录计入（重新锁定月份）"
    LATE_VISIT_REFUSED = "late_visit_refused", "补录不予计入"
    TASK_EXCUSED = "task_excused", "免除探访任务"
    TASKS_GENERATED = "tasks_generated", "生成探访任务"
    REPORT_EXPORTED = "report_exported", "导出统计报表"
    NEED_RAISED = "need_raised", "登记帮扶需求"
    NEED_MEASURE_SET = "need_measure_set", "填写帮扶措施"
    NEED_STATUS_CHANGED = "need_status_changed", "帮扶需求状态变更"
    NEED_CONFIRMED = "need_confirmed", "跟踪回访确认需求解决"
    NEED_NOT_RESOLVED = "need_not_resolved", "回访发现需求未解决"
    HAZARD_RAISED = "hazard_raised", "登记安全隐患"
    HAZARD_CHANGED = "hazard_changed", "修改安全隐患"
    HAZARD_REMINDED = "hazard_reminded", "提醒消除安全隐患"
    HAZARD_REMOVED = "hazard_removed", "确认安全隐患已消除"
    HAZARD_REOPENED = "hazard_reopened", "安全隐患重新打开"
    EMERGENCY_RAISED = "emergency_raised", "登记应急事件"
    EMERGENCY_STEP_RECORDED = "emergency_step", "记录应急处置步骤"
    EMERGENCY_CLOSED = "emergency_closed", "应急事件结案归档"


class AuditEvent(models.Model):
    at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    # Without `choices`, so that a new kind of event needs no migration; the
    # label comes from Action (`action_label`).
    action = models.CharField("操作", max_length=40, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Kept as typed, so a failed login for a name that does not exist is recorded too.
    username = models.CharField("用户名", max_length=150, blank=True)
    # The region the event belongs to, for scoping the auditor's view; blank
    # when unknown (a failed login for a username that does not exist).
    region_code = models.CharField("所属区划", max_length=12, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField("IP 地址", null=True, blank=True)
    user_agent = models.CharField("客户端", max_length=300, blank=True)
    object_type = models.CharField("对象类型", max_length=40, blank=True)
    object_id = models.CharField("对象", max_length=64, blank=True)
    detail = models.JSONField("详情", default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "审计记录"
        verbose_name_plural = "审计记录"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action_label}"

    @property
    def action_label(self) -> str:
        try:
            return str(Action(self.action).label)
        except ValueError:
            return self.action

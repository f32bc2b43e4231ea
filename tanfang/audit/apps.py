from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "tanfang.audit"
    verbose_name = "审计日志"

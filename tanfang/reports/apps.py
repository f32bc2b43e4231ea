from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "tanfang.reports"
    verbose_name = "统计报表"

from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "tanfang.exchange"
    verbose_name = "导入导出"

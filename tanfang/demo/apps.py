from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "tanfang.demo"
    verbose_name = "演示数据"

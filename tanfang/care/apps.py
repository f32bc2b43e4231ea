from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "tanfang.care"
    verbose_name = "关爱服务"

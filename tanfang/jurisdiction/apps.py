from django.apps import AppConfig


class JurisdictionConfig(AppConfig):
    name = "tanfang.jurisdiction"
    verbose_name = "探访规则"

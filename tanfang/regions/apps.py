from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "tanfang.regions"
    verbose_name = "行政区划"

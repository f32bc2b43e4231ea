from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "tanfang.visits"
    verbose_name = "探访"

from django.apps import AppConfig
from django.conf import settings

from tanfang.policy import engine


class JurisdictionConfig(AppConfig):
    name = "tanfang.jurisdiction"
    verbose_name = "探访规则"

    def ready(self) -> None:
        # A deployment's own profiles (settings.TANFANG_PROFILE_DIRS).
        engine.configure(settings.TANFANG_PROFILE_DIRS)

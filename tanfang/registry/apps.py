from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "tanfang.registry"
    verbose_name = "老年人档案"

    def ready(self) -> None:
        from tanfang.registry import history

        history.register()

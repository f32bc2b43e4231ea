from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "tanfang.visits"
    verbose_name = "探访"

    def ready(self) -> None:
        # Registers the check of the profiles and checklists (manage.py check).
        from tanfang.visits import checks  # noqa: F401

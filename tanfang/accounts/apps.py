from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tanfang.accounts"
    verbose_name = "账号"

    def ready(self) -> None:
        from tanfang.accounts import audit_hooks

        audit_hooks.connect()

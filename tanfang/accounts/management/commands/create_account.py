from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tanfang.accounts.actions import create_account
from tanfang.accounts.permissions import Role
from tanfang.regions.models import Region


class Command(BaseCommand):
    help = (
        "Create an account from the server, for the first administrators of a deployment; "
        "prints a one-time password that must be changed at first login."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="全名")
        parser.add_argument("--role", required=True, choices=[role.value for role in Role])
        parser.add_argument("--region", required=True, help="12-digit region code")

    def handle(
        self, *args: Any, username: str, name: str, role: str, region: str, **options: Any
    ) -> None:
        node = Region.objects.filter(code=region).first()
        if node is None:
            raise CommandError(f"区划代码 {region} 不存在。")
        try:
            user, temporary = create_account(
                acting_user=None, username=username, full_name=name, role=role, region=node
            )
        except ValidationError as error:
            raise CommandError("；".join(error.messages)) from error
        self.stdout.write(
            f"已创建 {user.username}（{user.get_role_display()}，{node.name}），"
            f"临时密码：{temporary}（首次登录须修改）"
        )

"""`manage.py create_account`: the first administrators of a deployment, made on
the server where no higher level exists to make them."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tanfang.accounts.models import PasswordHistory, User
from tanfang.audit.models import Action, AuditEvent
from tests.conftest import COUNTY, VILLAGE_A


def create(*args: str) -> str:
    out = StringIO()
    call_command("create_account", *args, stdout=out)
    return out.getvalue()


def test_it_creates_an_administrator_with_a_one_time_password(regions):
    output = create("sec1", "--name", "安全管理员", "--role", "secadmin", "--region", COUNTY)

    user = User.objects.get(username="sec1")
    assert (user.role, user.region_id, user.full_name) == ("secadmin", COUNTY, "安全管理员")
    temporary = output.rsplit("临时密码：", 1)[1].split("（", 1)[0]
    assert user.check_password(temporary)
    assert user.must_change_password(timezone.now())
    assert PasswordHistory.objects.filter(user=user).count() == 1
    event = AuditEvent.objects.get(action=Action.ACCOUNT_CREATED)
    assert event.actor is None
    assert event.region_code == COUNTY
    assert event.detail["via"] == "command"


def test_it_refuses_a_role_that_does_not_fit_the_level(regions):
    with pytest.raises(CommandError, match="审计员只能设在以下层级"):
        create("aud1", "--name", "审计员", "--role", "auditor", "--region", VILLAGE_A)

    assert not User.objects.filter(username="aud1").exists()
    assert not AuditEvent.objects.exists()


def test_it_refuses_an_unknown_region(regions):
    with pytest.raises(CommandError, match="区划代码 350581999000 不存在"):
        create("x1", "--name", "某人", "--role", "county", "--region", "350581999000")

    assert not User.objects.filter(username="x1").exists()


def test_it_refuses_a_username_in_use(users):
    with pytest.raises(CommandError, match="该用户名已被使用"):
        create("county", "--name", "某人", "--role", "county", "--region", COUNTY)

    assert User.objects.filter(username="county").count() == 1

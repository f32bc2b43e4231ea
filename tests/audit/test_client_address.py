"""The address written into the audit log: the client's, not a proxy's, and not
one a client wrote into X-Forwarded-For when no proxy is configured."""

from tanfang.audit.models import Action, AuditEvent
from tests.conftest import PASSWORD

# What tanfang.settings makes of TANFANG_PROXY_COUNT=1 (one nginx in front).
BEHIND_NGINX = {
    "AXES_IPWARE_PROXY_COUNT": 0,
    "AXES_IPWARE_META_PRECEDENCE_ORDER": ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"],
}


def log_in(client, **headers):
    return client.post(
        "/accounts/login/", {"username": "liaison_a", "password": PASSWORD}, **headers
    )


def test_it_ignores_a_forwarded_address_when_no_proxy_is_configured(client, users):
    log_in(client, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="36.112.10.1")

    assert AuditEvent.objects.get(action=Action.LOGIN).ip_address == "203.0.113.9"


def test_it_records_the_client_behind_a_configured_proxy(client, users, settings):
    for name, value in BEHIND_NGINX.items():
        setattr(settings, name, value)

    # The client forged an entry; nginx appended the address it really came from.
    forwarded = "1.2.3.4, 36.112.10.7"
    log_in(client, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    client.post("/accounts/logout/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    # The logout is not an authentication attempt: axes has not looked at it,
    # and the address must still be the client's.
    addresses = dict(AuditEvent.objects.values_list("action", "ip_address"))
    assert addresses == {Action.LOGIN: "36.112.10.7", Action.LOGOUT: "36.112.10.7"}


def test_it_reads_the_proxy_count_from_the_environment(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "TANFANG_PROXY_COUNT": "1", "TANFANG_VAR_DIR": str(tmp_path)}
    env["DJANGO_SETTINGS_MODULE"] = "tanfang.settings"
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_IPWARE_PROXY_COUNT, s.AXES_IPWARE_META_PRECEDENCE_ORDER)"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout

    assert out.strip() == "0 ['HTTP_X_FORWARDED_FOR', 'REMOTE_ADDR']"

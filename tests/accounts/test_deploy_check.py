"""Production settings (NONFUNCTIONAL.md "Security"): `check --deploy` gives no
warning, the CSP header is set, and the secret key is made on first start.

The production settings module is run in a subprocess: the test process runs
under tests.settings."""

import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def production_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a production start: none of the TANFANG_* switches
    (no TANFANG_DEMO), the production settings module."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TANFANG_")
        and name not in {"SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env["DJANGO_SETTINGS_MODULE"] = "tanfang.settings"
    env["TANFANG_VAR_DIR"] = str(var_dir)
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


PRINT_SECRET_KEY = (
    "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
)


def test_it_passes_the_deploy_check_with_production_settings(tmp_path):
    env = production_env(tmp_path, SECRET_KEY=secrets.token_urlsafe(64))

    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_it_makes_the_secret_key_on_first_start(tmp_path):
    env = production_env(tmp_path)
    key_file = tmp_path / "secret_key"
    assert not key_file.exists()

    first = run(["-c", PRINT_SECRET_KEY], env)

    assert first.returncode == 0, first.stderr
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert first.stdout.strip() == key
    assert len(key) >= 50
    # The next start reads the same key instead of making a new one.
    second = run(["-c", PRINT_SECRET_KEY], env)
    assert second.stdout.strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_it_makes_the_secret_key_private_whatever_the_umask(tmp_path):
    env = production_env(tmp_path)
    script = f"import os; os.umask(0); {PRINT_SECRET_KEY}"

    result = run(["-c", script], env)

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_it_prefers_the_secret_key_of_the_environment(tmp_path):
    env = production_env(tmp_path, SECRET_KEY="from-the-environment-" + "x" * 50)

    result = run(["-c", PRINT_SECRET_KEY], env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from-the-environment-" + "x" * 50
    assert not (tmp_path / "secret_key").exists()


def test_it_switches_https_and_the_second_factor_on_in_production(tmp_path):
    env = production_env(tmp_path, SECRET_KEY=secrets.token_urlsafe(64))
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.TANFANG_REQUIRE_2FA, s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.PASSWORD_HASHERS[0].rsplit('.', 1)[1])"
    )

    result = run(["-c", script], env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "True",
        "True",
        "True",
        "True",
        "31536000",
        "Argon2PasswordHasher",
    ]


@pytest.mark.parametrize("path", ["/accounts/login/", "/"])
def test_it_sets_the_csp_header(client, db, path):
    response = client.get(path, follow=True)

    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip()
    )
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_it_sets_the_other_security_headers_on_the_login_page(client, db):
    response = client.get("/accounts/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_it_has_no_inline_script_or_style_on_the_login_page(client, db):
    body = client.get("/accounts/login/").content.decode()

    assert "<script>" not in body
    assert "<style" not in body
    assert " style=" not in body
    assert " onclick=" not in body

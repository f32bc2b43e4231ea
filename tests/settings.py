"""Settings for the test suite: production settings with test-only speedups."""

import os

os.environ.setdefault(
    "TANFANG_STATIC_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage"
)

from tanfang.settings import *  # noqa: E402, F403

# Hashing with argon2 at full cost would make the suite minutes slower; the
# hasher choice itself is tested against tanfang.settings.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # noqa: S303
SECURE_SSL_REDIRECT = False
TANFANG_REQUIRE_2FA = True

# Live-server threads open their own connections; persistent ones would outlive
# the threads and keep PostgreSQL from dropping the test database.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# A test database is thrown away after the run: on PostgreSQL, a commit (the
# migrations, the shared rows of tests/conftest.py, the tests that commit) need
# not wait for its WAL to reach the disk. Durability is all this gives up.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"  # noqa: F405

# Fixed field keys for the suite, so that no test writes keys into var/
# (tests of the key files themselves set their own).
os.environ.setdefault("TANFANG_FIELD_KEYS", "test:" + "A" * 43 + "=")
os.environ.setdefault("TANFANG_LOOKUP_KEY", "B" * 43 + "=")

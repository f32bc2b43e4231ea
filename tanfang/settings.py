"""Settings, all read from the environment (see README.md, "Configuration").

Two switches set the defaults of the others:

- TANFANG_DEMO=1 (set by `make run`): a local demonstration over plain HTTP on
  127.0.0.1, second factor not required.
- otherwise: production defaults, HTTPS only, second factor required for the
  roles that need it.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TANFANG_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def read_or_create_secret_key(path: Path) -> str:
    """The key lives in var/, outside the repository, made once on first run."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


DEMO = env_flag("TANFANG_DEMO", False)
DEBUG = env_flag("TANFANG_DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or read_or_create_secret_key(VAR_DIR / "secret_key")

# Field keys (tanfang/registry/crypto.py, docs/OPERATIONS.md "Field keys"): the
# keys that encrypt ID numbers, phones and addresses, and the lookup key of
# their keyed hashes. Taken from TANFANG_FIELD_KEYS and TANFANG_LOOKUP_KEY when
# set, otherwise from these files, written (mode 0600) on first use. Only the
# paths are settings: key material never is, so it cannot show up in a dump
# of the settings.
TANFANG_FIELD_KEYS_FILE = VAR_DIR / "field_keys"
TANFANG_LOOKUP_KEY_FILE = VAR_DIR / "lookup_key"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Officers must present a TOTP code after their password
# (NONFUNCTIONAL.md "Second factor"); off only for the local demo.
TANFANG_REQUIRE_2FA = env_flag("TANFANG_REQUIRE_2FA", not DEMO)
HTTPS = env_flag("TANFANG_HTTPS", not DEMO)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "auditlog",
    "django_tasks",
    "django_tasks_db",
    "tanfang.regions",
    "tanfang.accounts",
    "tanfang.audit",
    "tanfang.registry",
    "tanfang.jurisdiction",
    "tanfang.exchange",
    "tanfang.visits",
    "tanfang.care",
    "tanfang.reports",
    "tanfang.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After MessageMiddleware and HtmxMiddleware: an expiry leaves a message for
    # the login page, and answers an htmx request with HX-Redirect.
    "tanfang.accounts.middleware.SessionLimitsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tanfang.accounts.middleware.AccessMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tanfang.urls"

# Background work (ARCHITECTURE.md): a queue in the same database, so enqueueing
# commits or rolls back with the write that caused it; `manage.py db_worker`
# runs the tasks.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Field history of the elder's file (django-auditlog). Only models registered
# in code are tracked; the actor is set by the actions (`auditlog.context.set_actor`).
AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_DISABLE_REMOTE_ADDR = True
AUDITLOG_MASK_CALLABLE = "tanfang.registry.history.mask"
WSGI_APPLICATION = "tanfang.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tanfang" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tanfang.accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'tanfang.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers go on while one writer writes; IMMEDIATE takes the
        # write lock at BEGIN so that two writers queue instead of failing.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# NONFUNCTIONAL.md "Passwords": argon2 first; the others only to read old hashes.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "tanfang.accounts.passwords.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "tanfang.accounts.passwords.CharacterClassValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "tanfang.accounts.passwords.PasswordHistoryValidator"},
]

CSRF_FAILURE_VIEW = "tanfang.errors.csrf_failure"

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# NONFUNCTIONAL.md "Login": 5 failures lock the username for 30 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
# The account is locked, whatever address the attempts come from. Not the
# address: a township office or a mobile carrier puts many officers behind one
# address, and 5 typing errors among them would lock them all out
# (docs/DECISIONS.md); axes' warning about that choice is therefore silenced.
AXES_LOCKOUT_PARAMETERS = ["username"]
# models.W040: the rollup counters' covering index (reports.VillageMonth) has
# INCLUDE columns on PostgreSQL only; SQLite keeps the index on its keys.
SILENCED_SYSTEM_CHECKS = ["axes.W006", "models.W040"]
AXES_RESET_ON_SUCCESS = True
# Exactly 30 minutes from the fifth failure; attempts during the lockout do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 403
# The client address for the lockout and the audit log (django-ipware). Only
# behind a known number of reverse proxies is X-Forwarded-For believed; a
# client could otherwise write any address into it.
# Each proxy appends the address it received from to X-Forwarded-For, so the
# client is the entry TANFANG_PROXY_COUNT places from the right; django-ipware
# counts the proxies after the first (0: the rightmost entry).
PROXY_COUNT = int(os.environ.get("TANFANG_PROXY_COUNT", "0"))
AXES_IPWARE_PROXY_COUNT = PROXY_COUNT - 1 if PROXY_COUNT else None
# Not strict: a client may put forged entries in front; they are skipped, not
# a reason to fall back to the proxy's own address.
IPWARE_STRICT = False
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if PROXY_COUNT else ["REMOTE_ADDR"]
)

# NONFUNCTIONAL.md "Sessions": absolute lifetime 8 hours; the idle limits are
# per role, enforced by SessionLimitsMiddleware.
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
TANFANG_SESSION_IDLE = timedelta(minutes=30)
TANFANG_SESSION_IDLE_ADMIN = timedelta(minutes=15)
TANFANG_SESSION_ABSOLUTE = timedelta(hours=8)
TANFANG_PASSWORD_MAX_AGE = timedelta(days=90)
TANFANG_PASSWORD_HISTORY = 5
# Folders with a deployment's own rules (a county's profile as one TOML file,
# docs/规则配置.md), looked up after the built-in tanfang/policy/profiles/.
TANFANG_PROFILE_DIRS = [Path(d) for d in env_list("TANFANG_PROFILE_DIRS", "")]

OTP_TOTP_ISSUER = "探访关爱"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_SSL_REDIRECT = env_flag("TANFANG_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
if os.environ.get("TANFANG_PROXY_SSL_HEADER"):
    # e.g. "HTTP_X_FORWARDED_PROTO" behind nginx terminating TLS.
    SECURE_PROXY_SSL_HEADER = (os.environ["TANFANG_PROXY_SSL_HEADER"], "https")

# No inline script or style anywhere: every asset is a file under static/.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        # The phone pages' service worker (/sw.js) and web app manifest.
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
    }
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "tanfang" / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# The phone app's manifest, which Python's mimetypes does not know.
WHITENOISE_MIMETYPES = {".webmanifest": "application/manifest+json"}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": os.environ.get(
            "TANFANG_STATIC_STORAGE",
            "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"
# A visit sent from the phone's outbox carries its photo (at most 5 MB,
# tanfang/photos.py) in the JSON body as base64: 5 MB is 6.7 MB of text, with
# the two signatures beside it; Django's default refuses any body over 2.5 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 8_000_000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TANFANG_LOG_LEVEL", "INFO")},
    "loggers": {
        # axes logs usernames and IPs of every attempt; the audit log has them.
        "axes": {"level": "WARNING"},
    },
}

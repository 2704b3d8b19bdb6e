"""ClimCRM settings: one module, every value from the environment (see README, Configuration)."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("CLIMCRM_TESTING", default=False)

_DEV_SECRET_KEY = "django-insecure-development-only-key-never-used-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if (DEBUG or TESTING) else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
# Rotating the key: put the old one here, comma separated, for as long as old sessions must live.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The project's own apps (their layers: README, "Layers"): the one list the
# translation catalogues, the security crawl and the free-text checks read.
PROJECT_APPS = (
    "climcrm",
    "accounts",
    "leads",
    "opportunities",
    "activities",
    "partners",
    "forecasting",
    "pipeline_reviews",
    "privacy",
    "imports",
    "dashboard",
    "integrations",
)
INSTALLED_APPS = [
    *PROJECT_APPS,
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "axes",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Refuses oversized uploads from Content-Length, before the CSRF check reads the body.
    "privacy.middleware.UploadSizeLimitMiddleware",
    # Refuses NUL characters in parameters (PostgreSQL cannot compare text containing them).
    "privacy.middleware.NulCharacterMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "climcrm.middleware.UserLanguageMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "climcrm.urls"
WSGI_APPLICATION = "climcrm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "climcrm.context_processors.navigation",
            ],
            "builtins": [
                "django.templatetags.i18n",
                "climcrm.templatetags.crm",
                "climcrm.templatetags.ui",
            ],
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # JIT compilation of large report plans costs more than it saves for a CRM's queries
    # (measured: tens of seconds on "what changed", 100-200 ms on the board and metrics).
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    # Covering indexes (INCLUDE) serve PostgreSQL; SQLite builds them without those columns.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
# Reports may read from a replica: REPORTS_DATABASE_URL names it; without one they read default.
if env.str("REPORTS_DATABASE_URL", default=""):
    DATABASES["reports"] = env.db("REPORTS_DATABASE_URL")
    DATABASES["reports"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["reports"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["reports"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    DATABASES["reports"]["TEST"] = {"MIRROR": "default"}
REPORTS_DB_ALIAS = "reports" if "reports" in DATABASES else "default"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="dummycache://")}

# Sessions live in the database (or in the cache named by SESSION_ENGINE) so any web
# process can answer any request.
SESSION_ENGINE = env.str("SESSION_ENGINE", default="django.contrib.sessions.backends.db")
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 10)
SESSION_EXPIRE_AT_BROWSER_CLOSE = False
SESSION_SAVE_EVERY_REQUEST = False

AUTH_USER_MODEL = "climcrm.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Login abuse: five failures lock the username for an hour (per username and IP pair).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_VERBOSE = False

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS: list = []  # each app carries its own locale/ (see manage.py messages)
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Zurich")
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
# Dates and numbers as a company in Switzerland writes them, in each language.
FORMAT_MODULE_PATH = ["climcrm.formats"]

CRM_CURRENCY = env.str("CRM_CURRENCY", default="CHF")
# The address users reach ClimCRM at: links in emails are built on it.
CRM_BASE_URL = env.str("CRM_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
CRM_STALE_DAYS = env.int("CRM_STALE_DAYS", default=30)
CRM_REGISTRATION_PROTECTION_DAYS = env.int("CRM_REGISTRATION_PROTECTION_DAYS", default=90)
# Days before a registration's protection ends when the partner and its channel manager are told.
CRM_REGISTRATION_REMINDER_DAYS = env.int("CRM_REGISTRATION_REMINDER_DAYS", default=14)
# The weekly forecast call: the day forecasts are due (0 Monday … 6 Sunday), the period
# they are submitted for ("month" or "quarter"), and whether partner users see the
# adjustments managers made to their partner's forecast (internal judgment, hidden by default).
FORECAST_SUBMISSION_WEEKDAY = env.int("FORECAST_SUBMISSION_WEEKDAY", default=4)
FORECAST_SUBMISSION_KIND = env.str("FORECAST_SUBMISSION_KIND", default="quarter")
FORECAST_ADJUSTMENTS_VISIBLE_TO_PARTNERS = env.bool(
    "FORECAST_ADJUSTMENTS_VISIBLE_TO_PARTNERS", default=False
)
CRM_PAGE_SIZE = 50
# Past this many visible accounts (or contacts), their selects load options as one types.
CRM_LOOKUP_THRESHOLD = env.int("CRM_LOOKUP_THRESHOLD", default=200)
# Lists count at most this many rows; beyond, they say "more than" and ask for a filter.
CRM_LIST_COUNT_CAP = env.int("CRM_LIST_COUNT_CAP", default=10_000)
CRM_PUBLIC_FORM_RATE = env.str("CRM_PUBLIC_FORM_RATE", default="5/h")
# Password-reset requests allowed per IP address and per email address asked for.
CRM_PASSWORD_RESET_RATE_IP = env.str("CRM_PASSWORD_RESET_RATE_IP", default="10/h")
CRM_PASSWORD_RESET_RATE_EMAIL = env.str("CRM_PASSWORD_RESET_RATE_EMAIL", default="3/h")
CRM_MAX_UPLOAD_BYTES = env.int("CRM_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
# Requests bodies other than uploads stay small; uploads are streamed to temporary files.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

_email = env.email_url("EMAIL_URL", default="consolemail://")
_smtp_options = {
    "host": _email.get("EMAIL_HOST"),
    "port": _email.get("EMAIL_PORT"),
    "username": _email.get("EMAIL_HOST_USER"),
    "password": _email.get("EMAIL_HOST_PASSWORD"),
    "use_tls": _email.get("EMAIL_USE_TLS", False),
    "use_ssl": _email.get("EMAIL_USE_SSL", False),
    "timeout": env.int("EMAIL_TIMEOUT", default=10),
}
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {k: v for k, v in _smtp_options.items() if v not in (None, "")}
        if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
        else {},
    }
}
if _email["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
    # filemail:///var/mail/climcrm writes each email as a file into that folder.
    MAILERS["default"]["OPTIONS"] = {
        "file_path": env.str("EMAIL_FILE_PATH", default="/" + _email["EMAIL_FILE_PATH"])
    }
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ClimCRM <crm@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# An email that fails is tried again after 1, 2, 4… minutes, then every hour; after this many
# attempts (about a day) it is marked failed and waits for an administrator to retry it.
CRM_EMAIL_MAX_ATTEMPTS = env.int("CRM_EMAIL_MAX_ATTEMPTS", default=30)
# A webhook delivery that fails is retried on the same schedule as an email; after this many
# attempts it is marked failed and waits for an administrator to send it again.
CRM_WEBHOOK_MAX_ATTEMPTS = env.int("CRM_WEBHOOK_MAX_ATTEMPTS", default=30)
# Seconds a webhook receiver has to answer.
CRM_WEBHOOK_TIMEOUT = env.int("CRM_WEBHOOK_TIMEOUT", default=10)

# Background work: tasks are rows in the database, run by `manage.py worker` (one or more,
# on any machine that reaches the database), which also starts the periodic jobs.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Seconds between two looks at the periodic jobs' schedule by each worker.
CRM_SCHEDULER_INTERVAL = env.int("CRM_SCHEDULER_INTERVAL", default=30)

# Security headers. The Content-Security-Policy allows no inline script: every script is a
# file under /static/.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
if not DEBUG and not TESTING:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # Each task run, once (Django's own console handler would repeat it with DEBUG on).
        "django.tasks": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    # Tasks run at once, inside the call that enqueues them; a test that needs the real
    # queue switches to the database backend and runs the worker.
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

# Without collectstatic (development and tests) whitenoise serves straight from the finders.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

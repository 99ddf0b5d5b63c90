"""Settings for AIMSS Tracker, read from environment variables only.

The defaults are the embedded demo (SQLite, Celery on kombu's ``filesystem://`` broker,
e-mail printed to the console). Production differs only by environment: ``DATABASE_URL``
for PostgreSQL, ``CELERY_BROKER_URL`` for Redis, ``DJANGO_DEBUG=false`` with a secret key
and allowed hosts. See ``.env.example`` and the README's configuration table.
"""

import importlib.util
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

# Generic Django classes (ModelAdmin[Patient], ModelForm[Clinic], ...) subscriptable at runtime.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# Only the demo may fall back to a development key; production fails loudly.
# The demo key: refused below whenever DEBUG is off.
_DEMO_SECRET_KEY = "demo-only-insecure-key-never-use-in-production-0123456789abcdef"  # noqa: S105 # nosec B105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_DEMO_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
if not DEBUG:
    missing = [
        name
        for name, value in (
            ("DJANGO_SECRET_KEY", SECRET_KEY),
            ("DJANGO_ALLOWED_HOSTS", ALLOWED_HOSTS),
        )
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            f"DJANGO_DEBUG is false, so {' and '.join(missing)} must be set in the environment "
            "(see .env.example)."
        )
    if SECRET_KEY == _DEMO_SECRET_KEY:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is the demo key; set a real secret.")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "django_htmx",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "phonenumber_field",
    "patients",
    "assessments",
    "adherence",
    "followup",
    "clinical",
    "analytics",
    "interop",
    "demo",
]
# The benchmark app (bare text and insert views) exists only when asked for.
AIMSS_BENCH = env.bool("AIMSS_BENCH", default=False)
if AIMSS_BENCH:
    INSTALLED_APPS.append("bench")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outermost but security: sees every error answered under /api/, and makes it JSON.
    "aimss_tracker.inputs.ApiErrorsAsJsonMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "patients.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "aimss_tracker.security.SessionLimitsMiddleware",
    "aimss_tracker.security.StaffSecondFactorMiddleware",
    "aimss_tracker.security.LinkScopeMiddleware",
    "aimss_tracker.security.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees the login failures of every view above it.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "aimss_tracker.urls"
WSGI_APPLICATION = "aimss_tracker.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "followup.context_processors.flag_badge",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# Persistent connections: without them every request pays for a new connection.
CONN_MAX_AGE = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'aimss.sqlite3'}")
}
# The application connects as DATABASE_URL, a role that owns no table and cannot rewrite the
# audit; the owner (DATABASE_MIGRATE_URL) runs `migrate --database=migrate` and then
# `db_roles`, which grants the application's role its privileges. Without it, one role does all.
if env.str("DATABASE_MIGRATE_URL", default=""):
    DATABASES["migrate"] = env.db_url("DATABASE_MIGRATE_URL")
DATABASES["default"]["CONN_MAX_AGE"] = CONN_MAX_AGE
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the demo file: wait for locks, write-ahead log, and take the
    # write lock at BEGIN so that concurrent writers queue instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The planner prices a random read for solid-state storage, not PostgreSQL's default spinning
    # disk (4): with the default, one clinic's patient list among a million patients hashes every
    # score summary of the cohort instead of looking up the clinic's (docs/adr/0007).
    _planner = f"-c random_page_cost={env.float('DATABASE_RANDOM_PAGE_COST', default=1.1)}"
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} {_planner}".strip()
    # The audit trail's triggers exist on PostgreSQL only; this attaches the user and path to
    # every audit event written during a request (it cannot work on SQLite).
    _auth = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    MIDDLEWARE.insert(_auth + 1, "pghistory.middleware.HistoryMiddleware")

# --- Authentication -----------------------------------------------------------------------
AUTH_USER_MODEL = "patients.User"
AUTHENTICATION_BACKENDS = [
    # Refuses locked-out users before any password is checked, on every login path.
    "axes.backends.AxesStandaloneBackend",
    "patients.backends.UserBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    # ASVS 5.0 V6.2: at least 64 characters must be allowed; 128 bounds the hashing cost.
    {"NAME": "patients.validators.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
]

# Lockout after repeated failures (django-axes), per username and address.
AXES_FAILURE_LIMIT = env.int("AIMSS_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AIMSS_LOGIN_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# The client's address: the one the request came from, or, behind AIMSS_NUM_PROXIES trusted
# reverse proxies, the one the outermost of them saw. Lockouts and API throttles share it.
AIMSS_NUM_PROXIES = env.int("AIMSS_NUM_PROXIES", default=0)
AXES_CLIENT_IP_CALLABLE = "aimss_tracker.security.client_ip"

# A second factor (TOTP, with one-use recovery codes) for every staff login before any health
# data. Only AIMSS_STAFF_MFA=off turns it off: for the demo and for tests not
# about it; a system check warns when it is off with DEBUG false.
AIMSS_STAFF_MFA = env.str("AIMSS_STAFF_MFA", default="on").lower() not in {"off", "false", "0"}
OTP_TOTP_ISSUER = "AIMSS Tracker"
AIMSS_RECOVERY_CODES = 10

# Sessions: idle and absolute limits. Django cycles the key at login, and a
# password change ends every other session of the user (session auth hash).
AIMSS_IDLE_TIMEOUT_STAFF = env.int("AIMSS_IDLE_TIMEOUT_STAFF_SECONDS", default=15 * 60)
AIMSS_IDLE_TIMEOUT_PATIENT = env.int("AIMSS_IDLE_TIMEOUT_PATIENT_SECONDS", default=30 * 60)
AIMSS_SESSION_ABSOLUTE_LIMIT = env.int("AIMSS_SESSION_ABSOLUTE_SECONDS", default=12 * 3600)
SESSION_COOKIE_AGE = AIMSS_SESSION_ABSOLUTE_LIMIT
# A reminder link's questionnaire-only session lasts at most this long (and ends when idle as
# a patient's does).
AIMSS_LINK_SESSION_SECONDS = env.int("AIMSS_LINK_SESSION_SECONDS", default=3600)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Cache -------------------------------------------------------------------------------
# API throttle counters live here: per process in the demo (local memory), shared by every
# web process in production (CACHE_URL=redis://..., Django's own Redis backend).
_CACHE_URL = env.str("CACHE_URL", default="locmemcache://")
CACHES = {
    "default": environ.Env.cache_url_config(
        _CACHE_URL,
        backend="django.core.cache.backends.redis.RedisCache"
        if _CACHE_URL.startswith(("redis://", "rediss://"))
        else None,
    )
}

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise serves them, with far-future caching for hashed names) -----
STATIC_URL = "/static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=VAR_DIR / "static")
# plotly.js comes from the installed ``plotly`` package: {% static 'plotly/plotly.min.js' %}
# (whitenoise, hashed name and far-future caching in production; never inlined, no CDN).
# Located without importing plotly, which every process start would pay for a file path.
_PLOTLY_SPEC = importlib.util.find_spec("plotly")
if _PLOTLY_SPEC is None or _PLOTLY_SPEC.origin is None:
    raise ImproperlyConfigured("plotly is not installed: run `make install`.")
PLOTLY_JS_DIR = Path(_PLOTLY_SPEC.origin).resolve().parent / "package_data"
STATICFILES_DIRS = [BASE_DIR / "static", ("plotly", PLOTLY_JS_DIR)]
# The demo on one machine over plain http (``make run``): DEBUG off, so every role sees the
# product's own 403/404/500 pages, never Django's debug page; whitenoise serves the static
# files from the finders (no collectstatic), and cookies and redirects stay plain http.
# Production never sets it.
AIMSS_PLAIN_HTTP_DEMO = env.bool("AIMSS_PLAIN_HTTP_DEMO", default=False)
_FROM_FINDERS = DEBUG or AIMSS_PLAIN_HTTP_DEMO
if AIMSS_PLAIN_HTTP_DEMO:
    # (whitenoise's own default follows DEBUG; set only here, so that a test overriding
    # DEBUG does not make every new client scan every static file)
    WHITENOISE_USE_FINDERS = True
if _FROM_FINDERS:  # whitenoise serves from the finders; an empty root keeps it quiet
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if _FROM_FINDERS
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Absolute links in e-mails (the flag queue, questionnaire links) start with this.
AIMSS_BASE_URL = env.str("AIMSS_BASE_URL", default="http://127.0.0.1:8000")

# Phone numbers (django-phonenumber-field): stored and exchanged (API, tel: links) in E.164;
# pages show ``.as_national``. A number typed without a country code is read as one of this
# region.
PHONENUMBER_DEFAULT_REGION = env.str("AIMSS_PHONE_REGION", default="GB")
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "E164"

# Invitations (a set-password link on Django's password-reset machinery) stay valid this long;
# a forgotten-password link for PASSWORD_RESET_TIMEOUT (Django's setting, seconds).
AIMSS_INVITATION_DAYS = env.int("AIMSS_INVITATION_DAYS", default=7)
PASSWORD_RESET_TIMEOUT = env.int("AIMSS_PASSWORD_RESET_SECONDS", default=24 * 3600)
# The sender name of account and reminder e-mails when a clinic sets none: neutral, never a
# name that reveals a diagnosis to whoever sees her inbox.
AIMSS_EMAIL_SENDER_NAME = env.str("AIMSS_EMAIL_SENDER_NAME", default="AIMSS Tracker")

# --- E-mail -------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = env.str("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("DJANGO_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("DJANGO_EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("DJANGO_EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("DJANGO_EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str(
    "DJANGO_DEFAULT_FROM_EMAIL", default="AIMSS Tracker <noreply@localhost>"
)

# --- Text messages ---------------------------------------------------------------------------
# The SMS backend, like EMAIL_BACKEND: "console" (the demo: printed), "locmem" (tests: a list),
# "file" (one JSON line per message in SMS_FILE_PATH, for tests across processes), "twilio"
# (Twilio's REST API, with the TWILIO_* variables), or a dotted path to a backend class.
SMS_BACKEND = env.str("SMS_BACKEND", default="console")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(VAR_DIR / "sms.jsonl"))
SMS_TIMEOUT = env.float("SMS_TIMEOUT", default=10.0)  # seconds a provider request may take
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env.str("TWILIO_FROM", default="")  # a number, or a Messaging Service SID (MG...)
# The address Twilio posts replies to, exactly as configured there (its signature covers it).
TWILIO_INBOUND_URL = env.str(
    "TWILIO_INBOUND_URL", default=f"{AIMSS_BASE_URL.rstrip('/')}/sms/inbound/"
)

# --- Celery ---------------------------------------------------------------------------------
# Settings the Celery documentation asks for when the broker is Redis and work must not be lost
# or repeated: late acknowledgement, re-queue on worker loss, one message prefetched at a time,
# JSON only, time limits, results ignored, and a visibility timeout longer than any countdown.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
# A submission must answer within 2 s with Redis down: publishing fails fast
# and is not retried; the sweeps pick up whatever was not queued.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 0.5,
    "socket_timeout": 2,
    # a publish tries to connect once, then gives up (kombu's failover options)
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 0.5
CELERY_TASK_PUBLISH_RETRY = False
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "data_folder_in": str(_broker_dir / "queue"),
            "data_folder_out": str(_broker_dir / "queue"),
            "processed_folder": str(_broker_dir / "processed"),
            "control_folder": str(_broker_dir / "control"),
            "store_processed": False,
        }
    )
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# django-celery-beat's database scheduler, held by one beat at a time (a PostgreSQL advisory
# lock) and re-queuing a sweep the broker refused as soon as it answers again.
CELERY_BEAT_SCHEDULER = "aimss_tracker.beat:SingleBeatScheduler"
# Periodic sweeps, installed into the database scheduler when beat starts. Each expires before
# the next run so that a backlog never piles up duplicates; each is safe to run twice.
# Background work's timings (seconds). A claimed e-mail not marked sent after the lease is sent
# again; the evaluation sweep leaves records younger than the grace to their own task.
# A claim's lease is renewed while its worker sends, so a short one reclaims a dead worker's
# sends soon: lease + the notifications sweep's interval stays under 2 minutes.
AIMSS_CLAIM_LEASE_SECONDS = env.int("AIMSS_CLAIM_LEASE_SECONDS", default=45)
# 0: a sweep takes every unevaluated record, however young (evaluating twice is harmless),
# so whatever a broker outage left is done by the first sweep after it.
AIMSS_SWEEP_GRACE_SECONDS = env.int("AIMSS_SWEEP_GRACE_SECONDS", default=0)
AIMSS_REMINDER_SWEEP_SECONDS = env.float("AIMSS_REMINDER_SWEEP_SECONDS", default=300.0)
AIMSS_EVALUATION_SWEEP_SECONDS = env.float("AIMSS_EVALUATION_SWEEP_SECONDS", default=120.0)
AIMSS_NOTIFICATION_SWEEP_SECONDS = env.float("AIMSS_NOTIFICATION_SWEEP_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE = {
    "evaluations-sweep": {
        "task": "followup.tasks.evaluations_sweep_task",
        "schedule": AIMSS_EVALUATION_SWEEP_SECONDS,
        "options": {"expires": AIMSS_EVALUATION_SWEEP_SECONDS * 0.95},
    },
    "notifications-sweep": {
        "task": "followup.tasks.notifications_sweep_task",
        "schedule": AIMSS_NOTIFICATION_SWEEP_SECONDS,
        "options": {"expires": AIMSS_NOTIFICATION_SWEEP_SECONDS * 0.95},
    },
    "schedules-sync": {
        "task": "followup.tasks.schedules_sync_task",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
    "reminders-sweep": {
        "task": "followup.tasks.reminders_sweep_task",
        "schedule": AIMSS_REMINDER_SWEEP_SECONDS,
        "options": {"expires": AIMSS_REMINDER_SWEEP_SECONDS * 0.95},
    },
    # Her daily dose reminder, at her local time (within minutes of it).
    "dose-reminders-sweep": {
        "task": "followup.tasks.dose_reminders_sweep_task",
        "schedule": AIMSS_REMINDER_SWEEP_SECONDS,
        "options": {"expires": AIMSS_REMINDER_SWEEP_SECONDS * 0.95},
    },
    "overdue-sweep": {
        "task": "followup.tasks.overdue_sweep_task",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
    "escalation-sweep": {
        "task": "followup.tasks.escalation_sweep_task",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Response checks at the trials' time points fall due by the day: hourly is soon enough.
    "response-checks-sweep": {
        "task": "followup.tasks.response_checks_sweep_task",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- REST API -----------------------------------------------------------------------------
# Tokens (``POST /api/v1/auth/token/``) for apps; the session for the pages' own calls. A staff
# token is issued only with a second factor when AIMSS_STAFF_MFA is on (interop.authentication).
AIMSS_API_TOKEN_SECONDS = env.int("AIMSS_API_TOKEN_SECONDS", default=12 * 3600)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "interop.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Hostile input is a 4xx with a JSON body, never a 500 (aimss_tracker.inputs).
    "DEFAULT_PARSER_CLASSES": [
        "aimss_tracker.inputs.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "aimss_tracker.inputs.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # Counted in Django's cache (CACHES above), per client address as ``client_ip`` sees it.
    "NUM_PROXIES": AIMSS_NUM_PROXIES,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("AIMSS_API_RATE_ANON", default="60/minute"),
        "user": env.str("AIMSS_API_RATE_USER", default="1200/minute"),
        # Password (and second factor) guessing on the token endpoint, on top of django-axes.
        "token": env.str("AIMSS_API_RATE_TOKEN", default="10/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AIMSS Tracker API",
    "DESCRIPTION": "BPI-SF pain reporting, flags and treatment persistence for patients on "
    "aromatase inhibitors.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from local static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the AI drug choices (a course's drug and a switch's new drug share them).
    "ENUM_NAME_OVERRIDES": {
        "AiDrugEnum": "adherence.models.Drug",
        "BodyRegionEnum": "assessments.models.BodyRegion",
    },
}

# --- Security -------------------------------------------------------------------------------
# A CSP without inline script: every script is a static file. Styles allow 'unsafe-inline'
# only because plotly.js injects its own <style> rules at runtime (checked in Chromium); our
# templates carry no inline style (tests/test_security.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not AIMSS_PLAIN_HTTP_DEMO:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # __Host- cookies: secure, whole site, bound to this host only (no Domain attribute).
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# --- Logging: no health information, ever; only ids and event names are logged -----------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A reminder link's token never reaches a log (aimss_tracker.logs).
    "filters": {"no_link_tokens": {"()": "aimss_tracker.logs.RedactLinkTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["no_link_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's and runserver's records through this handler only, instead of Django's
        # default handlers (which would print them a second time, unfiltered)
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}

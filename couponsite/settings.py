"""Couponsite settings, read from the environment.

With nothing set the project runs embedded: SQLite (write transactions take the
lock up front, so concurrent writers wait instead of failing) and a local-memory
cache. ``DATABASE_URL`` and ``REDIS_URL`` switch to Postgres and Redis.
Every variable is listed in the README.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str(
    "SECRET_KEY",
    default="insecure-embedded-default-set-SECRET_KEY-in-production",
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A refused CSRF check answers JSON outside the admin, like every other answer.
CSRF_FAILURE_VIEW = "couponsite.api.views.csrf_failure"

# Who signs in with a phone code (the API's customers); staff are AUTH_USER_MODEL.
CUSTOMER_MODEL = "customers.Customer"

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
    "health_check",
    # django-tasks-db, named in the back office's language.
    "couponsite.background.app.TasksDatabaseConfig",
    "crontask",
    "couponsite",
    "messaging",
    "webhooks",
    "customers",
    "campaigns",
    "vouchers",
    "draws",
]

MIDDLEWARE = [
    # Outermost: the route pattern of every answer, for the metrics (couponsite.metrics).
    "couponsite.metrics.routes.RouteLabelMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The answer's language from Accept-Language (the back office, the API's texts);
    # a customer's saved language wins at authentication (customers.authentication).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "couponsite.urls"
WSGI_APPLICATION = "couponsite.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("TEST", {})
    DATABASES["default"]["TEST"]["NAME"] = env.str(
        "TEST_DATABASE_NAME", default="test_couponsite"
    )
# A connection pooler between the app and Postgres: "" (none) or "pgbouncer" (in
# transaction pooling mode: a server connection is the client's for one transaction
# only). Then nothing may outlive a transaction on the server: no prepared
# statements (psycopg's are off in Django's connections already; said here for the
# group committer, which copies these options, see RUSH_GROUP_COMMIT_PREPARE) and
# no server-side cursors (QuerySet.iterator() would DECLARE one outside a
# transaction). Session settings the code makes (SET TIME ZONE) are among those
# PgBouncer tracks and sets again per client. docs/architecture.md, "Growing past
# one machine".
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER not in ("", "pgbouncer"):
    raise ImproperlyConfigured(
        f"DATABASE_POOLER={DATABASE_POOLER!r}: '' or 'pgbouncer'"
    )
if DATABASE_POOLER == "pgbouncer":
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        raise ImproperlyConfigured("DATABASE_POOLER=pgbouncer needs a Postgres URL")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Redis ----------------------------------------------------------
# Redis is an accelerator, never the only copy: a Redis outage must degrade to
# slower answers from Postgres, so cache errors are logged, not raised. Every key
# starts with the database's namespace (couponsite.namespace), so a reset or
# restored database never reads the old one's keys.
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
# REDIS_CLUSTER=1: REDIS_URL names one node of a Redis Cluster (any); the cache and
# get_redis use redis-py's RedisCluster (couponsite.redis_cluster), and the thin
# path steps aside (docs/architecture.md, "Growing past one machine").
REDIS_CLUSTER = env.bool("REDIS_CLUSTER", default=False)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="cs"),
            "KEY_FUNCTION": "couponsite.namespace.cache_key",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    if REDIS_CLUSTER:
        CACHES["default"]["OPTIONS"].update(
            CLIENT_CLASS="couponsite.redis_cluster.ClusterCacheClient",
            CONNECTION_FACTORY="couponsite.redis_cluster.ClusterConnectionFactory",
        )
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "couponsite.redis"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "couponsite",
            "KEY_FUNCTION": "couponsite.namespace.cache_key",
        }
    }

# Seconds a process keeps campaigns and draw odds without asking Redis (edits reach
# other processes within this time).
LOCAL_CACHE_SECONDS = env.float("LOCAL_CACHE_SECONDS", default=2.0)

# Group commit (couponsite.group_commit; the rush and the draw): at most this many
# requests share a transaction; after an idle moment, the first request waits this
# many seconds for others (0: none; a batch forms while the previous one commits).
# (The names say RUSH_: the rush had it first; the environment keeps them.)
RUSH_GROUP_COMMIT_MAX_BATCH = env.int("RUSH_GROUP_COMMIT_MAX_BATCH", default=500)
RUSH_GROUP_COMMIT_WINDOW = env.float("RUSH_GROUP_COMMIT_WINDOW", default=0.0)
# Let its connection keep prepared statements (planning a batch's statements costs
# more than running a small batch); off by default, like Django's connections, for
# poolers in transaction mode that do not carry them (PgBouncer before 1.21).
RUSH_GROUP_COMMIT_PREPARE = env.bool("RUSH_GROUP_COMMIT_PREPARE", default=False)
if RUSH_GROUP_COMMIT_PREPARE and DATABASE_POOLER == "pgbouncer":
    raise ImproperlyConfigured(
        "RUSH_GROUP_COMMIT_PREPARE needs a session of its own; PgBouncer's "
        "transaction pooling hands each transaction another server connection"
    )

# --- Auth, i18n, static ----------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The languages customers and staff are answered in (README, "Languages"): the
# catalogues are locale/<zh_Hant|zh_Hans>/LC_MESSAGES/django.po, compiled to .mo by
# scripts/bootstrap (scripts/compilemessages); zh-TW and zh-HK browsers get zh-hant,
# zh-CN and zh-SG get zh-hans (Django's LANG_INFO fallbacks).
LANGUAGES = [
    ("en", "English"),
    ("zh-hant", "繁體中文"),
    ("zh-hans", "简体中文"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates as 2026-11-30, times as 2026-11-30 03:12 UTC (couponsite/formats).
FORMAT_MODULE_PATH = ["couponsite.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- REST API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["customers.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["couponsite.api.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [],
    "EXCEPTION_HANDLER": "couponsite.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "couponsite.api.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "couponsite.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Couponsite API",
    "DESCRIPTION": (
        "Lucky draws, a voucher pool, claim-and-hold drops and a flash-sale rush. "
        "Authenticate with `Authorization: Bearer <token>`; every error body is "
        "`{code, detail}` with a stable upper-snake `code`."
    ),
    "VERSION": "1.0.0",
    # 3.1: a nullable object is oneOf [its schema, null]. In 3.0, drf-spectacular
    # writes allOf [$ref] + nullable, which validators read as "never null"
    # (drf-spectacular issue #925), so a lost draw's null voucher failed clients.
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "couponsite.api.schema.require_request_bodies",
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "VoucherStatusEnum": "vouchers.models.Voucher.Status",
        "CampaignKindEnum": "campaigns.models.Campaign.Kind",
    },
}

# --- Rate limits ------------------------------------------------------------------
# "<count>/<second|minute|hour|day>" or "off": at most <count> in any span of that
# length (sliding windows, couponsite.api.throttling). Each scope is limited per
# customer (or phone) and per client address; an operator behind a NAT or a load
# test from one address raises the *_IP values.
RATE_LIMITS = {
    "otp_phone": env.str("RATE_LIMIT_OTP_PHONE", default="5/hour"),
    "otp_ip": env.str("RATE_LIMIT_OTP_IP", default="30/hour"),
    "token_ip": env.str("RATE_LIMIT_TOKEN_IP", default="60/hour"),
    "draw_customer": env.str("RATE_LIMIT_DRAW_CUSTOMER", default="10/minute"),
    "draw_ip": env.str("RATE_LIMIT_DRAW_IP", default="300/minute"),
    "claim_customer": env.str("RATE_LIMIT_CLAIM_CUSTOMER", default="10/minute"),
    "claim_ip": env.str("RATE_LIMIT_CLAIM_IP", default="300/minute"),
    "reserve_customer": env.str("RATE_LIMIT_RESERVE_CUSTOMER", default="10/minute"),
    "reserve_ip": env.str("RATE_LIMIT_RESERVE_IP", default="300/minute"),
    "grab_customer": env.str("RATE_LIMIT_GRAB_CUSTOMER", default="20/minute"),
    "grab_ip": env.str("RATE_LIMIT_GRAB_IP", default="600/minute"),
    "redeem_customer": env.str("RATE_LIMIT_REDEEM_CUSTOMER", default="30/minute"),
    "redeem_ip": env.str("RATE_LIMIT_REDEEM_IP", default="600/minute"),
    "lookup_customer": env.str("RATE_LIMIT_LOOKUP_CUSTOMER", default="60/minute"),
    "lookup_ip": env.str("RATE_LIMIT_LOOKUP_IP", default="600/minute"),
    # Failed lookups, checks and redemptions (unknown, expired, used codes): code
    # guessing. A sliding hour: at most this many in any hour.
    "redeem_fail_customer": env.str(
        "RATE_LIMIT_REDEEM_FAIL_CUSTOMER", default="20/hour"
    ),
    "redeem_fail_ip": env.str("RATE_LIMIT_REDEEM_FAIL_IP", default="100/hour"),
    # Verification codes sent to an email (PATCH /me with an email).
    "email_customer": env.str("RATE_LIMIT_EMAIL_CUSTOMER", default="5/hour"),
    "email_ip": env.str("RATE_LIMIT_EMAIL_IP", default="30/hour"),
    # A customer's export of everything kept about them (GET /me/export).
    "export_customer": env.str("RATE_LIMIT_EXPORT_CUSTOMER", default="10/hour"),
    "export_ip": env.str("RATE_LIMIT_EXPORT_IP", default="60/hour"),
}
# Addresses (or CIDR networks) of reverse proxies whose X-Forwarded-For we believe.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- Metrics (GET /metrics, couponsite.metrics; docs/operations.md) -----------------
# Who may scrape: client addresses in these networks (loopback by default; empty:
# nobody), and, when METRICS_TOKEN is set, with "Authorization: Bearer <token>".
METRICS_ALLOWED_NETWORKS = env.list(
    "METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"]
)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Seconds a client is told to wait (Retry-After) when Postgres cannot be reached.
SERVICE_UNAVAILABLE_RETRY_AFTER = env.int("SERVICE_UNAVAILABLE_RETRY_AFTER", default=5)

# --- Idempotency --------------------------------------------------------------------
# The replay window the API promises ("keys live 24 hours"): a retry within it
# gets the first answer. RETENTION_IDEMPOTENCY (below) must not be shorter.
IDEMPOTENCY_KEY_TTL_SECONDS = env.int("IDEMPOTENCY_KEY_TTL_SECONDS", default=24 * 3600)
# A key still "in progress" after this long belongs to a request that died.
IDEMPOTENCY_STALE_SECONDS = env.int("IDEMPOTENCY_STALE_SECONDS", default=60)


# --- Retention (docs/operations.md, "What is kept, and for how long") ---------------
# How long records that only matter for a while are kept before the schedule
# purges them: "<number><s|m|h|d>" (e.g. "30d", "48h") or plain seconds.
def _duration(name: str, default: str) -> timedelta:
    text = env.str(name, default=default).strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text[-1:] in units:
            seconds = float(text[:-1]) * units[text[-1]]
        else:
            seconds = float(text)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={text!r} is not a duration") from exc
    if seconds <= 0:
        raise ImproperlyConfigured(f"{name} must be longer than zero")
    return timedelta(seconds=seconds)


# Sign-in codes (customers.OneTimeCode) and email codes (customers.EmailVerification),
# by when they were last sent: only a hash of the code, but a phone or email with it.
RETENTION_SIGNIN_CODES = _duration("RETENTION_SIGNIN_CODES", "30d")
# Idempotency-Key records, by when they were made: the replay window and a day
# (48 h by default); a value shorter than the window is refused.
RETENTION_IDEMPOTENCY = _duration(
    "RETENTION_IDEMPOTENCY", str(IDEMPOTENCY_KEY_TTL_SECONDS + 86400)
)
if timedelta(seconds=IDEMPOTENCY_KEY_TTL_SECONDS) > RETENTION_IDEMPOTENCY:
    raise ImproperlyConfigured(
        "RETENTION_IDEMPOTENCY must be at least IDEMPOTENCY_KEY_TTL_SECONDS "
        "(the replay window the API promises)."
    )
# Webhook deliveries that are done (delivered or failed) with their attempts, and
# events with no delivery left, by when they were made; pending ones are kept.
RETENTION_WEBHOOK_DELIVERIES = _duration("RETENTION_WEBHOOK_DELIVERIES", "30d")
# Rows deleted per statement: a big purge never holds its locks for long.
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=1000)

# --- Sign-in and SMS ------------------------------------------------------------------
OTP_TTL_SECONDS = env.int("OTP_TTL_SECONDS", default=300)
OTP_MAX_ATTEMPTS = env.int("OTP_MAX_ATTEMPTS", default=5)
OTP_RESEND_SECONDS = env.int("OTP_RESEND_SECONDS", default=30)
# How long the phone of an erased customer may not sign up again (never less
# than a day: erasing must not reopen the day's once-a-day rules).
ERASURE_SIGNIN_HOLD_SECONDS = env.int("ERASURE_SIGNIN_HOLD_SECONDS", default=172800)
# Region used to read phone numbers written without a leading "+country code".
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="") or None

# Abuse controls on sign-in texts (SMS pumping costs money; docs/operations.md).
# Countries (ISO 3166 region codes, as libphonenumber names them) whose phones
# may be texted a code; empty: every country.
SMS_ALLOWED_COUNTRIES = frozenset(
    code.strip().upper()
    for code in env.list("SMS_ALLOWED_COUNTRIES", default=["US", "CA", "GB"])
    if code.strip()
)
# Sign-in texts the whole site sends per clock hour (UTC); 0: no budget. The
# alarm is raised at SMS_BUDGET_WARN_PERCENT and when it is spent.
SMS_HOURLY_BUDGET = env.int("SMS_HOURLY_BUDGET", default=10000)
SMS_BUDGET_WARN_PERCENT = env.int("SMS_BUDGET_WARN_PERCENT", default=80)
# Sign-in texts per phone prefix (country code and the first SMS_PREFIX_DIGITS
# digits of the national number) per clock hour; 0: no limit.
SMS_PREFIX_LIMIT = env.int("SMS_PREFIX_LIMIT", default=20)
SMS_PREFIX_DIGITS = env.int("SMS_PREFIX_DIGITS", default=6)

# API tokens: customer sign-in tokens and staff tokens end this long after they are
# made. Token owners are cached only in Redis (shared by every worker), for at
# most TOKEN_CACHE_SECONDS; 0 asks the database on every request.
TOKEN_TTL_SECONDS = env.int("TOKEN_TTL_SECONDS", default=30 * 86400)
STAFF_TOKEN_TTL_SECONDS = env.int("STAFF_TOKEN_TTL_SECONDS", default=90 * 86400)
TOKEN_CACHE_SECONDS = env.int("TOKEN_CACHE_SECONDS", default=60)
# The thin path (couponsite.server.thin) knows a customer's live token by a small
# Redis entry, written at sign-in and marked stale by every revocation; it lives
# at most this long (and never past the token's end), then Django writes it again.
TOKEN_THIN_SECONDS = env.int("TOKEN_THIN_SECONDS", default=900)

# Hot refusals (rush, repeat draws and claims) answered on the event loop before
# Django (docs/architecture.md, "The thin path"); THIN_PATH=off sends all to Django.
THIN_PATH = env.bool("THIN_PATH", default=True)
THIN_PATH_REDIS_TIMEOUT = env.float("THIN_PATH_REDIS_TIMEOUT", default=2.0)

# Email verification codes (PATCH /me {"email"}; POST /me/email/verify).
EMAIL_CODE_TTL_SECONDS = env.int("EMAIL_CODE_TTL_SECONDS", default=900)
EMAIL_CODE_MAX_ATTEMPTS = env.int("EMAIL_CODE_MAX_ATTEMPTS", default=5)
EMAIL_CODE_RESEND_SECONDS = env.int("EMAIL_CODE_RESEND_SECONDS", default=60)

# The back office (the admin) is titled "<RETAILER_NAME> coupon back office".
RETAILER_NAME = env.str("RETAILER_NAME", default="Couponsite")

# Background work (docs/architecture.md, "Background work"): tasks are rows in
# the database (django-tasks-db), enqueued in the same transaction as the
# effect that causes them, and run by `manage.py db_worker` processes (make run
# starts one beside gunicorn). Queues: "default" (messages to customers),
# "webhooks" (calls to the retailer's systems), "jobs" (the schedule's sweeps).
TASK_QUEUES = ["default", "webhooks", "jobs"]
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": TASK_QUEUES,
    }
}
# The schedule (`manage.py crontask`, django-crontask): with Redis, a second
# scheduler started by mistake waits on a lock instead of running; every
# scheduled job is idempotent besides (docs/architecture.md).
# CRONTASK_LOCK_WAIT_SECONDS: how long the second one waits before it gives up
# ("Another scheduler is already running.") and exits.
CRONTASK = (
    {
        "REDIS_URL": REDIS_URL,
        "LOCK_BLOCKING_TIMEOUT": env.int("CRONTASK_LOCK_WAIT_SECONDS", default=15),
    }
    if REDIS_URL
    else {}
)
# What the daily prune keeps (couponsite.tasks.prune_background_records): finished
# tasks' results, failed ones longer (someone may look into them), and the
# schedule's "done" marks (couponsite.JobRun).
TASK_RESULTS_KEEP_DAYS = env.int("TASK_RESULTS_KEEP_DAYS", default=7)
TASK_FAILURES_KEEP_DAYS = env.int("TASK_FAILURES_KEEP_DAYS", default=30)
JOB_RUNS_KEEP_DAYS = env.int("JOB_RUNS_KEEP_DAYS", default=30)
# The nightly invariant audit (draws.tasks): a crontab in TIME_ZONE (the day of
# the week as a name or *, as django-crontask asks).
AUDIT_INVARIANTS_CRON = env.str("AUDIT_INVARIANTS_CRON", default="30 3 * * *")

# Messages to customers (the messaging app): each is sent by the worker, retried
# with backoff (base, doubled per attempt, capped) up to MESSAGE_MAX_ATTEMPTS, then
# failed. A worker holds a message it sends for MESSAGE_SEND_LEASE_SECONDS; the
# sweeper takes one held longer as lost, and gives a task to a pending one due
# for MESSAGE_SWEEP_GRACE_SECONDS that has none. Bulk emails: one task per chunk.
MESSAGE_MAX_ATTEMPTS = env.int("MESSAGE_MAX_ATTEMPTS", default=6)
MESSAGE_RETRY_BASE_SECONDS = env.float("MESSAGE_RETRY_BASE_SECONDS", default=30.0)
MESSAGE_RETRY_CAP_SECONDS = env.float("MESSAGE_RETRY_CAP_SECONDS", default=3600.0)
MESSAGE_SEND_LEASE_SECONDS = env.int("MESSAGE_SEND_LEASE_SECONDS", default=300)
MESSAGE_SWEEP_GRACE_SECONDS = env.int("MESSAGE_SWEEP_GRACE_SECONDS", default=60)
MESSAGE_BULK_CHUNK = env.int("MESSAGE_BULK_CHUNK", default=100)

SMS_BACKEND = env.str("SMS_BACKEND", default="console")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(BASE_DIR / "var" / "sms"))
SMS_SENDER = env.str("SMS_SENDER", default="Couponsite")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="https://api.twilio.com")

# --- Email -------------------------------------------------------------------------------
# Django's email framework (verification codes). EMAIL_BACKEND is "console" (the
# default: printed), "smtp" (set EMAIL_HOST and friends), "file" (EMAIL_FILE_PATH),
# "locmem" (tests) or a dotted path to a backend class.
_EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="console")
# Django's module for the file backend is "filebased".
_EMAIL_MODULES = {"file": "filebased"}
_EMAIL_BACKEND_PATH = (
    f"django.core.mail.backends.{_EMAIL_MODULES.get(_EMAIL_BACKEND, _EMAIL_BACKEND)}"
    ".EmailBackend"
    if _EMAIL_BACKEND in ("console", "smtp", "file", "locmem", "dummy")
    else _EMAIL_BACKEND
)
_EMAIL_OPTIONS = {}
if _EMAIL_BACKEND == "smtp":
    _EMAIL_OPTIONS = {
        "host": env.str("EMAIL_HOST", default="localhost"),
        "port": env.int("EMAIL_PORT", default=25),
        "username": env.str("EMAIL_HOST_USER", default=""),
        "password": env.str("EMAIL_HOST_PASSWORD", default=""),
        "use_tls": env.bool("EMAIL_USE_TLS", default=False),
        "use_ssl": env.bool("EMAIL_USE_SSL", default=False),
        # Seconds; without it a hung mail server would hold the request forever.
        "timeout": env.int("EMAIL_TIMEOUT", default=10),
    }
elif _EMAIL_BACKEND_PATH.endswith("filebased.EmailBackend"):
    _EMAIL_OPTIONS = {
        "file_path": env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "email"))
    }
MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND_PATH, "OPTIONS": _EMAIL_OPTIONS}}
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Couponsite <noreply@localhost>"
)

# --- Logging ---------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
# The same failure (database or Redis unreachable) is logged once per this many
# seconds and process, with a count of the repeats dropped; 0 logs every one.
LOG_REPEAT_SECONDS = env.float("LOG_REPEAT_SECONDS", default=60.0)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "repeats": {
            "()": "couponsite.logfilters.RepeatFilter",
            "seconds": LOG_REPEAT_SECONDS,
        },
        "redis_fallbacks": {"()": "couponsite.metrics.RedisFallbackFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["repeats"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own config gives "django" INFO; follow LOG_LEVEL instead, so an
        # operator can silence the 4xx warnings of a flash sale (LOG_LEVEL=ERROR).
        "django": {"level": LOG_LEVEL},
        "django.db.backends": {"level": "INFO"},
        # The schedule's own "running job" lines (a lock refresh every 5 s) are noise.
        "apscheduler": {"level": "WARNING"},
        # django-redis's ignored errors (the cache answered a miss): counted.
        "couponsite.redis": {"filters": ["redis_fallbacks"]},
    },
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Webhooks (docs/webhooks.md) ------------------------------------------------------
# Calls to private, loopback, link-local or reserved addresses are refused unless
# this is set (tests and a receiver on the same host).
WEBHOOKS_ALLOW_PRIVATE_TARGETS = env.bool(
    "WEBHOOKS_ALLOW_PRIVATE_TARGETS", default=False
)
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
# A failed delivery is tried again with exponential backoff for this long.
WEBHOOKS_RETRY_SECONDS = env.int("WEBHOOKS_RETRY_SECONDS", default=86400)
WEBHOOKS_BACKOFF_BASE_SECONDS = env.float("WEBHOOKS_BACKOFF_BASE_SECONDS", default=30.0)
WEBHOOKS_BACKOFF_CAP_SECONDS = env.float("WEBHOOKS_BACKOFF_CAP_SECONDS", default=3600.0)

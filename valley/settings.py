"""Settings for the Valley Portal, read from the environment.

With nothing set, the portal runs in development mode on SQLite and a Celery
broker that needs no server (kombu's filesystem transport), so the first command
works on a bare machine. Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS,
DATABASE_URL and CELERY_BROKER_URL (see README.md).
"""

import datetime
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from valley.env import env_bool, env_int, env_list, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VALLEY_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY")
# Development mode unless a secret is configured: a bare checkout just runs, and a
# deployment that sets SECRET_KEY gets the safe default without remembering DEBUG=0.
DEBUG = env_bool("DEBUG", default=not SECRET_KEY)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it (a long random string) or set DEBUG=1 for development."
        )
    SECRET_KEY = "development-only-secret-key-not-for-production-use-0123456789abcdef"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "valley",
    "teams",
    "funding",
    "tolerance",
]

MIDDLEWARE = [
    # First: every later middleware's log lines carry the request id, and every answer is counted.
    "valley.observability.middleware.RequestIdMiddleware",
    "valley.web.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy on every response (settings below, "Response headers").
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "valley.audit.middleware.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "valley.web.middleware.RefuseNulInQueryMiddleware",
    "valley.accounts.sessions.SessionTimeoutMiddleware",
    "valley.accounts.passwords.PasswordChangeRequiredMiddleware",
    "valley.accounts.two_factor.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "valley.urls"
WSGI_APPLICATION = "valley.wsgi.application"

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
                "valley.web.context_processors.portal",
            ],
        },
    },
]

# Database: DATABASE_URL, or an SQLite file in the project folder.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a Celery worker started by the tests sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test_db.sqlite3")}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # Each transaction takes the write lock when it begins: two workers that each read, then write (the
    # outbox's run_once, a row "locked" FOR UPDATE, which SQLite ignores) otherwise deadlock on the lock
    # upgrade, and SQLite answers "database is locked" at once instead of waiting `timeout` seconds.
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"

# A read replica (DATABASE_REPLICA_URL, a standby made with pg_basebackup -R): the views below, and the API's
# GET lists, read from it; every write and every other read go to the primary. A browser that has just
# written is read from the primary for REPLICA_PIN_SECONDS (it sees its own writes); a replica down or more
# than REPLICA_MAX_LAG_SECONDS behind is skipped, never a 500 (valley.web.replica, tests/faults/test_replica.py).
# Only added when set: pytest-django makes a test database for every alias, and the tests never set it.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", 30)
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 10)
# URL names ("namespace:name"), so that the ground floor names no app's views: auditor pages, exports, dashboards.
REPLICA_READ_VIEWS = frozenset(
    {
        "home",
        "export_list",
        "export_download",
        "export_download_xlsx",
        "audit_check",
        "funding:budgets",
        "tolerance:fund_list",
        "tolerance:fund_dashboard",
    }
)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
    if DATABASES["replica"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must be a PostgreSQL URL (a standby of DATABASE_URL).")
    # A replica that does not answer costs a few seconds, not the request's whole timeout.
    DATABASES["replica"].setdefault("OPTIONS", {})["connect_timeout"] = 3
    # Were a test ever to set it, the replica is the primary's test database, not a second one.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["valley.web.replica.ReplicaRouter"]
    # Last: its process_view runs the listed views with replica reads on, after every other middleware's.
    MIDDLEWARE.append("valley.web.replica.ReplicaReadsMiddleware")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE columns, e.g. the compliance check's on tolerance.Investment) are
# PostgreSQL's; on the SQLite development default they are plain indexes, which is fine.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
AUTH_USER_MODEL = "valley.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "valley.accounts.passwords.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "valley.accounts.passwords.CharacterKindsValidator", "OPTIONS": {"min_kinds": 3}},
    {"NAME": "valley.accounts.passwords.EmailLocalPartValidator"},
    {"NAME": "valley.accounts.passwords.RecentPasswordValidator", "OPTIONS": {"remembered": 5}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out account or address before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"

# Failed logins (django-axes): after AXES_FAILURE_LIMIT failures within AXES_COOLOFF_MINUTES, that
# account is locked from that address, until the cool-off ends (counted from the last counted failure:
# retries during the lockout do not restart it), the person resets their password, or staff unlock it
# (the users' admin action "unlock login", or `manage.py axes_reset_username EMAIL`). Per account and
# address together: an office behind one address is not locked out by one person's typing, and nobody
# can lock a colleague out from elsewhere.
# The address counted is valley.web.addresses.client_address, the one the audit log records (TRUSTED_PROXIES).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 15)
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT and AXES_COOLOFF_MINUTES must be positive whole numbers.")
AXES_COOLOFF_TIME = datetime.timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # the pair: this account from this address
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_FORM_FIELD = "username"  # the login forms' e-mail field (portal and admin)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "valley.accounts.two_factor.locked_out"
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "valley.web.addresses.client_address"

# The reverse proxies in front (comma-separated addresses or CIDRs, e.g. "10.0.0.0/8,127.0.0.1"): from a peer
# among them, the client's address is the right-most X-Forwarded-For hop that is not one of them (the audit
# log's source address and the login lockout both use it). Unset: REMOTE_ADDR, the header is never read.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")

# Two-factor login (django-otp, TOTP): staff, auditors and superusers confirm every login with a
# six-digit code (valley.accounts.two_factor). The issuer names the portal in authenticator apps.
OTP_TOTP_ISSUER = "Valley Portal"
# Re-authentication (valley.accounts.reauth): approving money and changing the fund policy need the password
# and a fresh code entered within this many minutes.
REAUTH_MAX_AGE_MINUTES = env_int("REAUTH_MAX_AGE_MINUTES", 10)
if REAUTH_MAX_AGE_MINUTES < 1:
    raise ImproperlyConfigured("REAUTH_MAX_AGE_MINUTES must be a positive whole number of minutes.")
LOGIN_REDIRECT_URL = "my_home"
LOGOUT_REDIRECT_URL = "home"
# Where the account pages (sign-up, e-mail confirmation) send a signed-in applicant: their teams and startups.
# A URL name of the app above the ground floor, named here so that valley/ itself names no app.
APPLICANT_HOME_URL = "teams:entity_list"

# Languages: Simplified Chinese by default, English on request.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Uploaded documents are never served as public static files: views check permission first.
MEDIA_URL = "/media-not-served/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# E-mail: printed to the console unless EMAIL_BACKEND and the EMAIL_* settings say otherwise.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "晋创谷 Valley Portal <noreply@valley.example.cn>")

# Celery: Redis when configured, otherwise the filesystem transport (no server needed).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or env_str("REDIS_URL") or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", f"file://{VAR_DIR / 'results'}")
    # The transport and the result backend expect their folders to exist, in every process.
    for _folder in (_broker_dir / "queue", _broker_dir / "processed", _broker_dir / "control", VAR_DIR / "results"):
        _folder.mkdir(parents=True, exist_ok=True)
else:
    CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "valley")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Work of each kind on a queue of its own, so that a night of compliance checks or a burst of mail keeps no
# reminder or notice waiting, and each kind can get workers of its own (Procfile, deploy/systemd/
# valley-worker@.service). A worker started without --queues takes every queue (development, tests).
CELERY_QUEUES_BY_KIND = {
    kind: f"{CELERY_TASK_DEFAULT_QUEUE}.{kind}" if kind != "default" else CELERY_TASK_DEFAULT_QUEUE
    for kind in ("default", "mail", "checks", "notices", "exports")
}
CELERY_TASK_QUEUES = [Queue(name) for name in CELERY_QUEUES_BY_KIND.values()]
CELERY_TASK_ROUTES = {
    name: {"queue": CELERY_QUEUES_BY_KIND[kind]}
    for kind, names in {
        "mail": ["valley.tasks.send_mail_task"],
        "checks": [
            "tolerance.tasks.run_compliance_checks",
            "tolerance.tasks.catch_up_compliance_checks",
            "tolerance.tasks.check_fund_compliance",
        ],
        "notices": [
            "funding.tasks.end_public_notices",
            "funding.tasks.send_report_reminders",
            "tolerance.tasks.send_company_report_reminders",
            "teams.tasks.flag_overdue_service_requests",
            "teams.tasks.auto_close_service_requests",
            "valley.privacy.anonymise_due",
        ],
    }.items()
    for name in names
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 24 * 3600
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Publishing never hangs on a broker that vanished without closing the connection.
        "socket_connect_timeout": 3,
        "socket_timeout": 15,
        # A message taken by a worker that died (SIGKILL, lost machine) is delivered again after this
        # long; it must exceed the longest task and the longest countdown (retry back-off is at most 10 min).
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    }
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3, "socket_timeout": 15}
    # Exactly one beat at a time: with Redis, beat keeps its schedule in Redis under a lock (RedBeat). A second
    # beat (another machine, a restart overlapping the old process) waits for the lock and takes over when the
    # first stops, instead of queueing every periodic task, the nightly check included, a second time. A beat
    # that died without releasing the lock is replaced after CELERY_BEAT_LOCK_TIMEOUT seconds.
    if env_bool("CELERY_BEAT_REDIS_LOCK", True):
        CELERY_BEAT_SCHEDULER = "valley.ops.beat.OneBeatScheduler"
        CELERY_REDBEAT_REDIS_URL = env_str("CELERY_BEAT_REDIS_URL", CELERY_BROKER_URL)
        # One schedule and one lock per deployment (the queue's name tells deployments sharing a Redis apart).
        CELERY_REDBEAT_KEY_PREFIX = env_str("CELERY_BEAT_KEY_PREFIX", f"valley-beat:{CELERY_TASK_DEFAULT_QUEUE}")
        CELERY_REDBEAT_REDIS_OPTIONS = {"socket_connect_timeout": 3, "socket_timeout": 15}
        CELERY_REDBEAT_LOCK_TIMEOUT = env_int("CELERY_BEAT_LOCK_TIMEOUT", 30)
        if CELERY_REDBEAT_LOCK_TIMEOUT < 10:
            raise ImproperlyConfigured("CELERY_BEAT_LOCK_TIMEOUT must be at least 10 seconds.")
        # Beat wakes at least this often to extend its lock (and a waiting beat tries this often to take it).
        CELERY_BEAT_MAX_LOOP_INTERVAL = 5
# Tasks are queued through the transactional outbox (valley/outbox.py); beat's sweeper publishes what the
# broker could not take at the time, OUTBOX_SWEEP_GRACE_SECONDS after it was queued at the earliest.
OUTBOX_SWEEP_SECONDS = env_int("OUTBOX_SWEEP_SECONDS", 30)
OUTBOX_SWEEP_GRACE_SECONDS = 5
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Audit entries are sealed into the chain right after each writer's commit; beat seals what is left
# (a failed seal, a process that ended first) every AUDIT_SEAL_SECONDS.
AUDIT_SEAL_SECONDS = env_int("AUDIT_SEAL_SECONDS", 5)
if AUDIT_SEAL_SECONDS < 1:
    raise ImproperlyConfigured(f"AUDIT_SEAL_SECONDS={AUDIT_SEAL_SECONDS} must be at least 1.")
# The audit chain's hash for entries sealed from now on: SM3 (GB/T 32905), which the commercial-cryptography
# rules expect; "sha256" only to keep a deployment on its old algorithm. Each entry records its own, so a
# chain begun with SHA-256 goes on with SM3 and keeps verifying (valley.audit.chain).
AUDIT_HASH_ALGORITHM = env_str("AUDIT_HASH_ALGORITHM", "sm3").strip().lower()
if AUDIT_HASH_ALGORITHM not in ("sm3", "sha256"):
    raise ImproperlyConfigured(f"AUDIT_HASH_ALGORITHM={AUDIT_HASH_ALGORITHM!r} must be sm3 or sha256.")
# Only for the test framework, which empties every table between transactional tests: lets valley's
# `flush` command through the audit tables' append-only triggers (valley.audit.guard). Never in production.
AUDIT_LOG_FLUSHABLE = False
# Where each day's anchor of the audit chain is written (valley.audit.anchors): a directory outside the
# database, ideally a mount of another machine or an object store that the database's owner cannot write.
AUDIT_ANCHOR_DIR = Path(env_str("AUDIT_ANCHOR_DIR", str(VAR_DIR / "audit-anchors")))
# SM2 (GB/T 32918) signatures of the anchors (valley.audit.signing): the private key signs each new anchor, the
# public key verifies them in verify_audit_log and on /audit/check/. Hex (64 digits private, 128 public: x||y),
# given directly or as the path of a file holding it (the _FILE variant, e.g. a mounted secret); make a pair
# with `manage.py generate_anchor_key`. The public key alone is enough to verify (it is derived from the private
# key when only that is set). With a public key, every anchor must carry a valid signature, except anchors of
# days before AUDIT_ANCHOR_SIGNED_FROM (YYYY-MM-DD: the day signing was switched on, for older anchors).
AUDIT_ANCHOR_SM2_PRIVATE_KEY = env_str("AUDIT_ANCHOR_SM2_PRIVATE_KEY", "")
AUDIT_ANCHOR_SM2_PRIVATE_KEY_FILE = env_str("AUDIT_ANCHOR_SM2_PRIVATE_KEY_FILE", "")
AUDIT_ANCHOR_SM2_PUBLIC_KEY = env_str("AUDIT_ANCHOR_SM2_PUBLIC_KEY", "")
AUDIT_ANCHOR_SM2_PUBLIC_KEY_FILE = env_str("AUDIT_ANCHOR_SM2_PUBLIC_KEY_FILE", "")
try:
    _signed_from = env_str("AUDIT_ANCHOR_SIGNED_FROM").strip()
    AUDIT_ANCHOR_SIGNED_FROM = datetime.date.fromisoformat(_signed_from) if _signed_from else None
except ValueError:
    raise ImproperlyConfigured("AUDIT_ANCHOR_SIGNED_FROM must be a date, YYYY-MM-DD.") from None
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The failure-tolerance compliance checks run nightly; TOLERANCE_CHECK_INTERVAL_SECONDS (a positive
# whole number) replaces the nightly time with "every N seconds", for tests and demonstrations.
TOLERANCE_CHECK_INTERVAL_SECONDS = env_int("TOLERANCE_CHECK_INTERVAL_SECONDS", 0)
if TOLERANCE_CHECK_INTERVAL_SECONDS < 0:
    raise ImproperlyConfigured("TOLERANCE_CHECK_INTERVAL_SECONDS must be a positive number of seconds (or unset).")
# The nightly check's time (HH:MM, Asia/Shanghai); the catch-up makes up a run the broker missed.
_check_time = env_str("TOLERANCE_CHECK_TIME", "01:30")
try:
    TOLERANCE_CHECK_TIME = tuple(int(part) for part in _check_time.split(":"))
    _valid_check_time = len(TOLERANCE_CHECK_TIME) == 2 and 0 <= TOLERANCE_CHECK_TIME[0] < 24
    _valid_check_time = _valid_check_time and 0 <= TOLERANCE_CHECK_TIME[1] < 60
except ValueError:
    _valid_check_time = False
if not _valid_check_time:
    raise ImproperlyConfigured(f"TOLERANCE_CHECK_TIME={_check_time!r} is not a time; write it as HH:MM, e.g. 01:30.")
TOLERANCE_CATCH_UP_SECONDS = env_int("TOLERANCE_CATCH_UP_SECONDS", 900)
# Fund-use report reminders go out each morning at 08:00, and the run is repeated hourly until 18:00 in case the
# broker or the worker was down at eight (a reminder that went out is never repeated); FUNDING_REMINDER_SECONDS
# (a positive whole number) replaces that with "every N seconds", for tests and demonstrations.
FUNDING_REMINDER_SECONDS = env_int("FUNDING_REMINDER_SECONDS", 0)
# A demo policy's public notice in minutes (FundPolicy.notice_minutes, loaded by seed_demo) counts only here, so a
# newcomer walks a grant to its end in minutes; never with DEBUG off, where every notice runs its days.
FUNDING_DEMO_POLICIES = DEBUG and env_bool("FUNDING_DEMO_POLICIES", default=True)
if FUNDING_REMINDER_SECONDS < 0:
    raise ImproperlyConfigured("FUNDING_REMINDER_SECONDS must be a positive number of seconds (or unset).")
# The quarterly company reports' reminders (tolerance.tasks.send_company_report_reminders) run the same way,
# at half past; TOLERANCE_REMINDER_SECONDS replaces that with "every N seconds".
TOLERANCE_REMINDER_SECONDS = env_int("TOLERANCE_REMINDER_SECONDS", 0)
if TOLERANCE_REMINDER_SECONDS < 0:
    raise ImproperlyConfigured("TOLERANCE_REMINDER_SECONDS must be a positive number of seconds (or unset).")
if OUTBOX_SWEEP_SECONDS <= 0 or TOLERANCE_CATCH_UP_SECONDS <= 0:
    raise ImproperlyConfigured(
        "OUTBOX_SWEEP_SECONDS and TOLERANCE_CATCH_UP_SECONDS must be positive numbers of seconds (or unset)."
    )
# Service requests (teams.service_requests): a resolved request the applicant has not rated closes by itself
# after this many working days; the overdue check runs hourly in working hours (SERVICE_OVERDUE_CHECK_SECONDS,
# a positive whole number, replaces that with "every N seconds", for tests and demonstrations).
SERVICE_AUTO_CLOSE_WORKING_DAYS = env_int("SERVICE_AUTO_CLOSE_WORKING_DAYS", 5)
if SERVICE_AUTO_CLOSE_WORKING_DAYS < 1:
    raise ImproperlyConfigured("SERVICE_AUTO_CLOSE_WORKING_DAYS must be a whole number of working days, at least 1.")
SERVICE_OVERDUE_CHECK_SECONDS = env_int("SERVICE_OVERDUE_CHECK_SECONDS", 0)
if SERVICE_OVERDUE_CHECK_SECONDS < 0:
    raise ImproperlyConfigured("SERVICE_OVERDUE_CHECK_SECONDS must be a positive number of seconds (or unset).")
# Personal data (valley.privacy; the README's *Personal data* section). The retention rules: an account whose
# owner asked for its deletion is anonymised PRIVACY_DELETION_GRACE_WORKING_DAYS working days after the request
# (they may cancel until then); the grant's records (applications, decisions, agreements, disbursements, reports)
# are kept PRIVACY_GRANT_RECORDS_KEPT_YEARS years as finance law requires, pointing at the anonymised account;
# the audit log is append-only and kept as it is. "Download my data" puts the person's documents' files into the
# zip while they come to at most PRIVACY_EXPORT_MAX_FILE_BYTES in all (beyond that: their list only).
PRIVACY_DELETION_GRACE_WORKING_DAYS = env_int("PRIVACY_DELETION_GRACE_WORKING_DAYS", 20)
PRIVACY_GRANT_RECORDS_KEPT_YEARS = env_int("PRIVACY_GRANT_RECORDS_KEPT_YEARS", 30)
PRIVACY_EXPORT_MAX_FILE_BYTES = env_int("PRIVACY_EXPORT_MAX_FILE_BYTES", 50 * 1024 * 1024)
if PRIVACY_DELETION_GRACE_WORKING_DAYS < 1 or PRIVACY_GRANT_RECORDS_KEPT_YEARS < 1 or PRIVACY_EXPORT_MAX_FILE_BYTES < 0:
    raise ImproperlyConfigured(
        "PRIVACY_DELETION_GRACE_WORKING_DAYS and PRIVACY_GRANT_RECORDS_KEPT_YEARS must be at least 1, "
        "PRIVACY_EXPORT_MAX_FILE_BYTES at least 0."
    )
# What the public notice of grants shows (the policy names these fields; funding checks the names at start-up).
PRIVACY_PUBLIC_NOTICE_FIELDS = env_list(
    "PRIVACY_PUBLIC_NOTICE_FIELDS", ["entity", "institution", "sub_venue", "approved_amount", "notice_ends_on"]
)
# Anonymisation runs hourly (a request whose grace ended is carried out within the hour).
PRIVACY_ANONYMISE_SECONDS = env_int("PRIVACY_ANONYMISE_SECONDS", 3600)
if PRIVACY_ANONYMISE_SECONDS < 1:
    raise ImproperlyConfigured("PRIVACY_ANONYMISE_SECONDS must be a positive number of seconds.")
CELERY_BEAT_SCHEDULE = {
    "teams-service-requests-overdue": {
        "task": "teams.tasks.flag_overdue_service_requests",
        "schedule": float(SERVICE_OVERDUE_CHECK_SECONDS) or crontab(hour="8-18", minute=15),
    },
    "teams-service-requests-auto-close": {
        "task": "teams.tasks.auto_close_service_requests",
        "schedule": float(SERVICE_OVERDUE_CHECK_SECONDS) or crontab(hour="8-18", minute=45),
    },
    # Proof of life: the run command's log shows this every minute.
    "valley-heartbeat": {"task": "valley.tasks.heartbeat", "schedule": 60.0},
    # Public notices end at midnight; check shortly after, and hourly in case the worker was down.
    "funding-end-public-notices": {
        "task": "funding.tasks.end_public_notices",
        "schedule": env_int("FUNDING_NOTICE_CHECK_SECONDS", 0) or crontab(minute=5),
    },
    "funding-report-reminders": {
        "task": "funding.tasks.send_report_reminders",
        "schedule": float(FUNDING_REMINDER_SECONDS) or crontab(hour="8-18", minute=0),
    },
    "tolerance-company-report-reminders": {
        "task": "tolerance.tasks.send_company_report_reminders",
        "schedule": float(TOLERANCE_REMINDER_SECONDS) or crontab(hour="8-18", minute=30),
    },
    "tolerance-compliance-checks": {
        "task": "tolerance.tasks.run_compliance_checks",
        "schedule": float(TOLERANCE_CHECK_INTERVAL_SECONDS)
        or crontab(hour=TOLERANCE_CHECK_TIME[0], minute=TOLERANCE_CHECK_TIME[1]),
    },
    "tolerance-compliance-catch-up": {
        "task": "tolerance.tasks.catch_up_compliance_checks",
        "schedule": float(TOLERANCE_CATCH_UP_SECONDS),
    },
    "valley-outbox-sweep": {"task": "valley.tasks.outbox_sweep", "schedule": float(OUTBOX_SWEEP_SECONDS)},
    "valley-audit-seal": {"task": "valley.audit.seal", "schedule": float(AUDIT_SEAL_SECONDS)},
    # Yesterday's anchor, shortly after midnight (Asia/Shanghai), and again hourly in case the worker was down:
    # a day that has its anchor is left alone.
    "valley-audit-anchor": {"task": "valley.audit.anchor", "schedule": crontab(minute=10)},
    "valley-privacy-anonymise": {"task": "valley.privacy.anonymise_due", "schedule": float(PRIVACY_ANONYMISE_SECONDS)},
}

REST_FRAMEWORK = {
    # Token first, so that a request without credentials is answered 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "valley.web.permissions.AuditorsReadOnly",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "valley.web.api.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "valley.web.api.exception_handler",
}

# The OpenAPI 3 schema at /api/schema/ and its documentation page at /api/docs/, served from our own
# static files (drf-spectacular-sidecar), never from a CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": _("Valley Portal API"),
    "DESCRIPTION": _(
        "The Shanxi Innovation Valley (晋创谷) portal's data for programs: the valley's reference data, teams "
        "and startups, and the start-up fund. Sign in with a session or send `Authorization: Token <key>`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ApplicationStateEnum": "funding.models.Application.State",
        "FundUseReportStateEnum": "funding.models.FundUseReport.State",
        "RecoveryOrderStateEnum": "funding.models.RecoveryOrder.State",
        "AchievementStageEnum": "teams.models.Achievement.Stage",
        "ExemptionCaseStateEnum": "tolerance.models.CaseState",
        "RateRoundingEnum": "tolerance.rates.Rounding",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "valley.web.api.add_error_responses",
    ],
}

# Production hardening: on whenever DEBUG is off, so `check --deploy` is clean.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
# Sessions end after a time without activity and after an absolute lifetime (valley.accounts.sessions):
# staff and auditors (is_staff) 30 minutes / 12 hours, applicants 2 hours / 7 days by default.
SESSION_IDLE_MINUTES_STAFF = env_int("SESSION_IDLE_MINUTES_STAFF", 30)
SESSION_ABSOLUTE_HOURS_STAFF = env_int("SESSION_ABSOLUTE_HOURS_STAFF", 12)
SESSION_IDLE_MINUTES_APPLICANT = env_int("SESSION_IDLE_MINUTES_APPLICANT", 120)
SESSION_ABSOLUTE_HOURS_APPLICANT = env_int("SESSION_ABSOLUTE_HOURS_APPLICANT", 7 * 24)
if (
    min(
        SESSION_IDLE_MINUTES_STAFF,
        SESSION_ABSOLUTE_HOURS_STAFF,
        SESSION_IDLE_MINUTES_APPLICANT,
        SESSION_ABSOLUTE_HOURS_APPLICANT,
    )
    < 1
):
    raise ImproperlyConfigured("The SESSION_IDLE_* and SESSION_ABSOLUTE_* settings must be positive whole numbers.")
# "Last seen" is written to the session at most this often, so an active session is not saved on every request.
SESSION_ACTIVITY_RESOLUTION_SECONDS = env_int("SESSION_ACTIVITY_RESOLUTION_SECONDS", 60)
# The cookie outlives no session: the longest absolute lifetime.
SESSION_COOKIE_AGE = max(SESSION_ABSOLUTE_HOURS_STAFF, SESSION_ABSOLUTE_HOURS_APPLICANT) * 3600
X_FRAME_OPTIONS = "DENY"

# Logs: JSON lines (one object per line, for a log collector) when LOG_FORMAT=json, the default in production;
# plain text otherwise. Every line carries the request id of its request or Celery task (valley/observability).
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is neither json nor plain.")
# Response headers. The policy allows scripts, styles and fonts from the portal's own origin only: no inline
# <script>, no <style> block and no style="" attribute anywhere (tests/valley/test_security_headers.py scans the
# templates and the rendered pages, tests/browser/test_csp.py listens for violations in Chromium). img-src allows
# data: for the favicon placeholder (<link rel="icon" href="data:,">); the charts are inline SVG, which needs nothing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# The full URL goes to the portal's own pages only; other sites see no referrer (a URL can carry an application id).
SECURE_REFERRER_POLICY = "same-origin"
# Browser features the portal never uses, switched off for it and anything it might embed.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "valley.observability.logs.ValleyJsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
# The worker's own log lines, with the request id that sent the task (JSON ones: valley.observability).
CELERY_WORKER_LOG_FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] [%(request_id)s] %(message)s"
CELERY_WORKER_TASK_LOG_FORMAT = (
    "[%(asctime)s: %(levelname)s/%(processName)s] %(task_name)s[%(task_id)s] [%(request_id)s]: %(message)s"
)
# Request ids: an incoming X-Request-ID is kept only when this is on, i.e. when a proxy in front sets (or
# replaces) the header on every request; otherwise each request gets a new id.
REQUEST_ID_TRUST_HEADER = env_bool("REQUEST_ID_TRUST_HEADER", False)
# /metrics answers the scraper that sends `Authorization: Bearer <METRICS_TOKEN>` (and signed-in superusers).
# Unset: only superusers. A short token is refused: it would be guessed.
# With several gunicorn workers, prometheus_client (which reads the variable itself) adds up their counts in this
# folder; it must exist before the first request is counted. The web unit empties it at each start.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
METRICS_TOKEN = env_str("METRICS_TOKEN").strip()
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters long (e.g. `openssl rand -hex 32`).")

# Upload limits (bytes): checked by the forms before anything reaches storage.
DOCUMENT_MAX_BYTES = env_int("DOCUMENT_MAX_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

PORTAL_NAME = _("Shanxi Innovation Valley Portal")

# The home dashboard's figures are recomputed at most this often (by each process, or once for all with
# CACHE_URL); 0 computes them on every view.
HOME_FIGURES_CACHE_SECONDS = env_int("HOME_FIGURES_CACHE_SECONDS", 60)
# The fund dashboard's figures, chart and lists, cached per fund and language and keyed on what changes
# them (tolerance.selectors.fund_with_dashboard_stamp); changes its key does not see show after this long.
FUND_DASHBOARD_CACHE_SECONDS = env_int("FUND_DASHBOARD_CACHE_SECONDS", 30)
# The cache lives in each process's memory unless CACHE_URL names a Redis (redis://host:6379/1), which every
# web node and worker then share: the home and fund-dashboard figures are computed once for all nodes and
# sessions are read from it (backed by the database, so that none is lost with the cache). A Redis outage
# degrades to no cache (django-redis ignores its errors, after half a second at most): figures are computed
# on each view and sessions read from the database, never a 500 (tests/faults/test_shared_cache.py).
# In memory, room for every fund's sections in both languages at province scale (Django's default keeps 300
# entries, fewer than 100 funds × 2 sections × 2 languages).
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("CACHE_URL must be a Redis URL, such as redis://127.0.0.1:6379/1.")
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "valley"),
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "IGNORE_EXCEPTIONS": True},
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    # Only with a shared cache: with one cache per process, a session ended in one would live on in the others.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }

# Load tests only (bench/loadtest.py): mounts a minimal view and stock ModelAdmins to compare against,
# under /bench/. Never on in production.
VALLEY_BENCH = env_bool("VALLEY_BENCH", False)

"""Settings for the Micro-Acquisition Marketplace.

One module, driven by the environment (see `.env.example`). With nothing set it runs in the
*embedded default*: SQLite file, Celery tasks eager, email to the console, debug on. `make demo`
runs the same with MARKETPLACE_DEMO=1: debug off, plain http on this machine (see "Core").
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_str(name: str, default: str = "") -> str:
    """The variable's value; an empty value counts as unset (compose writes `VAR=` for those)."""
    return os.environ.get(name) or default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def email_settings_from_url(url: str) -> dict:
    """Translate EMAIL_URL (console://, locmem://, file:///path, smtp[s]://user:pass@host:port)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme == "file":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": parts.path,
        }
    if scheme in {"smtp", "smtps", "submission"}:
        query = parse_qs(parts.query)
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname or "localhost",
            "EMAIL_PORT": parts.port or {"smtp": 25, "smtps": 465, "submission": 587}[scheme],
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_SSL": scheme == "smtps",
            "EMAIL_USE_TLS": scheme == "submission" or query.get("tls", ["0"])[0] in {"1", "true"},
            "EMAIL_TIMEOUT": 10,
        }
    raise ImproperlyConfigured(f"EMAIL_URL has an unsupported scheme: {scheme!r}")


# --- Core ------------------------------------------------------------------------------------

# Three ways to run, and what each assumes:
# - the embedded default (nothing set): a developer's machine; debug on.
# - the demo (MARKETPLACE_DEMO=1, which `make demo` sets): this machine over plain http, debug
#   off unless DJANGO_DEBUG=true (`make demo DEBUG=1`), staff MFA optional (the demo accounts
#   sign in with a password). Never for a site other people reach: cookies are not Secure.
# - production (DJANGO_DEBUG=false without the demo flag): nothing assumed; the signing key
#   must come from DJANGO_SECRET_KEY, or the site refuses to start.
# The first two, when DJANGO_SECRET_KEY is unset, sign with a random key made on first use and
# kept in an ignored local file (LOCAL_SECRET_KEY_FILE), never with a key anyone can read: a
# known key lets whoever reaches the site forge a session or an email verification.
MARKETPLACE_DEMO = env_bool("MARKETPLACE_DEMO", False)
DEBUG = env_bool("DJANGO_DEBUG", not MARKETPLACE_DEMO)
LOCAL_RUN = DEBUG or MARKETPLACE_DEMO


def local_secret_key(path: Path) -> str:
    """The key kept in `path`, made on first use: random, readable by its owner only, and put
    under its name whole in one step (a hard link fails if the name exists, like O_EXCL), so
    processes that start together (runserver and its reloader, test workers) all read the
    key of whichever made it first, never a half-written one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, draft = tempfile.mkstemp(dir=path.parent, prefix=".secret_key-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(50) + "\n")
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(draft, path)
        finally:
            os.unlink(draft)
    key = path.read_text().strip()
    if len(key) < 50:
        raise ImproperlyConfigured(f"{path} holds no usable key; delete it and a new one is made.")
    return key


SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not LOCAL_RUN:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false (outside `make demo`)."
        )
    SECRET_KEY = local_secret_key(
        Path(env_str("LOCAL_SECRET_KEY_FILE", str(BASE_DIR / "var" / "secret_key")))
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if LOCAL_RUN else "")
# The demo flag turns staff MFA and Secure cookies off: left on in a real deployment (which
# must name its host), it would do so silently. It serves this machine's names only.
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]"}
if MARKETPLACE_DEMO and set(ALLOWED_HOSTS) - LOOPBACK_HOSTS:
    raise ImproperlyConfigured(
        "MARKETPLACE_DEMO is for this machine only (staff sign in without MFA, cookies are not "
        f"Secure), but DJANGO_ALLOWED_HOSTS names {sorted(set(ALLOWED_HOSTS) - LOOPBACK_HOSTS)}: "
        "unset MARKETPLACE_DEMO for a site others reach."
    )
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "marketplace.apps.MarketplaceConfig",
    "opportunities.apps.OpportunitiesConfig",
    "bids.apps.BidsConfig",
    "evaluation.apps.EvaluationConfig",
    "payments.apps.PaymentsConfig",
    "reports.apps.ReportsConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "crispy_forms",
    # The demo data's commands (seed_demo, demo_logins): outside the production apps.
    "demo.apps.DemoConfig",
]

MIDDLEWARE = [
    "marketplace.middleware.ArrivalMiddleware",
    "marketplace.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Staff idle timeout and absolute lifetime (after messages: the reason reaches sign-in).
    "marketplace.sessions.StaffSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "marketplace.middleware.StaffMFARequiredMiddleware",
    # A lock or statement timeout is a 503 "nothing was saved, try again", never a 500.
    "marketplace.middleware.DatabaseBusyMiddleware",
    # Last: a form's one-time key is claimed only by a request that reaches its view.
    "marketplace.middleware.FormOnceMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"

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
                "marketplace.context_processors.site",
            ],
        },
    },
]

# --- Data ------------------------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(env_str("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# Nothing waits forever (issue 19): a statement that waits this long for a row or table lock,
# or runs this long, is cancelled; the request answers "busy, nothing was saved, try again"
# (marketplace.middleware.DatabaseBusyMiddleware). Seconds; 0 = no limit. PostgreSQL only.
# `manage.py migrate` lifts the statement limit for its own connection (index builds).
DATABASE_LOCK_TIMEOUT = float(env_str("DATABASE_LOCK_TIMEOUT", "5"))
DATABASE_STATEMENT_TIMEOUT = float(env_str("DATABASE_STATEMENT_TIMEOUT", "30"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # Several threads (runserver, live-server tests) share one file; wait this long
            # for the write lock instead of failing.
            "timeout": 20,
            # Every transaction takes the write lock when it begins, so it waits (`timeout`) for
            # the writer before it; two that begin by reading and then write at once would
            # otherwise fail at once with "database is locked" (a double click).
            "transaction_mode": "IMMEDIATE",
            # Write-ahead log: pages keep reading while a write commits, instead of waiting for
            # the file's exclusive lock. (An in-memory database ignores it.)
            "init_command": "PRAGMA journal_mode=WAL",
        }
    )
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    _limits = " ".join(
        f"-c {name}={int(seconds * 1000)}"
        for name, seconds in (
            ("lock_timeout", DATABASE_LOCK_TIMEOUT),
            ("statement_timeout", DATABASE_STATEMENT_TIMEOUT),
        )
    )
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    # Set when each connection starts (libpq `options`), after any the URL gave.
    _options["options"] = f"{_options.get('options', '')} {_limits}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "marketplace.User"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis cache, answering as an empty one while Redis is unreachable.
            "BACKEND": "marketplace.cache_backends.FailSafeRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "marketplace",
            # A Redis that hangs must not hang the page: give up after a second.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Anonymous visitors' public pages (list, search, detail, feeds) are served from the cache for
# at most this long; any change they show invalidates them at once (marketplace/caching.py).
# 0 turns the page cache off.
PUBLIC_PAGE_CACHE_SECONDS = int(env_str("PUBLIC_PAGE_CACHE_SECONDS", "60"))
# The metrics dashboard's figures are kept this long per period and language (reports/
# dashboard.py); "Measure again now" and the nightly snapshot replace them at once. 0 = off.
METRICS_CACHE_SECONDS = 600
# Each person's unread-notification count (the badge on every signed-in page) is kept this
# long; writing or reading one of their notifications replaces it at once. 0 = off.
NOTIFICATION_BADGE_CACHE_SECONDS = 300

# --- Authentication --------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    # Django's and allauth's backends, loading the user's roles with the user.
    "marketplace.auth_backends.ModelBackend",
    "marketplace.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "marketplace:dashboard"
LOGOUT_REDIRECT_URL = "marketplace:home"

ACCOUNT_ADAPTER = "marketplace.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
# Sign-up also asks for the person's name, which every email greets them by.
ACCOUNT_FORMS = {"signup": "marketplace.forms.SignupForm"}
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
# The subject prefix, like the rest of an account email, is written in the recipient's language
# by the adapter (marketplace/account_emails.py), never the host's name.
ACCOUNT_EMAIL_SUBJECT_PREFIX = None
# Tell the owner when their password, email addresses or authenticator change: after a
# takeover, the only warning they get.
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PREVENT_ENUMERATION = True
# Sign-in is rate limited so that nobody can lock someone else out (issue 20; allauth keeps
# the counters in the cache, which is Redis when REDIS_URL is set, so every web process shares
# them). Failed passwords are counted per source address and per (email, address) pair, the
# "key" below (marketplace/adapters.py): a flood from one place is refused there only. Per
# account there is no lock, only a growing wait before the next password is even checked
# (SIGNIN_DELAY_*, marketplace/ratelimit.py), and the owner can always ask for a code by email.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "request_login_code": "20/m/ip,3/m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",  # a rate, not a password  # nosec B105
}
# Failed passwords for one account allowed before each further one makes the next wait (2, 4,
# 8… seconds, at most SIGNIN_DELAY_MAX_SECONDS); the count is forgotten this long after the
# last failure, and a successful sign-in clears it.
SIGNIN_DELAY_FREE_FAILURES = 3
SIGNIN_DELAY_MAX_SECONDS = 30
SIGNIN_DELAY_FORGET_SECONDS = 15 * 60
# The owner's way in whatever a stranger did with their email: a one-time code sent to it. MFA
# still follows for an account that has it (allauth's login stages).
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 5 * 60
# Where the client's address comes from, for the per-address limits: allauth takes the address
# this many proxies back in X-Forwarded-For, or REMOTE_ADDR at 0. Behind nginx (docker-compose's
# `proxy`) that is 1; left at 0 there, every visitor would share the proxy's address and its
# limits. Never more than the proxies you run: the client writes the rest of the header.
ALLAUTH_TRUSTED_PROXY_COUNT = int(env_str("ALLAUTH_TRUSTED_PROXY_COUNT", "0"))

# Floods refused per person (marketplace/ratelimit.py): (how many, in how many seconds). Far
# above what one person does by hand; a bid refused this way stays saved as a draft.
QUESTION_RATE_LIMIT = (10, 3600)
# Taking a posting back from review (each notifies every program administrator).
RECALL_RATE_LIMIT = (5, 3600)
BID_SUBMISSION_RATE_LIMIT = (20, 600)
# PDF files sent to be checked (bid attachments and delivery files together), refused ones too;
# beyond it nothing is read. One check per person runs at a time (bids/pdf_worker.py).
BID_ATTACHMENT_RATE_LIMIT = (10, 600)

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "ESDC Micro-acquisitions"
# Staff must use MFA outside the demo (DESIGN.md §4); the embedded default does not force it.
# "Staff" here is anyone with power: a staff role, or Django's is_staff or is_superuser (the
# technical admin site, which signs in through allauth too).
STAFF_MFA_REQUIRED = env_bool("STAFF_MFA_REQUIRED", not LOCAL_RUN)

# Staff roles are only for verified emails on these domains (and their subdomains).
STAFF_EMAIL_DOMAINS = env_list("STAFF_EMAIL_DOMAINS", "gc.ca")

# Hard limits on the program guardrails, which no approval can pass (DESIGN.md §4): the value
# of a micro-acquisition, tax included, is capped by law ($10,000), and an opportunity stays
# open long enough for suppliers to answer. Not read from the environment on purpose.
OPPORTUNITY_VALUE_CEILING_CENTS = 1_000_000
OPPORTUNITY_MIN_OPEN_BUSINESS_DAYS_FLOOR = 2

# --- Staff sessions ----------------------------------------------------------------------------

# Staff (a staff role, or Django's technical flags) are signed out after this long without a
# request, and this long after signing in whatever they do (marketplace/sessions.py); the last
# activity is written to the session at most once a STAFF_SESSION_ACTIVITY_WRITE_SECONDS.
STAFF_SESSION_IDLE_SECONDS = int(env_str("STAFF_SESSION_IDLE_SECONDS", str(30 * 60)))
STAFF_SESSION_MAX_SECONDS = int(env_str("STAFF_SESSION_MAX_SECONDS", str(12 * 60 * 60)))
STAFF_SESSION_ACTIVITY_WRITE_SECONDS = 60
# Revealing, awarding, certifying and paying need the password (or the authenticator code) given
# within this many seconds, at sign-in or asked again (allauth's re-authentication).
ACCOUNT_REAUTHENTICATION_TIMEOUT = int(env_str("ACCOUNT_REAUTHENTICATION_TIMEOUT", "300"))

# --- Internationalization --------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Toronto"
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Front-end packages come from npm at build time (`npm install`), never from the repository.
    # The GC Design System (components, fonts, signature, CSS shortcuts), made self-contained
    # after `npm install` by scripts/vendor-gcds.mjs (its CSS loads nothing from another origin).
    ("vendor/gcds", BASE_DIR / "node_modules" / ".gcds-static"),
]
# Bid attachments (bids.models.PrivateStorage): never under MEDIA_URL, never served by the web
# server; a view checks who asks before it streams a file.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(BASE_DIR / "private-media")))
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
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "/media/"

# The project's own template pack for the GC Design System (templates/gcds/).
CRISPY_ALLOWED_TEMPLATE_PACKS = ("gcds",)
CRISPY_TEMPLATE_PACK = "gcds"

# --- Email -----------------------------------------------------------------------------------

globals().update(email_settings_from_url(env_str("EMAIL_URL", "console://")))
DEFAULT_FROM_EMAIL = env_str(
    "DEFAULT_FROM_EMAIL", "Micro-acquisitions <no-reply@micro-acquisitions.example>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where people write about the service (the Contact page, the footer's "Report a problem").
SUPPORT_EMAIL = env_str("SUPPORT_EMAIL", "support@micro-acquisitions.example")
# Absolute links in emails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Open data (reports/ocds.py): each contracting process's OCDS id is "<prefix>-<opportunity id>".
# A real publication registers its own prefix ("ocds-" and six characters) with the OCDS team.
OCDS_OCID_PREFIX = env_str("OCDS_OCID_PREFIX", "ocds-xxxxxx-esdc-ma")

# --- Celery ----------------------------------------------------------------------------------

# --- Bids ------------------------------------------------------------------------------------

# The deadline is judged by when a request reached the server (marketplace.middleware.
# ArrivalMiddleware; DESIGN.md §3). The close seals the bids this long after the deadline, once
# every request that arrived in time has been answered: longer than any request may run (the
# web server's timeout, the statement and lock timeouts, the PDF check's limit).
BID_CLOSE_GRACE_SECONDS = int(env_str("BID_CLOSE_GRACE_SECONDS", "60"))
# Behind a proxy that stamps when it received each request (nginx: `proxy_set_header
# X-Request-Start "t=${msec}";`), the META key of that header, e.g. HTTP_X_REQUEST_START: time
# spent queueing for a web worker then counts as arrived. Trusted at most this far back.
REQUEST_ARRIVAL_HEADER = env_str("REQUEST_ARRIVAL_HEADER", "")
REQUEST_ARRIVAL_MAX_WAIT_SECONDS = 30
BID_ATTACHMENTS_ENABLED = env_bool("BID_ATTACHMENTS_ENABLED", True)
BID_ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
BID_ATTACHMENT_MAX_COUNT = 3
# What one attachment may hold: a proposal's few pages, never a page bomb (each page is read and
# checked before anyone waits on it); the expanded size bounds what its streams inflate to.
BID_ATTACHMENT_MAX_PAGES = 40
BID_ATTACHMENT_MAX_OBJECTS = 20_000
BID_ATTACHMENT_MAX_NODES = 200_000  # objects with the dictionaries and arrays nested in them
# Drawing operations of all the pages together: a browser's print draws one letter an operation
# at some sizes, so a dense 40-page proposal needs a few hundred thousand.
BID_ATTACHMENT_MAX_OPERATIONS = 400_000
BID_ATTACHMENT_MAX_TEXT = 2_000_000  # characters drawn, strings and names in the drawing
BID_ATTACHMENT_MAX_FONT_MAP_BYTES = 16 * 1024 * 1024  # font maps read, counted once a font a page
BID_ATTACHMENT_MAX_EXPANDED_BYTES = 60 * 1024 * 1024  # what is read: pages, fonts, profiles
BID_ATTACHMENT_MAX_IMAGE_PIXELS = 60_000_000  # per image; images are not decoded here
# Each file is checked in a process of its own (bids/pdf_worker.py), stopped after this many
# seconds (wall clock and CPU) and refused: a hostile file holds a web worker no longer.
BID_ATTACHMENT_CHECK_SECONDS = 10
# The checking process's address space: Django and the PDF libraries take about 120 MB of it
# before the file; the heaviest acceptable files measured stay under 300 MB.
BID_ATTACHMENT_CHECK_MEMORY_BYTES = 1024 * 1024 * 1024
# The version of the bid terms (IP and licence) a supplier accepts; bids/terms.py holds the text.
BID_TERMS_VERSION = "2026-11"

# --- Notifications -----------------------------------------------------------------------------

NOTIFICATIONS_MAX_ATTEMPTS = 8  # then the operations page shows it as given up
NOTIFICATIONS_BATCH_SIZE = 100  # notifications per delivery task
NOTIFICATIONS_SWEEP_GRACE_SECONDS = 120  # the sweeper leaves a fresh notification to its task
ALERTS_CHUNK_SIZE = 1000  # alert subscriptions per fan-out task
ALERT_DIGEST_HOUR = 7  # Eastern time, daily
CURE_PERIOD_BUSINESS_DAYS = 5  # to make requested changes, before a default can be declared
# The awardee accepts the contract within this long after the award (the moment of the award,
# that many business days later); left unanswered, the award passes to the next bid in rank
# (payments.tasks.contracts_lapse_unaccepted).
OFFER_ACCEPT_BUSINESS_DAYS = 5
EVALUATION_REMINDER_DAYS = 2  # an evaluation step waiting this long sends a daily reminder

CELERY_BROKER_URL = REDIS_URL or "memory://"
# Without a broker the embedded default runs tasks in-process, at once.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task taken by a worker that then dies (acks_late) goes back to the queue after this long.
CELERY_VISIBILITY_TIMEOUT = int(env_str("CELERY_VISIBILITY_TIMEOUT", "3600"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": max(1, min(10, CELERY_VISIBILITY_TIMEOUT // 2)),
    "unacked_restore_throttle": 1,
    "socket_connect_timeout": 3,
}
# When the broker is down, a request gives up publishing quickly; the outbox keeps the work.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # Each publication also schedules its own close at the deadline; this sweeper catches any
    # that a lost message or a restarted broker would otherwise leave open.
    "close-due-opportunities": {
        "task": "opportunities.tasks.opportunities_close_due",
        "schedule": 30,
    },
    "send-outbox": {
        "task": "marketplace.tasks.notifications_sweep",
        "schedule": 60,
    },
    "alert-new-opportunities": {
        "task": "opportunities.tasks.opportunities_alerts_due",
        "schedule": 60,
    },
    "closing-reminders": {
        "task": "opportunities.tasks.opportunities_closing_reminders",
        "schedule": 60 * 10,
    },
    "daily-alert-digest": {
        "task": "opportunities.tasks.alerts_daily_digest",
        "schedule": crontab(hour=ALERT_DIGEST_HOUR, minute=0),
    },
    "evaluation-reminders": {
        "task": "evaluation.tasks.evaluations_remind",
        "schedule": crontab(hour=9, minute=0),
    },
    # An award not accepted by its deadline passes to the next bid in rank.
    "lapse-unaccepted-contracts": {
        "task": "payments.tasks.contracts_lapse_unaccepted",
        "schedule": 60 * 10,
    },
    "overdue-deliveries": {
        "task": "payments.tasks.contracts_remind_overdue",
        "schedule": crontab(hour=9, minute=15),
    },
    "payment-reminders": {
        "task": "payments.tasks.payments_remind",
        "schedule": crontab(hour=9, minute=30),
    },
    "unconfirmed-payments": {
        "task": "payments.tasks.payments_flag_unconfirmed",
        "schedule": 60 * 60,
    },
    "reconcile-stripe-payments": {
        "task": "payments.tasks.payments_reconcile",
        "schedule": 60 * 5,
    },
    "metrics-snapshot": {
        "task": "reports.tasks.metrics_snapshot",
        "schedule": crontab(hour=2, minute=30),
    },
    # The diversity figures: once a quarter is over, computed once and then frozen.
    "diversity-snapshots": {
        "task": "reports.tasks.diversity_snapshots",
        "schedule": crontab(hour=2, minute=45),
    },
    "clear-expired-sessions": {
        "task": "marketplace.tasks.sessions_clear_expired",
        "schedule": 60 * 60 * 6,
    },
}

# --- Payments --------------------------------------------------------------------------------

STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE")
# Network errors and 5xx answers are retried by the stripe library with the same idempotency key.
STRIPE_MAX_NETWORK_RETRIES = 2
# An answer Stripe has not given after this long is a network error: retried as above, with the
# same idempotency key, so a request Stripe carried out but answered too late creates nothing more.
STRIPE_TIMEOUT_SECONDS = float(env_str("STRIPE_TIMEOUT_SECONDS", "30"))
# The buyer who certified the work cannot also pay for it (separation of duties).
PAYMENTS_SEPARATE_CERTIFIER_AND_PAYER = env_bool("PAYMENTS_SEPARATE_CERTIFIER_AND_PAYER", True)
PAYMENT_REMINDER_BUSINESS_DAYS = 2  # a payment due this long reminds the card holders daily
# A recorded card payment the supplier has not confirmed after this long is flagged as disputed.
PAYMENT_CONFIRMATION_BUSINESS_DAYS = 5
PAYMENT_RECONCILE_AFTER_MINUTES = 10  # a Stripe payment pending this long is checked with Stripe
# Awards to one supplier in a fiscal year (April to March) above this are flagged to the admins.
SUPPLIER_FISCAL_YEAR_FLAG_CENTS = 2_500_000

# --- Security --------------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not LOCAL_RUN:
    # TLS ends at the load balancer, which sets X-Forwarded-Proto. Only trust the header when
    # such a proxy is really in front; otherwise any client could claim https.
    if env_bool("DJANGO_BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    # Only a plain-http local stack (docker compose on localhost) turns these off.
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = int(env_str("DJANGO_SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# No inline scripts or styles anywhere: every script and stylesheet is a file we serve.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "marketplace.logs.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "marketplace.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            # text for people at a terminal, json for a log collector
            "formatter": "json" if env_str("LOG_FORMAT", "text") == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

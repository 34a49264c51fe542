"""Settings of the page benchmark (`bench/pages.py`): the production settings, served over
plain http on loopback.

Everything comes from `marketplace.settings` as production runs it (DEBUG off, hashed and
compressed static files through WhiteNoise, persistent database connections, Redis cache,
staff MFA required); only what plain http on 127.0.0.1 forces is changed, plus a public
"floor" page (`bench/urls.py`) and the benchmark's own static and private media folders.
The benchmark's staff users get a TOTP authenticator, so the MFA rule stays on.
"""

from __future__ import annotations

import os
from pathlib import Path

# Production mode has to be chosen before the project's settings are read (they refuse to start
# without a secret key when DEBUG is off, and pick the static files storage from DEBUG).
os.environ["DJANGO_DEBUG"] = "false"
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-never-used-in-production-0123")
os.environ.setdefault("EMAIL_URL", "locmem://")

from marketplace.settings import *  # noqa: F403
from marketplace.settings import BASE_DIR, TEMPLATES

BENCH_VAR = Path(os.environ.get("BENCH_VAR_DIR") or BASE_DIR / "var" / "bench")

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.urls"

# Plain http on loopback: no redirect to https, cookies that travel without TLS, no HSTS.
SECURE_SSL_REDIRECT = False
SECURE_PROXY_SSL_HEADER = None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = False

# `manage.py collectstatic` (run by the benchmark) fills this folder with the hashed, compressed
# files that CompressedManifestStaticFilesStorage serves in production.
STATIC_ROOT = BENCH_VAR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Bid and packet attachments of the data set (one folder per bench database).
PRIVATE_MEDIA_ROOT = Path(os.environ.get("BENCH_PRIVATE_MEDIA_ROOT") or BENCH_VAR / "private-media")
MEDIA_ROOT = BENCH_VAR / "media"

TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]

# Only warnings: a line per request in the log would cost the workers time the pages do not.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# The closing-minute rush (`bench/rush.py`) lifts the per-person flood control on bid
# submissions: suppliers submitting every few seconds for a minute are its subject, not the limit.
if os.environ.get("BENCH_BID_SUBMISSION_LIMIT"):
    BID_SUBMISSION_RATE_LIMIT = (int(os.environ["BENCH_BID_SUBMISSION_LIMIT"]), 600)

# The fault script (`bench/faults.py`): mail kept as files it can count, a sweeper's grace short
# enough for a run of a few minutes (beat's own period is then the script's), Stripe's fake.
if os.environ.get("BENCH_MAIL_DIR"):
    EMAIL_BACKEND = "bench.mail.HoldableFileBackend"
    EMAIL_FILE_PATH = os.environ["BENCH_MAIL_DIR"]
if os.environ.get("BENCH_SWEEP_GRACE_SECONDS"):
    NOTIFICATIONS_SWEEP_GRACE_SECONDS = int(os.environ["BENCH_SWEEP_GRACE_SECONDS"])

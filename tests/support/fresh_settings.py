"""Settings as `manage.py` reads them: marketplace.settings read in a fresh process, with only
the environment a test gives it (tests/marketplace/test_demo_settings.py and the sign-in attacks
read the demo's and production's settings this way)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

READ = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({name: getattr(s, name, None) for name in ("
    "'DEBUG', 'MARKETPLACE_DEMO', 'SECRET_KEY', 'ALLOWED_HOSTS', 'STAFF_MFA_REQUIRED',"
    " 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT',"
    " 'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER', 'STORAGES')}))"
)


def settings_in_new_process(key_file: Path, **env: str) -> subprocess.CompletedProcess:
    """marketplace.settings read in a new process with only `env` set on top of a clean slate."""
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "STAFF_", "MARKETPLACE_"))
        and name not in {"DATABASE_URL", "REDIS_URL", "LOCAL_SECRET_KEY_FILE"}
    }
    return subprocess.run(
        [sys.executable, "-c", READ],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
            "LOCAL_SECRET_KEY_FILE": str(key_file),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

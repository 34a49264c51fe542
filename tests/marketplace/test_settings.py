import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from marketplace.settings import email_settings_from_url

ROOT = Path(__file__).resolve().parents[2]


def _run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STAFF_"))}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_passes_with_debug_off():
    result = _run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="a-very-long-random-secret-key-used-only-by-this-test-0123456789abcdef",
        DJANGO_ALLOWED_HOSTS="marketplace.example",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_debug_off_refuses_to_start_without_secret_key():
    result = _run_manage("check", DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_embedded_default_uses_sqlite_eager_tasks_and_console_email():
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER,"
        " s.EMAIL_BACKEND, s.CELERY_BROKER_URL)"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "DJANGO_DEBUG"}
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "marketplace.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [
        "True",
        "django.db.backends.sqlite3",
        "True",
        "django.core.mail.backends.console.EmailBackend",
        "memory://",
    ]


def test_email_url_smtp_with_credentials():
    parsed = email_settings_from_url("submission://user%40x:p%2Fw@mail.example:2525")
    assert parsed["EMAIL_HOST"] == "mail.example"
    assert parsed["EMAIL_PORT"] == 2525
    assert parsed["EMAIL_HOST_USER"] == "user@x"
    assert parsed["EMAIL_HOST_PASSWORD"] == "p/w"
    assert parsed["EMAIL_USE_TLS"] is True


def test_email_url_rejects_unknown_scheme():
    with pytest.raises(ImproperlyConfigured):
        email_settings_from_url("pigeon://coop")


def test_env_example_documents_every_variable_settings_read():
    import re

    settings_src = (ROOT / "marketplace" / "settings.py").read_text()
    read = set(
        re.findall(
            r"""(?:environ\.get|env_bool|env_list|env_str)\(\s*["']([A-Z_]+)["']""", settings_src
        )
    )
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "the pattern should find the variables settings.py reads"
    assert read - documented == set()


def test_security_headers_on_pages(client, db):
    response = client.get("/en/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"

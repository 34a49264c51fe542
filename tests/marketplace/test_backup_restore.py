"""Backup and restore as README's "Backup and restore" says: pg_dump of the live database,
pg_restore into a fresh one, and the site serves the restored data (PostgreSQL only)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from opportunities.models import Opportunity
from tests.factories import OpportunityFactory

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.django_db(transaction=True),  # pg_dump sees committed rows only
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="pg_dump and pg_restore need PostgreSQL (run by `make test` with DATABASE_URL set)",
    ),
]


def _url(database: str) -> str:
    s = connection.settings_dict
    password = f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else ""
    return f"postgres://{quote(s['USER'])}{password}@{s['HOST']}:{s['PORT'] or 5432}/{database}"


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=300, env={**os.environ, **env}, check=False
    )


def test_a_dump_restored_into_a_fresh_database_is_served(tmp_path):
    assert shutil.which("pg_dump") and shutil.which("pg_restore")
    opportunity = OpportunityFactory(
        title_en="Restored from last night's dump",
        status=Opportunity.Status.PUBLISHED,
        published_at=timezone.now(),
    )
    live = connection.settings_dict["NAME"]
    restored = f"{live}_restored"
    dump = tmp_path / "marketplace.dump"
    made = _run("pg_dump", "--format=custom", "--no-owner", f"--file={dump}", _url(live))
    assert made.returncode == 0, made.stderr
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{restored}"')
        cursor.execute(f'CREATE DATABASE "{restored}"')
    try:
        back = _run("pg_restore", "--no-owner", f"--dbname={_url(restored)}", str(dump))
        assert back.returncode == 0, back.stderr
        env = {
            "DATABASE_URL": _url(restored),
            "REDIS_URL": "",
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        }
        schema = _run(sys.executable, str(ROOT / "manage.py"), "migrate", "--check", **env)
        assert schema.returncode == 0, schema.stdout + schema.stderr  # nothing left to apply
        served = _run(
            sys.executable,
            "-c",
            "import django;"
            "django.setup(); from django.test import Client;"
            f"r = Client(HTTP_HOST='localhost').get('/en/opportunities/{opportunity.pk}/');"
            "print(r.status_code); print(r.content.decode())",
            **env,
        )
        assert served.returncode == 0, served.stderr
        status, _, page = served.stdout.partition("\n")
        assert status == "200"
        assert "Restored from last night&#x27;s dump" in page
    finally:
        connection.close()  # no session of ours may stay on the database being dropped
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored}"')

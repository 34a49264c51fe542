"""The demo without shared secrets (issue 20): with no DJANGO_SECRET_KEY the embedded default and
`make demo` sign with a random key made once in an ignored local file, never a public one;
production refuses to start without a key; the demo runs with debug off over plain http on this
machine. Settings are read in a fresh process, as `manage.py` reads them."""

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from marketplace.settings import local_secret_key
from tests.support.fresh_settings import READ, settings_in_new_process

ROOT = Path(__file__).resolve().parents[2]


def _read(key_file: Path, **env: str) -> dict:
    result = settings_in_new_process(key_file, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_a_key_the_embedded_default_makes_one_in_a_private_file_then_reuses_it(tmp_path):
    key_file = tmp_path / "local" / "secret_key"
    first = _read(key_file)["SECRET_KEY"]
    assert key_file.read_text().strip() == first
    assert len(first) >= 60  # secrets.token_urlsafe(50)
    assert "insecure" not in first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # its owner's alone
    assert [p.name for p in key_file.parent.iterdir()] == ["secret_key"]  # no draft left
    assert _read(key_file)["SECRET_KEY"] == first  # the next start signs with the same key
    assert _read(key_file, MARKETPLACE_DEMO="1")["SECRET_KEY"] == first


def test_each_installation_has_its_own_key(tmp_path):
    assert _read(tmp_path / "a")["SECRET_KEY"] != _read(tmp_path / "b")["SECRET_KEY"]


def test_a_key_from_the_environment_wins_and_no_file_is_made(tmp_path):
    key = "k" * 60
    assert _read(tmp_path / "secret_key", DJANGO_SECRET_KEY=key)["SECRET_KEY"] == key
    assert not (tmp_path / "secret_key").exists()


def test_processes_starting_together_agree_on_one_key(tmp_path):
    key_file = tmp_path / "secret_key"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MARKETPLACE_"))},
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "LOCAL_SECRET_KEY_FILE": str(key_file),
    }
    env.pop("DATABASE_URL", None)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", READ], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    keys = {json.loads(process.communicate(timeout=120)[0])["SECRET_KEY"] for process in processes}
    assert keys == {key_file.read_text().strip()}


def test_threads_racing_to_make_the_key_all_read_the_one_that_won(tmp_path):
    key_file = tmp_path / "secret_key"
    start = threading.Barrier(8)
    keys = []

    def make():
        start.wait()
        keys.append(local_secret_key(key_file))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and set(keys) == {key_file.read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


@pytest.mark.parametrize("content", ["", "short\n"])
def test_a_damaged_key_file_is_refused_with_what_to_do(tmp_path, content):
    key_file = tmp_path / "secret_key"
    key_file.write_text(content)
    with pytest.raises(ImproperlyConfigured, match="delete it"):
        local_secret_key(key_file)
    assert key_file.read_text() == content  # never silently replaced: sessions would all end


def test_production_without_a_key_refuses_to_start_and_makes_no_file(tmp_path):
    key_file = tmp_path / "secret_key"
    result = settings_in_new_process(key_file, DJANGO_DEBUG="false")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
    assert not key_file.exists()


def test_production_flags_are_unchanged(tmp_path):
    flags = _read(tmp_path / "secret_key", DJANGO_DEBUG="false", DJANGO_SECRET_KEY="p" * 60)
    assert flags["DEBUG"] is False and flags["MARKETPLACE_DEMO"] is False
    assert flags["ALLOWED_HOSTS"] == []
    assert flags["STAFF_MFA_REQUIRED"] is True
    assert flags["SECURE_SSL_REDIRECT"] is True
    assert flags["SESSION_COOKIE_SECURE"] is True and flags["CSRF_COOKIE_SECURE"] is True
    assert flags["SECURE_HSTS_SECONDS"] == 31_536_000
    assert not (tmp_path / "secret_key").exists()


def test_the_demo_runs_with_debug_off_over_plain_http_on_this_machine(tmp_path):
    flags = _read(tmp_path / "secret_key", MARKETPLACE_DEMO="1")
    assert flags["DEBUG"] is False
    assert flags["MARKETPLACE_DEMO"] is True
    assert flags["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    # http://127.0.0.1:8000 keeps working: no https redirect, cookies sent over http, no HSTS.
    assert flags["SECURE_SSL_REDIRECT"] is False
    assert flags["SESSION_COOKIE_SECURE"] is False and flags["CSRF_COOKIE_SECURE"] is False
    assert flags["SECURE_HSTS_SECONDS"] == 0
    assert flags["SECURE_PROXY_SSL_HEADER"] is None  # no client can claim https
    # The demo accounts sign in with a password; the static files are production's (hashed,
    # compressed), collected by `make demo`.
    assert flags["STAFF_MFA_REQUIRED"] is False
    assert flags["STORAGES"]["staticfiles"]["BACKEND"].endswith(
        "CompressedManifestStaticFilesStorage"
    )
    assert (tmp_path / "secret_key").exists()


def test_the_demo_turns_debug_on_only_when_asked(tmp_path):
    flags = _read(tmp_path / "secret_key", MARKETPLACE_DEMO="1", DJANGO_DEBUG="true")
    assert flags["DEBUG"] is True and flags["MARKETPLACE_DEMO"] is True


MAKE = shutil.which("make")


@pytest.mark.skipif(MAKE is None, reason="needs make")
@pytest.mark.parametrize(
    ("args", "debug"), [((), "false"), (("DEBUG=1",), "true"), (("DEBUG=0",), "false")]
)
def test_make_demo_sets_the_demo_flag_with_debug_off_unless_asked(args, debug):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "MAKEFLAGS", "MFLAGS"}}
    result = subprocess.run(
        [MAKE, "--dry-run", "--always-make", "demo", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if "manage.py" in line]
    expected = f"MARKETPLACE_DEMO=1 DJANGO_DEBUG={debug} "
    assert commands and all(line.startswith(expected) for line in commands)
    assert any("collectstatic --noinput" in line for line in commands)
    assert "runserver 127.0.0.1:8000" in commands[-1]


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "title"), [("en", "Page not found"), ("fr", "Page introuvable")])
def test_a_missing_page_with_debug_off_is_the_sites_own(client, settings, lang, title):
    settings.DEBUG = False
    settings.MARKETPLACE_DEMO = True
    response = client.get(f"/{lang}/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert title in html
    assert 'lang="' + lang in html
    assert "Traceback" not in html and "URLconf" not in html

"""The embedded database is set up so that the web process and the worker can write at once."""

import os
import stat
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite settings only apply to SQLite")
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(db):
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA busy_timeout").fetchone()[0] >= 30000


def test_a_new_sqlite_file_is_readable_by_its_owner_alone(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(SECONDMIND_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="secondmind.settings")
    subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=settings.BASE_DIR, env=env, check=True)
    assert stat.S_IMODE((tmp_path / "secondmind.sqlite3").stat().st_mode) == 0o600

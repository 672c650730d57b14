"""Run a management command in a child process with a database and data directory of its own, so a
measurement never touches the user's data, whatever DATABASE_URL the parent was given."""

import os
import subprocess
import sys

from django.conf import settings

# the parent's services and storage: a child uses SQLite and files under its own data directory
SHARED = ("DATABASE_URL", "REDIS_URL", "SECONDMIND_MEDIA_DIR")


def environment(data_dir, **env):
    """os.environ for a child using `data_dir` and nothing of the parent's services, plus `env`."""
    child_env = {key: value for key, value in os.environ.items() if key not in SHARED}
    child_env.update({"SECONDMIND_DATA_DIR": str(data_dir), **env})
    return child_env


def start(arguments, data_dir, **env):
    """Popen of `manage.py *arguments` with SECONDMIND_DATA_DIR=`data_dir` and the extra `env`."""
    return subprocess.Popen(
        [sys.executable, "manage.py", *arguments], cwd=settings.BASE_DIR, env=environment(data_dir, **env)
    )

"""bin/serve, the supervisor `make run` starts: a SIGTERM stops its worker the way django-q2 stops
gracefully, rather than killing it when its wait runs out."""

import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings

from interactions.live_server import free_port
from secondmind import isolated

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def wait_for_line(log, text, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in log.read_text():
            return True
        time.sleep(0.2)
    return False


def test_a_sigterm_stops_the_worker_gracefully(tmp_path):
    env = isolated.environment(tmp_path, BIND=f"127.0.0.1:{free_port()}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=settings.BASE_DIR, check=True)
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        serve = subprocess.Popen(["bin/serve"], cwd=settings.BASE_DIR, env=env, stdout=output, stderr=output)
    assert wait_for_line(log, "] running.", 120), log.read_text()
    serve.send_signal(signal.SIGTERM)
    serve.wait(timeout=60)
    assert "has stopped." in log.read_text()
    assert "killed" not in log.read_text()

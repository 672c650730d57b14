"""Scaled out as separate machines would be: two web servers and a worker that share only the database,
the broker and the model storage. A promotion made through one web server is served by the other
without a restart."""

import json
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.core.management import call_command

from interactions.live_server import free_port
from interactions.models import ApiToken
from tests.conftest import seed_lines, start_machine, stop_machine
from tests.test_worker import wait_for
from training.datasets import import_jsonl
from training.models import ModelVersion, Source, TrainingRun

pytestmark = pytest.mark.worker


class WebServer:
    """A gunicorn process serving SecondMind, reached over HTTP with a bearer token."""

    def __init__(self, media_root, data_dir):
        self.url = f"http://127.0.0.1:{free_port()}/api/v1"
        bind = self.url.split("/")[2]
        command = [sys.executable, "-m", "gunicorn", "secondmind.wsgi", "--bind", bind, "--workers", "1"]
        self.process = start_machine(command, media_root, data_dir)

    def call(self, token, path, data=None):
        request = urllib.request.Request(
            self.url + path,
            data=None if data is None else json.dumps(data).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def wait_until_up(self, token, seconds=120):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the web server exited"
            try:
                return self.call(token, "/models/active")
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"{self.url} did not answer within {seconds}s")


@pytest.fixture
def two_web_servers(worker, media_root, tmp_path):
    servers = [WebServer(media_root, tmp_path / name) for name in ("web-a", "web-b")]
    yield servers
    for server in servers:
        stop_machine(server.process)


def test_a_promotion_made_through_one_web_server_is_served_by_the_other(two_web_servers, reviewer, staff):
    a, b = two_web_servers
    _, token = ApiToken.issue(reviewer)
    _, staff_token = ApiToken.issue(staff)
    import_jsonl(seed_lines(), Source.BASE)
    call_command("retrain")
    assert wait_for(TrainingRun.objects.get()).status == TrainingRun.Status.SUCCEEDED
    call_command("retrain", force=True)
    assert wait_for(TrainingRun.objects.latest("pk")).status == TrainingRun.Status.SUCCEEDED
    for server in (a, b):
        server.wait_until_up(token)
    served = ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE).number
    prompt = {"prompt": "Remind me to renew the car insurance next week"}
    assert b.call(token, "/classify", prompt)[1]["model_version"] == served

    other = ModelVersion.objects.exclude(number=served).get().number
    status, body = a.call(staff_token, f"/models/{other}/promote", {"reason": "tried through web server A"})
    assert (status, body["version"]) == (200, other)

    assert b.call(token, "/classify", prompt)[1]["model_version"] == other
    assert b.call(token, "/models/active")[1]["version"] == other

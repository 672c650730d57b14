"""SECONDMIND_WEBHOOK_URL gets a JSON POST when a version becomes active, a run fails or the review
queue grows long; a receiver that fails at first gets it on a retry."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.cache import cache
from django_q.conf import Conf

from interactions.classify import classify
from interactions.reviews import warn_when_the_queue_is_long
from tests.conftest import train_now
from training import webhooks
from training.liveness import fail
from training.models import TrainingRun
from training.promotion import promote_by_hand


class Receiver(HTTPServer):
    """A local HTTP server standing for the other system: it records each JSON body, and answers the
    first `failures` requests with a 503."""

    def __init__(self, failures=0):
        self.received, self.failures = [], failures
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.failures:
                    receiver.failures -= 1
                    self.send_response(503)
                else:
                    receiver.received.append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_port}/hook"

    def events(self):
        return [body["event"] for body in self.received]


@pytest.fixture
def receiver(settings, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", True)  # the worker's task runs here, in order
    monkeypatch.setattr(webhooks, "WAITS", (0, 0, 0))
    server = Receiver()
    settings.SECONDMIND_WEBHOOK_URL = server.url
    yield server
    server.shutdown()
    server.server_close()


def test_a_version_made_active_by_hand_is_announced(receiver, trained, django_capture_on_commit_callbacks):
    newer = train_now(force=True).version
    with django_capture_on_commit_callbacks(execute=True):
        promote_by_hand(newer, None, "roll forward")
    [body] = [b for b in receiver.received if b["event"] == "model.activated"]
    assert body["version"] == newer.number and "exact" in body["holdout"]


def test_a_failed_run_is_announced_with_its_error(receiver, db, django_capture_on_commit_callbacks):
    run = TrainingRun.objects.create(trigger="manual", status=TrainingRun.Status.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        fail(run.pk, "MemoryError: the worker ran out of memory")
    assert receiver.received[-1]["event"] == "run.failed"
    assert receiver.received[-1]["error"] == "MemoryError: the worker ran out of memory"


def test_a_long_queue_is_announced_once_until_it_shrinks(
    receiver, trained, review_everything, settings, django_capture_on_commit_callbacks
):
    cache.delete("webhook:queue-long")
    settings.SECONDMIND_WEBHOOK_QUEUE_SIZE = 2
    items = [classify(p) for p in ("Remind me to renew the passport", "Plan the offsite agenda for March")]
    with django_capture_on_commit_callbacks(execute=True):
        warn_when_the_queue_is_long()
        warn_when_the_queue_is_long()
    assert receiver.events().count("queue.long") == 1 and receiver.received[-1]["size"] == 2
    items[0].delete()
    with django_capture_on_commit_callbacks(execute=True):
        warn_when_the_queue_is_long()  # under the limit again
        classify("Find emails about the invoice")
        warn_when_the_queue_is_long()
    assert receiver.events().count("queue.long") == 2


def test_a_receiver_that_fails_at_first_gets_the_event_on_a_retry(receiver):
    receiver.failures = 2
    assert webhooks.deliver(receiver.url, {"event": "run.failed", "run": 7})
    assert receiver.received == [{"event": "run.failed", "run": 7}]


def test_without_a_url_nothing_is_sent(receiver, settings, db, django_capture_on_commit_callbacks):
    settings.SECONDMIND_WEBHOOK_URL = ""
    run = TrainingRun.objects.create(trigger="manual", status=TrainingRun.Status.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        fail(run.pk, "boom")
    assert receiver.received == []

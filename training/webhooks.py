"""Tells another system what happened with a JSON POST to SECONDMIND_WEBHOOK_URL: a model version became
active, a training run failed, the review queue grew past SECONDMIND_WEBHOOK_QUEUE_SIZE. The worker
sends it once the change is committed, retrying a network error or a 5xx; a request never waits for it."""

import json
import logging
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.db import transaction
from django.utils import timezone

log = logging.getLogger(__name__)
WAITS = (0, 5, 30)  # seconds before each attempt


def notify(event, **data) -> None:
    """Queue the event for the worker to send, after the current transaction commits (nothing when no URL)."""
    url = settings.SECONDMIND_WEBHOOK_URL
    if not url:
        return
    from django_q.tasks import async_task

    payload = {"event": event, "at": timezone.now().isoformat(), **data}
    transaction.on_commit(lambda: async_task("training.webhooks.deliver", url, payload))


def deliver(url, payload) -> bool:
    """POST `payload` as JSON; True once the receiver answered 2xx. A 4xx is not retried: the receiver
    refused it and will again."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "SecondMind webhook"}
    for attempt, wait in enumerate(WAITS, start=1):
        time.sleep(wait)
        try:
            with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=10):
                return True
        except urllib.error.HTTPError as error:
            log.warning("webhook %s: attempt %d answered %s", payload["event"], attempt, error.code)
            if error.code < 500:
                return False
        except OSError as error:
            log.warning("webhook %s: attempt %d failed: %s", payload["event"], attempt, error)
    log.error("webhook %s not delivered after %d attempts", payload["event"], len(WAITS))
    return False

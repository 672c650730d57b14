"""A real django-q2 worker process takes a queued training, and serving goes on meanwhile."""

import threading
import time

import pytest
from django.core.management import call_command

from interactions.classify import classify
from tests.conftest import seed_lines, train_now
from training.datasets import import_jsonl
from training.models import ModelVersion, Source, TrainingRun
from training.promotion import promote_by_hand


def wait_for(run, seconds=180):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if not run.is_open:
            return run
        time.sleep(0.5)
    raise AssertionError(f"run #{run.pk} still {run.status} after {seconds}s")


@pytest.mark.worker
def test_a_real_worker_runs_a_queued_training(worker):
    import_jsonl(seed_lines(), Source.BASE)
    call_command("retrain")
    run = wait_for(TrainingRun.objects.get())
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert ModelVersion.objects.get(status="active") == run.version


def test_classification_keeps_answering_while_a_retrain_and_promotion_happen(transactional_db):
    import_jsonl(seed_lines(), Source.BASE)
    first = train_now().version
    seen, errors, stop = [], [], threading.Event()

    def keep_classifying():
        from django.db import connection

        try:
            while not stop.is_set():
                try:
                    seen.append(classify("Find my notes about the database migration").model_version.number)
                except Exception as error:  # every failure counts
                    errors.append(repr(error))
        finally:
            connection.close()

    thread = threading.Thread(target=keep_classifying)
    thread.start()
    try:
        second = train_now(force=True).version
        promote_by_hand(second, None, "switch while serving")
        time.sleep(1)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert errors == []
    assert seen[0] == first.number and seen[-1] == second.number

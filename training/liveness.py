"""Whether a training run is alive: a heartbeat thread while it runs, the worker that claimed it, and
the recovery of runs whose worker died. A run that was marked failed stays failed: nothing it does
afterwards can register or promote a model (`pipeline.conclude` checks under a lock)."""

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import TrainingRun
from .webhooks import notify

log = logging.getLogger(__name__)
BEAT_SECONDS = 10


class RunAbandoned(Exception):
    """The run was marked failed while it ran (its heartbeat looked stale, or its worker was stopped)."""


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(run_id, **fields) -> None:
    """Record that a running run is alive (with any stage fields); RunAbandoned when it is no longer running."""
    if not TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.RUNNING).update(
        heartbeat_at=timezone.now(), **fields
    ):
        raise RunAbandoned(f"Training run #{run_id} was marked failed while it ran; its result is discarded.")


class Heartbeat:
    """Beats every BEAT_SECONDS from a thread of its own while the block runs, so a stage that reports
    no progress for minutes (certifying, fine-tuning an epoch) is never mistaken for a dead worker."""

    def __init__(self, run_id, every=BEAT_SECONDS):
        self.run_id, self.every = run_id, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-run-{run_id}", daemon=True)

    def _loop(self):
        try:
            while not self._stop.wait(self.every):
                try:
                    beat(self.run_id)
                except RunAbandoned:
                    return
                except Exception:  # a locked database must not kill the heartbeat; the next beat retries
                    log.warning("heartbeat of training run #%s failed", self.run_id, exc_info=True)
        finally:
            connection.close()

    def __enter__(self):
        # Inside a transaction (a test's) no other connection can see the run, and a beat from one would
        # only wait on the transaction's write lock.
        if not connection.in_atomic_block:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def _worker_is_gone(worker):
    """True when `worker` ("host:pid") ran on this machine and that process no longer exists."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def fail(run_id, error) -> bool:
    """Mark a running run failed, unless it finished meanwhile; True when it was."""
    failed = bool(
        TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.RUNNING).update(
            status=TrainingRun.Status.FAILED, is_open=None, finished_at=timezone.now(), error=error
        )
    )
    if failed:
        notify("run.failed", run=run_id, error=error)
    return failed


def recover_stale_runs() -> int:
    """Mark failed every running run whose worker died: its process on this machine is gone, or its
    heartbeat is older than SECONDMIND_STALE_RUN_MINUTES. Returns how many."""
    minutes = settings.SECONDMIND_STALE_RUN_MINUTES
    cutoff = timezone.now() - timedelta(minutes=minutes)
    recovered = 0
    for run in TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING):
        if _worker_is_gone(run.worker):
            why = f"Its worker ({run.worker}) stopped while it ran; the active model was left as it was."
        elif run.heartbeat_at is None or run.heartbeat_at < cutoff:
            why = (
                f"The worker stopped reporting progress for over {minutes} minutes (it was probably "
                "killed); the active model was left as it was."
            )
        else:
            continue
        if fail(run.pk, why):
            log.error("training run #%s marked failed: %s", run.pk, why)
            recovered += 1
    return recovered

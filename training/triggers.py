"""The ways a training starts (new examples, new traffic, manual, schedule); all end in `tasks.run_training`."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from .liveness import recover_stale_runs
from .models import HEADS, Example, TrainingRun
from .policy import current


class TrainingBusy(Exception):
    def __init__(self, run):
        self.run = run
        super().__init__(f"Training run #{run.pk} is already {run.status}; wait for it to finish.")


def open_run() -> TrainingRun | None:
    return TrainingRun.objects.filter(is_open=True).first()


def new_examples_count() -> int:
    """Complete examples added since the data of the last run that trained (or ever, before any run).
    Per-head auto-labels come with most prompts, so they ride along with the next run rather than
    start one: each run is another promotion test on the same holdout, and many tests would favour a
    model that is merely lucky on it."""
    last = TrainingRun.objects.filter(status=TrainingRun.Status.SUCCEEDED).order_by("-pk").first()
    since = last.data_until if last else 0
    complete = Q(*(~Q(**{head: ""}) for head in HEADS))
    return Example.objects.filter(complete, pk__gt=since).count()


def create_run(trigger, user=None, force=False) -> TrainingRun:
    """A new open run, or TrainingBusy when one is already queued or running (the database decides)."""
    recover_stale_runs()
    try:
        with transaction.atomic():
            return TrainingRun.objects.create(
                trigger=trigger, requested_by=user, force=force, heartbeat_at=timezone.now()
            )
    except IntegrityError:
        raise TrainingBusy(open_run()) from None


def enqueue(trigger, user=None, force=False) -> TrainingRun:
    """Queue a training for the worker; returns the run."""
    from django_q.tasks import async_task

    run = create_run(trigger, user=user, force=force)
    transaction.on_commit(lambda: async_task("training.tasks.run_training", run.pk, task_name=f"training-run-{run.pk}"))
    return run


def new_traffic_count() -> tuple[int, int]:
    """(prompts that arrived since the data of the last run that trained, the newest prompt's id)."""
    last = TrainingRun.objects.filter(status=TrainingRun.Status.SUCCEEDED).order_by("-pk").first()
    return import_string(settings.SECONDMIND_TRAFFIC_COUNT)(last.traffic_until if last else 0)


def check_threshold() -> TrainingRun | None:
    """Enqueue one training once SECONDMIND_RETRAIN_THRESHOLD new examples arrived; silent when one is
    already open."""
    if open_run() is not None or new_examples_count() < current().training.retrain_threshold:
        return None
    return _enqueue_unless_busy(TrainingRun.Trigger.THRESHOLD)


def check_traffic() -> TrainingRun | None:
    """Enqueue one training once SECONDMIND_RETRAIN_TRAFFIC prompts arrived since the last run that
    trained; silent when one is already open (it counts them too)."""
    wanted = current().training.retrain_traffic
    if not wanted or open_run() is not None or new_traffic_count()[0] < wanted:
        return None
    return _enqueue_unless_busy(TrainingRun.Trigger.TRAFFIC)


def _enqueue_unless_busy(trigger):
    try:
        return enqueue(trigger)
    except TrainingBusy:
        return None

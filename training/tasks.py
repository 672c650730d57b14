"""django-q2 tasks: what the worker runs."""

from .models import TrainingRun
from .pipeline import execute
from .triggers import TrainingBusy, create_run


def run_training(run_id) -> TrainingRun:
    # execute() claims the run, so a retried or duplicated task does nothing twice
    return execute(TrainingRun.objects.get(pk=run_id)).status


def scheduled_retrain() -> str:
    """The weekly schedule: trains only when something is new (otherwise records a skip)."""
    try:
        run = create_run(TrainingRun.Trigger.SCHEDULE)
    except TrainingBusy as busy:
        return f"skipped: {busy}"
    return execute(run).status

"""A failed run leaves its traceback in the log, and every line a run writes names the run."""

import io
import logging

import pytest
from django.conf import settings

from training.logs import RunIdFilter
from training.models import TrainingRun
from training.pipeline import execute
from training.triggers import create_run


@pytest.fixture
def log_lines():
    """The log as the console handler of settings.LOGGING formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RunIdFilter())
    handler.setFormatter(logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"]))
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: stream.getvalue()
    root.removeHandler(handler)


def test_a_failed_run_logs_its_traceback_under_its_id(db, log_lines):
    run = execute(create_run(TrainingRun.Trigger.MANUAL))
    assert run.status == TrainingRun.Status.FAILED
    text = log_lines()
    assert f"[run #{run.pk}]: started (manual)" in text
    assert f"[run #{run.pk}]: failed\nTraceback" in text
    assert "There is nothing to train on" in text


def test_each_stage_of_a_run_is_logged_under_its_id(seeded, log_lines):
    run = execute(create_run(TrainingRun.Trigger.MANUAL))
    assert run.status == TrainingRun.Status.SUCCEEDED
    text = log_lines()
    assert f"[run #{run.pk}]: certifying the gate" in text
    assert f"[run #{run.pk}]: trained v{run.version.number}" in text


def test_lines_outside_a_run_name_none(db, log_lines):
    logging.getLogger("training").warning("outside")
    assert "training: outside" in log_lines()

"""The three triggers of a retrain, one open run at a time, and recovery from a dead worker."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule

from training.datasets import add_example
from training.liveness import recover_stale_runs
from training.models import ModelVersion, Source, TrainingRun
from training.tasks import run_training, scheduled_retrain
from training.triggers import TrainingBusy, create_run, enqueue, new_examples_count

TRIPLET = {"subject": "Note", "action": "Find", "category": "Knowledge"}


def add_batch(count, start=0):
    for i in range(start, start + count):
        add_example(f"an automatically accepted prompt number {i}", TRIPLET, Source.BATCH)


def test_the_threshold_enqueues_exactly_once_under_repeated_additions(
    trained, settings, django_capture_on_commit_callbacks
):
    get_broker().purge_queue()  # a Redis broker outlives the test database
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", retrain_threshold=5)
    with django_capture_on_commit_callbacks(execute=True):
        add_batch(4)
    assert not TrainingRun.objects.filter(trigger="threshold").exists()
    with django_capture_on_commit_callbacks(execute=True):
        add_batch(30, start=4)
    run = TrainingRun.objects.get(trigger="threshold")
    assert run.status == TrainingRun.Status.QUEUED
    assert get_broker().queue_size() == 1  # one task for the worker


def test_the_threshold_counts_only_examples_since_the_last_training(
    trained, settings, django_capture_on_commit_callbacks
):
    threshold = len(trained.trained_on.all()) + 1
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", retrain_threshold=threshold)
    with django_capture_on_commit_callbacks(execute=True):
        add_batch(3)
    assert not TrainingRun.objects.filter(trigger="threshold").exists()


def test_the_database_allows_one_open_run(seeded):
    first = create_run(TrainingRun.Trigger.MANUAL)
    with pytest.raises(TrainingBusy) as busy:
        enqueue(TrainingRun.Trigger.MANUAL)
    assert busy.value.run == first


def test_the_weekly_schedule_exists_after_migrate(db, settings):
    schedule = Schedule.objects.get(name="weekly-retrain")
    assert (schedule.func, schedule.schedule_type, schedule.cron) == (
        "training.tasks.scheduled_retrain",
        Schedule.CRON,
        settings.SECONDMIND_RETRAIN_CRON,
    )
    assert settings.SECONDMIND_RETRAIN_CRON == "0 3 * * 0"  # Sunday 03:00


def test_a_scheduled_run_with_nothing_new_records_a_skip(trained):
    assert scheduled_retrain() == TrainingRun.Status.SKIPPED
    run = TrainingRun.objects.first()
    assert (run.trigger, run.status, run.version) == ("schedule", "skipped", None)
    assert ModelVersion.objects.count() == 1


def test_a_scheduled_run_trains_when_something_is_new(trained):
    add_batch(3)
    assert scheduled_retrain() == TrainingRun.Status.SUCCEEDED
    assert ModelVersion.objects.count() == 2


def test_a_queued_task_runs_once_even_if_delivered_twice(seeded):
    run = enqueue(TrainingRun.Trigger.MANUAL)
    assert run_training(run.pk) == TrainingRun.Status.SUCCEEDED
    assert run_training(run.pk) == TrainingRun.Status.SUCCEEDED
    assert ModelVersion.objects.count() == 1


def test_a_run_left_running_by_a_dead_worker_is_marked_failed(seeded, settings):
    run = create_run(TrainingRun.Trigger.MANUAL)
    TrainingRun.objects.filter(pk=run.pk).update(
        status="running", heartbeat_at=timezone.now() - timedelta(minutes=settings.SECONDMIND_STALE_RUN_MINUTES + 1)
    )
    assert recover_stale_runs() == 1
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED and "killed" in run.error
    assert create_run(TrainingRun.Trigger.MANUAL).status == TrainingRun.Status.QUEUED


def test_a_live_run_is_not_taken_for_dead(seeded):
    run = create_run(TrainingRun.Trigger.MANUAL)
    TrainingRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=timezone.now())
    assert recover_stale_runs() == 0


def test_partial_auto_labels_ride_along_without_counting_toward_the_threshold(trained):
    add_example("Find my notes about the kubernetes migration", {**TRIPLET, "subject": "", "action": ""}, Source.BATCH)
    add_batch(1)
    assert new_examples_count() == 1

"""A training run is alive while its worker is: it beats in silent stages, a dead worker's run is
failed without anyone looking, and a run marked failed never registers or promotes a model."""

import subprocess
import time

from django.utils import timezone
from django_q.models import Schedule

from tests.conftest import train_now
from training.liveness import Heartbeat, fail, recover_stale_runs, this_worker
from training.models import ModelVersion, TrainingRun
from training.pipeline import execute
from training.triggers import create_run


def running_run(**fields):
    run = create_run(TrainingRun.Trigger.MANUAL, force=True)
    TrainingRun.objects.filter(pk=run.pk).update(**{"status": "running", "heartbeat_at": timezone.now(), **fields})
    run.refresh_from_db()
    return run


def test_the_heartbeat_beats_while_a_stage_is_silent(transactional_db):
    run = running_run(heartbeat_at=timezone.now() - timezone.timedelta(minutes=5))
    before = run.heartbeat_at
    with Heartbeat(run.pk, every=0.05):
        time.sleep(0.5)
    run.refresh_from_db()
    assert run.heartbeat_at > before


def test_a_run_whose_worker_process_is_gone_is_failed_at_once(db):
    finished = subprocess.Popen(["true"])
    finished.wait()
    host = this_worker().rpartition(":")[0]
    run = running_run(worker=f"{host}:{finished.pid}")
    assert recover_stale_runs() == 1
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED and "stopped while it ran" in run.error


def test_a_run_whose_worker_lives_on_another_machine_waits_for_its_heartbeat(db):
    run = running_run(worker="another-host:1")
    assert recover_stale_runs() == 0
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.RUNNING


def test_the_worker_looks_for_dead_runs_every_minute(db):
    schedule = Schedule.objects.get(name="recover-stale-runs")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "training.liveness.recover_stale_runs",
        Schedule.MINUTES,
        1,
    )


def test_a_run_marked_failed_while_it_trains_registers_and_promotes_nothing(trained):
    run = create_run(TrainingRun.Trigger.MANUAL, force=True)

    def declared_dead_midway(stage, percent):
        if stage == "registering":
            fail(run.pk, "declared dead by a stale-run check")

    run = execute(run, report=declared_dead_midway)
    assert run.status == TrainingRun.Status.FAILED and run.error == "declared dead by a stale-run check"
    assert list(ModelVersion.objects.all()) == [trained]
    assert ModelVersion.objects.get(status="active") == trained


def test_the_next_run_after_a_failed_one_succeeds(trained):
    fail(running_run().pk, "killed")
    assert train_now().status == TrainingRun.Status.SUCCEEDED

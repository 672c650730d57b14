"""Manual retraining: `manage.py retrain`, its runs and what the API serves afterwards."""

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import train_now
from training.datasets import add_example
from training.models import ModelVersion, Source, TrainingRun


def test_retrain_wait_trains_and_activates_the_first_model(seeded, capsys):
    call_command("retrain", wait=True)
    version = ModelVersion.objects.get()
    assert version.status == ModelVersion.Status.ACTIVE
    out = capsys.readouterr()
    assert "Trained model v1" in out.out and "First model" in out.out
    assert "training" in out.err  # the progress bar


def test_retrain_wait_says_how_close_the_gate_came_while_no_whole_triplet_is_certified(seeded, capsys):
    call_command("retrain", wait=True)
    out = capsys.readouterr().out
    assert "No whole triplet is auto-accepted yet. Only " in out
    assert "of its 69 human-labelled examples" in out and "a threshold is first tested on 60." in out


def test_after_a_retrain_the_api_answers_with_the_new_version(api, trained, staff):
    prompt = {"prompt": "Find my notes about the migration"}
    assert api.post("/classify", prompt).json()["model_version"] == trained.number
    call_command("retrain", wait=True, force=True)
    newest = ModelVersion.objects.first()
    call_command("promote", str(newest.number), reason="test the reload")
    assert api.post("/classify", prompt).json()["model_version"] == newest.number


def test_retrain_without_wait_queues_a_run_for_the_worker(seeded, capsys):
    call_command("retrain")
    run = TrainingRun.objects.get()
    assert (run.status, run.trigger) == (TrainingRun.Status.QUEUED, TrainingRun.Trigger.MANUAL)
    assert f"Queued training run #{run.pk}" in capsys.readouterr().out


def test_retrain_refuses_while_another_run_is_open(seeded):
    call_command("retrain")
    with pytest.raises(CommandError, match="already queued"):
        call_command("retrain")


def test_retrain_wait_refuses_while_another_run_is_running(seeded):
    call_command("retrain")
    TrainingRun.objects.update(status=TrainingRun.Status.RUNNING)
    with pytest.raises(CommandError, match="already running"):
        call_command("retrain", wait=True)


def test_a_retrain_with_nothing_new_is_skipped_unless_forced(trained, capsys):
    call_command("retrain", wait=True)
    assert "Nothing new" in capsys.readouterr().out
    assert TrainingRun.objects.first().status == TrainingRun.Status.SKIPPED
    call_command("retrain", wait=True, force=True)
    assert TrainingRun.objects.first().status == TrainingRun.Status.SUCCEEDED


def test_the_version_lists_exactly_the_examples_it_was_trained_and_scored_on(trained):
    run = TrainingRun.objects.get(version=trained)
    assert trained.trained_on.count() == run.summary["trained_on"]
    assert trained.evaluated_on.count() == run.summary["holdout"] > 0
    assert trained.trained_on.count() == run.summary["trained_blind_on"] + run.summary["holdout"]


def test_a_run_records_its_progress_and_timings(trained):
    run = TrainingRun.objects.get(version=trained)
    assert (run.stage, run.percent) == ("done", 100)
    assert run.duration is not None and run.duration >= 0
    stages, seconds = zip(*run.summary["stage_seconds"])
    assert stages[:3] == ("preparing", "training the stock heads", "certifying the gate")
    assert all(s >= 0 for s in seconds) and sum(seconds) <= run.duration + 0.5


def test_a_failed_run_leaves_the_active_model_and_says_why(trained, media_root):
    (media_root / trained.blind_heads_file.name).write_bytes(b"broken")
    add_example(
        "Find my notes on the new project", {"subject": "Note", "action": "Find", "category": "Knowledge"}, Source.LIVE
    )
    run = train_now()
    assert run.status == TrainingRun.Status.FAILED
    assert "sha256" in run.error
    assert ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE) == trained


def test_the_active_model_endpoint_shows_version_and_holdout_scores(api, trained):
    body = api.get("/models/active").json()
    assert body["version"] == trained.number
    assert body["holdout"]["size"] == trained.evaluated_on.count()
    assert 0 <= body["holdout"]["exact"] <= 1
    assert set(body["holdout"]["subject"]) == {"accuracy", "macro_f1"}


def test_the_active_model_endpoint_explains_when_there_is_none(api, db):
    response = api.get("/models/active")
    assert response.status_code == 404
    assert "retrain --wait" in response.json()["detail"]


def test_the_api_answers_with_the_model_a_retrain_activated(api, seeded):
    prompt = {"prompt": "Find my notes about the migration"}
    assert api.post("/classify", prompt).json()["model_version"] is None
    call_command("retrain", wait=True)
    assert api.post("/classify", prompt).json()["model_version"] == ModelVersion.objects.get().number

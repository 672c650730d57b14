"""Management commands a newcomer uses."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from interactions.models import ApiToken, hash_token
from training.models import Example, ModelVersion, Source


def test_create_api_token_prints_the_token_alone(reviewer):
    out = StringIO()
    call_command("create_api_token", "riley", stdout=out)
    token = out.getvalue().strip()
    assert "\n" not in token and token.startswith("sm_")
    assert ApiToken.objects.get(token_hash=hash_token(token)).user == reviewer


def test_create_api_token_for_an_unknown_user_says_so(db):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("create_api_token", "ghost")


def test_setup_loads_the_seed_trains_and_creates_the_admin_once(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    call_command("setup", stdout=StringIO())
    call_command("setup", stdout=StringIO())
    assert ModelVersion.objects.get().status == ModelVersion.Status.ACTIVE
    assert (tmp_path / "admin-password.txt").exists()
    assert Example.objects.filter(source=Source.BASE).count() == 69


def test_retrain_wait_trains_a_run_queued_for_a_worker_that_is_not_running(seeded):
    from training.models import TrainingRun
    from training.triggers import enqueue

    queued = enqueue(TrainingRun.Trigger.THRESHOLD)
    out = StringIO()
    call_command("retrain", wait=True, stdout=out)
    queued.refresh_from_db()
    assert queued.status == TrainingRun.Status.SUCCEEDED
    assert f"Training the queued run #{queued.pk} here." in out.getvalue()

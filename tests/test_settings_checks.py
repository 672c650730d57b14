"""Settings that would switch a safeguard off are reported by `manage.py check`."""

import pytest
from django.core.checks import run_checks


def warnings(identifier):
    return [message for message in run_checks() if message.id == identifier]


def test_the_defaults_pass():
    assert not warnings("secondmind.W001") and not warnings("secondmind.W002")


def test_it_warns_when_no_step_could_ever_be_certified(settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("certification", step=50, confidence=0.95)
    [warning] = warnings("secondmind.W001")
    assert "SECONDMIND_CERTIFY_STEP=50" in warning.msg and "Raise SECONDMIND_CERTIFY_STEP" in warning.hint


@pytest.mark.parametrize("confidence, effect", [(0.4, "more likely worse"), (1.0, "never promotes")])
def test_it_warns_when_the_promotion_confidence_disables_the_rule(settings, confidence, effect):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("promotion", confidence=confidence)
    [warning] = warnings("secondmind.W002")
    assert effect in warning.msg


def test_it_warns_when_machines_sharing_a_database_would_sign_tasks_with_their_own_generated_keys(settings, tmp_path):
    settings.DATABASES = {"default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.postgresql"}}
    settings.DATA_DIR = tmp_path
    (tmp_path / "secret_key").write_text("generated-on-this-machine\n")
    settings.SECRET_KEY = "generated-on-this-machine"
    [warning] = warnings("secondmind.W003")
    assert "Set the same SECRET_KEY" in warning.hint


def test_a_secret_key_from_the_environment_is_not_warned_about(settings):
    settings.DATABASES = {"default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.postgresql"}}
    settings.SECRET_KEY = "shared-by-every-machine"
    assert not warnings("secondmind.W003")

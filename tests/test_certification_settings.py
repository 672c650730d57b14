"""Settings that would switch the certified gate off are reported by `manage.py check`."""

from django.core.checks import run_checks


def test_the_defaults_can_certify():
    assert "secondmind.W001" not in {message.id for message in run_checks()}


def test_it_warns_when_no_step_could_ever_be_certified(settings):
    settings.SECONDMIND_CERTIFY_STEP = 50
    settings.SECONDMIND_CERTIFY_CONFIDENCE = 0.95
    [warning] = [message for message in run_checks() if message.id == "secondmind.W001"]
    assert "SECONDMIND_CERTIFY_STEP=50" in warning.msg and "Raise SECONDMIND_CERTIFY_STEP" in warning.hint

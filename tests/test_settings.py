"""A bad value in the environment stops SecondMind at start-up with a message naming the variable and
what it accepts, instead of being read as something else (a typo as False) or failing at request time."""

import os
import subprocess
import sys

import pytest
from django.conf import settings


def start_with(**env):
    """Start Django with `env` added and print whether the gate auto-accepts: (exit code, stdout, stderr)."""
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.SECONDMIND_POLICY.gate.auto_accept)",
        ],
        cwd=settings.BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    return done.returncode, done.stdout.strip().rpartition("\n")[2], done.stderr


@pytest.mark.parametrize(
    "name, value, allowed",
    [
        ("SECONDMIND_AUTO_ACCEPT", "ture", "true/false, yes/no, on/off or 1/0"),
        ("SECONDMIND_REVIEW_ORDER", "least-confident", "random or least_confident"),
        ("SECONDMIND_AUTO_ACCEPT_RULE", "certfied", "certified or fixed"),
        ("SECONDMIND_ENCODER", "tuned", "stock or finetune or auto"),
        ("SECONDMIND_CERTIFY_STEP", "sixty", "a whole number"),
        ("SECONDMIND_FINETUNE_MINUTES", "10min", "a number"),
        ("SECONDMIND_ENCODER_BACKEND", "tensorrt", "torch or onnx"),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_variable_and_the_choices(tmp_path, name, value, allowed):
    code, _, stderr = start_with(SECONDMIND_DATA_DIR=str(tmp_path), **{name: value})
    assert code != 0
    assert f"ImproperlyConfigured: {name}={value!r} is not valid: use {allowed}." in stderr


@pytest.mark.parametrize("value", ["No", " false ", "0", "off"])
def test_a_boolean_accepts_the_usual_spellings_of_false(tmp_path, value):
    code, printed, stderr = start_with(SECONDMIND_DATA_DIR=str(tmp_path), SECONDMIND_AUTO_ACCEPT=value)
    assert (code, printed) == (0, "False"), stderr

"""The learning policy: one typed, checked object built from the environment; functions take the part
they need, and docs/operations.md shows the table it generates."""

from dataclasses import FrozenInstanceError

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from training.policy import Policy, markdown_table


def test_an_empty_environment_gives_the_defaults():
    assert Policy.from_environ({}) == Policy()


def test_each_variable_sets_its_knob():
    policy = Policy.from_environ(
        {"SECONDMIND_AUTO_ACCEPT_RULE": "fixed", "SECONDMIND_CERTIFY_STEP": "80", "SECONDMIND_NOISY_STUDENT": "yes"}
    )
    assert (policy.gate.rule, policy.certification.step, policy.self_training.noisy_student) == ("fixed", 80, True)


def test_a_list_is_read_comma_separated():
    assert Policy.from_environ({"SECONDMIND_GATE_COMMANDS": "!!!, /stop ,"}).gate.commands == ("!!!", "/stop")


@pytest.mark.parametrize(
    "name, value, allowed",
    [
        ("SECONDMIND_AUDIT_RATE", "2", "a number from 0 to 1"),
        ("SECONDMIND_RETRAIN_THRESHOLD", "0", "a whole number of at least 1"),
        ("SECONDMIND_FINETUNE_MINUTES", "0", "a number of at least 0.1"),
        ("SECONDMIND_CERTIFY_CONFIDENCE", "1", "a number from 0.5 to 0.999"),
    ],
)
def test_a_value_out_of_range_is_refused_naming_the_variable_and_the_range(name, value, allowed):
    with pytest.raises(ImproperlyConfigured, match=f"^{name}='{value}' is not valid: use {allowed}.$"):
        Policy.from_environ({name: value})


def test_a_changed_copy_is_checked_like_the_original():
    with pytest.raises(ImproperlyConfigured, match="SECONDMIND_REVIEW_ORDER='newest'"):
        Policy().but("review", order="newest")


def test_a_policy_cannot_be_changed_in_place():
    with pytest.raises(FrozenInstanceError):
        Policy().gate.min_chars = 0


def test_the_process_policy_is_built_from_the_settings_environment():
    assert isinstance(settings.SECONDMIND_POLICY, Policy)


def test_the_configuration_table_in_the_docs_is_the_generated_one():
    docs = (settings.BASE_DIR / "docs" / "operations.md").read_text()
    assert markdown_table() in docs


def test_the_policy_command_prints_the_table(capsys):
    call_command("policy")
    assert capsys.readouterr().out.strip() == markdown_table()

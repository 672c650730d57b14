"""The quality gate, rule by rule, at its boundaries."""

import numpy as np
import pytest

from interactions.gate import judge
from training.detector import Prediction

CONFIDENT = {"subject": 0.95, "action": 0.97, "category": 0.99}


def prediction(confidence=CONFIDENT, triplet=None, version=1):
    triplet = triplet or {"subject": "Note", "action": "Find", "category": "Knowledge"}
    return Prediction(triplet, confidence, np.zeros(384, np.float32), version)


def test_nine_characters_are_too_short():
    assert "too_short" in judge("ab cd efg", prediction()).reasons  # 9 characters, 3 words


def test_ten_characters_are_long_enough():
    assert "too_short" not in judge("ab cd efgh", prediction()).reasons


def test_two_words_are_too_few():
    verdict = judge("summarize everything", prediction())
    assert verdict.decision == "rejected"
    assert verdict.reasons == ["too_few_words"]


def test_three_words_are_enough():
    assert judge("summarize my notes", prediction()).decision == "accepted"


@pytest.mark.parametrize("command", ["!!!", "+1", "-1", "?!?!?!?!?!?!", "+1 +1 +1 +1", "/reset the whole conversation"])
def test_system_commands_are_rejected(command):
    verdict = judge(command, prediction())
    assert verdict.decision == "rejected"
    assert "system_command" in verdict.reasons


def test_confident_triplet_is_accepted():
    verdict = judge("find my notes about kubernetes", prediction())
    assert (verdict.decision, verdict.reasons) == ("accepted", ["confident"])


def test_a_head_just_below_the_accept_threshold_goes_to_review(settings):
    confidence = {**CONFIDENT, "action": settings.SECONDMIND_ACCEPT_THRESHOLD - 0.001}
    verdict = judge("find my notes about kubernetes", prediction(confidence))
    assert (verdict.decision, verdict.reasons) == ("review", ["low_confidence_action"])


def test_a_head_at_the_accept_threshold_is_confident(settings):
    confidence = {head: settings.SECONDMIND_ACCEPT_THRESHOLD for head in CONFIDENT}
    assert judge("find my notes about kubernetes", prediction(confidence)).decision == "accepted"


def test_an_unknown_head_is_never_auto_learned():
    triplet = {"subject": "Unknown", "action": "Find", "category": "Knowledge"}
    verdict = judge("find my notes about kubernetes", prediction(triplet=triplet))
    assert (verdict.decision, verdict.reasons) == ("review", ["unknown_subject"])


def test_without_a_model_everything_goes_to_review():
    verdict = judge("find my notes about kubernetes", prediction(version=None))
    assert (verdict.decision, verdict.reasons) == ("review", ["no_active_model"])


def test_the_verdict_records_the_thresholds_it_used(settings):
    settings.SECONDMIND_ACCEPT_THRESHOLD = 0.8
    assert judge("find my notes about kubernetes", prediction()).thresholds["accept_at"] == 0.8

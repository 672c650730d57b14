"""The quality gate, rule by rule, at its boundaries."""

import numpy as np
import pytest

from interactions.gate import judge
from training.card import Certificate
from training.datasets import in_holdout_region
from training.detector import Prediction
from training.models import normalize_prompt
from training.policy import Policy

CONFIDENT = {"subject": 0.95, "action": 0.97, "category": 0.99}
CERTIFIED = {"threshold": 2.0, "scope": 0.6}
DEFAULT = Policy()
FIXED = DEFAULT.but("gate", rule="fixed")


HEAD_CERTIFIED = {
    "threshold": None,
    "scope": 0.6,
    "heads": {"subject": {"threshold": None}, "action": {"threshold": 4.0}, "category": {"threshold": 1.5}},
}


def prediction(
    confidence=CONFIDENT, triplet=None, version=1, sureness=3.0, similarity=0.8, gate=None, head_sureness=None
):
    triplet = triplet or {"subject": "Note", "action": "Find", "category": "Knowledge"}
    head_sureness = head_sureness or {"subject": 3.0, "action": 3.0, "category": 3.0}
    certificate = Certificate.from_json(gate)
    return Prediction(
        triplet, confidence, np.zeros(384, np.float32), version, sureness, similarity, certificate, head_sureness
    )


def test_nine_characters_are_too_short():
    assert "too_short" in judge("ab cd efg", prediction(), DEFAULT).reasons  # 9 characters, 3 words


def test_ten_characters_are_long_enough():
    assert "too_short" not in judge("ab cd efgh", prediction(), DEFAULT).reasons


def test_two_words_are_too_few():
    verdict = judge("summarize everything", prediction(), DEFAULT)
    assert verdict.decision == "rejected"
    assert verdict.reasons == ["too_few_words"]


def test_three_words_are_enough():
    assert judge("summarize my notes", prediction(), FIXED).decision == "accepted"


@pytest.mark.parametrize("command", ["!!!", "+1", "-1", "?!?!?!?!?!?!", "+1 +1 +1 +1", "/reset the whole conversation"])
def test_system_commands_are_rejected(command):
    verdict = judge(command, prediction(), DEFAULT)
    assert verdict.decision == "rejected"
    assert "system_command" in verdict.reasons


def test_confident_triplet_is_accepted():
    verdict = judge("find my notes about kubernetes", prediction(), FIXED)
    assert (verdict.decision, verdict.reasons) == ("accepted", ["confident"])


def test_a_head_just_below_the_accept_threshold_goes_to_review():
    confidence = {**CONFIDENT, "action": FIXED.gate.accept_threshold - 0.001}
    verdict = judge("find my notes about kubernetes", prediction(confidence), FIXED)
    assert (verdict.decision, verdict.reasons) == ("review", ["low_confidence_action"])


def test_a_head_at_the_accept_threshold_is_confident():
    confidence = dict.fromkeys(CONFIDENT, FIXED.gate.accept_threshold)
    assert judge("find my notes about kubernetes", prediction(confidence), FIXED).decision == "accepted"


def test_an_unknown_head_is_never_auto_learned():
    triplet = {"subject": "Unknown", "action": "Find", "category": "Knowledge"}
    verdict = judge("find my notes about kubernetes", prediction(triplet=triplet), DEFAULT)
    assert (verdict.decision, verdict.reasons) == ("review", ["unknown_subject"])


def test_without_a_model_everything_goes_to_review():
    verdict = judge("find my notes about kubernetes", prediction(version=None), DEFAULT)
    assert (verdict.decision, verdict.reasons) == ("review", ["no_active_model"])


def test_the_verdict_records_the_thresholds_it_used():
    assert (
        judge("find my notes about kubernetes", prediction(), DEFAULT.but("gate", accept_threshold=0.8)).thresholds[
            "accept_at"
        ]
        == 0.8
    )


def test_the_certified_rule_accepts_at_the_certified_threshold():
    verdict = judge("find my notes about kubernetes", prediction(sureness=2.0, gate=CERTIFIED), DEFAULT)
    assert (verdict.decision, verdict.reasons) == ("accepted", ["certified"])
    assert verdict.thresholds["certified_threshold"] == 2.0


def test_the_certified_rule_reviews_just_below_the_certified_threshold():
    verdict = judge("find my notes about kubernetes", prediction(sureness=1.999, gate=CERTIFIED), DEFAULT)
    assert (verdict.decision, verdict.reasons) == ("review", ["below_certified_threshold"])


def test_nothing_is_auto_accepted_before_the_gate_is_certified():
    verdict = judge("find my notes about kubernetes", prediction(sureness=50.0, gate={"threshold": None}), DEFAULT)
    assert (verdict.decision, verdict.reasons) == ("review", ["not_certified"])


def test_a_prompt_with_no_human_example_in_scope_is_never_auto_accepted():
    verdict = judge(
        "find my notes about kubernetes", prediction(sureness=50.0, similarity=0.599, gate=CERTIFIED), DEFAULT
    )
    assert (verdict.decision, verdict.reasons) == ("review", ["out_of_scope"])


def test_a_prompt_at_the_scope_similarity_is_in_scope():
    assert (
        judge("find my notes about kubernetes", prediction(similarity=0.6, gate=CERTIFIED), DEFAULT).decision
        == "accepted"
    )


def test_auto_accept_can_be_switched_off():
    verdict = judge(
        "find my notes about kubernetes", prediction(gate=CERTIFIED), DEFAULT.but("gate", auto_accept=False)
    )
    assert (verdict.decision, verdict.reasons) == ("review", ["auto_accept_off"])


def test_an_accepted_triplet_labels_every_head():
    assert judge("find my notes about kubernetes", prediction(gate=CERTIFIED), DEFAULT).auto_heads == (
        "subject",
        "action",
        "category",
    )


def test_a_head_at_its_certified_threshold_is_auto_labelled_while_a_person_decides_the_triplet():
    sure = {"subject": 50.0, "action": 4.0, "category": 1.5}
    verdict = judge("find my notes about kubernetes", prediction(gate=HEAD_CERTIFIED, head_sureness=sure), DEFAULT)
    assert verdict.decision == "review"
    assert verdict.auto_heads == ("action", "category")
    assert verdict.reasons == ["not_certified", "auto_labelled_action", "auto_labelled_category"]


def test_a_head_just_below_its_certified_threshold_is_left_to_the_person():
    sure = {"subject": 50.0, "action": 3.999, "category": 1.5}
    verdict = judge("find my notes about kubernetes", prediction(gate=HEAD_CERTIFIED, head_sureness=sure), DEFAULT)
    assert verdict.auto_heads == ("category",)


def test_an_out_of_scope_prompt_gets_no_auto_label_at_all():
    sure = {"subject": 50.0, "action": 50.0, "category": 50.0}
    verdict = judge(
        "find my notes about kubernetes", prediction(similarity=0.59, gate=HEAD_CERTIFIED, head_sureness=sure), DEFAULT
    )
    assert (verdict.decision, verdict.reasons, verdict.auto_heads) == ("review", ["out_of_scope"], ())


def holdout_prompt():
    """A prompt in the holdout region: the training runs score on its label and never train on it."""
    prompts = (f"find my notes about topic {i}" for i in range(100))
    return next(p for p in prompts if in_holdout_region(normalize_prompt(p), DEFAULT.training.holdout_fraction))


def test_a_prompt_in_the_holdout_region_goes_to_a_person_however_sure():
    everything_certified = {**HEAD_CERTIFIED, "threshold": 2.0}
    sure = {"subject": 50.0, "action": 50.0, "category": 50.0}
    verdict = judge(holdout_prompt(), prediction(sureness=50.0, gate=everything_certified, head_sureness=sure), DEFAULT)
    assert (verdict.decision, verdict.reasons, verdict.auto_heads) == ("review", ["holdout_sample"], ())


def test_in_the_holdout_region_the_gate_records_what_it_would_have_labelled_elsewhere():
    sure = {"subject": 50.0, "action": 3.0, "category": 50.0}
    verdict = judge(holdout_prompt(), prediction(gate=HEAD_CERTIFIED, head_sureness=sure), DEFAULT)
    assert (verdict.auto_heads, verdict.would_label) == ((), ("category",))
    assert verdict.thresholds["certified_head_thresholds"]["category"] == 1.5


def test_the_holdout_region_is_decided_on_the_normalized_prompt():
    verdict = judge("  " + holdout_prompt().upper() + " ", prediction(sureness=50.0, gate=CERTIFIED), DEFAULT)
    assert verdict.reasons == ["holdout_sample"]


def test_a_prompt_as_similar_to_a_rejected_prompt_as_to_any_labelled_one_goes_to_a_person():
    sure = {"subject": 50.0, "action": 50.0, "category": 50.0}
    verdict = judge(
        "find my notes about kubernetes",
        prediction(similarity=0.8, gate=HEAD_CERTIFIED, head_sureness=sure),
        DEFAULT,
        rejected_similarity=0.8,
    )
    assert (verdict.decision, verdict.reasons, verdict.auto_heads) == ("review", ["near_rejected"], ())


def test_a_rejected_prompt_less_similar_than_a_labelled_example_changes_nothing():
    verdict = judge(
        "find my notes about kubernetes",
        prediction(similarity=0.8, sureness=50.0, gate=CERTIFIED),
        DEFAULT,
        rejected_similarity=0.79,
    )
    assert (verdict.decision, verdict.reasons) == ("accepted", ["certified"])

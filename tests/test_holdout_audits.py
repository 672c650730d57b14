"""In the holdout region a person decides every prompt; where the gate would have labelled a head, that
decision audits the certificate on a random sample of its work."""

from interactions.classify import classify
from interactions.models import Review
from interactions.reviews import auto_label_precision, decide
from training.datasets import in_holdout_region
from training.models import normalize_prompt
from training.policy import Policy

PROMPTS = [f"Find my notes about the kubernetes upgrade number {i}" for i in range(60)]
IN_REGION = [p for p in PROMPTS if in_holdout_region(normalize_prompt(p), Policy().training.holdout_fraction)]


def test_a_holdout_prompt_records_the_heads_the_gate_would_have_labelled_and_learns_none(category_certified):
    interaction = classify(IN_REGION[0])
    assert (interaction.auto_labelled, interaction.would_label) == ([], ["category"])
    assert interaction.reasons == ["holdout_sample"]
    assert not interaction.example


def test_people_deciding_holdout_prompts_estimate_the_precision_the_gate_would_have_had(category_certified, reviewer):
    kept, changed = classify(IN_REGION[0]), classify(IN_REGION[1])
    decide(kept.pk, reviewer, Review.Decision.APPROVED)
    decide(changed.pk, reviewer, Review.Decision.OVERRIDDEN, {"category": "Travel"})
    assert auto_label_precision() == {"category": (0.5, 2)}


def test_a_corrected_holdout_prompt_pauses_the_head_it_would_have_labelled(category_certified, reviewer):
    decide(classify(IN_REGION[0]).pk, reviewer, Review.Decision.OVERRIDDEN, {"category": "Travel"})
    category_certified.refresh_from_db()
    assert category_certified.paused_heads == ["category"]

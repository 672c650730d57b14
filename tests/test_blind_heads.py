"""A version serves heads that learned every human label, holdout included; promotion compares its
blind twin, trained the same way without the holdout."""

import numpy as np

from tests.conftest import train_now
from training.datasets import matrix
from training.evaluation import evaluate
from training.registry import load_heads


def holdout_exact(heads, version):
    holdout = list(version.evaluated_on.order_by("pk"))
    return evaluate(heads, matrix(holdout), [e.triplet for e in holdout])["exact"]


def test_the_served_heads_learn_the_holdout_and_the_blind_heads_do_not(trained):
    served, blind = load_heads(trained), load_heads(trained, blind=True)
    assert trained.blind_sha256 and trained.blind_sha256 != trained.sha256
    assert holdout_exact(served, trained) > holdout_exact(blind, trained)
    assert holdout_exact(blind, trained) == trained.metrics["holdout"]["exact"]


def test_a_candidate_is_compared_with_the_active_models_blind_heads(trained):
    candidate = train_now().version  # nothing new: the same training as the active model
    assert candidate.metrics["active_holdout"]["exact"] == trained.metrics["holdout"]["exact"]
    assert candidate.metrics["holdout"]["exact"] == trained.metrics["holdout"]["exact"]
    assert "the same probability as the active model" in candidate.runs.get().decision


def test_without_a_holdout_the_served_heads_are_their_own_blind_twin(seeded, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", holdout_fraction=0.0)
    version = train_now().version
    assert version.blind_sha256 == "" and not version.evaluated_on.exists()
    vectors = matrix(list(version.trained_on.all()[:5]))
    assert np.array_equal(
        load_heads(version).predict(vectors).sureness, load_heads(version, blind=True).predict(vectors).sureness
    )

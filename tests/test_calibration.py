"""Certifying auto-accept thresholds on human-labelled data."""

import numpy as np
import pytest

from training.calibration import (
    below_rejected,
    calibrate,
    certificate,
    certified_threshold,
    fold_numbers,
    held_out_similarity,
    matching_scope,
    precision_lower_bound,
    precision_upper_bound,
)
from training.trainer import Trainer


def test_the_lower_bound_is_below_the_observed_precision():
    assert precision_lower_bound(59, 59) == pytest.approx(0.05 ** (1 / 59))  # Clopper-Pearson, all right
    assert precision_lower_bound(58, 59) < 0.95
    assert precision_lower_bound(0, 0) == 0.0


def wilson_lower_bound(correct, total, z=1.6449):
    """The one-sided Wilson bound certificates used before the exact one."""
    p = correct / total
    centre = p + z * z / (2 * total)
    margin = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return (centre - margin) / (1 + z * z / total)


def test_the_exact_bound_certifies_nothing_the_wilson_bound_would_not_have():
    for total in range(1, 400):
        for correct in range(int(0.8 * total), total + 1):  # where a 95% target can be reached
            assert precision_lower_bound(correct, total) <= wilson_lower_bound(correct, total) + 1e-9


def test_one_corrected_label_out_of_one_already_bounds_the_precision_below_95_percent():
    assert precision_upper_bound(0, 1, 0.95) == pytest.approx(0.73, abs=0.01)
    assert precision_upper_bound(19, 20, 0.95) > 0.95
    assert precision_upper_bound(0, 0) == 1.0


def test_a_threshold_needs_a_full_step_of_evidence():
    scores = np.linspace(1, 0.5, 49)
    assert certified_threshold(scores, [True] * 49, target=0.9, step=50) is None


def test_the_threshold_is_the_lowest_step_that_keeps_the_bound():
    scores = np.linspace(1.0, 0.01, 300)
    correct = [True] * 150 + [False] * 150  # the 150 most sure are right
    threshold = certified_threshold(scores, correct, target=0.95, step=50, confidence=0.9)
    assert threshold == pytest.approx(scores[149])


def test_the_walk_stops_at_the_first_step_that_fails():
    scores = np.linspace(1.0, 0.01, 400)
    correct = [True] * 50 + [False] * 50 + [True] * 300  # a lucky tail must not be certified
    assert certified_threshold(scores, correct, target=0.9, step=50) == pytest.approx(scores[49])


def test_a_rule_that_is_never_precise_enough_stays_off():
    scores = np.linspace(1.0, 0.01, 100)
    correct = [i % 2 == 0 for i in range(100)]
    assert certified_threshold(scores, correct, target=0.95, step=50) is None


def test_equal_scores_are_accepted_or_refused_together():
    scores = [0.9] * 60 + [0.5] * 40
    correct = [True] * 60 + [False] * 40
    assert certified_threshold(scores, correct, target=0.9, step=50) == 0.9


def test_out_of_scope_evidence_is_never_certified():
    scores = [-np.inf] * 100
    assert certified_threshold(scores, [True] * 100, target=0.9, step=50) is None


def test_an_uncertified_proof_says_how_many_of_its_surest_predictions_were_right_and_how_many_had_to_be():
    sureness = np.linspace(10, 0, 100)
    correct = np.ones(100, dtype=bool)
    correct[9] = False  # the tenth surest: one error among the first 60 stops a 95% certificate
    proof = certificate(sureness, correct, np.ones(100), target=0.95, step=60, scope=0.6, confidence=0.95)
    assert not proof.certified
    assert (proof.surest, proof.surest_right, proof.needed) == (60, 59, 60)


def test_predictions_tied_with_the_60th_surest_count_as_the_threshold_test_counts_them():
    sureness = np.concatenate([np.full(70, 50.0), np.linspace(10, 0, 30)])  # 70 as sure as log-odds go
    correct = np.ones(100, dtype=bool)
    correct[65] = False  # past the 60th in order, within the tie: a threshold there accepts it
    proof = certificate(sureness, correct, np.ones(100), target=0.95, step=60, scope=0.6, confidence=0.95)
    assert not proof.certified
    assert (proof.surest, proof.surest_right) == (70, 69)
    assert proof.needed == 70


def test_only_in_scope_evidence_counts_among_the_surest_predictions():
    similarity = np.where(np.arange(100) < 40, 0.9, 0.1)  # the 60 others lie far from every labelled example
    proof = certificate(np.linspace(10, 0, 100), np.ones(100, bool), similarity, 0.95, 60, 0.6, 0.95)
    assert (proof.surest, proof.surest_right) == (40, 40) and not proof.certified


def clusters(count, size, seed=0, spread=0.05):
    """Unit vectors around `count` centres, each cluster one triplet."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(count, 384))
    vectors = np.repeat(centres, size, axis=0) + rng.normal(scale=spread, size=(count * size, 384))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    triplets = [
        {"subject": "s", "action": f"a{i // size % 2}", "category": f"c{i // size}"} for i in range(count * size)
    ]
    return vectors, triplets


NONE = (np.zeros((0, 384), np.float32), [])


def test_separable_data_is_certified_for_auto_accept():
    vectors, triplets = clusters(4, 30)
    heads = Trainer(vectors, triplets).train()
    gate = calibrate(heads, NONE, (vectors, triplets), NONE, target=0.95, step=50, scope=0.6, confidence=0.9)
    assert gate.threshold is not None and gate.certified_share > 0.5
    assert gate.evidence == 120


def test_random_labels_are_never_certified():
    vectors, triplets = clusters(4, 30)
    shuffled = [triplets[i] for i in np.random.default_rng(1).permutation(len(triplets))]
    heads = Trainer(vectors, shuffled).train()
    gate = calibrate(heads, NONE, (vectors, shuffled), NONE, target=0.95, step=50, scope=0.6, confidence=0.9)
    assert gate.threshold is None


def test_random_labels_are_never_certified_by_heads_that_vote_with_their_neighbours():
    # loose clusters: a prompt is far nearer itself than its neighbours, so a fold model that remembered
    # the fold it is judged on would vote each prompt its own label
    vectors, triplets = clusters(4, 30, spread=0.65)
    shuffled = [triplets[i] for i in np.random.default_rng(1).permutation(len(triplets))]
    voting = {"neighbour_weight": 1.0}
    heads = Trainer(vectors, shuffled, **voting).train()
    gate = calibrate(
        heads, NONE, (vectors, shuffled), NONE, target=0.95, step=50, scope=0.6, confidence=0.9, learning=voting
    )
    assert gate.threshold is None
    assert all(gate.heads[head].threshold is None for head in ("action", "category"))


def test_too_little_evidence_certifies_nothing():
    vectors, triplets = clusters(2, 10)
    heads = Trainer(vectors, triplets).train()
    gate = calibrate(heads, (vectors, triplets), NONE, NONE, target=0.95, step=50, scope=0.6, confidence=0.9)
    assert (gate.threshold, gate.evidence) == (None, 20)


def test_a_head_that_is_always_right_is_certified_alone_when_the_triplet_is_not():
    vectors, triplets = clusters(4, 30)
    rng = np.random.default_rng(2)
    noisy = [{**t, "action": f"a{rng.integers(2)}"} for t in triplets]  # category follows the cluster, action is a coin
    heads = Trainer(vectors, noisy).train()
    gate = calibrate(heads, NONE, (vectors, noisy), NONE, target=0.95, step=50, scope=0.6, confidence=0.9)
    assert gate.threshold is None
    assert gate.heads["category"].threshold is not None and gate.heads["category"].certified_share > 0.5
    assert gate.heads["action"].threshold is None


def test_nothing_is_certified_that_the_model_itself_is_less_sure_of_than_the_target():
    sureness = np.linspace(5, -5, 200)
    gate = certificate(sureness, [True] * 200, np.ones(200), target=0.95, step=50, scope=0.6, confidence=0.9)
    assert gate.threshold == pytest.approx(np.log(0.95 / 0.05))
    assert gate.certified_share == pytest.approx(np.mean(sureness >= np.log(0.95 / 0.05)))


def test_a_fine_tuned_encoders_scope_keeps_as_many_human_examples_in_scope_as_the_stock_one():
    rng = np.random.default_rng(0)
    stock = rng.uniform(0.3, 0.9, 500)
    tuned = stock * 0.5 + 0.5  # every similarity drawn closer, the order kept
    scope = matching_scope(stock, 0.6)(tuned)
    assert np.mean(tuned < scope) == pytest.approx(np.mean(stock < 0.6), abs=0.01)
    assert scope == pytest.approx(0.8, abs=0.01)


def test_rejected_prompts_lower_the_scope_to_just_above_the_most_similar_one():
    assert below_rejected(0.6, np.array([0.118, 0.424, 0.3])) == 0.43


def test_rejected_prompts_never_raise_the_scope():
    assert below_rejected(0.6, np.array([0.2, 0.75])) == 0.6


def test_rejected_prompts_bound_a_fine_tuned_encoders_matched_scope_too():
    matched = below_rejected(lambda similarity: float(np.median(similarity)), np.array([0.5]))
    assert (matched(np.array([0.3, 0.4, 0.9])), matched(np.array([0.6, 0.8, 0.9]))) == (0.4, 0.51)


def test_held_out_similarity_compares_each_row_with_the_other_folds_only():
    vectors = np.eye(4, dtype=np.float32)[[0, 0, 1, 1]]  # rows 0 and 1 alike, 2 and 3 alike: other folds
    alternating = np.array([0, 1, 0, 1])
    np.testing.assert_array_equal(held_out_similarity(vectors, alternating), [1, 1, 1, 1])
    np.testing.assert_array_equal(held_out_similarity(vectors, np.arange(4)), [1, 1, 1, 1])
    np.testing.assert_array_equal(held_out_similarity(np.eye(4, dtype=np.float32), alternating), [0, 0, 0, 0])


def test_each_fold_holds_its_share_of_every_triplet_people_labelled():
    common = {"subject": "Note", "action": "Find", "category": "Knowledge"}
    rare = {"subject": "Task", "action": "Create", "category": "Work"}
    triplets = [common] * 20 + [rare] * 10  # in labelling order: taking rows in turn would not balance them
    fold_of = fold_numbers(triplets, 5)
    for fold in range(5):
        held = [t for t, f in zip(triplets, fold_of) if f == fold]
        assert (held.count(common), held.count(rare)) == (4, 2)


def test_the_folds_are_the_same_in_every_run():
    triplets = [{"subject": s, "action": "Find", "category": "Knowledge"} for s in "ABCDE" * 7]
    np.testing.assert_array_equal(fold_numbers(triplets, 5), fold_numbers(triplets, 5))


def test_a_seed_of_one_example_per_triplet_is_still_split_into_folds():
    triplets = [{"subject": f"S{i}", "action": "Find", "category": "Knowledge"} for i in range(12)]
    assert sorted(np.bincount(fold_numbers(triplets, 5))) == [2, 2, 2, 3, 3]

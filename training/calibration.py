"""Certifies when auto-accepting a prediction is safe, measured on human-labelled data only.

A prediction's gate score is the sureness of its least sure head (log-odds of its top label), lifted
above every unsupported prediction when a human-labelled example at least `close_at` similar
carries exactly the predicted triplet (agreement of two independent signals). The gate auto-accepts at or above a score threshold only where a one-sided 95%
lower bound on the exact-triplet precision of the accepted set reaches the target with enough
support; otherwise nothing is auto-accepted and a person decides.

The evidence: the holdout, scored by the model itself (never trained on it), and every human-labelled
training example, scored by cross-validation (a model trained without its fold, neighbours from the
other folds), so that there is enough evidence long before the holdout alone would be.
"""

import math
from statistics import NormalDist

import numpy as np

from .models import HEADS
from .trainer import Trainer



def precision_lower_bound(correct, total, confidence=0.95):
    """One-sided Wilson score lower bound of a proportion at the given confidence level."""
    z = NormalDist().inv_cdf(confidence)
    if total == 0:
        return 0.0
    p = correct / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return (centre - margin) / (1 + z * z / total)


def certified_threshold(scores, correct, target, min_support, confidence=0.95):
    """The lowest score threshold whose accepted set (score >= threshold) keeps a precision lower bound
    of at least `target`, or None.

    Thresholds are tested from the strictest down, starting with the first accepted set of at least
    `min_support` items that could pass at all, and the walk stops at the first that fails (fixed
    sequence testing): picking the best of many noisy tests would certify luck.
    """
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    scores, correct = np.asarray(scores, dtype=float)[order], np.asarray(correct, dtype=bool)[order]
    hits = np.cumsum(correct)
    start = min_support
    while start <= len(scores) and precision_lower_bound(start, start, confidence) < target:
        start += 1
    best = None
    for k in range(start, len(scores) + 1):
        if k < len(scores) and scores[k] == scores[k - 1]:
            continue  # a threshold accepts every item of equal score
        if precision_lower_bound(int(hits[k - 1]), k, confidence) < target:
            break
        best = float(scores[k - 1])
    return best


LIFT = 1000.0  # larger than any log-odds a head produces


def gate_score(sureness, similarity, agrees, close_at):
    return np.asarray(sureness) + LIFT * (np.asarray(agrees) & (np.asarray(similarity) >= close_at))


def exact(triplets_a, triplets_b):
    return np.array([all(a[h] == b[h] for h in HEADS) for a, b in zip(triplets_a, triplets_b)], dtype=bool)


def nearest(vectors, reference):
    """(index, similarity) of the most similar reference row for each vector (unit-length rows)."""
    similarity = vectors @ reference.T
    index = similarity.argmax(axis=1)
    return index, similarity[np.arange(len(vectors)), index]


def evidence(heads, vectors, triplets, reference, reference_triplets):
    """Columns (sureness, neighbour similarity, neighbour agrees, correct) of `heads` on labelled rows."""
    predicted = heads.predict(vectors)
    guesses = [{h: predicted[h][0][i] for h in HEADS} for i in range(len(vectors))]
    least = heads.sureness(vectors)
    if len(reference_triplets):
        index, similarity = nearest(vectors, reference)
        agrees = exact(guesses, [reference_triplets[i] for i in index])
    else:
        similarity, agrees = np.zeros(len(vectors)), np.zeros(len(vectors), dtype=bool)
    return np.stack([least, similarity, agrees, exact(guesses, triplets)]).T


def out_of_fold(vectors, triplets, folds, auto_labelled):
    """Evidence for every example from a model and neighbours that never saw its fold. Each fold model
    also learns the auto-labelled examples, as the served model does, so that its sureness means the
    same."""
    auto_vectors, auto_triplets = auto_labelled
    fold_of = np.arange(len(triplets)) % folds
    rows = []
    for fold in range(folds):
        held, kept = fold_of == fold, fold_of != fold
        kept_triplets = [t for t, k in zip(triplets, kept) if k]
        heads = Trainer(np.concatenate([vectors[kept], auto_vectors]), kept_triplets + auto_triplets).train()
        rows.append(evidence(heads, vectors[held], [t for t, h in zip(triplets, held) if h], vectors[kept], kept_triplets))
    return np.concatenate(rows)


def calibrate(heads, holdout, human_train, auto_train, target, min_support, close_at, confidence=0.95, folds=5):
    """The gate a model version serves with. `holdout`, `human_train` (the human-labelled training
    examples) and `auto_train` (the auto-labelled ones it was trained on) are (vectors, triplets)."""
    parts = []
    if len(human_train[1]) >= 2 * folds:
        parts.append(out_of_fold(*human_train, folds, auto_train))
    if len(holdout[1]):
        parts.append(evidence(heads, *holdout, *human_train))
    gate = {"target": target, "min_support": min_support, "confidence": confidence, "close_at": close_at,
            "threshold": None, "evidence": int(sum(len(p) for p in parts)), "certified_share": 0.0}
    if not parts:
        return gate
    least, similarity, agrees, correct = np.concatenate(parts).T
    scores = gate_score(least, similarity, agrees.astype(bool), close_at)
    threshold = certified_threshold(scores, correct, target, min_support, confidence)
    if threshold is not None:
        gate.update(threshold=threshold, certified_share=round(float(np.mean(scores >= threshold)), 4))
    return gate

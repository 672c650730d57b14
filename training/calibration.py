"""Certifies when auto-accepting a prediction is safe, measured on human-labelled data only.

A prediction's gate score is its sureness (the log-odds of the predicted triplet). A prompt with no
human-labelled example at least `scope` similar is out of scope and never scores. The gate
auto-accepts at or above a score threshold only where a one-sided lower bound on the exact-triplet
precision of the accepted set reaches the target; otherwise a person decides. Each head is certified
the same way on its own labels, so that a head that is sure can be auto-labelled while a person
decides the triplet.

The evidence: the holdout, scored by the version's blind heads (never trained on it), and every
human-labelled training example, scored by cross-validation (a model trained without its fold and the
auto-labelled data, its scope measured against the other folds), so that there is evidence long before
the holdout alone would be enough.
"""

import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
from scipy.stats import beta, binomtest
from sklearn.model_selection import KFold, StratifiedKFold

from .card import Certificate, Proof
from .models import HEADS
from .trainer import Trainer

OUT_OF_SCOPE = -np.inf


def precision_lower_bound(correct, total, confidence=0.95) -> float:
    """One-sided Clopper-Pearson (exact) lower bound of a proportion: its coverage never falls below
    `confidence`, where Wilson's does near 1, which is where certificates are made."""
    if correct == 0:
        return 0.0
    return float(beta.ppf(1 - confidence, correct, total - correct + 1))


def precision_upper_bound(correct, total, confidence=0.95) -> float:
    """One-sided Wilson upper bound of a proportion, lower than the exact one: a head is paused on less
    evidence, erring towards a person labelling it."""
    if total == 0:
        return 1.0
    return float(binomtest(correct, total).proportion_ci(2 * confidence - 1, method="wilson").high)


def certified_threshold(scores, correct, target, step, confidence=0.95) -> float | None:
    """The lowest score threshold whose accepted set (score >= threshold) keeps a precision lower bound
    of at least `target`, or None.

    Accepted sets of `step`, 2 x `step`, ... items are tested from the strictest, and the walk stops at
    the first that fails (fixed sequence testing): picking the best of many noisy tests would certify
    luck.
    """
    scores, correct = ranked(scores, correct)
    hits = np.cumsum(correct)
    best = None
    for k in accepted_sizes(scores, step):
        if scores[k - 1] == OUT_OF_SCOPE or precision_lower_bound(int(hits[k - 1]), k, confidence) < target:
            break
        best = float(scores[k - 1])
    return best


def ranked(scores, correct) -> tuple[np.ndarray, np.ndarray]:
    """The scores from the highest, and whether each item was right, in the same order."""
    scores, correct = np.asarray(scores, dtype=float), np.asarray(correct, dtype=bool)
    order = np.argsort(-scores, kind="stable")
    return scores[order], correct[order]


def accepted_sizes(ranked_scores, step) -> Iterator[int]:
    """The sizes of the accepted sets the threshold test tries, strictest first: `step`, 2 x `step`, ...
    items, each grown to every item of the same score (a threshold accepts them all)."""
    for k in range(step, len(ranked_scores) + 1, step):
        while k < len(ranked_scores) and ranked_scores[k] == ranked_scores[k - 1]:
            k += 1
        yield k


def gate_score(sureness, similarity, scope) -> np.ndarray:
    return np.where(np.asarray(similarity) >= scope, sureness, OUT_OF_SCOPE)


class Evidence(NamedTuple):
    """Per labelled row: the triplet's sureness and whether the triplet was right, each head's sureness
    and whether its label was right, and the similarity of the nearest reference row."""

    sureness: np.ndarray
    correct: np.ndarray
    head_sureness: dict
    head_correct: dict
    similarity: np.ndarray

    @classmethod
    def concatenate(cls, parts):
        return cls(
            np.concatenate([p.sureness for p in parts]),
            np.concatenate([p.correct for p in parts]),
            {h: np.concatenate([p.head_sureness[h] for p in parts]) for h in HEADS},
            {h: np.concatenate([p.head_correct[h] for p in parts]) for h in HEADS},
            np.concatenate([p.similarity for p in parts]),
        )


def evidence(heads, vectors, triplets, reference) -> Evidence:
    """The Evidence of `heads` on labelled rows."""
    predicted = heads.predict(vectors)
    head_correct = {h: np.array(predicted.per_head[h][0]) == np.array([t[h] for t in triplets]) for h in HEADS}
    similarity = (vectors @ reference.T).max(axis=1) if len(reference) else np.zeros(len(vectors))
    return Evidence(
        predicted.sureness,
        np.logical_and.reduce(list(head_correct.values())),
        predicted.head_sureness,
        head_correct,
        similarity,
    )


def out_of_fold(vectors, triplets, folds, auto_labelled, learning, fit_fold=None) -> Evidence:
    """Evidence for every example from a model and a reference that never saw its fold. Each fold model
    also learns the auto-labelled examples and, with the same Trainer options (`learning`), the
    traffic, as the served model does, so that its sureness means the same.

    `fit_fold(kept)` -> (heads, vectors): a fold model trained on the rows where `kept` is True, and every
    row's vector as that model sees them. The default trains heads on `vectors`; a run whose encoder was
    fine-tuned passes one that fine-tunes an encoder per fold, so that no encoder saw the labels it is
    scored on."""
    fit_fold = fit_fold or heads_fold(vectors, triplets, auto_labelled, learning)
    fold_of = fold_numbers(triplets, folds)
    parts = []
    for fold in range(folds):
        held, kept = fold_of == fold, fold_of != fold
        heads, fold_vectors = fit_fold(kept)
        parts.append(evidence(heads, fold_vectors[held], [t for t, h in zip(triplets, held) if h], fold_vectors[kept]))
    return Evidence.concatenate(parts)


def heads_fold(vectors, triplets, auto_labelled, learning) -> Callable:
    """The fold models of a frozen encoder: heads trained on the kept rows' vectors and the auto-labelled ones."""
    auto_vectors, auto_triplets = auto_labelled

    def fit(kept):
        kept_triplets = [t for t, k in zip(triplets, kept) if k]
        return Trainer(
            np.concatenate([vectors[kept], auto_vectors]), kept_triplets + auto_triplets, **learning
        ).train(), vectors

    return fit


def fold_numbers(triplets, folds: int) -> np.ndarray:
    """Each row's fold, stratified by triplet so that every fold holds its share of each triplet people
    labelled (scikit-learn's StratifiedKFold, shuffled with a fixed seed: a run is repeatable). While no
    triplet was labelled as many times as there are folds (a seed of one example each), there is nothing
    to stratify: the rows are shuffled into folds."""
    labels = ["|".join(t[head] for head in HEADS) for t in triplets]
    fold_of = np.zeros(len(labels), dtype=int)
    stratify = bool(labels) and max(Counter(labels).values()) >= folds
    splitter = (StratifiedKFold if stratify else KFold)(folds, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # triplets seen fewer times than there are folds: spread anyway
        for fold, (_, held) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
            fold_of[held] = fold
    return fold_of


def held_out_similarity(vectors, fold_of) -> np.ndarray:
    """Each row's similarity to its most similar row of the other folds (`fold_of`: each row's fold): how
    far from the labelled examples it knows a new in-scope prompt lies."""
    similarity = np.zeros(len(vectors))
    for fold in np.unique(fold_of):
        held, kept = fold_of == fold, fold_of != fold
        if kept.any():
            similarity[held] = (vectors[held] @ vectors[kept].T).max(axis=1)
    return similarity


def matching_scope(stock_similarity, stock_scope) -> Callable[[np.ndarray], float]:
    """A scope for another encoder that keeps as many held-out human examples in scope as `stock_scope`
    keeps with the stock encoder: a fine-tuned encoder draws similar prompts closer, so a fixed 0.6 would
    mean something else with it."""
    share_out = float(np.mean(np.asarray(stock_similarity) < stock_scope)) if len(stock_similarity) else 0.0
    return lambda similarity: (
        np.quantile(similarity, share_out) if share_out > 0 else min(stock_scope, float(np.min(similarity)))
    )


def below_rejected(scope, rejected_similarity) -> float | Callable[[np.ndarray], float]:
    """`scope` (a similarity, or a function of the evidence's similarities giving one) lowered to just above
    `rejected_similarity`, the prompts people rejected, each at its nearest human-labelled example's
    similarity: what people turned away says where the labelled intents end. Of new prompts like the n
    rejected ones, 1 in n + 1 is more similar than all of them, so few are enough to lower the bar and it is
    never raised above `scope`."""
    above = round(math.floor(100 * float(np.max(rejected_similarity)) + 1e-9) / 100 + 0.01, 2)
    if callable(scope):
        return lambda similarity: min(scope(similarity), above)
    return min(scope, above)


def certificate(sureness, correct, similarity, target, step, scope, confidence) -> Proof:
    """The Proof the evidence gives: the certified sureness threshold (or None), its share of the evidence,
    and how many of the `step` surest in-scope predictions (the first set tested) were right.

    The threshold is never below the target's own log-odds: the model must itself be at least as sure as
    the precision asked for, since the evidence comes from models close to, not the same as, the one that
    serves."""
    scores = gate_score(sureness, similarity, scope)
    threshold = certified_threshold(scores, correct, target, step, confidence)
    if threshold is not None:
        threshold = max(threshold, math.log(target / (1 - target)))
    share = 0.0 if threshold is None else round(float(np.mean(scores >= threshold)), 4)
    scores, correct = ranked(scores, correct)
    in_scope = int(np.sum(scores > OUT_OF_SCOPE))
    surest = next(accepted_sizes(scores, step)) if in_scope >= step else in_scope
    return Proof(
        threshold, share, surest, int(correct[:surest].sum()), least_right(max(surest, step), target, confidence)
    )


def least_right(tested, target, confidence) -> int | None:
    """The fewest right of `tested` predictions that certify a threshold, or None if none can."""
    return next(
        (right for right in range(tested + 1) if precision_lower_bound(right, tested, confidence) >= target), None
    )


def calibrate(
    heads, holdout, human_train, auto_train, target, step, scope, confidence=0.95, folds=5, learning=None, fit_fold=None
) -> Certificate:
    """The Certificate a model version serves with: for whole triplets and per head (for auto-labelling
    only the heads that are sure). `holdout`, `human_train` (the human-labelled training examples) and
    `auto_train` (the auto-labelled ones it was trained on) are (vectors, triplets); `learning` holds the
    Trainer options `heads` was trained with; `fit_fold` see `out_of_fold`. `scope` is a similarity, or a
    function of the evidence's similarities giving one."""
    parts = []
    if len(human_train[1]) >= 2 * folds:
        parts.append(out_of_fold(*human_train, folds, auto_train, learning or {}, fit_fold))
    if len(holdout[1]):
        parts.append(evidence(heads, *holdout, human_train[0]))
    evidence_count = int(sum(len(p.correct) for p in parts))
    if not parts:
        return Certificate(target, step, confidence, None if callable(scope) else scope, evidence_count)
    found = Evidence.concatenate(parts)
    if callable(scope):
        scope = round(float(scope(found.similarity)), 4)
    rule = {"target": target, "step": step, "scope": scope, "confidence": confidence}
    return Certificate(
        target,
        step,
        confidence,
        scope,
        evidence_count,
        certificate(found.sureness, found.correct, found.similarity, **rule),
        {h: certificate(found.head_sureness[h], found.head_correct[h], found.similarity, **rule) for h in HEADS},
    )

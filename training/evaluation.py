"""Scores a model on labelled examples: per head accuracy, macro-F1, per-class precision and
recall, a confusion matrix, exact-triplet accuracy, and the log-loss of the gold labels."""

import math

import numpy as np
import torch

from .heads import in_chunks
from .models import HEADS

# A gold label the model does not know, or gives less than 1 in 10,000, costs the same per head: one
# confident mistake must not outweigh many examples the model gets right.
LOSS_CAP = -math.log(1e-4)


def head_metrics(gold, predicted) -> dict:
    classes = sorted(set(gold) | set(predicted))
    index = {label: i for i, label in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)), dtype=int)
    for g, p in zip(gold, predicted):
        confusion[index[g], index[p]] += 1
    true_positive = np.diag(confusion)
    predicted_count = confusion.sum(axis=0)
    gold_count = confusion.sum(axis=1)
    precision = np.divide(true_positive, predicted_count, out=np.zeros(len(classes)), where=predicted_count > 0)
    recall = np.divide(true_positive, gold_count, out=np.zeros(len(classes)), where=gold_count > 0)
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros(len(classes)), where=(precision + recall) > 0
    )
    present = gold_count > 0  # macro-F1 over the classes the holdout actually has
    return {
        "accuracy": float(true_positive.sum() / max(len(gold), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            label: {"precision": float(precision[i]), "recall": float(recall[i]), "support": int(gold_count[i])}
            for label, i in index.items()
        },
        "confusion": {"labels": classes, "matrix": confusion.tolist()},
    }


def item_losses(heads, embeddings, triplets) -> np.ndarray:
    """Per example, the log-loss of its gold labels summed over the heads (lower is better): unlike
    accuracy it credits a model for how much probability it gives the right answer, so a small holdout
    tells two models apart with far fewer examples."""
    with torch.no_grad():
        parts = [heads.head_log_probs(part) for part in in_chunks(embeddings)]
    losses = np.zeros(len(triplets))
    for head in HEADS:
        log_p = np.concatenate([part[head].numpy() for part in parts])
        index = {label: i for i, label in enumerate(heads.labels[head])}
        for row, triplet in enumerate(triplets):
            column = index.get(triplet[head])
            losses[row] += LOSS_CAP if column is None else min(-log_p[row, column], LOSS_CAP)
    return losses


def item_hits(heads, embeddings, triplets) -> dict[str, np.ndarray]:
    """Per head, whether `heads` predict each example's label."""
    return label_hits(heads.predict(embeddings).per_head, triplets)


def label_hits(per_head, triplets) -> dict[str, np.ndarray]:
    """Per head, whether the predicted label (`per_head`, as Prediction.per_head) is each example's."""
    return {head: np.array([per_head[head][0][i] == t[head] for i, t in enumerate(triplets)], bool) for head in HEADS}


def whole_triplets(hits) -> np.ndarray:
    """Per example, whether every head's label is right (`hits`: per head, as label_hits gives them)."""
    return np.logical_and.reduce([hits[head] for head in HEADS])


def evaluate(heads, embeddings, triplets) -> dict | None:
    """Metrics of `heads` on the examples; an empty set scores as None."""
    if len(triplets) == 0:
        return None
    predictions = heads.predict(embeddings).per_head
    metrics = {head: head_metrics([t[head] for t in triplets], predictions[head][0]) for head in HEADS}
    metrics["exact"] = float(np.mean(whole_triplets(label_hits(predictions, triplets))))
    metrics["mean_macro_f1"] = float(np.mean([metrics[head]["macro_f1"] for head in HEADS]))
    metrics["log_loss"] = float(item_losses(heads, embeddings, triplets).mean())
    metrics["size"] = len(triplets)
    return metrics

"""Trains the three heads on cached embeddings: a plain object with a `train()`."""

import math

import numpy as np
import torch
from torch import nn

from .heads import TripletHeads
from .models import HEADS

UNLABELLED = -100
NO_TRAFFIC_VECTORS = np.zeros((0, 0), dtype=np.float32)
NO_NAMES = (NO_TRAFFIC_VECTORS, [])


def vocabulary(triplets) -> dict[str, list[str]]:
    return {head: sorted({t[head] for t in triplets if t[head]}) for head in HEADS}


def known_triplets(triplets) -> list[tuple[str, str, str]]:
    """The complete label combinations; an example that labels only some heads adds none."""
    return sorted({tuple(t[head] for head in HEADS) for t in triplets if all(t[head] for head in HEADS)})


def sure_guesses(heads, vectors, confidence) -> tuple[np.ndarray, list[dict]]:
    """(which rows, their triplets): the rows whose predicted triplet is at least `confidence` probable."""
    predicted = heads.predict(vectors)
    sure = predicted.sureness >= math.log(confidence / (1 - confidence))
    guesses = [{head: predicted.per_head[head][0][row] for head in HEADS} for row in np.flatnonzero(sure)]
    return sure, guesses


class Trainer:
    def __init__(
        self,
        embeddings,
        triplets,
        steps=300,
        batch_size=1024,
        seed=0,
        progress=None,
        traffic=NO_TRAFFIC_VECTORS,
        traffic_confidence=0.8,
        neighbour_weight=0.0,
        names=NO_NAMES,
    ):
        """`progress(fraction)` is called while training, if given.

        `traffic`: vectors of prompts nobody labelled. With some, the heads are trained twice, the
        second time also on the traffic the first heads were at least `traffic_confidence` sure of
        (self-training). The guesses only shape this training; they are never stored as labels.

        `neighbour_weight`: above 0, the heads remember the labelled examples and mix their own
        probabilities with the vote of the nearest ones (`TripletHeads.remember`).

        `names`: (vectors, triplets) of the label names (`label_names.py`), learned as examples."""
        if not known_triplets(triplets):
            raise ValueError("There is nothing to train on: no example labels every head.")
        name_vectors, name_triplets = names
        self.embeddings = np.asarray(embeddings, dtype=np.float32)
        self.triplets = list(triplets)
        if name_triplets:
            self.embeddings = np.concatenate([self.embeddings, np.asarray(name_vectors, dtype=np.float32)])
            self.triplets += name_triplets
        self.steps = steps
        self.batch_size = batch_size
        self.seed = seed
        self.progress = progress or (lambda fraction: None)
        self.traffic = np.asarray(traffic, dtype=np.float32)
        self.traffic_confidence = traffic_confidence
        self.neighbour_weight = neighbour_weight

    def train(self) -> TripletHeads:
        if not len(self.traffic):
            return self._fit(self.embeddings, self.triplets, 0.0, 1.0)
        first = self._fit(self.embeddings, self.triplets, 0.0, 0.5)
        sure, guesses = sure_guesses(first, self.traffic, self.traffic_confidence)
        return self._fit(np.concatenate([self.embeddings, self.traffic[sure]]), self.triplets + guesses, 0.5, 1.0)

    def _fit(self, embeddings, triplets, start, end):
        """Heads for the labels of `self.triplets` (guesses add none), trained on `triplets`; progress
        is reported from `start` to `end`."""
        generator = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        labels = vocabulary(self.triplets)
        heads = TripletHeads(labels, known_triplets(self.triplets), dimensions=embeddings.shape[1])
        embeddings = torch.as_tensor(embeddings)
        targets = label_indices(labels, triplets)
        optimizer = torch.optim.AdamW(heads.parameters(), lr=0.05, weight_decay=1e-3)
        loss_fn = nn.CrossEntropyLoss(ignore_index=UNLABELLED, reduction="sum")
        count = len(triplets)
        heads.train()
        for step in range(self.steps):
            batch = torch.randint(count, (min(self.batch_size, count),), generator=generator)
            logits = heads(embeddings[batch])
            # summed, then divided by the batch: a head learns from the examples that label it,
            # with the same weight per example as the other heads
            loss = sum(loss_fn(logits[head], targets[head][batch]) for head in HEADS) / len(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step % 25 == 0:
                self.progress(start + (end - start) * step / self.steps)
        self.progress(end)
        heads.eval()
        if self.neighbour_weight:
            heads.remember(self.embeddings, self.triplets, self.neighbour_weight)
        return heads


def label_indices(labels, triplets) -> dict[str, torch.Tensor]:
    """Per head, each example's label index, or UNLABELLED where it leaves the head blank."""
    index = {head: {label: i for i, label in enumerate(labels[head])} for head in HEADS}
    return {head: torch.tensor([index[head].get(t[head], UNLABELLED) for t in triplets]) for head in HEADS}

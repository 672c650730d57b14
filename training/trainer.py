"""Trains the three heads on cached embeddings: a plain object with a `train()`."""

import numpy as np
import torch
from torch import nn

from .heads import TripletHeads
from .models import HEADS

UNLABELLED = -100


def vocabulary(triplets):
    return {head: sorted({t[head] for t in triplets if t[head]}) for head in HEADS}


def known_triplets(triplets):
    """The complete label combinations; an example that labels only some heads adds none."""
    return sorted({tuple(t[head] for head in HEADS) for t in triplets if all(t[head] for head in HEADS)})


class Trainer:
    def __init__(self, embeddings, triplets, steps=300, batch_size=1024, seed=0, progress=None):
        """`progress(fraction)` is called while training, if given."""
        if not known_triplets(triplets):
            raise ValueError("There is nothing to train on: no example labels every head.")
        self.embeddings = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
        self.triplets = list(triplets)
        self.steps = steps
        self.batch_size = batch_size
        self.seed = seed
        self.progress = progress or (lambda fraction: None)

    def _targets(self, labels):
        """Per head, each example's label index, or UNLABELLED where it leaves the head blank."""
        index = {head: {label: i for i, label in enumerate(labels[head])} for head in HEADS}
        return {
            head: torch.tensor([index[head].get(t[head], UNLABELLED) for t in self.triplets])
            for head in HEADS
        }

    def train(self):
        generator = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        labels = vocabulary(self.triplets)
        heads = TripletHeads(labels, known_triplets(self.triplets), dimensions=self.embeddings.shape[1])
        targets = self._targets(labels)
        optimizer = torch.optim.AdamW(heads.parameters(), lr=0.05, weight_decay=1e-3)
        loss_fn = nn.CrossEntropyLoss(ignore_index=UNLABELLED, reduction="sum")
        count = len(self.triplets)
        heads.train()
        for step in range(self.steps):
            batch = torch.randint(count, (min(self.batch_size, count),), generator=generator)
            logits = heads(self.embeddings[batch])
            # summed, then divided by the batch: a head learns from the examples that label it,
            # with the same weight per example as the other heads
            loss = sum(loss_fn(logits[head], targets[head][batch]) for head in HEADS) / len(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step % 25 == 0:
                self.progress(step / self.steps)
        self.progress(1.0)
        heads.eval()
        return heads

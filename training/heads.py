"""The three classification heads over a frozen sentence embedding."""

import io
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .encoder import DIMENSIONS
from .models import HEADS

UNKNOWN = "Unknown"


class HeadPredictions(NamedTuple):
    per_head: dict
    sureness: np.ndarray


class TripletHeads(nn.Module):
    """One linear softmax head per triplet part; `labels[head]` names each output."""

    def __init__(self, labels, dimensions=DIMENSIONS):
        super().__init__()
        self.labels = {head: list(labels[head]) for head in HEADS}
        self.layers = nn.ModuleDict(
            {head: nn.Linear(dimensions, len(self.labels[head])) for head in HEADS}
        )

    def forward(self, embeddings):
        return {head: layer(embeddings) for head, layer in self.layers.items()}

    @torch.no_grad()
    def predict(self, embeddings):
        """One forward pass: `per_head` = {head: (labels, confidences)} for each row, before any
        Unknown threshold, and `sureness` = per row, the least sure head's log-odds for its top label
        (log p - log(1 - p) from the logits, which keeps ordering predictions where a float softmax
        already says 1.0)."""
        self.eval()
        logits = self(torch.as_tensor(np.asarray(embeddings, dtype=np.float32)))
        per_head, log_odds = {}, []
        for head, value in logits.items():
            top = value.max(dim=1)
            others = value.clone()
            others[torch.arange(len(value)), top.indices] = -torch.inf
            log_odds.append(top.values - torch.logsumexp(others, dim=1))
            confidence = torch.softmax(value, dim=1).max(dim=1).values.numpy()
            per_head[head] = ([self.labels[head][i] for i in top.indices.tolist()], confidence)
        return HeadPredictions(per_head, torch.stack(log_odds).min(dim=0).values.numpy())

    def to_bytes(self):
        buffer = io.BytesIO()
        torch.save({"labels": self.labels, "state_dict": self.state_dict()}, buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data):
        # weights_only: the file can hold tensors, strings and lists, never code to run.
        saved = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
        heads = cls(saved["labels"])
        heads.load_state_dict(saved["state_dict"])
        heads.eval()
        return heads

"""The three classification heads over a frozen sentence embedding."""

import io

import numpy as np
import torch
from torch import nn

from .encoder import DIMENSIONS
from .models import HEADS

UNKNOWN = "Unknown"


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
    def probabilities(self, embeddings):
        """{head: array (n, labels)} of softmax probabilities."""
        self.eval()
        logits = self(torch.as_tensor(np.asarray(embeddings, dtype=np.float32)))
        return {head: torch.softmax(value, dim=1).numpy() for head, value in logits.items()}

    @torch.no_grad()
    def sureness(self, embeddings):
        """Per row, the least sure head's log-odds for its top label: log p - log(1 - p), computed from
        the logits so that it keeps ordering predictions where a float softmax already says 1.0."""
        self.eval()
        logits = self(torch.as_tensor(np.asarray(embeddings, dtype=np.float32)))
        per_head = []
        for value in logits.values():
            top = value.max(dim=1)
            others = value.clone()
            others[torch.arange(len(value)), top.indices] = -torch.inf
            per_head.append(top.values - torch.logsumexp(others, dim=1))
        return torch.stack(per_head).min(dim=0).values.numpy()

    def predict(self, embeddings):
        """{head: (labels, confidences)} for each row, before any Unknown threshold."""
        result = {}
        for head, probs in self.probabilities(embeddings).items():
            best = probs.argmax(axis=1)
            result[head] = ([self.labels[head][i] for i in best], probs.max(axis=1))
        return result

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

"""The three classification heads over a frozen sentence embedding, decoded together: a prediction is
always a triplet the model was trained on."""

import io
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .encoder import DIMENSIONS
from .models import HEADS
# log-odds are clipped: a sure prediction must stay a finite number in JSON (PostgreSQL refuses Infinity)
MAX_LOG_ODDS = 50.0


class HeadPredictions(NamedTuple):
    per_head: dict
    sureness: np.ndarray
    head_sureness: dict


def log_odds(log_p, log_not_p):
    return torch.clamp(log_p - log_not_p, -MAX_LOG_ODDS, MAX_LOG_ODDS)


def own_log_odds(logits, chosen):
    """Per row, the log-odds of the chosen output under this head's own softmax."""
    log_p = torch.log_softmax(logits, dim=1)
    rows = torch.arange(len(log_p))
    others = log_p.index_put((rows, chosen), torch.tensor(-torch.inf))
    return log_odds(log_p[rows, chosen], torch.logsumexp(others, dim=1))


class TripletHeads(nn.Module):
    """One linear softmax head per triplet part; `labels[head]` names each output. `triplets` are the
    label combinations the model knows, as (subject, action, category) tuples: the heads' scores add up
    per known triplet and the best one wins, so an action never comes with a category it was never
    seen in."""

    def __init__(self, labels, triplets, dimensions=DIMENSIONS):
        super().__init__()
        self.labels = {head: list(labels[head]) for head in HEADS}
        self.triplets = [tuple(t) for t in triplets]
        self.layers = nn.ModuleDict(
            {head: nn.Linear(dimensions, len(self.labels[head])) for head in HEADS}
        )
        index = {head: {label: i for i, label in enumerate(self.labels[head])} for head in HEADS}
        # column j of each head: the output index of that head's label in known triplet j
        self._columns = {
            head: torch.tensor([index[head][t[k]] for t in self.triplets], dtype=torch.long)
            for k, head in enumerate(HEADS)
        }

    def forward(self, embeddings):
        return {head: layer(embeddings) for head, layer in self.layers.items()}

    def triplet_log_probs(self, logits):
        """log P(triplet) over the known triplets, one row per embedding."""
        scores = sum(torch.log_softmax(logits[head], dim=1)[:, self._columns[head]] for head in HEADS)
        return torch.log_softmax(scores, dim=1)

    @torch.no_grad()
    def predict(self, embeddings):
        """One forward pass: `per_head` = {head: (labels, confidences)} of the most probable known
        triplet, before any Unknown threshold, a head's confidence being the probability of its label
        summed over the known triplets; `sureness` = per row, the log-odds of that triplet (from
        log-probabilities, which keep ordering predictions where a float probability already says 1.0);
        and `head_sureness` = {head: the log-odds of that head's label, the lower of its log-odds over the
        known triplets and under the head alone}.

        The lower of the two, because the decoding alone can make a label look certain that the head is
        not sure of: a category with one known action makes that action as sure as the category, and
        the traffic has intents no labelled example showed yet."""
        self.eval()
        logits = self(torch.as_tensor(np.asarray(embeddings, dtype=np.float32)))
        log_p = self.triplet_log_probs(logits)
        best = log_p.argmax(dim=1)
        rows = torch.arange(len(log_p))
        others = log_p.clone()
        others[rows, best] = -torch.inf
        sureness = log_odds(log_p[rows, best], torch.logsumexp(others, dim=1))
        per_head, head_sureness = {}, {}
        for head in HEADS:
            columns = self._columns[head]
            chosen = columns[best]
            same_label = columns[None, :] == chosen[:, None]
            log_label = torch.logsumexp(log_p.masked_fill(~same_label, -torch.inf), dim=1)
            per_head[head] = ([self.labels[head][i] for i in chosen.tolist()], log_label.exp().numpy())
            log_other = torch.logsumexp(log_p.masked_fill(same_label, -torch.inf), dim=1)
            head_sureness[head] = torch.minimum(log_odds(log_label, log_other),
                                                own_log_odds(logits[head], chosen)).numpy()
        return HeadPredictions(per_head, sureness.numpy(), head_sureness)

    def to_bytes(self):
        buffer = io.BytesIO()
        torch.save({"labels": self.labels, "triplets": [list(t) for t in self.triplets],
                    "state_dict": self.state_dict()}, buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data):
        # weights_only: the file can hold tensors, strings and lists, never code to run.
        saved = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
        heads = cls(saved["labels"], saved["triplets"])
        heads.load_state_dict(saved["state_dict"])
        heads.eval()
        return heads

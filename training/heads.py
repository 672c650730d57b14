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
# the neighbour vote: the most similar remembered examples, weighted by a softmax of their similarity
NEIGHBOURS = 10
SIMILARITY_TEMPERATURE = 20.0
# rows scored at a time, so that the similarities to a large memory stay small
CHUNK = 2048


class HeadPredictions(NamedTuple):
    per_head: dict
    sureness: np.ndarray
    head_sureness: dict


def log_odds(log_p, log_not_p) -> torch.Tensor:
    return torch.clamp(log_p - log_not_p, -MAX_LOG_ODDS, MAX_LOG_ODDS)


def in_chunks(embeddings) -> tuple[torch.Tensor, ...]:
    """The embeddings as float32 tensors of at most CHUNK rows each, in order."""
    embeddings = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
    return torch.split(embeddings, CHUNK)


def own_log_odds(log_p, chosen) -> torch.Tensor:
    """Per row, the log-odds of the chosen output under this head's own distribution."""
    rows = torch.arange(len(log_p))
    others = log_p.index_put((rows, chosen), torch.tensor(-torch.inf))
    return log_odds(log_p[rows, chosen], torch.logsumexp(others, dim=1))


class TripletHeads(nn.Module):
    """One linear softmax head per triplet part; `labels[head]` names each output. `triplets` are the
    label combinations the model knows, as (subject, action, category) tuples: the heads' scores add up
    per known triplet and the best one wins, so an action never comes with a category it was never
    seen in.

    The heads can also remember the examples they learned (`remember`): each head's probabilities are
    then mixed with a vote of the most similar of them, which a linear head over a frozen embedding
    cannot express."""

    def __init__(self, labels, triplets, dimensions=DIMENSIONS, memory_size=0, reference_size=0):
        super().__init__()
        self.labels = {head: list(labels[head]) for head in HEADS}
        self.triplets = [tuple(t) for t in triplets]
        self.layers = nn.ModuleDict({head: nn.Linear(dimensions, len(self.labels[head])) for head in HEADS})
        index = {head: {label: i for i, label in enumerate(self.labels[head])} for head in HEADS}
        # column j of each head: the output index of that head's label in known triplet j
        self._columns = {
            head: torch.tensor([index[head][t[k]] for t in self.triplets], dtype=torch.long)
            for k, head in enumerate(HEADS)
        }
        # half precision: the vectors only rank neighbours, and the file stays small
        self.register_buffer("memory", torch.zeros(memory_size, dimensions, dtype=torch.float16))
        self.register_buffer("memory_labels", torch.full((memory_size, len(HEADS)), -1, dtype=torch.long))
        self.register_buffer("memory_weight", torch.zeros(()))
        # the human-labelled examples it learned, as its encoder embeds them: the gate's measure of scope
        self.register_buffer("reference", torch.zeros(reference_size, dimensions, dtype=torch.float16))
        self._unpack_memory()

    def forward(self, embeddings) -> dict[str, torch.Tensor]:
        return {head: layer(embeddings) for head, layer in self.layers.items()}

    def remember(self, embeddings, triplets, weight) -> "TripletHeads":
        """Mix each head's probabilities, with `weight`, with the vote of the nearest of these examples;
        a label the heads do not know, or a blank one, gives no vote for that head."""
        index = [{label: i for i, label in enumerate(self.labels[head])} for head in HEADS]
        self.memory = torch.as_tensor(np.asarray(embeddings), dtype=torch.float16)
        self.memory_labels = torch.tensor(
            [[index[k].get(t[head], -1) for k, head in enumerate(HEADS)] for t in triplets], dtype=torch.long
        ).reshape(len(triplets), len(HEADS))
        self.memory_weight = torch.tensor(float(weight))
        self._unpack_memory()
        return self

    def know_reference(self, embeddings) -> "TripletHeads":
        self.reference = torch.as_tensor(np.asarray(embeddings), dtype=torch.float16)
        return self

    def _unpack_memory(self):
        """A full-precision copy of the remembered vectors, made once: converting 50,000 of them took a
        classify call 20 ms."""
        self._memory_vectors = self.memory.float()

    def head_log_probs(self, embeddings) -> dict[str, torch.Tensor]:
        """{head: log-probabilities of its labels}, one row per embedding, neighbour vote included."""
        logits = self(embeddings)
        log_p = {head: torch.log_softmax(logits[head], dim=1) for head in HEADS}
        weight = float(self.memory_weight)
        if weight == 0 or not len(self.memory):
            return log_p
        nearest = torch.topk(embeddings @ self._memory_vectors.T, min(NEIGHBOURS, len(self.memory)), dim=1)
        votes = torch.softmax(SIMILARITY_TEMPERATURE * nearest.values, dim=1)
        for k, head in enumerate(HEADS):
            labels = self.memory_labels[:, k][nearest.indices]
            counted = votes * (labels >= 0)
            total = counted.sum(dim=1, keepdim=True)
            vote = torch.zeros_like(log_p[head]).scatter_add_(1, labels.clamp(min=0), counted)
            mixed = (1 - weight) * log_p[head].exp() + weight * vote / total.clamp(min=1e-12)
            log_p[head] = torch.where(total > 0, mixed.log(), log_p[head])
        return log_p

    def triplet_log_probs(self, log_p) -> torch.Tensor:
        """log P(triplet) over the known triplets, one row per embedding, from `head_log_probs`."""
        scores = sum(log_p[head][:, self._columns[head]] for head in HEADS)
        return torch.log_softmax(scores, dim=1)

    @torch.no_grad()
    def predict(self, embeddings) -> HeadPredictions:
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
        parts = [self._predict(part) for part in in_chunks(embeddings)]
        if len(parts) == 1:
            return parts[0]
        return HeadPredictions(
            {
                head: (
                    [label for p in parts for label in p.per_head[head][0]],
                    np.concatenate([p.per_head[head][1] for p in parts]),
                )
                for head in HEADS
            },
            np.concatenate([p.sureness for p in parts]),
            {head: np.concatenate([p.head_sureness[head] for p in parts]) for head in HEADS},
        )

    def _predict(self, embeddings):
        head_log_p = self.head_log_probs(embeddings)
        log_p = self.triplet_log_probs(head_log_p)
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
            head_sureness[head] = torch.minimum(
                log_odds(log_label, log_other), own_log_odds(head_log_p[head], chosen)
            ).numpy()
        return HeadPredictions(per_head, sureness.numpy(), head_sureness)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        torch.save(
            {"labels": self.labels, "triplets": [list(t) for t in self.triplets], "state_dict": self.state_dict()},
            buffer,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data):
        # weights_only: the file can hold tensors, strings and lists, never code to run.
        saved = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
        state = saved["state_dict"]
        heads = cls(
            saved["labels"],
            saved["triplets"],
            memory_size=len(state.get("memory", ())),
            reference_size=len(state.get("reference", ())),
        )
        # files from before the neighbour vote hold no memory: they keep predicting with the heads alone;
        # files from before fine-tuning hold no reference: the detector reads it from the database
        heads.load_state_dict({**heads.state_dict(), **state})
        heads._unpack_memory()
        heads.eval()
        return heads

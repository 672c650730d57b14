"""Serves the active model version. Each call checks which version is active (one indexed query)
and swaps in a newly promoted one, or one whose heads were paused, atomically (encoder and heads in one
reference), so web processes pick it up without a restart. A process holds the active version's encoder
and, for imports and the example cache, the stock one."""

import threading
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from .batching import EmbeddingBatcher
from .card import Certificate
from .encoder import ENCODER_NAME, Encoder, stock_encoder
from .models import HEADS, UNKNOWN, ModelVersion
from .registry import human_reference, load_encoder, load_heads


@dataclass(frozen=True)
class Prediction:
    triplet: dict
    confidence: dict
    embedding: np.ndarray
    model_version: int | None
    sureness: float = 0.0  # the predicted triplet's log-odds, what the certified gate compares
    neighbour_similarity: float = 0.0  # of the most similar human-labelled example the version knows
    certificate: Certificate = field(default_factory=Certificate)
    head_sureness: dict = field(default_factory=dict)  # each head's log-odds for its label
    encoder: str = ENCODER_NAME  # the encoder that made `embedding`

    @property
    def unknown_heads(self) -> list[str]:
        return [head for head in HEADS if self.triplet[head] == UNKNOWN]

    @property
    def least_confidence(self) -> float:
        return min(self.confidence.values())


@dataclass(frozen=True)
class _Loaded:
    number: int
    sha256: str
    encoder: Encoder
    heads: object
    reference: np.ndarray  # the human-labelled examples the version knows, as its encoder embeds them
    certificate: Certificate

    @property
    def key(self):
        """What the active row must still say for this copy to serve: version, file and paused heads."""
        return self.number, self.sha256, list(self.certificate.paused)

    def nearest_similarity(self, embedding):
        return float((self.reference @ embedding).max()) if len(self.reference) else 0.0


class IntentDetector:
    def __init__(self, batcher: EmbeddingBatcher | None):
        """`batcher` embeds a lone prompt in a forward pass shared with concurrent requests (None: each
        call makes its own)."""
        self._loaded = None
        self._lock = threading.Lock()
        self.batcher = batcher

    def forget(self) -> None:
        """Drop the loaded model, as a fresh process starts (the next call loads and checks it)."""
        self._loaded = None

    def _current(self):
        row = (
            ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
            .values_list("number", "sha256", "paused_heads")
            .first()
        )
        if row is None:
            return None
        loaded = self._loaded
        if loaded is None or loaded.key != row:
            with self._lock:
                loaded = self._loaded
                if loaded is None or loaded.key != row:
                    version = ModelVersion.objects.get(number=row[0])
                    heads = load_heads(version)
                    reference = heads.reference.float().numpy() if len(heads.reference) else human_reference(version)
                    certificate = version.card.certificate
                    loaded = _Loaded(
                        version.number, version.sha256, load_encoder(version), heads, reference, certificate
                    )
                    self._loaded = loaded  # one reference swap: a request sees the old or the new
        return loaded

    def encoder(self) -> Encoder:
        """The encoder the active version embeds with (the stock one while no version is active)."""
        loaded = self._current()
        return loaded.encoder if loaded else stock_encoder()

    def encoder_named(self, name) -> Encoder | None:
        """The loaded encoder of that name, or None: vectors of an encoder no longer served can't be compared."""
        return next((e for e in (self.encoder(), stock_encoder()) if e.name == name), None)

    def predict(self, prompt: str, unknown_below: float, stock_vector=None) -> "Prediction":
        """The prediction for a prompt, a head less confident than `unknown_below` answering Unknown;
        `stock_vector`: its stock-encoder embedding when the caller has it (used only when the active
        version embeds with the stock encoder)."""
        loaded = self._current()
        encoder = loaded.encoder if loaded else stock_encoder()
        embedding = stock_vector if stock_vector is not None and encoder.is_stock else self._embed(encoder, [prompt])[0]
        return _predictions(loaded, encoder, embedding[None, :], unknown_below)[0]

    def predict_many(self, prompts, unknown_below: float, stored=None) -> list["Prediction"]:
        """The predictions for several prompts from one forward pass of the encoder and the heads (as
        predict() makes them);
        `stored`: the prompts' PromptVectors when they were embedded before, whose vectors are used
        where the active version's encoder made them."""
        loaded = self._current()
        encoder = loaded.encoder if loaded else stock_encoder()
        embeddings = stored.vectors_by(encoder) if stored is not None else self._embed(encoder, list(prompts))
        return _predictions(loaded, encoder, embeddings, unknown_below)

    def _embed(self, encoder, prompts) -> np.ndarray:
        """Several prompts in a forward pass of their own; a lone one in one shared with concurrent requests."""
        if len(prompts) == 1 and self.batcher is not None:
            return self.batcher.embed(encoder, prompts[0])[None, :]
        return encoder.embed(prompts)


def _predictions(loaded, encoder, embeddings, threshold):
    """A Prediction per row of `embeddings` from the loaded version (Unknown everywhere without one)."""
    if loaded is None:
        return [
            Prediction(dict.fromkeys(HEADS, UNKNOWN), dict.fromkeys(HEADS, 0.0), embedding, None)
            for embedding in embeddings
        ]
    predicted = loaded.heads.predict(embeddings)
    predictions = []
    for row, embedding in enumerate(embeddings):
        triplet, confidence = {}, {}
        for head in HEADS:
            label, score = predicted.per_head[head][0][row], float(predicted.per_head[head][1][row])
            triplet[head] = label if score >= threshold else UNKNOWN
            confidence[head] = round(score, 4)
        predictions.append(
            Prediction(
                triplet,
                confidence,
                embedding,
                loaded.number,
                float(predicted.sureness[row]),
                round(loaded.nearest_similarity(embedding), 4),
                loaded.certificate,
                {head: float(predicted.head_sureness[head][row]) for head in HEADS},
                encoder.name,
            )
        )
    return predictions


detector = IntentDetector(EmbeddingBatcher(window=settings.SECONDMIND_BATCH_WINDOW_MS / 1000))

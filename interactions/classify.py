"""Loop 1: classify a prompt, store the interaction, apply the gate; and explicit feedback."""

import hashlib
import random
import time

import numpy as np
from django.conf import settings
from django.db import transaction

from training.datasets import add_example
from training.detector import detector
from training.models import ModelVersion, Source, normalize_prompt

from .gate import judge
from .models import Interaction, Review, Verdict


def stable_rank(prompt):
    """A random-looking but reproducible rank in [0, 1) for the random review order."""
    digest = hashlib.sha256(("review:" + normalize_prompt(prompt)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def classify(prompt, context=None, user=None, source="api", embedding=None):
    """`embedding`: the prompt's vector when the caller already has it (a batch of many prompts)."""
    started = time.perf_counter()
    prediction = detector.predict(prompt) if embedding is None else detector.predict_embedding(embedding)
    verdict = judge(prompt, prediction)
    latency_ms = (time.perf_counter() - started) * 1000
    with transaction.atomic():
        interaction = Interaction.objects.create(
            prompt=prompt,
            context=context or {},
            user=user,
            source=source,
            embedding=np.asarray(prediction.embedding, dtype=np.float32).tobytes(),
            confidence=prediction.confidence,
            min_confidence=prediction.least_confidence,
            review_key=stable_rank(prompt),
            audit=verdict.decision == Verdict.ACCEPTED and random.random() < settings.SECONDMIND_AUDIT_RATE,
            model_version=ModelVersion.objects.filter(number=prediction.model_version).first(),
            latency_ms=round(latency_ms, 2),
            verdict=verdict.decision,
            reasons=verdict.reasons,
            thresholds=verdict.thresholds,
            **prediction.triplet,
        )
        if verdict.decision == Verdict.ACCEPTED:
            interaction.example, _ = add_example(
                prompt, prediction.triplet, Source.BATCH, user=user, embedding=prediction.embedding
            )
            interaction.save(update_fields=["example"])
    return interaction


def record_feedback(interaction, triplet, user):
    """A person's corrected triplet joins the live dataset, traced to the interaction."""
    with transaction.atomic():
        example, _ = add_example(
            interaction.prompt, triplet, Source.LIVE, user=user,
            embedding=interaction.vector(),
        )
        Review.objects.create(
            interaction=interaction, reviewer=user, decision=Review.Decision.FEEDBACK,
            before=interaction.triplet, after=example.triplet,
        )
        interaction.example = example
        interaction.save(update_fields=["example"])
    return example

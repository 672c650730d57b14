"""Loop 1: classify a prompt, store the interaction, apply the gate."""

import random
import time
from dataclasses import dataclass

import numpy as np
from django.db import IntegrityError, transaction

from training.datasets import add_example, stable_fraction
from training.detector import detector
from training.models import HEADS, Source, normalize_prompt
from training.policy import current
from training.triggers import check_traffic

from .gate import judge
from .models import Interaction, Verdict
from .rejections import rejected_prompts
from .reviews import warn_when_the_queue_is_long

# the traffic trigger counts prompts; looking every 50th keeps the count off the request path
TRAFFIC_CHECK_EVERY = 50


class KeyReused(ValueError):
    def __init__(self, key, index):
        self.index = index  # of the item in its batch
        super().__init__(
            f"The Idempotency-Key {key!r} was already used for another prompt or context: "
            "send a new key with a new request."
        )


def classify_once(prompt, context, user, retry_key) -> Interaction:
    """classify(), except that a retry (the same user and `retry_key`) answers with the interaction the
    first call stored, and stores nothing."""
    return classify_many([Item(prompt, context, retry_key)], user)[0]


def classify(prompt, context=None, user=None, source="api", embedding=None) -> Interaction:
    """`embedding`: the prompt's stock-encoder vector when the caller already has it (a batch of many prompts)."""
    policy = current()
    started = time.perf_counter()
    prediction = detector.predict(prompt, policy.gate.unknown_threshold, stock_vector=embedding)
    elapsed = time.perf_counter() - started
    return _judge_and_store(prompt, context, user, source, prediction, elapsed, None, policy)


@dataclass(frozen=True)
class Item:
    prompt: str
    context: dict | None = None
    retry_key: str | None = None  # distinct within one batch


def classify_many(items, user) -> list[Interaction]:
    """classify_once for each of `items`, from one forward pass and in one transaction: every new item
    is stored or none is. A retried item (same user and key) answers with its earlier interaction."""
    try:
        return _classify_many(items, user)
    except IntegrityError:  # a concurrent retry stored some of them first: they are retries now
        return _classify_many(items, user)


def _classify_many(items, user):
    keys = [item.retry_key for item in items if item.retry_key is not None]
    earlier = {i.retry_key: i for i in Interaction.objects.filter(user=user, retry_key__in=keys)}
    for index, item in enumerate(items):
        found = earlier.get(item.retry_key)
        if found is not None and (found.prompt, found.context) != (item.prompt, item.context or {}):
            raise KeyReused(item.retry_key, index)
    new = [index for index, item in enumerate(items) if item.retry_key not in earlier]
    policy = current()
    started = time.perf_counter()
    prompts = [items[i].prompt for i in new]
    predictions = dict(zip(new, detector.predict_many(prompts, policy.gate.unknown_threshold))) if new else {}
    seconds = (time.perf_counter() - started) / max(len(new), 1)  # each item's share of the forward pass
    with transaction.atomic():
        return [
            earlier[item.retry_key]
            if index not in predictions
            else _judge_and_store(
                item.prompt, item.context, user, "api", predictions[index], seconds, item.retry_key, policy
            )
            for index, item in enumerate(items)
        ]


def _judge_and_store(prompt, context, user, source, prediction, predict_seconds, retry_key, policy):
    """The gate's verdict on a prediction, and the interaction stored with it (and its batch example)."""
    started = time.perf_counter()
    rejected_similarity = rejected_prompts.nearest_similarity(prediction.embedding, prediction.encoder)
    verdict = judge(prompt, prediction, policy, rejected_similarity)
    latency_ms = (predict_seconds + time.perf_counter() - started) * 1000
    with transaction.atomic():
        interaction = Interaction.objects.create(
            prompt=prompt,
            context=context or {},
            user=user,
            source=source,
            embedding=np.asarray(prediction.embedding, dtype=np.float32).tobytes(),
            encoder=prediction.encoder,
            confidence=prediction.confidence,
            min_confidence=prediction.least_confidence,
            # salted: the review order must not follow the holdout split, which hashes the same prompt
            review_key=stable_fraction("review:" + normalize_prompt(prompt)),
            audit=verdict.decision == Verdict.ACCEPTED and random.random() < policy.gate.audit_rate,
            model_version_id=prediction.model_version,
            latency_ms=round(latency_ms, 2),
            verdict=verdict.decision,
            reasons=verdict.reasons,
            auto_labelled=list(verdict.auto_heads),
            would_label=list(verdict.would_label),
            thresholds=verdict.thresholds,
            retry_key=retry_key,
            **prediction.triplet,
        )
        if verdict.auto_heads:
            labels = {head: prediction.triplet[head] if head in verdict.auto_heads else "" for head in HEADS}
            interaction.example, _ = add_example(
                prompt, labels, Source.BATCH, user=user, embedding=prediction.embedding, encoder=prediction.encoder
            )
            interaction.save(update_fields=["example"])
    if interaction.pk % TRAFFIC_CHECK_EVERY == 0:
        transaction.on_commit(check_traffic)
        transaction.on_commit(warn_when_the_queue_is_long)
    return interaction

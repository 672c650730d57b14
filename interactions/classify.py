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
    seconds = time.perf_counter() - started
    [interaction] = _judge_and_store([(Item(prompt, context), prediction)], user, source, seconds, policy)
    return interaction


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
    predictions = detector.predict_many([items[i].prompt for i in new], policy.gate.unknown_threshold) if new else []
    seconds = (time.perf_counter() - started) / max(len(new), 1)  # each item's share of the forward pass
    judged = [(items[i], prediction) for i, prediction in zip(new, predictions)]
    stored = iter(_judge_and_store(judged, user, "api", seconds, policy) if judged else [])
    return [earlier[item.retry_key] if item.retry_key in earlier else next(stored) for item in items]


def _judge_and_store(judged, user, source, predict_seconds, policy) -> list[Interaction]:
    """The gate's verdicts on (item, prediction) pairs from one forward pass, and their interactions
    stored in one transaction (with the batch examples of those the gate labelled)."""
    started = time.perf_counter()
    embeddings = np.stack([prediction.embedding for _, prediction in judged])
    rejected = rejected_prompts.nearest_similarities(embeddings, judged[0][1].encoder)
    verdicts = [judge(item.prompt, prediction, policy, near) for (item, prediction), near in zip(judged, rejected)]
    latency_ms = round((predict_seconds + (time.perf_counter() - started) / len(judged)) * 1000, 2)
    with transaction.atomic():
        interactions = Interaction.objects.bulk_create(
            [
                _interaction(item, prediction, verdict, user, source, latency_ms, policy)
                for (item, prediction), verdict in zip(judged, verdicts)
            ]
        )
        for interaction, (item, prediction), verdict in zip(interactions, judged, verdicts):
            if verdict.auto_heads:
                labels = {head: prediction.triplet[head] if head in verdict.auto_heads else "" for head in HEADS}
                interaction.example, _ = add_example(
                    item.prompt,
                    labels,
                    Source.BATCH,
                    user=user,
                    embedding=prediction.embedding,
                    encoder=prediction.encoder,
                )
                interaction.save(update_fields=["example"])
    if any(interaction.pk % TRAFFIC_CHECK_EVERY == 0 for interaction in interactions):
        transaction.on_commit(check_traffic)
        transaction.on_commit(warn_when_the_queue_is_long)
    return interactions


def _interaction(item, prediction, verdict, user, source, latency_ms, policy) -> Interaction:
    return Interaction(
        prompt=item.prompt,
        context=item.context or {},
        user=user,
        source=source,
        embedding=np.asarray(prediction.embedding, dtype=np.float32).tobytes(),
        encoder=prediction.encoder,
        confidence=prediction.confidence,
        min_confidence=prediction.least_confidence,
        # salted: the review order must not follow the holdout split, which hashes the same prompt
        review_key=stable_fraction("review:" + normalize_prompt(item.prompt)),
        audit=verdict.decision == Verdict.ACCEPTED and random.random() < policy.gate.audit_rate,
        model_version_id=prediction.model_version,
        latency_ms=latency_ms,
        verdict=verdict.decision,
        reasons=verdict.reasons,
        auto_labelled=list(verdict.auto_heads),
        would_label=list(verdict.would_label),
        thresholds=verdict.thresholds,
        retry_key=item.retry_key,
        **prediction.triplet,
    )

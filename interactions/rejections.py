"""Prompts people rejected: the gate sends their look-alikes to a person instead of labelling them."""

import numpy as np
from django.db.models import Count, Max, QuerySet

from training.datasets import PromptVectors, matrix
from training.detector import detector

from .models import Interaction, Review


def rejections() -> QuerySet:
    return Review.objects.filter(decision=Review.Decision.REJECTED)


def rejected_interactions() -> QuerySet:
    return Interaction.objects.filter(reviews__in=rejections()).distinct().order_by("pk")


def rejected_traffic() -> PromptVectors:
    """Every prompt people rejected, with the vector the serving encoder gave it: what a training run
    calibrates the gate's scope from."""
    rejected = list(rejected_interactions())
    return PromptVectors([i.prompt for i in rejected], matrix(rejected), [i.encoder for i in rejected])


class RejectedPrompts:
    """The prompts people rejected and their vectors, held in memory and reloaded when a rejection is
    added or removed: one indexed query per call tells, so every web process follows the reviewers at once."""

    def __init__(self):
        self.forget()

    def forget(self) -> None:
        """Drop the loaded prompts, as a fresh process starts."""
        self._loaded = (None, [], matrix([]))

    def _current(self, encoder_name):
        """The rejected prompts and their vectors by that encoder (re-embedded when another one made them)."""
        key = (*rejections().aggregate(count=Count("pk"), last=Max("pk")).values(), encoder_name)
        if self._loaded[0] != key:
            rejected = rejected_traffic()
            prompts, vectors = rejected.prompts, rejected.vectors
            if any(name != encoder_name for name in rejected.encoders):
                encoder = detector.encoder_named(encoder_name)
                if encoder is None:
                    return [], vectors[:0]
                vectors = rejected.vectors_by(encoder)
            # one reference swap: two requests loading at once do the same work, and either copy serves
            self._loaded = (key, prompts, vectors)
        return self._loaded[1:]

    def most_similar(self, embedding, encoder_name) -> tuple[str, float] | None:
        """(prompt, similarity) of the most similar rejected prompt, or None while people rejected none."""
        found = self._nearest(np.asarray(embedding)[None, :], encoder_name)
        return None if found is None else (found[0][0], found[1][0])

    def nearest_similarities(self, embeddings, encoder_name) -> list[float | None]:
        """For each row of `embeddings`, the similarity of the most similar rejected prompt (one search for
        them all), or None while people rejected none."""
        found = self._nearest(np.asarray(embeddings), encoder_name)
        return [None] * len(embeddings) if found is None else found[1]

    def _nearest(self, embeddings, encoder_name) -> tuple[list[str], list[float]] | None:
        """Each row's most similar rejected prompt and its similarity, or None while people rejected none."""
        prompts, vectors = self._current(encoder_name)
        if not prompts:
            return None
        similarities = embeddings @ vectors.T
        best = similarities.argmax(axis=1)
        # rounded as the detector rounds the nearest labelled example's, so a tie stays a tie
        return [prompts[i] for i in best], [round(float(s), 4) for s in similarities[np.arange(len(best)), best]]


rejected_prompts = RejectedPrompts()

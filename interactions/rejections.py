"""Prompts people rejected: the gate sends their look-alikes to a person instead of labelling them."""

import numpy as np
from django.db.models import Count, Max

from training.datasets import matrix

from .models import Interaction, Review


def rejections():
    return Review.objects.filter(decision=Review.Decision.REJECTED)


class RejectedPrompts:
    """The vectors of the prompts people rejected, held in memory and reloaded when a rejection is added
    or removed: one indexed query per call tells, so every web process follows the reviewers at once."""

    def __init__(self):
        self._loaded = (None, matrix([]))

    def nearest_similarity(self, embedding):
        """The similarity of the most similar rejected prompt, or None while people rejected none."""
        key = tuple(rejections().aggregate(count=Count("pk"), last=Max("pk")).values())
        loaded_key, vectors = self._loaded
        if loaded_key != key:
            vectors = matrix(list(Interaction.objects.filter(reviews__in=rejections()).distinct()))
            # one reference swap: two requests loading at once do the same work, and either copy serves
            self._loaded = (key, vectors)
        return float((vectors @ embedding).max()) if len(vectors) else None


rejected_prompts = RejectedPrompts()

"""The traffic training may learn from without a person: prompts waiting for a person's review."""

import numpy as np

from training.datasets import in_holdout_region
from training.encoder import DIMENSIONS
from training.models import normalize_prompt

from .models import Interaction, Verdict


def unlabelled_vectors(limit):
    """The embeddings of the newest `limit` prompts in the review queue that no person decided (noise and
    rejections are never among them), as an (n, dimensions) array. Those the gate labelled some heads of
    are among them: their other heads are as unknown as any waiting prompt's, and they are the prompts
    whose guesses are likeliest to be right.
    None from the holdout region: the blind heads must not have learned a holdout prompt even unlabelled."""
    rows = (Interaction.objects.filter(verdict=Verdict.REVIEW, decided_at__isnull=True)
            .order_by("-pk").values_list("prompt", "embedding").iterator(chunk_size=2000))
    kept = []
    for prompt, embedding in rows:
        if not in_holdout_region(normalize_prompt(prompt)):
            kept.append(embedding)
            if len(kept) == limit:
                break
    return np.frombuffer(b"".join(kept), dtype=np.float32).reshape(-1, DIMENSIONS).copy()  # torch wants it writable

"""The traffic training may learn from without a person: prompts waiting for a person's review."""

import numpy as np

from training.datasets import PromptVectors, in_holdout_region
from training.encoder import DIMENSIONS
from training.models import normalize_prompt

from .models import Interaction, Verdict


def unlabelled_traffic(limit: int, holdout_fraction: float) -> PromptVectors:
    """The newest `limit` prompts in the review queue that no person decided (noise and rejections are
    never among them), with the vectors the serving encoder gave them. Those the gate labelled some heads
    of are among them: their other heads are as unknown as any waiting prompt's, and they are the prompts
    whose guesses are likeliest to be right.
    None from the holdout region: the blind heads must not have learned a holdout prompt even unlabelled."""
    rows = (
        Interaction.objects.filter(verdict=Verdict.REVIEW, decided_at__isnull=True)
        .order_by("-pk")
        .values_list("prompt", "embedding", "encoder")
        .iterator(chunk_size=2000)
    )
    kept = []
    for row in rows:
        if not in_holdout_region(normalize_prompt(row[0]), holdout_fraction):
            kept.append(row)
            if len(kept) == limit:
                break
    prompts, blobs, encoders = zip(*kept) if kept else ((), (), ())
    vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, DIMENSIONS).copy()  # torch wants it writable
    return PromptVectors(list(prompts), vectors, list(encoders))


def traffic_since(interaction_id: int) -> tuple[int, int]:
    """How many prompts arrived after `interaction_id`, and the newest id: what the traffic trigger counts."""
    newest = Interaction.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return Interaction.objects.filter(pk__gt=interaction_id).count(), newest

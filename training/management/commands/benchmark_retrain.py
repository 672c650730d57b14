import json
import time
from functools import partial
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand

from training.encoder import embed
from training.evaluation import evaluate
from training.policy import current
from training.trainer import Trainer


class Command(BaseCommand):
    help = "Print how long retraining the heads takes on cached embeddings for 1k, 10k and 50k examples."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
        parser.add_argument(
            "--data",
            default=str(settings.BASE_DIR.parent / "shared" / "datasets" / "hwu64" / "train.jsonl"),
            help="a JSONL file of triplets (default: HWU64 train)",
        )

    def handle(self, *args, sizes, data, **options) -> None:
        records = [json.loads(line) for line in Path(data).read_text(encoding="utf-8").splitlines() if line.strip()]
        self.stderr.write(f"Embedding {len(records)} prompts once (the cache a retrain reuses)...")
        started = time.perf_counter()
        vectors = embed([r["prompt"] for r in records])
        embed_seconds = time.perf_counter() - started
        rng = np.random.default_rng(0)
        self.stdout.write(
            f"embedding {len(records)} new prompts: {embed_seconds:.1f} s "
            f"({len(records) / embed_seconds:.0f} prompts/s)\n"
        )
        policy = current()
        traffic = noisy(vectors, rng.integers(len(records), size=policy.self_training.prompts), rng)
        learning = {"traffic": traffic, "neighbour_weight": policy.training.neighbour_weight}
        self.stdout.write(
            f"| examples | train the heads (s) | as a run trains them: with {len(traffic):,} prompts "
            "of traffic to self-train on and the neighbour vote (s) | evaluate 20% (s) |"
        )
        self.stdout.write("|---:|---:|---:|---:|")
        for size in sizes:
            rows = rng.integers(len(records), size=size)
            x, triplets = noisy(vectors, rows, rng), [records[i] for i in rows]
            cut = int(size * 0.8)
            _, train_seconds = timed(Trainer(x[:cut], triplets[:cut]).train)
            heads, run_seconds = timed(Trainer(x[:cut], triplets[:cut], **learning).train)
            _, eval_seconds = timed(partial(evaluate, heads, x[cut:], triplets[cut:]))
            self.stdout.write(f"| {size:,} | {train_seconds:.2f} | {run_seconds:.2f} | {eval_seconds:.2f} |")


def noisy(vectors, rows, rng):
    """The rows' vectors with a little noise: beyond the dataset's size, the same cost as new prompts."""
    return vectors[rows] + rng.normal(0, 0.01, (len(rows), vectors.shape[1])).astype(np.float32)


def timed(work):
    """(what `work()` returns, the seconds it took)."""
    started = time.perf_counter()
    return work(), time.perf_counter() - started

import json
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand

from training.encoder import embed
from training.evaluation import evaluate
from training.trainer import Trainer


class Command(BaseCommand):
    help = "Print how long retraining the heads takes on cached embeddings for 1k, 10k and 50k examples."

    def add_arguments(self, parser):
        parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
        parser.add_argument("--data", default=str(settings.BASE_DIR.parent / "shared" / "datasets" / "hwu64" / "train.jsonl"),
                            help="a JSONL file of triplets (default: HWU64 train)")

    def handle(self, *args, sizes, data, **options):
        records = [json.loads(line) for line in Path(data).read_text(encoding="utf-8").splitlines() if line.strip()]
        self.stderr.write(f"Embedding {len(records)} prompts once (the cache a retrain reuses)...")
        started = time.perf_counter()
        vectors = embed([r["prompt"] for r in records])
        embed_seconds = time.perf_counter() - started
        rng = np.random.default_rng(0)
        self.stdout.write(f"embedding {len(records)} new prompts: {embed_seconds:.1f} s "
                          f"({len(records) / embed_seconds:.0f} prompts/s)\n")
        self.stdout.write("| examples | train the heads (s) | evaluate 20% (s) |")
        self.stdout.write("|---:|---:|---:|")
        for size in sizes:
            rows = rng.integers(len(records), size=size)
            # Beyond the dataset's size, repeat it with a little noise: same cost as new prompts.
            x = vectors[rows] + rng.normal(0, 0.01, (size, vectors.shape[1])).astype(np.float32)
            triplets = [records[i] for i in rows]
            cut = int(size * 0.8)
            started = time.perf_counter()
            heads = Trainer(x[:cut], triplets[:cut]).train()
            train_seconds = time.perf_counter() - started
            started = time.perf_counter()
            evaluate(heads, x[cut:], triplets[cut:])
            eval_seconds = time.perf_counter() - started
            self.stdout.write(f"| {size:,} | {train_seconds:.2f} | {eval_seconds:.2f} |")

import math
import statistics
import time

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from interactions.simulation import read_triplets
from training.encoder import ENCODER_NAME, ONNX_LARGEST_PASS, Encoder, stock_encoder
from training.evaluation import item_hits, whole_triplets
from training.trainer import Trainer

HWU64 = settings.BASE_DIR.parent / "shared" / "datasets" / "hwu64"


class Command(BaseCommand):
    help = (
        "Print what each encoder backend costs and scores: one prompt's latency, the throughput of batches "
        "of several sizes, and the exact-triplet accuracy of heads trained on torch's vectors when they "
        "read the backend's, on a fixed slice of HWU64."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--train", default=str(HWU64 / "train.jsonl"), help="JSONL triplets the heads learn")
        parser.add_argument("--test", default=str(HWU64 / "test.jsonl"), help="JSONL triplets they are scored on")
        parser.add_argument("--train-size", type=int, default=2000, help="N training prompts, spread over the file")
        parser.add_argument("--prompts", type=int, default=200, help="prompts timed one at a time")
        parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16, 64])

    def handle(self, *args, train, test, train_size, prompts, batch_sizes, **options):
        try:
            learned, scored = spread(read_triplets(train), train_size), read_triplets(test)
        except (OSError, ValueError) as error:
            raise CommandError(f"{error} (give --train and --test, JSONL triplets such as HWU64's)") from None
        model = stock_encoder().model
        backends = {
            "torch": Encoder(ENCODER_NAME, model),
            "onnx runtime alone": Encoder(ENCODER_NAME, model).run_on_onnx(largest_pass=math.inf),
            f"onnx (as served: up to {ONNX_LARGEST_PASS} a pass, torch beyond)": Encoder(
                ENCODER_NAME, model
            ).run_on_onnx(),
        }
        texts = [r["prompt"] for r in scored]
        self.stderr.write(f"Training heads on {len(learned)} prompts embedded by torch...")
        heads = Trainer(backends["torch"].embed([r["prompt"] for r in learned]), learned, neighbour_weight=0.3).train()
        rows = {}
        for name, encoder in backends.items():
            self.stderr.write(f"Timing {name}...")
            vectors = encoder.embed(texts)
            rows[name] = {
                "latency": latencies(encoder, texts[:prompts]),
                "rates": {size: rate(encoder, texts, size) for size in batch_sizes},
                "exact": float(whole_triplets(item_hits(heads, vectors, scored)).mean()),
                "vectors": vectors,
            }
        self.print_table(rows, batch_sizes, len(scored), prompts)

    def print_table(self, rows, batch_sizes, scored, prompts):
        torch_row = rows["torch"]
        rates = " | ".join(f"batch {size} (prompts/s)" for size in batch_sizes)
        self.stdout.write(f"| backend | 1 prompt p50 (ms) | p99 (ms) | {rates} | exact on {scored} | cosine to torch |")
        self.stdout.write("|---" * (5 + len(batch_sizes)) + "|")
        for name, row in rows.items():
            p50, p99 = row["latency"]
            cosine = float(np.min(np.sum(row["vectors"] * torch_row["vectors"], axis=1)))
            cells = " | ".join(f"{row['rates'][size]:.0f}" for size in batch_sizes)
            self.stdout.write(
                f"| {name} | {p50:.2f} | {p99:.2f} | {cells} | {row['exact']:.2%} | {cosine:.4f} (lowest) |"
            )
        onnx = rows["onnx runtime alone"]
        self.stdout.write(
            f"\nONNX Runtime alone / torch: one prompt {torch_row['latency'][0] / onnx['latency'][0]:.2f}x faster, "
            + ", ".join(
                f"batch {size} {onnx['rates'][size] / torch_row['rates'][size]:.2f}x the rate" for size in batch_sizes
            )
            + f"; exact accuracy {100 * (onnx['exact'] - torch_row['exact']):+.2f} points "
            f"({prompts} prompts timed one by one)."
        )


def spread(records, count) -> list[dict]:
    """`count` records taken at even steps: files such as HWU64's are grouped by intent."""
    return records[:: max(1, len(records) // count)][:count]


def latencies(encoder, texts) -> tuple[float, float]:
    """p50 and p99 milliseconds of embedding one prompt, after a warm-up call."""
    encoder.embed(texts[:1])
    times = []
    for text in texts:
        start = time.perf_counter()
        encoder.embed([text])
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times), float(np.percentile(times, 99))


def rate(encoder, texts, batch_size) -> float:
    """Prompts per second, embedding `texts` in batches of `batch_size`."""
    start = time.perf_counter()
    encoder.embed(texts, batch_size=batch_size)
    return len(texts) / (time.perf_counter() - start)

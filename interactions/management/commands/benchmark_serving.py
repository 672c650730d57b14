import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test import Client

from interactions.models import ApiToken
from interactions.simulation import read_triplets
from secondmind import isolated
from training.encoder import ENCODER_NAME, embed
from training.models import Example, Source, TrainingRun, normalize_prompt
from training.pipeline import execute
from training.triggers import create_run

PAGE_VIEWS = 10
BATCH = 64


class Command(BaseCommand):
    help = (
        "Print what serving costs as the human-labelled data grows: the classify API's latency, the review "
        "page's, and a web process's memory, each size in a temporary database of its own."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--sizes",
            type=int,
            nargs="+",
            default=[1000, 10000, 50000],
            help="human-labelled examples the active model knows",
        )
        parser.add_argument("--requests", type=int, default=200, help="classify calls per size")
        parser.add_argument(
            "--data",
            default=str(settings.BASE_DIR.parent / "shared" / "datasets" / "hwu64" / "train.jsonl"),
            help="a JSONL file of triplets (default: HWU64 train)",
        )
        parser.add_argument("--stage", choices=["prepare", "serve"], help=argparse.SUPPRESS)
        parser.add_argument("--workdir", help=argparse.SUPPRESS)

    def handle(self, *args, sizes, requests, data, stage, workdir, **options):
        if stage == "prepare":
            return prepare(Path(workdir))
        if stage == "serve":
            return serve(Path(workdir), requests)
        if requests < 2 or min(sizes) < 1:
            raise CommandError("Give --requests of at least 2 and --sizes of at least 1.")
        try:
            records = read_triplets(data)
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from None
        records = list({normalize_prompt(r["prompt"]): r for r in records}.values())  # one example per prompt
        self.stderr.write(f"Embedding {len(records)} prompts once...")
        vectors = embed([r["prompt"] for r in records])
        with tempfile.TemporaryDirectory(prefix="secondmind-bench-") as work:
            rows = [self.measure(Path(work) / str(size), records, vectors, size, requests) for size in sizes]
        self.print_table(rows, requests)

    def measure(self, size_dir, records, vectors, size, requests):
        size_dir.mkdir()
        write_examples(size_dir, records, vectors, size)
        self.stderr.write(f"{size:,} examples: training a model, then serving {requests} prompts...")
        for stage in ("prepare", "serve"):
            child = isolated.start(
                ["benchmark_serving", "--stage", stage, "--workdir", str(size_dir), "--requests", str(requests)],
                size_dir / "data",
                LOG_LEVEL="WARNING",
                SECONDMIND_ENCODER="stock",
                SECONDMIND_API_RATE_LIMIT="0",
            )  # a fine-tuned encoder serves at the same cost
            if child.wait() != 0:
                raise CommandError(f"The {stage} stage for {size} examples failed (exit {child.returncode}).")
        return {"size": size, **json.loads((size_dir / "serve.json").read_text())}

    def print_table(self, rows, requests) -> None:
        self.stdout.write(
            "\n| human-labelled examples | first classify (ms) | classify p50 (ms) | classify p95 (ms) "
            f"| prompts/s one by one | prompts/s in batches of {BATCH} | review page p50 (ms) "
            "| web process memory (MB) |"
        )
        self.stdout.write("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in rows:
            self.stdout.write(
                f"| {row['size']:,} | {row['first_ms']:.0f} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} "
                f"| {row['single_per_s']:.0f} | {row['batch_per_s']:.0f} "
                f"| {row['review_ms']:.0f} | {row['rss_mb']:.0f} |"
            )
        self.stdout.write(
            f"\n{requests} classify calls per size through the API, one at a time, then the same prompts "
            f"through /classify/batch {BATCH} at a time; the first call of a fresh process loads the model. "
            "Memory: the serving process's resident set at the end."
        )


def write_examples(size_dir, records, vectors, size) -> None:
    """`size` examples from the records, repeated beyond their number as new prompts with nearby vectors
    (the same cost to serve as new prompts)."""
    rng = np.random.default_rng(0)
    rows = np.arange(size) % len(records)
    noisy = vectors[rows] + np.where(
        (np.arange(size) >= len(records))[:, None], rng.normal(0, 0.01, (size, vectors.shape[1])), 0
    )
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    examples = [
        {**records[i], "prompt": records[i]["prompt"] + (f" ({n // len(records)})" if n >= len(records) else "")}
        for n, i in enumerate(rows)
    ]
    (size_dir / "examples.json").write_text(json.dumps(examples))
    np.save(size_dir / "vectors.npy", noisy.astype(np.float32))


def prepare(size_dir) -> None:
    """A database with the examples as human labels and a model trained on them, as a retrain makes it."""
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the pages' assets, as `make run` builds them
    examples = json.loads((size_dir / "examples.json").read_text())
    vectors = np.load(size_dir / "vectors.npy")
    Example.objects.bulk_create(
        [
            Example(
                prompt=e["prompt"],
                normalized_prompt=normalize_prompt(e["prompt"]),
                subject=e["subject"],
                action=e["action"],
                category=e["category"],
                source=Source.LIVE,
                embedding=vector.tobytes(),
                encoder=ENCODER_NAME,
            )
            for e, vector in zip(examples, vectors)
        ],
        batch_size=2000,
    )
    run = execute(create_run(TrainingRun.Trigger.MANUAL, force=True))
    if run.status != TrainingRun.Status.SUCCEEDED:
        raise CommandError(f"Training failed: {run.error}")
    staff = get_user_model().objects.create_user("benchmark", is_staff=True)
    _, token = ApiToken.issue(staff)
    (size_dir / "token").write_text(token)


def serve(size_dir, requests) -> None:
    """Time the API and the review page in a fresh process, as a web worker serves them."""
    examples = json.loads((size_dir / "examples.json").read_text())
    prompts = [f"{e['prompt']} please" for e in examples[:requests]]
    api = Client(HTTP_HOST="localhost", headers={"Authorization": f"Bearer {(size_dir / 'token').read_text()}"})
    times = []
    for prompt in prompts:
        started = time.perf_counter()
        response = api.post("/api/v1/classify", {"prompt": prompt}, content_type="application/json")
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise CommandError(f"classify answered {response.status_code}: {response.content[:200]!r}")
    batch_seconds = 0.0
    for start in range(0, len(prompts), BATCH):
        items = [{"prompt": f"{prompt} again"} for prompt in prompts[start : start + BATCH]]
        started = time.perf_counter()
        response = api.post("/api/v1/classify/batch", {"items": items}, content_type="application/json")
        batch_seconds += time.perf_counter() - started
        if response.status_code != 200:
            raise CommandError(f"classify/batch answered {response.status_code}: {response.content[:200]!r}")
    page = Client(HTTP_HOST="localhost")
    page.force_login(get_user_model().objects.get(username="benchmark"))
    views = []
    for _ in range(PAGE_VIEWS):
        started = time.perf_counter()
        page.get("/review/")
        views.append((time.perf_counter() - started) * 1000)
    (size_dir / "serve.json").write_text(
        json.dumps(
            {
                "first_ms": times[0],
                "p50_ms": statistics.median(times[1:]),
                "p95_ms": float(np.percentile(times[1:], 95)),
                "single_per_s": 1000 * (len(times) - 1) / sum(times[1:]),
                "batch_per_s": len(prompts) / batch_seconds,
                "review_ms": statistics.median(views),
                "rss_mb": resident_megabytes(),
            }
        )
    )


def resident_megabytes():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from interactions.live_server import Load, Server
from interactions.simulation import read_triplets
from training.detector import detector
from training.policy import current

BATCH = 64


class Command(BaseCommand):
    help = (
        "Serving speed side by side, in one run on this machine: the bare model call (encoder and heads, one "
        "prompt and batched) against classify over real HTTP (bin/serve, as `make run` starts it) with 1, 4, "
        "16 and 32 clients, the batch endpoint, and the web processes' memory; then the ratios."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16, 32])
        parser.add_argument("--seconds", type=int, default=15, help="load per concurrency")
        parser.add_argument(
            "--prompts",
            default=str(settings.BASE_DIR.parent / "shared" / "datasets" / "hwu64" / "test.jsonl"),
            help="a JSONL file of triplets whose first 500 prompts are sent (default: HWU64 test)",
        )
        parser.add_argument("--stage", choices=["bare"], help=argparse.SUPPRESS)

    def handle(self, *args, clients, seconds, prompts, stage, **options) -> None:
        try:
            texts = [record["prompt"] for record in read_triplets(prompts)][:500]
        except (OSError, ValueError) as error:
            raise CommandError(f"{error} (give --prompts a JSONL file of triplets)") from None
        if stage == "bare":
            return self.stdout.write(json.dumps(bare_call(texts)))
        with tempfile.TemporaryDirectory(prefix="secondmind-http-") as work:
            # no training run may start and take the cores while the load is measured; a fine-tuned
            # encoder serves at the stock one's cost, so the version is trained on the stock one, quickly
            server = Server(
                Path(work),
                SECONDMIND_RETRAIN_TRAFFIC="0",
                SECONDMIND_RETRAIN_THRESHOLD="100000000",
                SECONDMIND_ENCODER="stock",
            )
            server.prepare(versions=1)
            bare = json.loads(server.manage("benchmark_http", "--stage", "bare", "--prompts", prompts))
            server.start()
            try:
                Load(server, 8, texts).run(min(5, seconds))  # each web worker loads the model on its first calls
                rows = [measure_clients(server, texts, count, seconds) for count in clients]
                batch = measure_batch(server, texts, seconds)
                memory = web_memory(server)
            finally:
                server.stop()
        self.print_table(bare, rows, batch, memory, seconds)

    def print_table(self, bare, rows, batch, memory, seconds) -> None:
        out = self.stdout.write
        out("\n| what | prompts/s | p50 ms | p99 ms | errors | rows stored / 200s |")
        out("|---|---:|---:|---:|---:|---:|")
        out(
            f"| bare call, one prompt | {bare['single_per_s']:.1f} | {bare['single_p50_ms']:.1f} "
            f"| {bare['single_p99_ms']:.1f} | | |"
        )
        out(f"| bare call, batches of {BATCH} | {bare['batch_per_s']:.1f} | | | | |")
        for row in rows:
            out(
                f"| classify over HTTP, {row['clients']} client{'s' if row['clients'] > 1 else ''} "
                f"| {row['per_s']:.1f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['errors']} "
                f"| {row['stored']} / {row['ok']} |"
            )
        out(
            f"| /classify/batch, {BATCH} a call, 1 client | {batch['per_s']:.1f} | {batch['p50_ms']:.0f} (a call) "
            f"| | {batch['errors']} | {batch['stored']} / {batch['ok']} |"
        )
        one = next((row for row in rows if row["clients"] == 1), None)
        sixteen = next((row for row in rows if row["clients"] == 16), None)
        out("\n| ratio | measured | target |\n|---|---:|---:|")
        if one:
            out(
                f"| HTTP p50, 1 client / bare one-prompt p50 | {one['p50_ms'] / bare['single_p50_ms']:.2f}x | <= 1.3x |"
            )
        if one and sixteen:
            out(f"| throughput, 16 clients / 1 client | {sixteen['per_s'] / one['per_s']:.2f}x | >= 3x |")
            out(f"| p99 / p50, 16 clients | {sixteen['p99_ms'] / sixteen['p50_ms']:.2f}x | <= 5x |")
        out(f"| batch endpoint / bare batched | {batch['per_s'] / bare['batch_per_s']:.2f}x | >= 0.8x |")
        out(
            f"\nWeb processes' resident memory at the end: {', '.join(f'{mb:.0f} MB' for mb in memory)}. "
            f"{seconds} s of load per line; rows stored counts the interactions the database holds for the "
            "answers that said 200."
        )


def bare_call(prompts) -> dict:
    """The active version's encoder and heads, called directly in this process: one prompt at a time and
    in batches (the web process's work without HTTP, Django, the gate or the database)."""
    threshold = current().gate.unknown_threshold
    detector.batcher = None  # each call its own forward pass, in the calling thread
    detector.predict_many(prompts[:2], threshold)  # load the model
    times = []
    for prompt in prompts[:200]:
        started = time.perf_counter()
        detector.predict_many([prompt], threshold)
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    for start in range(0, len(prompts), BATCH):
        detector.predict_many(prompts[start : start + BATCH], threshold)
    batched = time.perf_counter() - started
    return {
        "single_per_s": len(times) / sum(times),
        "single_p50_ms": 1000 * statistics.median(times),
        "single_p99_ms": 1000 * float(np.percentile(times, 99)),
        "batch_per_s": len(prompts) / batched,
    }


def stored_rows(server) -> int:
    with server.database() as db:
        return db.execute("select count(*) from interactions_interaction").fetchone()[0]


def measure_clients(server, prompts, clients, seconds) -> dict:
    sys.stderr.write(f"{clients} clients for {seconds} s...\n")
    before = stored_rows(server)
    load = Load(server, clients, prompts)
    load.run(seconds)
    latencies = sorted(load.latencies)
    ok = sum(1 for status, _ in load.answers if status == 200)
    return {
        "clients": clients,
        "per_s": len(load.answers) / seconds,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "errors": len(load.answers) - ok,
        "ok": ok,
        "stored": stored_rows(server) - before,
    }


def measure_batch(server, prompts, seconds) -> dict:
    sys.stderr.write(f"/classify/batch for {seconds} s...\n")
    before, sent, ok, errors, times = stored_rows(server), 0, 0, 0, []
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        items = [{"prompt": prompts[(sent + i) % len(prompts)]} for i in range(BATCH)]
        started = time.monotonic()
        status, _ = server.call("POST", "/classify/batch", {"items": items})
        times.append(time.monotonic() - started)
        ok, errors, sent = ok + BATCH * (status == 200), errors + BATCH * (status != 200), sent + BATCH
    return {
        "per_s": sent / sum(times),
        "p50_ms": 1000 * statistics.median(times),
        "errors": errors,
        "ok": ok,
        "stored": stored_rows(server) - before,
    }


def web_memory(server) -> list[float]:
    """Resident megabytes of the gunicorn master and each of its workers (forks: the same command line)."""
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text, command = status.read_text(), (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if b"gunicorn" in command and f"127.0.0.1:{server.port}".encode() in command:
            sizes += [int(line.split()[1]) / 1024 for line in text.splitlines() if line.startswith("VmRSS:")]
    return sorted(sizes)

import argparse
import json
import random
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from interactions.models import Interaction, Verdict
from interactions.simulation import read_triplets, test_scores
from secondmind import isolated
from training.datasets import import_jsonl
from training.encoder import embed, stock_encoder
from training.models import Source, TrainingRun
from training.pipeline import execute
from training.registry import load_encoder, load_heads
from training.triggers import TrainingBusy, create_run

HWU64 = settings.BASE_DIR.parent / "shared" / "datasets" / "hwu64"
STAGES = ("preparing", "fine-tuning the encoder", "training the heads", "training the stock heads")
STAGES += ("certifying the gate", "judging", "registering")


class Command(BaseCommand):
    help = (
        "Time whole training runs as the worker makes them (fine-tuning, self-training and the gate's "
        "certificate included) for N human labels and M prompts of unlabelled traffic from a labelled "
        "dataset, each in an isolated temporary database; print minutes per stage and test accuracy."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--train", default=str(HWU64 / "train.jsonl"), help="JSONL triplets (default: HWU64)")
        parser.add_argument("--test", default=str(HWU64 / "test.jsonl"), help="JSONL triplets scored after the run")
        parser.add_argument("--labels", type=int, nargs="+", default=[1000], help="human labels per run")
        parser.add_argument("--traffic", type=int, default=10000, help="unlabelled prompts waiting in the queue")
        parser.add_argument("--encoder", choices=["stock", "finetune", "auto"], default="finetune")
        parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
        parser.add_argument("--workdir", help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["child"] is not None:
            return self.run_child(options, Path(options["workdir"]))
        for path in (options["train"], options["test"]):
            if not Path(path).is_file():
                raise CommandError(f"{path} does not exist: give --train and --test (JSONL triplets).")
        self.stdout.write(
            f"| labels | traffic | encoder | {' | '.join(STAGES)} | whole run (min) | holdout exact | test exact |"
        )
        self.stdout.write("|---:|---:|---|" + "---:|" * (len(STAGES) + 3))
        with tempfile.TemporaryDirectory(prefix="secondmind-bench-") as work:
            for labels in options["labels"]:
                self.stdout.write(self.row(self.measure(Path(work), labels, options)))

    def measure(self, work, labels, options):
        self.stderr.write(f"Timing a run with {labels} labels and {options['traffic']} prompts of traffic...")
        arguments = ["benchmark_run", "--child", str(labels), "--workdir", str(work)]
        arguments += ["--train", options["train"], "--test", options["test"], "--traffic", str(options["traffic"])]
        child = isolated.start(
            arguments,
            work / str(labels),
            SECONDMIND_ENCODER=options["encoder"],
            SECONDMIND_SELF_TRAINING_PROMPTS=str(options["traffic"]),
            LOG_LEVEL="WARNING",
        )
        if child.wait() != 0:
            raise CommandError(f"The run with {labels} labels failed (exit {child.returncode}).")
        return json.loads((work / f"{labels}.json").read_text())

    def row(self, result) -> str:
        minutes = " | ".join(f"{result['stage_minutes'].get(stage, 0):.2f}" for stage in STAGES)
        return (
            f"| {result['labels']:,} | {result['traffic']:,} | {result['encoder']} | {minutes} | "
            f"{result['minutes']:.2f} | {result['holdout_exact']:.3f} | {result['test']['exact']:.3f} |"
        )

    def run_child(self, options, work) -> None:
        call_command("migrate", verbosity=0)
        labels = options["child"]
        train, test = read_triplets(options["train"]), read_triplets(options["test"])
        order = list(range(len(train)))
        random.Random(0).shuffle(order)
        import_jsonl([json.dumps(train[i]) for i in order[:labels]], Source.LIVE)
        waiting(train, order[labels:], options["traffic"])
        try:
            run = create_run(TrainingRun.Trigger.MANUAL, force=True)
        except TrainingBusy as busy:  # the import queued a threshold run, and no worker runs here
            run = busy.run
        execute(run)
        if run.status != TrainingRun.Status.SUCCEEDED:
            raise CommandError(f"The run ended {run.status}: {run.error}")
        version = run.version
        encoder = load_encoder(version)
        result = {
            "labels": labels,
            "traffic": options["traffic"],
            "encoder": run.summary["encoder"],
            "minutes": run.duration / 60,
            "stage_minutes": {stage: seconds / 60 for stage, seconds in run.summary["stage_seconds"]},
            "holdout_exact": version.metrics["holdout"]["exact"],
            "test": test_scores(load_heads(version), encoder.embed([r["prompt"] for r in test]), test),
        }
        (work / f"{labels}.json").write_text(json.dumps(result))


def waiting(records, rows, count) -> None:
    """`count` prompts from `rows` in the review queue, undecided, as the stock encoder served them;
    past the end of `rows` they come round again (a repeat costs a run what a new prompt does)."""
    prompts = [records[rows[k % len(rows)]]["prompt"] for k in range(count)]
    stock = stock_encoder().name
    Interaction.objects.bulk_create(
        Interaction(
            prompt=prompt,
            embedding=vector.tobytes(),
            encoder=stock,
            subject="",
            action="",
            category="",
            confidence={},
            review_key=random.random(),
            latency_ms=0,
            verdict=Verdict.REVIEW,
        )
        for prompt, vector in zip(prompts, embed(prompts))
    )

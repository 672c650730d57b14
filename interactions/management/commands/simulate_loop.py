import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from interactions.simulation import LoopSimulation, Plan, all_heads, full_supervision, make_plan
from secondmind import isolated
from training.encoder import ENCODER_NAME, embed
from training.models import HEADS

MODES = {
    # the product's loop as configured, and the same loop learning from people only: no auto-accept,
    # no self-training on the unlabelled traffic
    "loop": {},
    "review_only": {
        "SECONDMIND_AUTO_ACCEPT": "false",
        "SECONDMIND_AUDIT_RATE": "0",
        "SECONDMIND_SELF_TRAINING": "false",
    },
}


class Command(BaseCommand):
    help = (
        "Measure the learning loop on a labelled dataset (train streamed, test held back), against "
        "seed-only, review-only and full-supervision baselines, each in an isolated temporary database."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--train", required=False)
        parser.add_argument("--test", required=False)
        start = parser.add_mutually_exclusive_group()
        start.add_argument("--seed-size", type=int, default=50)
        start.add_argument(
            "--seed",
            help="a JSONL file of triplets to start from, as `make run` loads the shipped seed "
            "(default: --seed-size triplets drawn from the train file, one intent after another)",
        )
        parser.add_argument("--review-budget", type=float, default=0.05)
        parser.add_argument("--chunk", type=int, default=500)
        parser.add_argument(
            "--retrain-threshold",
            type=int,
            default=None,
            help="new examples per retrain (default: the review budget of one chunk)",
        )
        parser.add_argument("--limit", type=int, default=None, help="stream only the first N prompts")
        parser.add_argument("--random-seed", type=int, default=0)
        parser.add_argument(
            "--out-of-scope",
            help="a text file of prompts, one per line, from outside every intent "
            "of the train file: the final model and gate classify them, and the JSON's "
            "`out_of_scope` says how many were labelled without a person",
        )
        parser.add_argument(
            "--out-of-scope-traffic",
            help="a text file of prompts, one per line, from outside every "
            "intent: mixed into the stream at random places, rejected by the reviewer who reaches "
            "them, and wrong if labelled without a person; `out_of_scope_traffic` counts them",
        )
        parser.add_argument(
            "--encoder",
            choices=["stock", "finetune", "auto"],
            default="stock",
            help="SECONDMIND_ENCODER for every run of the loop, and the full-supervision baseline "
            "(fine-tuned for finetune and auto)",
        )
        parser.add_argument(
            "--retrain-traffic", type=int, default=None, help="SECONDMIND_RETRAIN_TRAFFIC (default: the setting's, 500)"
        )
        parser.add_argument("--json", dest="json_out")
        parser.add_argument("--plot")
        parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
        parser.add_argument("--workdir", help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["child"]:
            return self.run_child(options["child"], Path(options["workdir"]))
        if not options["train"] or not options["test"]:
            raise CommandError("Give --train FILE and --test FILE (JSONL triplets).")
        with tempfile.TemporaryDirectory(prefix="secondmind-sim-") as work:
            result = self.run_parent(Path(work), options)
        self.print_table(result)
        if options["json_out"]:
            Path(options["json_out"]).write_text(json.dumps(result, indent=2) + "\n")
            self.stdout.write(f"Wrote {options['json_out']}")
        if options["plot"]:
            plot(result, options["plot"])
            self.stdout.write(f"Wrote {options['plot']}")

    def run_parent(self, work, options):
        def embed_once(texts):
            self.stderr.write(f"Embedding {len(texts)} prompts once...")
            return embed(texts)

        try:
            plan = make_plan(
                options["train"],
                options["test"],
                options["seed_size"],
                options["review_budget"],
                options["chunk"],
                embed_once,
                options["random_seed"],
                options["out_of_scope"],
                options["out_of_scope_traffic"],
                options["seed"],
            )
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from None
        if options["limit"]:
            plan.stream = plan.stream[: options["limit"]]
        np.savez(
            work / "vectors.npz",
            train=plan.train_vectors,
            test=plan.test_vectors,
            outside=plan.outside_vectors,
            strays=plan.stray_vectors,
        )
        (work / "plan.json").write_text(
            json.dumps(
                {
                    "train": plan.train,
                    "test": plan.test,
                    "seed": plan.seed,
                    "stream": plan.stream,
                    "budget": plan.budget,
                    "chunk": plan.chunk,
                    "outside": plan.outside,
                    "strays": plan.strays,
                }
            )
        )
        threshold = options["retrain_threshold"] or max(1, int(plan.budget * plan.chunk))
        env = {"SECONDMIND_ENCODER": options["encoder"]}
        if options["retrain_traffic"] is not None:
            env["SECONDMIND_RETRAIN_TRAFFIC"] = str(options["retrain_traffic"])
        children = [self.spawn(mode, work, position, threshold, env) for position, mode in enumerate(MODES)]
        full = full_supervision(plan.train_vectors, plan.train, plan.test_vectors, plan.test, options["encoder"])
        for mode, child in zip(MODES, children):
            if child.wait() != 0:
                raise CommandError(f"The {mode} simulation failed (exit {child.returncode}).")
        runs = {mode: json.loads((work / f"{mode}.json").read_text()) for mode in MODES}
        loop = runs["loop"]
        return {
            "settings": {
                "seed_size": len(plan.seed),
                "review_budget": plan.budget,
                "chunk": plan.chunk,
                "encoder": options["encoder"],
                "retrain_threshold": threshold,
                "streamed": len(plan.stream),
                "random_seed": options["random_seed"],
            },
            **loop,
            "baselines": {
                "seed_only": loop["steps"][0]["test"],
                "review_only": runs["review_only"]["final"],
                "full": full,
            },
            "review_only_steps": runs["review_only"]["steps"],
        }

    def spawn(self, mode, work, position, threshold, env):
        return isolated.start(
            ["simulate_loop", "--child", mode, "--workdir", str(work)],
            work / mode,
            SECONDMIND_RETRAIN_THRESHOLD=str(threshold),
            SECONDMIND_SIM_POSITION=str(position),
            LOG_LEVEL="WARNING",
            **env,
            **MODES[mode],
        )

    def run_child(self, mode, work) -> None:
        import random

        import torch
        from django_q.conf import Conf

        torch.set_num_threads(1)
        random.seed(0)  # the audit sample is drawn the same way on every run
        Conf.SYNC = True  # the threshold trigger's task runs in this process, in order
        call_command("migrate", verbosity=0)
        saved = json.loads((work / "plan.json").read_text())
        vectors = np.load(work / "vectors.npz")
        plan = Plan(
            saved["train"],
            saved["test"],
            vectors["train"],
            vectors["test"],
            saved["seed"],
            saved["stream"],
            saved["budget"],
            saved["chunk"],
            saved["outside"],
            vectors["outside"],
            saved["strays"],
            vectors["strays"],
        )
        position = int(os.environ.get("SECONDMIND_SIM_POSITION", "0"))
        with tqdm(total=len(plan.stream), desc=mode, position=position, file=sys.stderr, leave=True) as bar:
            result = LoopSimulation(plan, progress=bar.update).run()
        (work / f"{mode}.json").write_text(json.dumps(result))

    def print_table(self, result) -> None:
        def row(name, test, extra=""):
            self.stdout.write(
                f"| {name} | {test['subject']:.3f} | {test['action']:.3f} | {test['category']:.3f} "
                f"| {test['exact']:.3f} | {extra} |"
            )

        self.stdout.write(
            "\n| steps: prompts seen | human labels | auto-accepted (correct) | head auto-labels (correct) "
            "| trained on | run (s) | encoder | active | promoted | exact on test |"
        )
        self.stdout.write("|---:|---:|---:|---:|---:|---:|---|---:|:---:|---:|")
        for step in result["steps"]:
            labels = all_heads(step["auto_labels"])
            encoder = "stock" if step["encoder"] == ENCODER_NAME else step["encoder"]
            self.stdout.write(
                f"| {step['prompts_seen']} | {step['human_labels']} | {step['auto_accepted']} ({step['auto_correct']}) "
                f"| {labels['labelled']} ({labels['correct']}) "
                f"| {step['trained_on']} | {step['run_seconds']:.0f} | {encoder} "
                f"| v{step['active_version']} | {'yes' if step['promoted'] else 'no'} | {step['test']['exact']:.3f} |"
            )
        self.stdout.write("\n| model | subject | action | category | exact | notes |")
        self.stdout.write("|---|---:|---:|---:|---:|---|")
        row("seed only", result["baselines"]["seed_only"])
        row("review only (same budget)", result["baselines"]["review_only"])
        precision = result["auto_precision"]
        row(
            "the loop",
            result["final"],
            f"{result['human_labels']} human labels, {result['auto_accepted']} auto-accepted, precision {precision:.3f}"
            if precision is not None
            else f"{result['human_labels']} human labels, none auto-accepted",
        )
        row("full supervision", result["baselines"]["full"])
        self.stdout.write("\n| head | auto-labelled | correct | precision |")
        self.stdout.write("|---|---:|---:|---:|")
        for head, counts in result["auto_labels"].items():
            precision = "—" if counts["precision"] is None else f"{counts['precision']:.3f}"
            self.stdout.write(f"| {head} | {counts['labelled']} | {counts['correct']} | {precision} |")
        if drop := result["largest_drop"]:
            self.stdout.write(
                f"\nLargest drop: {drop['points']:.2f} points, v{drop['from_version']} to v{drop['to_version']}: "
                f"{drop['gained']} test prompts gained, {drop['lost']} lost "
                f"(sign test p = {drop['p_value']:.2f})."
            )
        else:
            self.stdout.write("\nNo promotion lowered the exact accuracy on test.")
        if strays := result["out_of_scope_traffic"]:
            self.stdout.write(
                f"\nOut-of-scope traffic: {strays['prompts']} prompts in the stream, {strays['rejected']} "
                f"rejected by the reviewer, {strays['auto_accepted']} auto-accepted, "
                f"{strays['auto_labelled']} with a head labelled without a person."
            )
        if outside := result["out_of_scope"]:
            heads = ", ".join(f"{head} {n}" for head, n in outside["heads"].items())
            self.stdout.write(
                f"\nOut of scope: {outside['prompts']} prompts, {outside['auto_accepted']} auto-accepted, "
                f"{outside['auto_labelled']} with a head labelled without a person ({heads})."
            )
        accepted = [item for counts in (strays, outside) if counts for item in counts["labelled"] if item["accepted"]]
        for item in accepted:
            self.stdout.write(f"Auto-accepted out of scope: {item['prompt']!r} as {' / '.join(item[h] for h in HEADS)}")


def plot(result, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5))
    end = result["settings"]["streamed"]
    for name, steps, style in (("review only", result["review_only_steps"], "-"), ("the loop", result["steps"], "--")):
        # held to the end of the stream, so the last model's score shows as a line, not a point
        axes.step(
            [s["prompts_seen"] for s in steps] + [end],
            [s["test"]["exact"] for s in steps + steps[-1:]],
            style,
            where="post",
            label=name,
            linewidth=2,
        )
    for name, key, style in (("seed only", "seed_only", ":"), ("full supervision", "full", "--")):
        axes.axhline(result["baselines"][key]["exact"], linestyle=style, color="gray", label=name)
    axes.set_xlabel("prompts streamed")
    axes.set_ylabel("exact-triplet accuracy on test")
    axes.set_ylim(0, 1)
    axes.legend()
    axes.set_title(
        f"SecondMind loop, seed {result['settings']['seed_size']}, "
        f"review budget {result['settings']['review_budget']:.0%}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)

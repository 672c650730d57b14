"""The learning loop end to end on a labelled dataset: prompts go through the real classify path and
gate, a simulated reviewer decides the review queue with the gold triplet within a budget, the
threshold trigger retrains, the real promotion rule decides, and the active model is scored on a test
set the loop never sees."""

import itertools
import json
import random
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

from training.datasets import import_jsonl, parse_jsonl
from training.encoder import stock_encoder
from training.evaluation import evaluate, item_hits, whole_triplets
from training.finetune import EncoderTuner
from training.label_names import named_triplets
from training.models import HEADS, Source, TrainingRun
from training.pipeline import execute
from training.policy import current
from training.registry import active_version, load_encoder, load_heads
from training.trainer import NO_NAMES, Trainer
from training.triggers import create_run

from .classify import classify
from .models import Review, Verdict
from .reviews import decide, queue


def read_triplets(path) -> list[dict]:
    with open(path, encoding="utf-8") as lines:
        records, errors = parse_jsonl(lines)
    if errors:
        raise ValueError(f"{path}: " + "; ".join(f"line {n}: {m}" for n, m in errors[:5]))
    return records


def intent(record) -> tuple[str, str]:
    return (record["category"], record["action"])


def stratified_seed(records, size, rng) -> tuple[list[int], list[int]]:
    """(seed, stream) index lists: the seed takes intents round-robin, the stream is the rest shuffled."""
    order = list(range(len(records)))
    rng.shuffle(order)
    by_intent = defaultdict(list)
    for i in order:
        by_intent[intent(records[i])].append(i)
    pools = sorted(by_intent.values(), key=len, reverse=True)
    seed = []
    while len(seed) < size and any(pools):
        for pool in pools:
            if pool and len(seed) < size:
                seed.append(pool.pop())
    chosen = set(seed)
    return seed, [i for i in order if i not in chosen]


def test_scores(heads, vectors, records) -> dict[str, float]:
    metrics = evaluate(heads, vectors, records)
    return {**{head: round(metrics[head]["accuracy"], 4) for head in HEADS}, "exact": round(metrics["exact"], 4)}


def sign_test(gained, lost) -> float:
    """Two-sided p-value that a change with `gained` and `lost` test prompts is no change at all: the
    prompts both models get right or wrong say nothing about which one is better."""
    return float(binomtest(gained, gained + lost, 0.5).pvalue) if gained + lost else 1.0


def full_supervision(vectors, records, test_vectors, test_records, encoder="stock") -> dict[str, float]:
    """Test scores of heads trained on every train label (and the label names, as a run learns them);
    with `encoder` other than "stock", on the embeddings of an encoder fine-tuned on them first."""
    policy = current().training
    named = named_triplets(records) if policy.label_names else []
    prompts = [r["prompt"] for r in records]
    chosen = stock_encoder()
    if encoder != "stock":
        tuner = EncoderTuner(prompts + [n for n, _ in named], records + [t for _, t in named], validate_on=len(prompts))
        chosen = tuner.train()
        vectors, test_vectors = chosen.embed(prompts), chosen.embed([r["prompt"] for r in test_records])
    names = (chosen.embed([n for n, _ in named]), [t for _, t in named]) if named else NO_NAMES
    heads = Trainer(vectors, records, neighbour_weight=policy.neighbour_weight, names=names).train()
    return test_scores(heads, test_vectors, test_records)


@dataclass
class Plan:
    train: list
    test: list
    train_vectors: np.ndarray
    test_vectors: np.ndarray
    seed: list
    stream: list
    budget: float
    chunk: int
    outside: list  # prompts from outside every intent in the train file, classified after the stream
    outside_vectors: np.ndarray
    strays: list  # prompts from outside every intent in the stream: entry len(train) + j is strays[j]
    stray_vectors: np.ndarray


class LoopSimulation:
    """One run of the loop in the current (isolated) database."""

    def __init__(self, plan, progress=None):
        self.plan = plan
        self.progress = progress or (lambda n: None)
        self.steps = []
        self.seen = 0
        self.human_labels = 0
        self.auto_accepted = 0
        self.auto_correct = 0
        self.head_labels = {head: {"labelled": 0, "correct": 0} for head in HEADS}
        self.last_run = 0
        self.gold = {}
        self.active = None  # (number, test scores, per-prompt hits) of the active version last scored
        self.strays_counts = {**outside_counts(), "rejected": 0}

    def run(self) -> dict:
        seed_lines = [json.dumps(self.plan.train[i]) for i in self.plan.seed]
        import_jsonl(seed_lines, Source.BASE)
        if not TrainingRun.objects.exists():  # a seed over the threshold trained its first model already
            execute(create_run(TrainingRun.Trigger.MANUAL, force=True))
        self.record_new_runs()
        for start in range(0, len(self.plan.stream), self.plan.chunk):
            for i in self.plan.stream[start : start + self.plan.chunk]:
                self.send(i)
            self.review()
        return {
            **self.result(),
            "out_of_scope": self.probe_outside() if self.plan.outside else None,
            "out_of_scope_traffic": self.strays_counts if self.plan.strays else None,
        }

    def send(self, i) -> None:
        """Classify stream entry `i`; its gold triplet is None for a stray, which the reviewer rejects."""
        if i < len(self.plan.train):
            record = self.plan.train[i]
            interaction = classify(record["prompt"], source="simulation", embedding=self.plan.train_vectors[i])
            self.gold[interaction.pk] = {head: record[head] for head in HEADS}
        else:
            j = i - len(self.plan.train)
            interaction = classify(self.plan.strays[j], source="simulation", embedding=self.plan.stray_vectors[j])
            self.gold[interaction.pk] = dict.fromkeys(HEADS)
            self.strays_counts["prompts"] += 1
            count_labelled_without_a_person(self.strays_counts, interaction)
        self.seen += 1
        if interaction.verdict == Verdict.ACCEPTED:
            self.auto_accepted += 1
            self.auto_correct += interaction.triplet == self.gold[interaction.pk]
        for head in interaction.auto_labelled:
            self.head_labels[head]["labelled"] += 1
            self.head_labels[head]["correct"] += interaction.triplet[head] == self.gold[interaction.pk][head]
        self.progress(1)
        self.record_new_runs()

    def review(self) -> None:
        """The reviewer works through the queue in the dashboard's order, within the budget."""
        allowance = int(self.plan.budget * self.seen) - self.human_labels
        for interaction in list(queue()[: max(allowance, 0)]):
            gold = self.gold[interaction.pk]
            if gold == dict.fromkeys(HEADS):
                decide(interaction.pk, None, Review.Decision.REJECTED)
                self.strays_counts["rejected"] += 1
            else:
                same = interaction.triplet == gold
                decide(interaction.pk, None, Review.Decision.APPROVED if same else Review.Decision.OVERRIDDEN, gold)
            self.human_labels += 1
            self.record_new_runs()

    def record_new_runs(self) -> None:
        for run in TrainingRun.objects.filter(pk__gt=self.last_run, is_open=None).order_by("pk"):
            self.last_run = run.pk
            if run.status != TrainingRun.Status.SUCCEEDED:
                continue
            test, change = self.score_active()
            self.steps.append(
                {
                    "prompts_seen": self.seen,
                    "human_labels": self.human_labels,
                    "auto_accepted": self.auto_accepted,
                    "auto_correct": self.auto_correct,
                    "auto_labels": {head: dict(counts) for head, counts in self.head_labels.items()},
                    "trained_version": run.version.number,
                    "encoder": run.version.encoder,
                    "run_seconds": run.duration,
                    "stage_seconds": run.summary.get("stage_seconds"),
                    "trained_on": run.summary.get("trained_on"),
                    "active_version": active_version().number,
                    "promoted": bool(run.promoted),
                    "decision": run.decision,
                    "batch": run.summary.get("batch"),
                    "self_training": run.summary.get("self_training"),
                    "fine_tuning": run.summary.get("fine_tuning"),
                    "test": test,
                    "test_change": change,
                    "gate": step_gate(run.version.card.certificate),
                    "gate_folds": run.summary.get("gate_folds"),
                    "scope_rejected": run.summary.get("scope_rejected"),
                }
            )

    def score_active(self) -> tuple[dict, dict | None]:
        """The active version's test scores, and when it replaced the version scored before, how many
        test prompts it got right that its predecessor got wrong and the other way round."""
        version = active_version()
        if self.active and self.active[0] == version.number:
            return self.active[1], None
        heads, vectors = load_heads(version), self.test_vectors(version)
        test = test_scores(heads, vectors, self.plan.test)
        hits = whole_triplets(item_hits(heads, vectors, self.plan.test))
        change = None
        if self.active:
            gained, lost = int((hits & ~self.active[2]).sum()), int((~hits & self.active[2]).sum())
            change = {
                "from_version": self.active[0],
                "gained": gained,
                "lost": lost,
                "p_value": float(f"{sign_test(gained, lost):.3g}"),  # significant digits: a clear gain is not 0
            }
        self.active = (version.number, test, hits)
        return test, change

    def test_vectors(self, version) -> np.ndarray:
        """The test prompts as the version's encoder embeds them (the plan holds the stock encoder's)."""
        encoder = load_encoder(version)
        return self.plan.test_vectors if encoder.is_stock else encoder.embed([r["prompt"] for r in self.plan.test])

    def probe_outside(self) -> dict:
        """The final model and gate on prompts from outside every known intent: how many of them it
        would have labelled, whole or per head, without a person."""
        counts = outside_counts()
        for prompt, vector in zip(self.plan.outside, self.plan.outside_vectors):
            counts["prompts"] += 1
            count_labelled_without_a_person(counts, classify(prompt, source="simulation", embedding=vector))
        return counts

    def result(self) -> dict:
        return {
            "steps": self.steps,
            "prompts_seen": self.seen,
            "human_labels": self.human_labels,
            "auto_accepted": self.auto_accepted,
            "auto_correct": self.auto_correct,
            "auto_precision": self.auto_correct / self.auto_accepted if self.auto_accepted else None,
            "auto_labels": {head: {**counts, "precision": ratio(counts)} for head, counts in self.head_labels.items()},
            "auto_label_precision": ratio(all_heads(self.head_labels)),
            "final": self.score_active()[0],
            "largest_drop": largest_drop(self.steps),
        }


def largest_drop(steps) -> dict | None:
    """The promotion that lost the most exact-triplet accuracy on test, in points, with the test prompts
    it gained and lost; None when no promotion lost any."""
    drops = [
        (round(100 * (before["test"]["exact"] - after["test"]["exact"]), 2), after)
        for before, after in itertools.pairwise(steps)
        if after["test_change"]
    ]
    points, step = max(drops, key=lambda drop: drop[0], default=(0, None))
    if points <= 0:
        return None
    return {"points": points, "to_version": step["active_version"], **step["test_change"]}


def outside_counts() -> dict:
    return {"prompts": 0, "auto_accepted": 0, "auto_labelled": 0, "heads": dict.fromkeys(HEADS, 0), "labelled": []}


def count_labelled_without_a_person(counts, interaction) -> None:
    """Counts what the gate labelled of an out-of-scope prompt, and keeps the prompt with those labels:
    whether the mistake is the gate's or the out-of-scope set's is for a person to read."""
    counts["auto_accepted"] += interaction.verdict == Verdict.ACCEPTED
    counts["auto_labelled"] += bool(interaction.auto_labelled)
    for head in interaction.auto_labelled:
        counts["heads"][head] += 1
    if interaction.auto_labelled:
        counts["labelled"].append(
            {
                "prompt": interaction.prompt,
                "accepted": interaction.verdict == Verdict.ACCEPTED,
                **{head: interaction.triplet[head] for head in interaction.auto_labelled},
            }
        )


def step_gate(certificate) -> dict:
    """The certificate a run served with: whole-triplet and per-head thresholds, its evidence, and how many
    of the surest in-scope predictions of that evidence had their whole triplet right."""
    return {
        "threshold": certificate.threshold,
        "evidence": certificate.evidence,
        "surest": certificate.triplet.surest,
        "surest_right": certificate.triplet.surest_right,
        "scope": certificate.scope,
        "heads": {head: proof.threshold for head, proof in certificate.heads.items()},
    }


def all_heads(head_labels) -> dict[str, int]:
    """Every head label the gate assigned, in accepted triplets and alone: (how many, how many right)."""
    return {key: sum(counts[key] for counts in head_labels.values()) for key in ("labelled", "correct")}


def ratio(counts) -> float | None:
    return counts["correct"] / counts["labelled"] if counts["labelled"] else None


def read_prompts(path) -> list[str]:
    with open(path, encoding="utf-8") as lines:
        return [line.strip() for line in lines if line.strip()]


def with_strays(stream, first, count, rng) -> list:
    """The stream with entries first .. first + count - 1 inserted at random places, its order kept."""
    stream = list(stream)
    for entry in range(first, first + count):
        stream.insert(rng.randrange(len(stream) + 1), entry)
    return stream


def make_plan(
    train_path,
    test_path,
    seed_size,
    budget,
    chunk,
    embed,
    random_seed=0,
    outside_path=None,
    strays_path=None,
    seed_path=None,
) -> Plan:
    """`embed(texts)`: their vectors; every prompt of the files is embedded once, here. The seed is the
    file at `seed_path`, put before the train file's triplets, or `seed_size` drawn from them."""
    train, test = read_triplets(train_path), read_triplets(test_path)
    outside = read_prompts(outside_path) if outside_path else []
    strays = read_prompts(strays_path) if strays_path else []
    if seed_path:
        given = read_triplets(seed_path)
        train = given + train
        stream = list(range(len(given), len(train)))
        random.Random(random_seed).shuffle(stream)
        seed = list(range(len(given)))
    else:
        seed, stream = stratified_seed(train, seed_size, random.Random(random_seed))
    stream = with_strays(stream, len(train), len(strays), random.Random(f"strays-{random_seed}"))
    vectors = embed([r["prompt"] for r in train] + [r["prompt"] for r in test] + outside + strays)
    ends = np.cumsum([len(train), len(test), len(outside)])
    return Plan(
        train,
        test,
        vectors[: ends[0]],
        vectors[ends[0] : ends[1]],
        seed,
        stream,
        budget,
        chunk,
        outside,
        vectors[ends[1] : ends[2]],
        strays,
        vectors[ends[2] :],
    )

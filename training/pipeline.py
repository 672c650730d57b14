"""One training run: merge, embed what is new, train blind to the human-only holdout, compare with the
active model's blind heads on it, train the served heads on the holdout too, register the candidate and
promote it only if it is better."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.module_loading import import_string

from .budget import Budget
from .calibration import below_rejected, calibrate, fold_numbers, heads_fold, held_out_similarity, matching_scope
from .card import Certificate, ModelCard
from .datasets import NO_TRAFFIC, PromptVectors, ensure_embeddings, matrix, merge, near_duplicates
from .encoder import DIMENSIONS, Encoder, stock_encoder
from .evaluation import evaluate, item_hits, item_losses
from .finetune import EncoderTuner
from .label_names import named_triplets
from .liveness import Heartbeat, RunAbandoned, beat, fail, this_worker
from .locks import retrying_when_locked
from .logs import run_logging
from .models import HEADS, HUMAN_SOURCES, Example, ModelVersion, TrainingRun
from .policy import Policy, current
from .promotion import Comparison, should_promote
from .registry import activate, active_version, load_encoder, load_heads, register, store
from .trainer import NO_NAMES, NO_TRAFFIC_VECTORS, Trainer, sure_guesses
from .triggers import new_examples_count, new_traffic_count

log = logging.getLogger(__name__)
FOLDS = 5


class Progress:
    """Records the stage and percent of a run as it goes, and when each stage began; `report` also feeds
    a console bar. Stops the run (RunAbandoned) once it was marked failed."""

    def __init__(self, run, report=None):
        self.run = run
        self.report = report or (lambda stage, percent: None)
        self.began = {}

    def __call__(self, stage, percent):
        self.began.setdefault(stage.split(" (")[0], time.monotonic())
        if (stage, int(percent)) == (self.run.stage, self.run.percent):
            return
        if stage != self.run.stage:
            log.info("%s", stage)
        self.run.stage, self.run.percent = stage, int(percent)
        retrying_when_locked(lambda: beat(self.run.pk, stage=stage, percent=int(percent)))
        self.report(stage, int(percent))

    def stage_seconds(self) -> list[tuple[str, float]]:
        """(stage, seconds spent in it) in the order of the stages, the last one until now; a list, since
        PostgreSQL's jsonb does not keep the order of an object's keys."""
        marks = [*self.began.items(), ("now", time.monotonic())]
        return [(stage, round(marks[i + 1][1] - at, 1)) for i, (stage, at) in enumerate(marks[:-1])]


def learning_options(encoded, policy: Policy) -> dict:
    """The Trainer options of every model a run trains: the neighbour vote, the label names, and the
    newest prompts nobody labelled to learn from (none when self-training is off)."""
    options = {"neighbour_weight": policy.training.neighbour_weight, "traffic": NO_TRAFFIC_VECTORS}
    options["names"] = encoded.names
    if policy.self_training.enabled:
        options.update(traffic=encoded.traffic, traffic_confidence=policy.self_training.confidence)
    return options


def label_names(merged, policy: Policy) -> list[tuple[str, dict]]:
    """The run's label-name examples: one per triplet a person or the gate labelled, holdout included."""
    return named_triplets([e.triplet for e in merged.train + merged.holdout]) if policy.training.label_names else []


def waiting_traffic(policy: Policy) -> PromptVectors:
    if not policy.self_training.enabled:
        return NO_TRAFFIC
    source = import_string(settings.SECONDMIND_TRAFFIC_SOURCE)
    return source(policy.self_training.prompts, policy.training.holdout_fraction)


def _self_training_summary(learning):
    if not len(learning["traffic"]):
        return None
    return {"prompts": len(learning["traffic"]), "confidence": learning["traffic_confidence"]}


@dataclass
class Encoded:
    """One encoder and every vector a run needs from it: the examples' (by primary key), the traffic's
    and the label names' (with their triplets)."""

    encoder: Encoder
    vectors: dict
    traffic: np.ndarray
    names: tuple = NO_NAMES

    def of(self, examples) -> np.ndarray:
        return np.stack([self.vectors[e.pk] for e in examples]) if examples else np.zeros((0, DIMENSIONS), np.float32)


def encode(encoder, examples, traffic, named=()) -> Encoded:
    """The stock encoder's vectors come from the examples' cache (embedding what is missing); another
    encoder embeds every prompt, here in the worker. `named`: the label-name examples."""
    if encoder.is_stock:
        ensure_embeddings(examples)
        vectors = matrix(examples)
    else:
        vectors = encoder.embed([e.prompt for e in examples])
    names = (encoder.embed([name for name, _ in named]), [triplet for _, triplet in named]) if named else NO_NAMES
    return Encoded(encoder, {e.pk: v for e, v in zip(examples, vectors)}, traffic.vectors_by(encoder), names)


def human_only(examples) -> list:
    return [e for e in examples if e.source in HUMAN_SOURCES]


def with_names(prompts, triplets, named) -> tuple[list, list]:
    """A fine-tuning's rows: the labelled prompts first (its validation split is drawn from them), then
    the label names."""
    return prompts + [name for name, _ in named], triplets + [triplet for _, triplet in named]


def _fit_heads(examples, encoded, learning, progress):
    return Trainer(encoded.of(examples), [e.triplet for e in examples], progress=progress, **learning).train()


def _accuracy_score(metrics):
    """The mean of the three head accuracies and the exact-triplet accuracy, averaged."""
    return (sum(metrics[h]["accuracy"] for h in HEADS) / len(HEADS) + metrics["exact"]) / 2


def _scored(heads, holdout) -> tuple[np.ndarray, dict]:
    """Per holdout example: the heads' log-loss of its gold labels, and per head whether they get its label."""
    return item_losses(heads, *holdout), item_hits(heads, *holdout)


def batch_data_verdict(with_batch, without, holdout, policy: Policy) -> tuple[bool, str]:
    """(keep, note): the heads keep the batch data only when the promotion rule, on the holdout, finds
    them better with it than without, as a candidate must be to replace the active model: "no worse" on
    a holdout of a hundred examples cannot see a point or two, and the heads' own sure guesses teach
    them between -0.5 and +1 point (docs/learning, 2026-12-05 late)."""
    if not len(holdout[1]):
        return False, "batch data left out: no holdout to tell whether it helps"
    comparison = Comparison.between(_scored(with_batch, holdout), _scored(without, holdout))
    better, _ = should_promote(
        evaluate(with_batch, *holdout), evaluate(without, *holdout), comparison, policy.promotion
    )
    sureness = f"{comparison.confidence_better():.0%} sure on {len(comparison)} holdout examples"
    if better:
        return True, f"batch data kept: the heads were better with it ({sureness})"
    return False, f"batch data left out: the heads were not clearly better with it ({sureness})"


@dataclass
class Fitted:
    """The heads one encoder gives: blind ones (never saw the holdout), served ones, what they learned."""

    encoded: Encoded
    blind: object
    heads: object
    blind_trained_on: list
    trained_on: list
    learning: dict
    batch_note: str
    holdout_metrics: dict | None


def fit(merged, encoded, progress, policy: Policy) -> "Fitted":
    """Stage fit: blind heads with and without the auto-labelled data (kept only where the holdout finds
    them better with it), then the served heads, which learn the holdout too. 2 or 3 head fits, each two
    when self-training."""
    learning = learning_options(encoded, policy)
    holdout = (encoded.of(merged.holdout), [e.triplet for e in merged.holdout])
    blind, blind_on, note = (
        _fit_heads(merged.train, encoded, learning, progress.span(0, 0.6)),
        merged.train,
        "no batch data",
    )
    human = human_only(merged.train)
    if human and len(human) < len(merged.train):
        without = _fit_heads(human, encoded, learning, progress.span(0.6, 0.85))
        keep, note = batch_data_verdict(blind, without, holdout, policy)
        if not keep:
            blind, blind_on = without, human
    trained_on = blind_on + merged.holdout
    heads = _fit_heads(trained_on, encoded, learning, progress.span(0.85, 1)) if merged.holdout else blind
    human_reference_vectors = encoded.of(human_only(trained_on))
    heads.know_reference(human_reference_vectors)
    if blind is not heads:
        blind.know_reference(encoded.of(human_only(blind_on)))
    return Fitted(encoded, blind, heads, blind_on, trained_on, learning, note, evaluate(blind, *holdout))


def tune_encoder(merged, traffic, progress, budget, policy: Policy) -> tuple[Encoder, dict]:
    """Stage tune, in the first half of the time budget: an encoder fine-tuned on the human-labelled
    training examples (never the holdout, never the auto-accepted batch data: the heads keep that only
    where the holdout finds them better with it, the encoder could not be checked so, and its partial
    triplets would spend the budget away from the human labels) and then, with self-training and
    `noisy_student` on (off by default: in the loop it cost more than it taught while labels were few),
    a noisy student: the fine-tuning continued on those examples and the traffic prompts the first
    encoder's heads are sure of, kept only when it gets at least as many of the validation split's
    labelled prompts right as its teacher (the two validate on the same rows). The student continues
    rather than starts afresh so that the encoder kept has had the whole first half either way. The
    guesses stay inside the run. Returns the encoder kept and its fine-tuning's report."""
    examples, named = human_only(merged.train), label_names(merged, policy)
    prompts, triplets = with_names([e.prompt for e in examples], [e.triplet for e in examples], named)
    labelled = len(examples)
    # The version's examples must be embedded before the folds start; its traffic vectors come out of the
    # folds' share: reserved here, they cut a loop's fine-tuning to half the steps of a run without traffic.
    embedded_after = len(merged.train) + len(merged.holdout)
    with_traffic = policy.self_training.enabled and policy.self_training.noisy_student and len(traffic.prompts)
    if not with_traffic:
        tuning = _tuner(prompts, triplets, progress, budget.deadline(0.5, embedded_after), policy, labelled)
        return tuning.train(), tuning.report()
    teacher_deadline = budget.deadline(0.2, len(examples) + len(traffic.prompts))
    teaching = _tuner(prompts, triplets, progress.span(0, 0.35), teacher_deadline, policy, labelled)
    teacher = teaching.train()
    taught = encode(teacher, examples, traffic, named)
    heads = _fit_heads(examples, taught, learning_options(taught, policy), None)
    sure, guesses = sure_guesses(heads, taught.traffic, policy.self_training.confidence)
    student_prompts = prompts + [traffic.prompts[i] for i in np.flatnonzero(sure)]
    deadline = budget.deadline(0.5, embedded_after)
    studying = _tuner(
        student_prompts, triplets + guesses, progress.span(0.35, 1), deadline, policy, labelled, start=teacher
    )
    student = studying.train()
    student_score, teacher_score = studying.best_score or 0.0, teaching.best_score or 0.0
    if student_score < teacher_score:
        log.info(
            "noisy student dropped: %.3f of the validation split right, its teacher %.3f", student_score, teacher_score
        )
        return teacher, teaching.report()
    return student, studying.report()


def _tuner(prompts, triplets, progress, deadline, policy: Policy, validate_on, start=None) -> EncoderTuner:
    """A fine-tuning of the prompts' first `validate_on` (labelled) rows and the rest, stopped by the
    deadline, the policy's step limit or early stopping on a validation split of those rows."""
    return EncoderTuner(
        prompts,
        triplets,
        max_steps=policy.training.finetune_max_steps or None,
        deadline=deadline,
        progress=lambda fraction, epoch: progress(fraction, f"epoch {epoch}"),
        validate_on=validate_on,
        start=start,
    )


def tuned_folds(merged_human, auto, named, traffic, progress, budget, policy: Policy, after_tuning) -> Callable:
    """The gate's fold models for a fine-tuned encoder, in the time left: each fold fine-tunes its own
    encoder on the human labels outside the fold (with every label name, without the batch data, as the
    version's encoder does), then trains heads on that encoder's vectors of those labels and the batch
    data. Each fine-tuning stops at the fold's share of the time left, less what the fold does after it:
    `after_tuning` seconds for the first fold, then as long as the fold before took."""
    human_prompts = [e.prompt for e in merged_human]
    human_triplets = [e.triplet for e in merged_human]
    spent_after_tuning = [after_tuning]

    def fit_fold(kept):
        done = len(spent_after_tuning) - 1
        part = progress.span(done / FOLDS, (done + 1) / FOLDS)
        deadline = budget.share_of_rest(FOLDS - done, spent_after_tuning[-1])
        kept_triplets = [t for t, k in zip(human_triplets, kept) if k]
        prompts, triplets = with_names([p for p, k in zip(human_prompts, kept) if k], kept_triplets, named)
        encoder = _tuner(prompts, triplets, part, deadline, policy, len(kept_triplets)).train()
        tuned_at = time.monotonic()
        vectors = encoder.embed(human_prompts)
        auto_vectors = encoder.embed([e.prompt for e in auto])
        learning = learning_options(encode(encoder, [], traffic, named), policy)
        heads = Trainer(
            np.concatenate([vectors[kept], auto_vectors]), kept_triplets + [e.triplet for e in auto], **learning
        ).train()
        spent_after_tuning.append(time.monotonic() - tuned_at)
        return heads, vectors

    return fit_fold


def stock_folds(human, auto, stock, policy: Policy) -> Callable:
    """The gate's fold models when too little time is left to fine-tune theirs: heads on the stock
    encoder (`stock`: its Encoded), which never saw a label, trained as a frozen-encoder run's folds
    are (docs/learning, 2026-12-06 evening, measures the auto-labels' precision with them)."""
    auto_labelled = (stock.of(auto), [e.triplet for e in auto])
    return heads_fold(stock.of(human), [e.triplet for e in human], auto_labelled, learning_options(stock, policy))


def rejected_similarity(encoded, known) -> np.ndarray:
    """How similar each prompt people rejected is to its nearest example of `known`, as `encoded`'s encoder
    embeds them (a fine-tuned one re-embeds the rejected prompts here, in the worker)."""
    rejected = import_string(settings.SECONDMIND_REJECTED_SOURCE)()
    if not rejected.prompts or not known:
        return np.zeros(0)
    return (rejected.vectors_by(encoded.encoder) @ encoded.of(known).T).max(axis=1)


def gate_scope(encoded, human, holdout, policy: Policy) -> tuple[float | Callable, dict | None]:
    """The similarity to a human-labelled example below which a prompt is out of scope for this version
    (a function of the evidence's similarities for a fine-tuned encoder: the share of human examples the
    stock value keeps), and what the prompts people rejected said of it: None while they are fewer than
    the policy asks."""
    rules = policy.certification
    scope = rules.scope_similarity
    if not encoded.encoder.is_stock:
        folds = fold_numbers([e.triplet for e in human], FOLDS)
        scope = matching_scope(held_out_similarity(matrix(human), folds), scope)  # the cache holds stock vectors
    if not rules.scope_rejections:
        return scope, None
    similarity = rejected_similarity(encoded, human + holdout)
    if len(similarity) < rules.scope_rejections:
        return scope, None
    rejected = {"prompts": len(similarity), "most_similar": round(float(similarity.max()), 4)}
    return below_rejected(scope, similarity), rejected


def certify(
    fitted, merged, traffic, progress, budget, policy: Policy, after_tuning, stock
) -> tuple[Certificate, str, dict | None]:
    """Stage certify: the gate's certificates from human-labelled evidence: 5 fold models and the holdout.
    When the version's encoder is fine-tuned, each fold fine-tunes its own, if the time limit leaves each
    fold more than the `after_tuning` seconds its embedding and heads take; otherwise the folds use the
    stock encoder (`stock`: its Encoded when the run made one). Returns the Certificate, what its fold
    models were and what the rejected prompts said of its scope (see `gate_scope`)."""
    encoded = fitted.encoded
    human = human_only(fitted.blind_trained_on)
    auto = [e for e in fitted.blind_trained_on if e.source not in HUMAN_SOURCES]
    rules = policy.certification
    fit_fold, folds_note = None, "fold models on the stock encoder"
    if not encoded.encoder.is_stock:
        named = label_names(merged, policy)
        if budget.share_of_rest(FOLDS, after_tuning) > time.monotonic():
            fit_fold = tuned_folds(human, auto, named, traffic, progress, budget, policy, after_tuning)
            folds_note = "fold models that fine-tuned their own encoders"
        else:
            stock = stock or encode(stock_encoder(), human + auto, traffic, named)
            fit_fold = stock_folds(human, auto, stock, policy)
            folds_note += ": the time limit left too little to fine-tune five more encoders"
    scope, rejected = gate_scope(encoded, human, merged.holdout, policy)
    gate = calibrate(
        fitted.blind,
        (encoded.of(merged.holdout), [e.triplet for e in merged.holdout]),
        (encoded.of(human), [e.triplet for e in human]),
        (encoded.of(auto), [e.triplet for e in auto]),
        rules.precision_target,
        rules.step,
        scope,
        rules.confidence,
        folds=FOLDS,
        learning=fitted.learning,
        fit_fold=fit_fold,
    )
    return gate, folds_note, rejected


def choose(stock, tuned) -> tuple[Fitted, str]:
    """`auto`: the fine-tuned encoder only when its blind heads do at least as well on the holdout as the
    stock encoder's, and strictly better than them when the holdout is too small to promote on."""
    if tuned is None:
        return stock, "stock encoder"
    if stock.holdout_metrics is None:
        return stock, "stock encoder: no holdout to tell whether fine-tuning helps"
    if _accuracy_score(tuned.holdout_metrics) > _accuracy_score(stock.holdout_metrics):
        return tuned, "fine-tuned encoder: better than the stock one on the holdout"
    return stock, "stock encoder: the fine-tuned one was no better on the holdout"


def train_candidate(run, progress, policy: Policy) -> "Candidate":
    """The body of a run: prepare -> tune -> fit -> certify -> judge. Returns the Candidate, with the
    promotion decided but not yet recorded."""
    progress("preparing", 1)
    run.data_until = Example.objects.aggregate(m=Max("pk"))["m"] or 0
    run.traffic_until = new_traffic_count()[1]
    merged = merge(policy.training.holdout_fraction)
    if not merged.train:
        raise ValueError("There is nothing to train on: import a seed (make run loads one).")
    traffic = waiting_traffic(policy)
    mode = policy.training.encoder
    tuning = mode in ("finetune", "auto")
    stages = Stages(progress, tuning)
    examples = merged.train + merged.holdout
    ensure_embeddings(examples)
    named = label_names(merged, policy)
    budget = Budget(policy.training.finetune_minutes, [e.prompt for e in merged.train]) if tuning else None
    pairs, shown = near_duplicates(examples, policy.training.near_duplicate_similarity)

    def fit_on(encoder, stage):
        entered = stages(stage)  # before the encoder's pass over the examples and traffic, which it times
        return fit(merged, encode(encoder, examples, traffic, named), entered, policy)

    tuned, fine_tuning, heads_seconds = None, None, 0.0
    if tuning:
        encoder, fine_tuning = tune_encoder(merged, traffic, stages("fine-tuning the encoder"), budget, policy)
        started = time.monotonic()
        tuned = fit_on(encoder, "training the heads")
        heads_seconds = time.monotonic() - started  # more than a fold's own embedding and heads: fewer rows
    stock = None if mode == "finetune" else fit_on(stock_encoder(), "training the stock heads")
    fitted, encoder_note = (tuned, "fine-tuned encoder") if stock is None else choose(stock, tuned)
    certifying = stages("certifying the gate")
    gate, gate_folds, scope_rejected = certify(
        fitted, merged, traffic, certifying, budget, policy, heads_seconds, stock.encoded if stock else None
    )
    progress("judging", 96)
    holdout = (fitted.encoded.of(merged.holdout), [e.triplet for e in merged.holdout])
    active = active_version()
    active_metrics, compare = judge_active(active, merged.holdout)
    promote, reason = should_promote(
        fitted.holdout_metrics, active_metrics, compare(fitted.blind, holdout) if active else None, policy.promotion
    )
    progress("registering", 97)
    summary = {
        **merged.summary,
        "batch": fitted.batch_note,
        "stage_seconds": progress.stage_seconds(),
        "trained_on": len(fitted.trained_on),
        "trained_blind_on": len(fitted.blind_trained_on),
        "self_training": _self_training_summary(fitted.learning),
        "neighbour_weight": fitted.learning["neighbour_weight"],
        "label_names": len(fitted.learning["names"][1]),
        "encoder": encoder_note,
        "gate_folds": gate_folds,
        "scope_rejected": scope_rejected,
        "fine_tuning": fine_tuning,
        "near_duplicates": {"pairs": pairs, "most_similar": shown},
    }
    return Candidate(
        files=store(fitted.heads, fitted.blind if merged.holdout else None, fitted.encoded.encoder),
        trained_on=fitted.trained_on,
        evaluated_on=merged.holdout,
        promote=promote,
        decision=reason,
        summary=summary,
        challenged=active.pk if active else None,
        card=ModelCard(fitted.holdout_metrics, active_metrics, active.number if active else None, gate),
    )


def judge_active(active, holdout_examples) -> tuple[dict | None, Callable | None]:
    """Stage judge: the active version's blind heads on the holdout, through its own encoder, and a
    function comparing a candidate with them on each holdout example."""
    if active is None:
        return None, None
    active_blind = load_heads(active, blind=True)
    vectors = encode(load_encoder(active), holdout_examples, NO_TRAFFIC).of(holdout_examples)
    triplets = [e.triplet for e in holdout_examples]
    active_scores = _scored(active_blind, (vectors, triplets))

    def compare(candidate, holdout):
        return Comparison.between(_scored(candidate, holdout), active_scores)

    return evaluate(active_blind, vectors, triplets), compare


class Stages:
    """Each stage's share of a run's progress bar, and its name on the dashboard."""

    def __init__(self, progress, tuning):
        self.progress = progress
        self.bounds = (
            {
                "fine-tuning the encoder": (3, 45),
                "training the heads": (45, 52),
                "training the stock heads": (52, 58),
                "certifying the gate": (58, 95),
            }
            if tuning
            else {"training the stock heads": (3, 60), "certifying the gate": (60, 95)}
        )

    def __call__(self, name):
        start, end = self.bounds[name]
        stage = StageProgress(self.progress, name, start, end)
        stage(0)  # entering a stage shows (and logs) it, even when it reports nothing more
        return stage


class StageProgress:
    """progress(fraction, detail) within one stage; `span` gives a part of it to a sub-step."""

    def __init__(self, progress, name, start, end):
        self.progress, self.name, self.start, self.end = progress, name, start, end

    def __call__(self, fraction, detail=""):
        label = f"{self.name} ({detail})" if detail else self.name
        self.progress(label[:40], self.start + (self.end - self.start) * fraction)

    def span(self, start, end) -> "StageProgress":
        return StageProgress(
            self.progress,
            self.name,
            self.start + (self.end - self.start) * start,
            self.start + (self.end - self.start) * end,
        )


@dataclass
class Candidate:
    """What a run trained and decided, not yet recorded: `conclude` records it all or nothing."""

    files: object
    trained_on: list
    evaluated_on: list
    card: ModelCard
    promote: bool
    decision: str
    summary: dict
    challenged: int | None


def conclude(run, candidate) -> ModelVersion:
    """Register the candidate, promote it if it won, and close the run, in one transaction that first
    checks, under a lock, that the run is still running: a run marked failed never registers or promotes.
    A candidate that won against a model which is no longer the active one stays a candidate."""
    with transaction.atomic():
        if not TrainingRun.objects.select_for_update().filter(pk=run.pk, status=TrainingRun.Status.RUNNING).exists():
            raise RunAbandoned(f"Training run #{run.pk} was marked failed while it ran; its result is discarded.")
        version = register(candidate.files, candidate.trained_on, candidate.evaluated_on, candidate.card.to_json())
        active = active_version()
        promote, decision = candidate.promote, candidate.decision
        if promote and (active.pk if active else None) != candidate.challenged:
            promote, decision = False, "Not promoted: another model became active while it trained."
        if promote:
            activate(version)
        elif active is not None:
            version.status = version.Status.REJECTED
            version.save(update_fields=["status"])
        run.version, run.promoted, run.decision, run.summary = version, promote, decision, candidate.summary
        run.status, run.stage, run.percent = TrainingRun.Status.SUCCEEDED, "done", 100
        run.finished_at = timezone.now()
        run.save()
    return version


def claim(run) -> bool:
    """Take a queued run for this process; False when another one already took it."""
    now = timezone.now()
    taken = TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.QUEUED).update(
        status=TrainingRun.Status.RUNNING, started_at=now, heartbeat_at=now, worker=this_worker()
    )
    run.refresh_from_db()
    return taken == 1


def execute(run, report=None) -> TrainingRun:
    """Run a queued run to its end: succeeded, skipped or failed, never leaving it open."""
    if not claim(run):
        return run
    with run_logging(run.pk):
        log.info("started (%s)", run.trigger)
        try:
            with Heartbeat(run.pk):
                if (
                    not run.force
                    and active_version() is not None
                    and new_examples_count() == 0
                    and not new_traffic_count()[0]
                ):
                    _close(run, TrainingRun.Status.SKIPPED, decision="Nothing new since the last training.")
                else:
                    progress = Progress(run, report)
                    candidate = train_candidate(run, progress, current())
                    retrying_when_locked(lambda: conclude(run, candidate))
                    progress.report("done", 100)
                    log.info("trained v%s: %s", run.version.number, run.decision)
        except Exception as error:  # the run records any failure; the active model is untouched
            log.exception("failed")
            fail(run.pk, f"{type(error).__name__}: {error}")
    run.refresh_from_db()
    return run


def _close(run, status, **fields):
    run.status, run.finished_at = status, timezone.now()
    for name, value in fields.items():
        setattr(run, name, value)
    retrying_when_locked(run.save)

"""One training run: merge, embed what is new, train blind to the human-only holdout, compare with the
active model's blind heads on it, train the served heads on the holdout too, register the candidate and
promote it only if it is better."""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.module_loading import import_string

from .calibration import calibrate
from .datasets import ensure_embeddings, matrix, merge, near_duplicates
from .encoder import ENCODER_NAME
from .evaluation import evaluate, item_losses
from .models import HEADS, HUMAN_SOURCES, Example, TrainingRun
from .promotion import decide
from .liveness import Heartbeat, RunAbandoned, beat, fail, this_worker
from .locks import retrying_when_locked
from .registry import activate, active_version, load_heads, register, store
from .trainer import NO_TRAFFIC, Trainer
from .triggers import new_examples_count

log = logging.getLogger(__name__)


class Progress:
    """Records the stage and percent of a run as it goes; `report` also feeds a console bar. Stops the
    run (RunAbandoned) once it was marked failed."""

    def __init__(self, run, report=None):
        self.run = run
        self.report = report or (lambda stage, percent: None)

    def __call__(self, stage, percent):
        if (stage, int(percent)) == (self.run.stage, self.run.percent):
            return
        self.run.stage, self.run.percent = stage, int(percent)
        retrying_when_locked(lambda: beat(self.run.pk, stage=stage, percent=int(percent)))
        self.report(stage, int(percent))


def learning_options():
    """The Trainer options of every model a run trains: the neighbour vote, and the newest prompts
    nobody labelled to learn from (none when self-training is off)."""
    options = {"neighbour_weight": settings.SECONDMIND_NEIGHBOUR_WEIGHT, "traffic": NO_TRAFFIC}
    if settings.SECONDMIND_SELF_TRAINING:
        source = import_string(settings.SECONDMIND_TRAFFIC_SOURCE)
        options.update(traffic=source(settings.SECONDMIND_SELF_TRAINING_PROMPTS),
                       traffic_confidence=settings.SECONDMIND_SELF_TRAINING_CONFIDENCE)
    return options


def _self_training_summary(learning):
    if not len(learning["traffic"]):
        return None
    return {"prompts": len(learning["traffic"]), "confidence": learning["traffic_confidence"]}


def _train(examples, learning, progress, start, end):
    def on_step(fraction):
        if fraction in (0, 1) or int(fraction * 100) % 20 == 0:
            progress("training", start + (end - start) * fraction)

    triplets = [e.triplet for e in examples]
    return Trainer(matrix(examples), triplets, progress=on_step, **learning).train()


def _pair(examples):
    return matrix(examples), [e.triplet for e in examples]


def _loss_saved(candidate, active, holdout):
    """Per holdout example, how much lower the candidate's log-loss is than the active model's."""
    return item_losses(active, *holdout) - item_losses(candidate, *holdout)


def _accuracy_score(metrics):
    """The mean of the three head accuracies and the exact-triplet accuracy, averaged."""
    return (sum(metrics[h]["accuracy"] for h in HEADS) / len(HEADS) + metrics["exact"]) / 2


def _batch_helps(with_batch, without_batch, holdout):
    """Auto-labelled data can hurt: (keep it?, why), from both models on the holdout (vectors, triplets)."""
    with_metrics, without_metrics = evaluate(with_batch, *holdout), evaluate(without_batch, *holdout)
    if with_metrics is None:
        return True, "batch data kept: no holdout to compare"
    if _accuracy_score(with_metrics) >= _accuracy_score(without_metrics):
        return True, "batch data kept: it did not hurt on the holdout"
    return False, "batch data left out: the model was better without it"


def _train_heads(merged, holdout, learning, progress):
    """(heads, examples trained on, what was decided about the batch data)."""
    heads = _train(merged.train, learning, progress, 10, 60)
    human = [e for e in merged.train if e.source in HUMAN_SOURCES]
    if len(human) == len(merged.train) or not human:
        return heads, merged.train, "no batch data"
    without = _train(human, learning, progress, 60, 85)
    keep, note = _batch_helps(heads, without, holdout)
    return (heads, merged.train, note) if keep else (without, human, note)


def train_and_decide(run, progress):
    """The body of a run: the Candidate it trained, with the promotion decided but not yet recorded."""
    progress("merging", 2)
    run.data_until = Example.objects.aggregate(m=Max("pk"))["m"] or 0
    merged = merge()
    if not merged.train:
        raise ValueError("There is nothing to train on: import a seed (make run loads one).")
    progress("embedding", 5)
    ensure_embeddings(merged.train + merged.holdout)
    pairs, shown = near_duplicates(merged.train + merged.holdout, settings.SECONDMIND_NEAR_DUPLICATE_SIMILARITY)
    learning = learning_options()
    started = time.monotonic()
    holdout = _pair(merged.holdout)
    blind, blind_trained_on, batch_note = _train_heads(merged, holdout, learning, progress)
    # Served heads learn every human label; promotion compares the blind ones, which never saw the holdout.
    trained_on = blind_trained_on + merged.holdout
    heads = _train(trained_on, learning, progress, 85, 90) if merged.holdout else blind
    train_seconds = time.monotonic() - started

    progress("evaluating", 90)
    candidate_metrics = evaluate(blind, *holdout)
    progress("certifying the gate", 93)
    human_train = [e for e in blind_trained_on if e.source in HUMAN_SOURCES]
    auto_train = [e for e in blind_trained_on if e.source not in HUMAN_SOURCES]
    gate = calibrate(blind, holdout, _pair(human_train), _pair(auto_train),
                     settings.SECONDMIND_AUTO_PRECISION_TARGET, settings.SECONDMIND_CERTIFY_STEP,
                     settings.SECONDMIND_GATE_SCOPE_SIMILARITY, settings.SECONDMIND_CERTIFY_CONFIDENCE,
                     learning=learning)
    active = active_version()
    active_blind = load_heads(active, blind=True) if active else None
    active_metrics = evaluate(active_blind, *holdout) if active else None
    promote, reason = decide(candidate_metrics, active_metrics,
                             _loss_saved(blind, active_blind, holdout) if active else None)
    progress("registering", 97)
    summary = {**merged.summary, "batch": batch_note, "train_seconds": round(train_seconds, 2),
               "trained_on": len(trained_on), "trained_blind_on": len(blind_trained_on),
               "self_training": _self_training_summary(learning),
               "neighbour_weight": learning["neighbour_weight"],
               "near_duplicates": {"pairs": pairs, "most_similar": shown}}
    return Candidate(
        files=store(heads, blind if merged.holdout else None), trained_on=trained_on,
        evaluated_on=merged.holdout, promote=promote, decision=reason, summary=summary,
        metrics={"holdout": candidate_metrics, "active_holdout": active_metrics,
                 "challenged": active.number if active else None, "gate": gate},
        challenged=active.pk if active else None,
    )


@dataclass
class Candidate:
    """What a run trained and decided, not yet recorded: `conclude` records it all or nothing."""

    files: object
    trained_on: list
    evaluated_on: list
    metrics: dict
    promote: bool
    decision: str
    summary: dict
    challenged: int | None


def conclude(run, candidate):
    """Register the candidate, promote it if it won, and close the run, in one transaction that first
    checks, under a lock, that the run is still running: a run marked failed never registers or promotes.
    A candidate that won against a model which is no longer the active one stays a candidate."""
    with transaction.atomic():
        if not TrainingRun.objects.select_for_update().filter(pk=run.pk, status=TrainingRun.Status.RUNNING).exists():
            raise RunAbandoned(f"Training run #{run.pk} was marked failed while it ran; its result is discarded.")
        version = register(candidate.files, ENCODER_NAME, candidate.trained_on, candidate.evaluated_on,
                           candidate.metrics)
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


def claim(run):
    """Take a queued run for this process; False when another one already took it."""
    now = timezone.now()
    taken = TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.QUEUED).update(
        status=TrainingRun.Status.RUNNING, started_at=now, heartbeat_at=now, worker=this_worker()
    )
    run.refresh_from_db()
    return taken == 1


def execute(run, report=None):
    """Run a queued run to its end: succeeded, skipped or failed, never leaving it open."""
    if not claim(run):
        return run
    log.info("training run #%s started (%s)", run.pk, run.trigger)
    try:
        with Heartbeat(run.pk):
            if not run.force and active_version() is not None and new_examples_count() == 0:
                _close(run, TrainingRun.Status.SKIPPED, decision="Nothing new since the last training.")
            else:
                candidate = train_and_decide(run, Progress(run, report))
                retrying_when_locked(lambda: conclude(run, candidate))
                log.info("training run #%s trained v%s: %s", run.pk, run.version.number, run.decision)
    except Exception as error:  # the run records any failure; the active model is untouched
        log.exception("training run #%s failed", run.pk)
        fail(run.pk, f"{type(error).__name__}: {error}")
    run.refresh_from_db()
    return run


def _close(run, status, **fields):
    run.status, run.finished_at = status, timezone.now()
    for name, value in fields.items():
        setattr(run, name, value)
    retrying_when_locked(run.save)

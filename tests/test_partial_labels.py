"""Per-head auto-labels: a head the gate is sure of joins the batch dataset while a person decides the
triplet; an example may leave heads unlabelled, and training learns each head from the examples that
label it."""

import json

import pytest
from django.core.management import CommandError, call_command

from interactions.classify import classify
from interactions.models import Interaction, Review
from interactions.reviews import auto_label_precision, decide
from interactions.simulation import read_triplets
from training.datasets import merge
from training.encoder import embed
from training.evaluation import evaluate
from training.models import HEADS, Example, Source
from training.trainer import Trainer

PROMPT = "Find my notes about the kubernetes upgrade"  # outside the holdout region, like most traffic


def test_a_certified_head_is_auto_labelled_while_the_triplet_waits_for_a_person(category_certified):
    interaction = classify(PROMPT)
    assert (interaction.verdict, interaction.auto_labelled) == ("review", ["category"])
    example = interaction.example
    assert (example.source, example.subject, example.action, example.category) == (
        Source.BATCH,
        "",
        "",
        interaction.category,
    )


def test_the_reviewed_triplet_replaces_the_partial_auto_label_in_training(category_certified, reviewer):
    interaction = classify(PROMPT)
    decide(interaction.pk, reviewer, Review.Decision.APPROVED)
    merged = merge(0.2)
    chosen = [e for e in merged.train + merged.holdout if e.normalized_prompt == PROMPT.casefold()]
    assert [(e.source, e.labelled_heads) for e in chosen] == [(Source.LIVE, list(HEADS))]


def test_rejecting_the_prompt_forgets_its_auto_labels(category_certified, reviewer):
    interaction = classify(PROMPT)
    decide(interaction.pk, reviewer, Review.Decision.REJECTED)
    assert not Example.objects.filter(source=Source.BATCH).exists()
    assert Interaction.objects.get(pk=interaction.pk).example is None


def test_a_human_example_must_label_every_head(db):
    with pytest.raises(ValueError, match="labels every head"):
        Example.objects.create(prompt=PROMPT, subject="", action="Find", category="Knowledge", source=Source.LIVE)


def test_a_batch_example_must_label_at_least_one_head(db):
    with pytest.raises(ValueError, match="needs at least one label"):
        Example.objects.create(prompt=PROMPT, subject="", action="", category="", source=Source.BATCH)


def write(tmp_path, records):
    path = tmp_path / "batch.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_the_batch_file_writes_an_unlabelled_head_as_null_and_reads_it_back(db, tmp_path):
    partial = {"prompt": PROMPT, "subject": None, "action": None, "category": "Knowledge"}
    call_command("import_jsonl", str(write(tmp_path, [partial])), source="batch")
    out = tmp_path / "out.jsonl"
    call_command("export_jsonl", str(out), source="batch")
    assert json.loads(out.read_text(encoding="utf-8")) == partial


def test_a_human_file_with_an_unlabelled_head_is_refused(db, tmp_path):
    partial = {"prompt": PROMPT, "subject": None, "action": "Find", "category": "Knowledge"}
    with pytest.raises(CommandError, match='line 1: "subject" must be a non-empty string'):
        call_command("import_jsonl", str(write(tmp_path, [partial])), source="live")


def test_examples_that_label_one_head_teach_that_head_only(hwu64):
    train, test = read_triplets(hwu64 / "train.jsonl"), read_triplets(hwu64 / "test.jsonl")
    complete, category_only = train[::100], [{**r, "subject": "", "action": ""} for r in train[1::5]]
    vectors = embed([r["prompt"] for r in complete + category_only])
    test_vectors = embed([r["prompt"] for r in test])
    alone = Trainer(vectors[: len(complete)], complete).train()
    helped = Trainer(vectors, complete + category_only).train()
    assert helped.triplets == alone.triplets  # partial examples add no label combination
    before, after = evaluate(alone, test_vectors, test), evaluate(helped, test_vectors, test)
    assert after["category"]["accuracy"] > before["category"]["accuracy"] + 0.02


def test_reviews_of_auto_labelled_items_estimate_each_heads_precision(category_certified, reviewer):
    kept, changed = classify(PROMPT), classify("Summarize the paper about sparse attention")
    decide(kept.pk, reviewer, Review.Decision.APPROVED)
    decide(changed.pk, reviewer, Review.Decision.OVERRIDDEN, {"category": "Travel"})
    assert auto_label_precision() == {"category": (0.5, 2)}

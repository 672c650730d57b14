"""Deduplication, the merged dataset and its human-only holdout."""

import numpy as np

from training.datasets import add_example, ensure_embeddings, in_holdout_region, merge, near_duplicates
from training.encoder import embed
from training.models import Example, Source, normalize_prompt

TRIPLET = {"subject": "Note", "action": "Find", "category": "Knowledge"}
OTHER = {"subject": "Paper", "action": "Find", "category": "Research"}


def test_prompts_differing_in_case_and_spaces_are_one_example(db):
    add_example("Find my notes on  Kubernetes", TRIPLET, Source.BATCH)
    _, created = add_example("find my NOTES on kubernetes ", TRIPLET, Source.BATCH)
    assert not created
    assert Example.objects.count() == 1


def test_a_batch_prompt_already_labelled_by_a_person_is_not_added(db):
    add_example("Find my notes on Kubernetes", TRIPLET, Source.BASE)
    _, created = add_example("Find my notes on Kubernetes", OTHER, Source.BATCH)
    assert not created


def test_merge_resolves_conflicts_live_over_base_over_batch(db):
    prompt = "Find the article about graph databases"
    add_example(prompt, OTHER, Source.BATCH)
    Example.objects.create(prompt=prompt, source=Source.BASE, **TRIPLET)
    Example.objects.create(prompt=prompt, source=Source.LIVE, **{**TRIPLET, "action": "Think"})
    merged = merge(0.2)
    chosen = [e for e in merged.train + merged.holdout if e.normalized_prompt == normalize_prompt(prompt)]
    assert [e.source for e in chosen] == [Source.LIVE]
    assert merged.conflicts == 2


def test_the_holdout_holds_only_human_examples(seeded):
    for i in range(40):
        add_example(f"automatically labelled prompt number {i}", TRIPLET, Source.BATCH)
    merged = merge(0.5)
    assert merged.holdout and all(e.source in (Source.BASE, Source.LIVE) for e in merged.holdout)
    assert merged.unused_batch > 0  # batch prompts in the holdout region are never trained on


def test_the_holdout_is_the_same_across_runs_and_never_trained_on(seeded):
    first, second = merge(0.2), merge(0.2)
    assert [e.pk for e in first.holdout] == [e.pk for e in second.holdout]
    assert not {e.pk for e in first.holdout} & {e.pk for e in first.train}
    assert all(in_holdout_region(e.normalized_prompt, 0.2) for e in first.holdout)


def test_near_duplicate_prompts_are_reported_not_removed(seeded):
    add_example("Find my notes about the database migration please", TRIPLET, Source.LIVE)
    examples = list(Example.objects.all())
    ensure_embeddings(examples)
    count, shown = near_duplicates(examples, threshold=0.9)
    assert count >= 1
    assert ("Find my notes about the database migration", "Find my notes about the database migration please") in {
        tuple(sorted(pair[:2], key=len)) for pair in shown
    }
    assert Example.objects.count() == len(examples)


def test_an_edited_prompt_is_embedded_anew(seeded):
    example = Example.objects.filter(source=Source.BASE).first()
    example.prompt = "Summarize the quarterly sales report for the board"
    example.save()  # as the admin's change form does
    example.refresh_from_db()
    assert np.allclose(example.vector(), embed([example.prompt])[0], atol=1e-5)

"""Self-training: a training run also learns the prompts waiting for review, with the triplets its own
first pass was sure of. The guesses shape the heads and are never stored as labels."""

import json

import numpy as np

from interactions.classify import classify
from interactions.models import Review
from interactions.reviews import decide
from interactions.traffic import unlabelled_traffic
from training.calibration import out_of_fold
from training.encoder import embed
from training.evaluation import evaluate
from training.models import Example
from training.trainer import Trainer, sure_guesses

from .conftest import seed_lines, train_now


def test_unlabelled_traffic_makes_few_labels_go_further(hwu64_vectors):
    train, vectors, test, test_vectors = hwu64_vectors
    labelled, traffic = train[::10], vectors[1::2]  # 996 labels, 4,980 prompts without
    alone = Trainer(vectors[::10], labelled).train()
    helped = Trainer(vectors[::10], labelled, traffic=traffic).train()
    assert evaluate(helped, test_vectors, test)["exact"] > evaluate(alone, test_vectors, test)["exact"] + 0.01


def test_the_gates_cross_validation_models_learn_the_traffic_as_the_served_model_does(hwu64_vectors):
    """Self-training makes a model surer; fold models that did not learn the traffic would certify
    sureness thresholds for a less sure model than the one that serves."""
    train, vectors, _, _ = hwu64_vectors
    labelled, no_auto_labels = (vectors[::30], train[::30]), (vectors[:0], [])
    learning = {"traffic": vectors[1::2], "traffic_confidence": 0.8}
    without = out_of_fold(*labelled, 5, no_auto_labels, {})
    self_trained = out_of_fold(*labelled, 5, no_auto_labels, learning)
    assert self_trained.sureness.mean() > without.sureness.mean() + 0.5


def test_only_triplets_at_least_as_probable_as_the_confidence_are_guessed(db):
    seed = [json.loads(line) for line in seed_lines()]
    heads = Trainer(embed([r["prompt"] for r in seed]), seed).train()
    prompts = [
        "remind me to call the dentist tomorrow",
        "what is the weather like in paris",
        "play some jazz in the kitchen",
        "summarize this article about batteries",
    ]
    vectors = embed(prompts)
    predicted = heads.predict(vectors)
    probability = 1 / (1 + np.exp(-predicted.sureness))
    confidence = float(np.sort(probability)[1] + np.sort(probability)[2]) / 2  # between the 2nd and 3rd
    guessed_rows, guesses = sure_guesses(heads, vectors, confidence)
    sure = probability >= confidence
    assert sure.sum() == 2
    np.testing.assert_array_equal(guessed_rows, sure)
    assert guesses == [
        {h: predicted.per_head[h][0][i] for h in ("subject", "action", "category")} for i in np.flatnonzero(sure)
    ]


def test_the_traffic_is_the_newest_prompts_no_person_decided(trained, review_everything, reviewer):
    waiting = [
        classify(p)
        for p in (
            "Book a table for two at the italian place tonight",
            "Translate this paragraph into german for me",
            "Order a large pizza with extra cheese",
        )
    ]
    decided = classify("Find my notes about the kubernetes upgrade")
    decide(decided.pk, reviewer, Review.Decision.APPROVED)
    classify("+1")  # noise never waits for review
    newest = np.stack([waiting[2].vector(), waiting[1].vector()])
    np.testing.assert_array_equal(unlabelled_traffic(2, 0.2).vectors, newest)
    assert len(unlabelled_traffic(100, 0.2).vectors) == 3


def test_a_prompt_the_gate_labelled_some_heads_of_is_still_traffic(category_certified):
    interaction = classify("Find my notes about the kubernetes upgrade")
    assert interaction.auto_labelled == ["category"]
    np.testing.assert_array_equal(unlabelled_traffic(100, 0.2).vectors, np.stack([interaction.vector()]))


def test_no_prompt_of_the_holdout_region_is_traffic(trained, review_everything):
    classify("Schedule a dentist appointment for next tuesday")  # its hash puts it in the holdout region
    assert len(unlabelled_traffic(100, 0.2).vectors) == 0


def test_a_training_run_learns_the_prompts_waiting_for_review(trained, review_everything):
    for prompt in ("Book a table for two at the italian place tonight", "Translate this paragraph into german"):
        classify(prompt)
    examples = Example.objects.count()
    run = train_now()
    assert run.summary["self_training"] == {"prompts": 2, "confidence": 0.8}
    assert Example.objects.count() == examples  # guesses are not labels


def test_self_training_can_be_switched_off(trained, review_everything, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("self_training", enabled=False)
    classify("Book a table for two at the italian place tonight")
    assert train_now().summary["self_training"] is None


def test_the_model_page_says_what_traffic_it_learned_from(reviewer_client, trained, review_everything):
    classify("Book a table for two at the italian place tonight")
    version = train_now().version
    page = reviewer_client.get(f"/models/{version.number}/").content.decode()
    assert (
        "of the 1 newest prompt waiting for review, it also learned those whose triplet its own first pass "
        "found at least 80% probable" in page
    )

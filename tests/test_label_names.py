"""Label names: every labelled triplet's name is learned as one more example of it, so a seed of one
prompt per intent gives the heads two, and an intent a person labelled only in the holdout can still
be predicted."""

import json
import random

from interactions.simulation import stratified_seed
from training.encoder import embed
from training.evaluation import evaluate
from training.label_names import name_of, named_triplets
from training.models import TrainingRun
from training.trainer import Trainer

from .conftest import seed_lines, train_now


def test_a_name_reads_the_labels_as_words_in_reading_order():
    assert name_of({"subject": "none", "action": "set", "category": "alarm"}) == "set alarm"
    assert name_of({"subject": "Script", "action": "Create", "category": "Code"}) == "create script code"
    assert name_of({"subject": "none", "action": "card_arrival", "category": "card"}) == "card arrival"
    assert name_of({"subject": "placeName", "action": "query", "category": "weather"}) == "query place name weather"


def test_a_triplet_whose_labels_say_nothing_gets_no_name():
    assert named_triplets([{"subject": "none", "action": "other", "category": "misc"}]) == []


def test_each_labelled_triplet_is_named_once_and_partial_labels_name_nothing():
    triplets = [
        {"subject": "none", "action": "set", "category": "alarm"},
        {"subject": "none", "action": "set", "category": "alarm"},
        {"subject": "", "action": "remove", "category": "alarm"},
    ]
    assert named_triplets(triplets) == [("set alarm", triplets[0])]


def test_heads_predict_an_intent_they_know_only_by_its_name():
    records = [json.loads(line) for line in seed_lines()]
    unseen = {"subject": "Invoice", "action": "Pay", "category": "Finance"}
    named = named_triplets([*records, unseen])
    heads = Trainer(
        embed([r["prompt"] for r in records]),
        records,
        neighbour_weight=0.3,
        names=(embed([name for name, _ in named]), [triplet for _, triplet in named]),
    ).train()
    prompts = ["pay the electricity invoice before friday", "I need to pay the invoice from the plumber"]
    predicted = heads.predict(embed(prompts)).per_head
    assert [{head: predicted[head][0][row] for head in unseen} for row in (0, 1)] == [unseen, unseen]


def test_names_lift_a_one_example_per_intent_seed_on_hwu64(hwu64_vectors):
    train, vectors, test, test_vectors = hwu64_vectors
    seed, _ = stratified_seed(train, 50, random.Random(0))
    records, seed_vectors = [train[i] for i in seed], vectors[seed]
    named = named_triplets(records)
    names = (embed([name for name, _ in named]), [triplet for _, triplet in named])
    alone = evaluate(Trainer(seed_vectors, records).train(), test_vectors, test)["exact"]
    with_names = evaluate(Trainer(seed_vectors, records, names=names).train(), test_vectors, test)["exact"]
    assert with_names >= alone + 0.03


def test_a_run_learns_the_names_of_every_labelled_triplet(seeded):
    run = train_now()
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    triplets = {(r["subject"], r["action"], r["category"]) for r in map(json.loads, seed_lines())}
    assert run.summary["label_names"] == len(triplets)


def test_a_run_learns_no_names_when_they_are_turned_off(seeded, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", label_names=False)
    run = train_now()
    assert run.summary["label_names"] == 0

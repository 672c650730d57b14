"""The neighbour vote: the heads remember the examples they learned and mix each head's probabilities
with the labels of the most similar ones."""

import io
import json

import numpy as np
import pytest
import torch

from training.encoder import embed
from training.evaluation import evaluate, item_losses
from training.heads import CHUNK, TripletHeads
from training.label_names import named_triplets
from training.registry import load_heads
from training.trainer import Trainer

from .conftest import seed_lines

HEADS = ("subject", "action", "category")


def seed():
    records = [json.loads(line) for line in seed_lines()]
    return embed([r["prompt"] for r in records]), records


def alone_and_remembering(vectors, records, weight, remembered=None):
    """The same heads twice: once predicting alone, once also remembering the examples (or
    `remembered`, the same examples labelled otherwise)."""
    alone = Trainer(vectors, records).train()
    remembering = TripletHeads.from_bytes(alone.to_bytes()).remember(vectors, remembered or records, weight)
    return alone, remembering


@pytest.fixture(scope="module")
def voting(hwu64_vectors):
    """Heads that learned 3,320 HWU64 labels and remember them."""
    train, vectors, _, _ = hwu64_vectors
    return Trainer(vectors[::3], train[::3], neighbour_weight=0.3).train()


def test_many_labels_go_further_with_the_vote_of_their_neighbours(hwu64_vectors, voting):
    train, vectors, test, test_vectors = hwu64_vectors
    alone = Trainer(vectors[::3], train[::3]).train()
    assert evaluate(voting, test_vectors, test)["exact"] > evaluate(alone, test_vectors, test)["exact"] + 0.005


def test_more_prompts_than_fit_in_one_chunk_are_predicted_as_they_would_be_apart(hwu64_vectors, voting):
    _, vectors, _, _ = hwu64_vectors
    rows, half = vectors[: CHUNK + CHUNK // 2], CHUNK // 2
    together, apart = voting.predict(rows), [voting.predict(rows[:half]), voting.predict(rows[half:])]
    for head in HEADS:
        assert together.per_head[head][0] == apart[0].per_head[head][0] + apart[1].per_head[head][0]
    np.testing.assert_allclose(together.sureness, np.concatenate([p.sureness for p in apart]), atol=1e-4)


def test_a_holdout_larger_than_one_chunk_is_scored_as_its_parts_would_be(hwu64_vectors, voting):
    train, vectors, _, _ = hwu64_vectors
    size, half = CHUNK + CHUNK // 2, CHUNK // 2
    together = item_losses(voting, vectors[:size], train[:size])
    apart = [
        item_losses(voting, vectors[:half], train[:half]),
        item_losses(voting, vectors[half:size], train[half:size]),
    ]
    np.testing.assert_allclose(together, np.concatenate(apart), rtol=1e-5)


def test_a_remembered_prompt_gets_its_own_labels_from_the_vote_alone(db):
    vectors, records = seed()
    _, remembering = alone_and_remembering(vectors, records, weight=1.0)
    predicted = remembering.predict(vectors).per_head
    assert all(predicted[h][0][i] == r[h] for i, r in enumerate(records) for h in HEADS)


def test_without_weight_the_heads_remember_nothing_and_predict_alone(db):
    vectors, records = seed()
    heads = Trainer(vectors, records, neighbour_weight=0.0).train()
    assert len(heads.memory) == 0
    alone, remembering = alone_and_remembering(vectors, records, weight=0.0)
    np.testing.assert_array_equal(remembering.predict(vectors).sureness, alone.predict(vectors).sureness)


def test_a_blank_label_gives_no_vote_for_its_head(db):
    vectors, records = seed()
    no_action = [{**r, "action": ""} for r in records]
    alone, remembering = alone_and_remembering(vectors, records, weight=0.5, remembered=no_action)
    queries = torch.as_tensor(embed(["Remind me to water the plants on friday", "Draft a reply to the landlord"]))
    with torch.no_grad():
        own, mixed = alone.head_log_probs(queries), remembering.head_log_probs(queries)
    assert torch.equal(mixed["action"], own["action"])
    assert not torch.allclose(mixed["subject"], own["subject"])


def test_the_memory_travels_in_the_model_file(db):
    vectors, records = seed()
    _, remembering = alone_and_remembering(vectors, records, weight=0.3)
    loaded = TripletHeads.from_bytes(remembering.to_bytes())
    assert len(loaded.memory) == len(records)
    np.testing.assert_allclose(loaded.predict(vectors).sureness, remembering.predict(vectors).sureness, atol=1e-5)


def test_a_model_file_from_before_the_memory_predicts_with_the_heads_alone(db):
    vectors, records = seed()
    heads = Trainer(vectors, records).train()
    layers_only = {k: v for k, v in heads.state_dict().items() if not k.startswith("memory")}
    buffer = io.BytesIO()
    torch.save(
        {"labels": heads.labels, "triplets": [list(t) for t in heads.triplets], "state_dict": layers_only}, buffer
    )
    loaded = TripletHeads.from_bytes(buffer.getvalue())
    np.testing.assert_array_equal(loaded.predict(vectors).sureness, heads.predict(vectors).sureness)


def test_the_served_heads_remember_the_holdout_and_the_blind_heads_do_not(trained):
    served, blind = load_heads(trained), load_heads(trained, blind=True)
    assert trained.evaluated_on.count() > 0
    names = len(named_triplets([e.triplet for e in trained.trained_on.all()]))
    assert len(served.memory) == trained.trained_on.count() + names
    assert len(blind.memory) == trained.trained_on.count() - trained.evaluated_on.count() + names


def test_the_model_page_says_it_counts_the_neighbour_vote(reviewer_client, trained):
    page = reviewer_client.get(f"/models/{trained.number}/").content.decode()
    assert "Neighbour vote: each head's probabilities are mixed, with weight 0.3" in page

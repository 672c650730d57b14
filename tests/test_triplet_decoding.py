"""The heads decode together: a prediction is a triplet the model was trained on."""

import json

import numpy as np
import pytest
import torch

from training.encoder import embed
from training.heads import TripletHeads
from training.models import HEADS
from training.trainer import Trainer


def read(path, limit=None):
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines][:limit]


@pytest.fixture(scope="module")
def hwu64_model(hwu64):
    train, test = read(hwu64 / "train.jsonl")[::30], read(hwu64 / "test.jsonl")
    heads = Trainer(embed([r["prompt"] for r in train]), train).train()
    return heads, train, embed([r["prompt"] for r in test])


def as_tuples(predicted):
    return set(zip(*(predicted.per_head[head][0] for head in HEADS)))


def test_every_prediction_is_a_triplet_it_was_trained_on(hwu64_model):
    heads, train, test_vectors = hwu64_model
    known = {tuple(r[head] for head in HEADS) for r in train}
    logits = heads(torch.as_tensor(test_vectors))
    one_by_one = zip(*([heads.labels[h][i] for i in logits[h].argmax(dim=1).tolist()] for h in HEADS))
    assert set(one_by_one) - known  # each head alone would mix labels into triplets never seen
    assert as_tuples(heads.predict(test_vectors)) <= known


def test_a_head_is_at_least_as_sure_as_the_whole_triplet(hwu64_model):
    heads, _, test_vectors = hwu64_model
    predicted = heads.predict(test_vectors)
    triplet_probability = 1 / (1 + np.exp(-predicted.sureness))
    for head in HEADS:
        confidence = predicted.per_head[head][1]
        assert np.all(confidence <= 1 + 1e-6)
        assert np.all(confidence >= triplet_probability - 1e-5)


def test_a_saved_model_predicts_the_same_triplets(hwu64_model):
    heads, _, test_vectors = hwu64_model
    loaded = TripletHeads.from_bytes(heads.to_bytes())
    assert loaded.triplets == heads.triplets
    assert as_tuples(loaded.predict(test_vectors)) == as_tuples(heads.predict(test_vectors))
    assert np.allclose(loaded.predict(test_vectors).sureness, heads.predict(test_vectors).sureness)


def test_a_head_is_no_surer_of_its_label_than_it_is_on_its_own(hwu64_model):
    heads, _, test_vectors = hwu64_model
    predicted = heads.predict(test_vectors)
    logits = heads(torch.as_tensor(test_vectors))
    decoding_alone_surer = False
    for head in HEADS:
        index = {label: i for i, label in enumerate(heads.labels[head])}
        chosen = [index[label] for label in predicted.per_head[head][0]]
        log_own = torch.log_softmax(logits[head].detach().double(), dim=1)[torch.arange(len(chosen)), chosen]
        own_log_odds = (log_own - torch.log(-torch.expm1(log_own))).numpy()
        assert np.all(predicted.head_sureness[head] <= own_log_odds + 1e-3)
        decoding_alone_surer |= bool(np.any(predicted.per_head[head][1] > np.exp(log_own.numpy()) + 0.2))
    assert decoding_alone_surer  # the triplets make some labels look surer than their head is

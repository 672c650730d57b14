"""The heads learn the gate's auto-labelled batch data only when the holdout finds them better with it,
by the promotion rule, as a candidate model must be; "no worse" on a small holdout cannot see a point or two."""

import numpy as np
import pytest

from training.pipeline import batch_data_verdict
from training.policy import current
from training.trainer import Trainer


@pytest.fixture(scope="module")
def split(hwu64_vectors):
    """400 human labels, the rest of HWU64's training prompts unlabelled, its test set as the holdout."""
    train, vectors, test, test_vectors = hwu64_vectors
    order = np.random.default_rng(0).permutation(len(train))
    human, rest = order[:400], order[400:4400]
    labelled = [train[i] for i in human]
    return vectors[human], labelled, vectors[rest], [train[i] for i in rest], (test_vectors, test)


def verdict(split, batch_vectors, batch_triplets):
    human_vectors, human, *_, holdout = split
    without = Trainer(human_vectors, human).train()
    with_batch = Trainer(np.concatenate([human_vectors, batch_vectors]), human + batch_triplets).train()
    return batch_data_verdict(with_batch, without, holdout, current())


def test_batch_data_that_teaches_the_heads_what_they_did_not_know_is_kept(split):
    _, _, rest_vectors, rest, _ = split
    correct_actions_and_categories = [{**r, "subject": ""} for r in rest]
    keep, note = verdict(split, rest_vectors, correct_actions_and_categories)
    assert keep, note
    assert note.startswith("batch data kept: the heads were better with it")


def test_batch_data_that_does_not_make_the_heads_clearly_better_is_left_out(split):
    _, _, rest_vectors, rest, _ = split
    others = np.random.default_rng(1).permutation(len(rest))
    wrong_categories = [{"subject": "", "action": "", "category": rest[j]["category"]} for j in others]
    keep, note = verdict(split, rest_vectors, wrong_categories)
    assert not keep
    assert note.startswith("batch data left out: the heads were not clearly better with it")


def test_without_a_holdout_batch_data_is_left_out(split):
    human_vectors, human, *_ = split
    heads = Trainer(human_vectors, human).train()
    no_holdout = (np.zeros((0, human_vectors.shape[1]), dtype=np.float32), [])
    assert batch_data_verdict(heads, heads, no_holdout, current()) == (
        False,
        "batch data left out: no holdout to tell whether it helps",
    )

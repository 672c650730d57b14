"""The encoder's forward pass on ONNX Runtime (SECONDMIND_ENCODER_BACKEND=onnx) gives what
torch gives: the same vectors, so the same labels, for the stock encoder and a fine-tuned one."""

import json

import numpy as np
import pytest

from training.encoder import ENCODER_NAME, Encoder, stock_encoder
from training.trainer import Trainer

from .conftest import seed_lines

PROMPTS = [
    "Can you analyze agent_Semi.py?",
    "remind me to call the dentist tomorrow at nine",
    "Find the paper about contrastive learning I saved last week",
    "delete every note tagged draft",
    "a prompt far longer than the others " * 40,  # cut at the model's 256 tokens, as torch cuts it
]


@pytest.fixture(scope="module")
def both():
    """The stock model on torch and on ONNX Runtime."""
    model = stock_encoder().model
    return Encoder(ENCODER_NAME, model), Encoder(ENCODER_NAME, model).run_on_onnx()


def test_onnx_gives_the_vectors_torch_gives(both):
    on_torch, on_onnx = both
    similarity = (on_torch.embed(PROMPTS) * on_onnx.embed(PROMPTS)).sum(axis=1)
    assert similarity.min() > 0.9999


def test_a_batch_on_onnx_gives_each_prompt_the_vector_it_gets_alone(both):
    _, on_onnx = both
    alone = np.concatenate([on_onnx.embed([prompt]) for prompt in PROMPTS])
    assert np.allclose(on_onnx.embed(PROMPTS, batch_size=2), alone, atol=1e-5)


def test_a_list_longer_than_an_onnx_pass_is_embedded_by_torch(both):
    on_torch, on_onnx = both
    many = PROMPTS * 4
    assert len(many) > on_onnx.largest_pass
    assert np.array_equal(on_onnx.embed(many), on_torch.embed(many))


def test_onnx_and_torch_vectors_give_the_same_labels(both):
    on_torch, _ = both
    records = [json.loads(line) for line in seed_lines()]
    heads = Trainer(on_torch.embed([r["prompt"] for r in records]), records).train()
    labels = [heads.predict(encoder.embed(PROMPTS)).per_head for encoder in both]
    assert all(labels[0][head][0] == labels[1][head][0] for head in labels[0])


def test_a_fine_tuned_encoder_runs_on_onnx_with_its_own_weights(both):
    on_torch, _ = both
    model = Encoder.from_bytes(on_torch.to_bytes()).model
    next(model.parameters()).data.mul_(0.5)  # weights of its own: the word embeddings halved
    tuned = Encoder("finetuned-test", model)
    torch_vectors = tuned.embed(PROMPTS)
    assert (torch_vectors * on_torch.embed(PROMPTS)).sum(axis=1).min() < 0.999
    assert (torch_vectors * tuned.run_on_onnx().embed(PROMPTS)).sum(axis=1).min() > 0.9999

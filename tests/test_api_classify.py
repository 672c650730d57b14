"""POST /api/v1/classify: the contract of DESIGN.md, field by field, and every bad input."""

import pytest

from interactions.models import Interaction
from training.batching import EmbeddingBatcher
from training.detector import detector
from training.encoder import stock_encoder
from training.models import Example, Source

PROMPT = "Can you analyze agent_Semi.py?"


def test_it_answers_with_the_contract_fields(api, trained):
    body = api.post("/classify", {"prompt": "Please write a script that backs up my notes"}).json()
    assert set(body) == {
        "interaction_id",
        "subject",
        "action",
        "category",
        "confidence",
        "verdict",
        "reasons",
        "model_version",
    }
    assert set(body["confidence"]) == {"subject", "action", "category"}
    assert all(0 <= value <= 1 for value in body["confidence"].values())
    assert body["verdict"] in ("accepted", "review", "rejected")
    assert body["reasons"] and all(isinstance(r, str) for r in body["reasons"])
    assert body["model_version"] == trained.number


def test_it_predicts_labels_from_the_seed_vocabulary(api, trained):
    body = api.post("/classify", {"prompt": PROMPT}).json()
    assert body["subject"] in trained.labels["subject"]
    assert body["category"] in trained.labels["category"]


def test_it_stores_the_interaction(api, trained, reviewer):
    body = api.post("/classify", {"prompt": PROMPT, "context": {"chat": "42"}}).json()
    interaction = Interaction.objects.get(pk=body["interaction_id"])
    assert interaction.prompt == PROMPT
    assert interaction.context == {"chat": "42"}
    assert interaction.user == reviewer
    assert interaction.model_version == trained
    assert interaction.verdict == body["verdict"]
    assert interaction.latency_ms > 0
    assert len(interaction.embedding) == 384 * 4


def test_a_head_under_its_threshold_answers_unknown(api, trained, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("gate", unknown_threshold=1.01)
    body = api.post("/classify", {"prompt": PROMPT}).json()
    assert (body["subject"], body["action"], body["category"]) == ("Unknown",) * 3
    assert body["verdict"] == "review"


def test_an_accepted_prompt_becomes_a_batch_example_traced_to_it(api, trained, accept_everything):
    body = api.post("/classify", {"prompt": "Summarize the paper on graph neural networks"}).json()
    assert body["verdict"] == "accepted"
    example = Interaction.objects.get(pk=body["interaction_id"]).example
    assert example.source == Source.BATCH
    assert example.triplet == {k: body[k] for k in ("subject", "action", "category")}
    assert example.interactions.get().model_version == trained


def test_a_prompt_already_in_the_dataset_is_not_added_twice(api, trained, accept_everything):
    before = Example.objects.count()
    api.post("/classify", {"prompt": "A brand new prompt about my notes"})
    api.post("/classify", {"prompt": "a brand  NEW prompt about my notes"})
    api.post("/classify", {"prompt": PROMPT})  # in the seed already
    assert Example.objects.count() == before + 1


def test_without_a_model_it_still_answers(api, db):
    body = api.post("/classify", {"prompt": PROMPT}).json()
    assert body["model_version"] is None
    assert body["verdict"] == "review"


@pytest.mark.parametrize(
    "payload, message",
    [
        ({}, "prompt: Field required"),
        ({"prompt": ""}, "prompt: must not be empty"),
        ({"prompt": "  \n\t "}, "prompt: must not be empty"),
        ({"prompt": 42}, "prompt: Input should be a valid string"),
        ({"prompt": ["a list"]}, "prompt: Input should be a valid string"),
        ({"prompt": "x" * 2001}, "the limit is 2000"),
        ({"prompt": PROMPT, "context": "not an object"}, "context: Input should be a valid dictionary"),
        ({"prompt": PROMPT, "context": [1, 2]}, "context: Input should be a valid dictionary"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_stores_nothing(api, trained, payload, message):
    response = api.post("/classify", payload)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert Interaction.objects.count() == 0


def test_malformed_json_is_refused_and_stores_nothing(api, trained):
    response = api.post("/classify", raw='{"prompt": "unfinished')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    assert Interaction.objects.count() == 0


def test_an_oversized_body_is_refused_with_a_message_and_stores_nothing(api, trained, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = api.post("/classify", {"prompt": PROMPT, "context": {"page": "x" * 10_000}})
    assert response.status_code == 413
    assert "over 10,000 bytes" in response.json()["detail"]
    assert Interaction.objects.count() == 0


def test_the_prompt_limit_is_a_setting(api, trained, settings):
    settings.SECONDMIND_MAX_PROMPT_CHARS = 20
    assert api.post("/classify", {"prompt": "twenty one characters"}).status_code == 422
    assert api.post("/classify", {"prompt": "twenty characters ok"}).status_code == 200


def test_an_overloaded_encoder_is_a_503_that_says_so_and_stores_nothing(api, trained, monkeypatch):
    batcher = EmbeddingBatcher(timeout=0)  # no forward pass finishes in 0 s
    monkeypatch.setattr(detector, "batcher", batcher)
    response = api.post("/classify", {"prompt": "Please write a script that backs up my notes"})
    assert response.status_code == 503
    assert "overloaded" in response.json()["detail"]
    assert not Interaction.objects.exists()
    batcher.timeout = 30
    batcher.embed(stock_encoder(), "queued behind the pass given up on")  # which must end before the test does

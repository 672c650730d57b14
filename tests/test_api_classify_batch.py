"""POST /api/v1/classify/batch: many prompts in one forward pass, the same answers and rows as one by
one, all stored or none."""

import pytest
from django.core.cache import cache

from interactions.api import MAX_BATCH
from interactions.models import Interaction

PROMPTS = [
    "Please write a script that backs up my notes",
    "Can you analyze agent_Semi.py?",
    "Summarize the paper on graph neural networks",
    "Find the notes from yesterday's design review",
    "+1",
]
ANSWER = ("subject", "action", "category", "confidence", "verdict", "reasons", "model_version")


def batch(api, *items):
    return api.post("/classify/batch", {"items": list(items)})


def test_it_answers_each_prompt_as_the_single_call_does_in_the_order_sent(api, trained):
    results = batch(api, *({"prompt": p} for p in PROMPTS)).json()["results"]
    singles = [api.post("/classify", {"prompt": p}).json() for p in PROMPTS]
    assert [{k: r[k] for k in ANSWER} for r in results] == [{k: s[k] for k in ANSWER} for s in singles]


def test_it_stores_each_prompt_with_its_context_and_embedding(api, trained, reviewer):
    results = batch(api, {"prompt": PROMPTS[0], "context": {"chat": "7"}}, {"prompt": PROMPTS[1]}).json()["results"]
    stored = [Interaction.objects.get(pk=r["interaction_id"]) for r in results]
    assert [(i.prompt, i.context, i.user) for i in stored] == [
        (PROMPTS[0], {"chat": "7"}, reviewer),
        (PROMPTS[1], {}, reviewer),
    ]
    single = Interaction.objects.get(pk=api.post("/classify", {"prompt": PROMPTS[0]}).json()["interaction_id"])
    assert stored[0].vector() == pytest.approx(single.vector(), abs=1e-5)
    assert all(i.latency_ms > 0 for i in stored)


def test_a_bad_item_is_named_by_its_index_and_nothing_is_stored(api, trained):
    response = batch(api, {"prompt": PROMPTS[0]}, {"prompt": "   "}, {"prompt": PROMPTS[1]})
    assert response.status_code == 422
    assert "items.1.prompt" in response.json()["detail"]
    assert not Interaction.objects.exists()


def test_a_retried_batch_answers_with_the_first_interactions_and_stores_nothing_new(api, trained):
    items = [{"prompt": p, "idempotency_key": f"message-{n}"} for n, p in enumerate(PROMPTS[:3])]
    first = batch(api, *items).json()
    retry = batch(api, *items, {"prompt": PROMPTS[3], "idempotency_key": "message-3"}).json()
    assert retry["results"][:3] == first["results"]
    assert Interaction.objects.count() == 4


def test_a_key_reused_for_another_prompt_is_refused_by_index_and_nothing_is_stored(api, trained):
    batch(api, {"prompt": PROMPTS[0], "idempotency_key": "message-0"})
    response = batch(api, {"prompt": PROMPTS[1]}, {"prompt": PROMPTS[2], "idempotency_key": "message-0"})
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Item 1:")
    assert Interaction.objects.count() == 1


def test_two_items_with_one_key_are_refused(api, trained):
    response = batch(api, *({"prompt": p, "idempotency_key": "same"} for p in PROMPTS[:2]))
    assert response.status_code == 422
    assert "idempotency_key" in response.json()["detail"]


def test_a_batch_over_the_maximum_is_refused(api, trained):
    response = batch(api, *({"prompt": PROMPTS[0]} for _ in range(MAX_BATCH + 1)))
    assert response.status_code == 422
    assert not Interaction.objects.exists()


def test_each_prompt_counts_against_the_tokens_rate_limit(api, trained, settings):
    cache.clear()
    settings.SECONDMIND_API_RATE_LIMIT = 4
    response = batch(api, *({"prompt": p} for p in PROMPTS))
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert not Interaction.objects.exists()

"""A client that retries POST /api/v1/classify with the same Idempotency-Key stores one interaction."""

from interactions import classify as classify_module
from interactions.models import ApiToken, Interaction
from tests.conftest import ApiClient
from training.detector import detector

PROMPT = "Find the notes from yesterday's design review"


def post(client, prompt, key):
    return client.client.post(
        "/api/v1/classify",
        {"prompt": prompt},
        content_type="application/json",
        headers={**client.headers, "Idempotency-Key": key},
    )


def test_a_retry_with_the_same_key_answers_with_the_first_interaction(api, trained):
    first = post(api, PROMPT, "chat-42-message-7")
    retry = post(api, PROMPT, "chat-42-message-7")
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert Interaction.objects.count() == 1


def test_without_a_key_every_call_is_a_new_interaction(api, trained):
    first = api.post("/classify", {"prompt": PROMPT}).json()
    second = api.post("/classify", {"prompt": PROMPT}).json()
    assert first["interaction_id"] != second["interaction_id"]


def test_a_key_used_for_another_prompt_is_refused_and_stores_nothing(api, trained):
    post(api, PROMPT, "chat-42-message-7")
    response = post(api, "Summarize the paper on sparse attention", "chat-42-message-7")
    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["detail"]
    assert Interaction.objects.count() == 1


def test_keys_belong_to_the_user_who_sent_them(api, trained, staff):
    _, token = ApiToken.issue(staff)
    first = post(api, PROMPT, "message-1").json()
    other = post(ApiClient(token), PROMPT, "message-1").json()
    assert other["interaction_id"] != first["interaction_id"]


def test_an_overlong_key_is_refused_with_a_message(api, trained):
    response = post(api, PROMPT, "k" * 201)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]
    assert not Interaction.objects.exists()


def test_a_retry_that_loses_a_race_answers_with_the_interaction_the_winner_stored(trained, reviewer, monkeypatch):
    real_predict, stored = detector.predict_many, []

    def racing(prompts, unknown_below):
        monkeypatch.undo()  # a concurrent retry, not racing itself, stores its interaction while this one predicts...
        stored.append(classify_module.classify_once(PROMPT, None, reviewer, "message-1"))
        return real_predict(prompts, unknown_below)  # ...so this one meets the unique constraint when it stores

    monkeypatch.setattr(detector, "predict_many", racing)
    answer = classify_module.classify_once(PROMPT, None, reviewer, "message-1")
    assert answer.pk == stored[0].pk
    assert Interaction.objects.count() == 1

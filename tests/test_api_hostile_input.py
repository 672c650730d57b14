"""Input a hostile client sends is a 422 with a `detail` that says what to fix, and stores nothing."""

import pytest

from interactions.models import Interaction

PROMPT = "Find my notes about the database migration"


@pytest.mark.parametrize(
    "raw, message",
    [
        ('{"prompt": "\\ud800 find my notes please"}', "prompt: holds a lone surrogate"),
        (f'{{"prompt": "{PROMPT}", "context": {{"score": NaN}}}}', "context: holds NaN or Infinity"),
        (f'{{"prompt": "{PROMPT}", "context": {{"score": Infinity}}}}', "context: holds NaN or Infinity"),
    ],
)
def test_text_the_database_cannot_store_is_a_422(api, db, raw, message):
    response = api.post("/classify", raw=raw)
    assert response.status_code == 422, response.content
    assert message in response.json()["detail"]
    assert Interaction.objects.count() == 0


def test_a_whitespace_promotion_reason_is_a_422(staff_api, db):
    response = staff_api.post("/models/1/promote", {"reason": "  \n "})
    assert response.status_code == 422
    assert "reason: must say why" in response.json()["detail"]


@pytest.mark.parametrize("label", ["unknown", "UNKNOWN", " Unknown "])
def test_unknown_in_any_case_is_not_a_label(api, db, label):
    interaction = api.post("/classify", {"prompt": PROMPT}).json()
    triplet = {"subject": label, "action": "Find", "category": "Knowledge"}
    response = api.post(f"/interactions/{interaction['interaction_id']}/feedback", triplet)
    assert response.status_code == 422
    assert "reserved for an unsure head" in response.json()["detail"]

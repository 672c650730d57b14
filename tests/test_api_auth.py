"""Every API call needs a valid bearer token."""

import hashlib

import pytest

from interactions.models import ApiToken, Interaction
from tests.conftest import ApiClient

CALLS = [
    ("post", "/classify", {"prompt": "Find my notes about the migration"}),
    ("post", "/interactions/1/feedback", {"subject": "Note", "action": "Find", "category": "Knowledge"}),
    ("get", "/models/active", None),
]


@pytest.mark.parametrize("method, path, data", CALLS)
def test_it_refuses_a_call_without_a_token(db, method, path, data):
    client = ApiClient(None)
    response = client.post(path, data) if method == "post" else client.get(path)
    assert response.status_code == 401


@pytest.mark.parametrize("method, path, data", CALLS)
def test_it_refuses_a_wrong_token(db, method, path, data):
    client = ApiClient("sm_not-a-real-token")
    response = client.post(path, data) if method == "post" else client.get(path)
    assert response.status_code == 401
    assert Interaction.objects.count() == 0


def test_it_refuses_the_token_of_a_deactivated_user(reviewer):
    _, token = ApiToken.issue(reviewer)
    reviewer.is_active = False
    reviewer.save()
    assert ApiClient(token).get("/models/active").status_code == 401


def test_tokens_are_stored_hashed(reviewer):
    token, plaintext = ApiToken.issue(reviewer)
    stored = ApiToken.objects.values().get(pk=token.pk)
    assert stored["token_hash"] == hashlib.sha256(plaintext.encode()).hexdigest()
    assert not any(plaintext in str(value) for value in stored.values())

"""A token over SECONDMIND_API_RATE_LIMIT requests a minute gets 429 with Retry-After; others go on."""

from django.core.cache import cache

from interactions.models import ApiToken
from tests.conftest import ApiClient


def test_a_token_over_its_limit_gets_429_with_retry_after(api, staff_api, db, settings):
    cache.clear()
    settings.SECONDMIND_API_RATE_LIMIT = 3
    assert [api.get("/models/active").status_code for _ in range(3)] == [404] * 3  # no model yet, but served
    response = api.get("/models/active")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 61
    assert "more than 3 requests this minute" in response.json()["detail"]
    assert staff_api.get("/models/active").status_code == 404  # another token is not held back


def test_zero_turns_the_limit_off(api, db, settings):
    cache.clear()
    settings.SECONDMIND_API_RATE_LIMIT = 0
    assert {api.get("/models/active").status_code for _ in range(20)} == {404}


def test_a_token_is_marked_used_at_most_once_a_minute(reviewer, db):
    token, plaintext = ApiToken.issue(reviewer)
    client = ApiClient(plaintext)
    client.get("/models/active")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    client.get("/models/active")
    assert first is not None and ApiToken.objects.get(pk=token.pk).last_used_at == first


def test_an_oversized_token_is_a_401_json_answer(db):
    response = ApiClient("sm_" + "x" * 10_000).get("/models/active")
    assert response.status_code == 401 and response.json()["detail"]

"""Guessing passwords is throttled (django-axes): after the limit, even the right password is refused
for that username from that address until the cool-off ends."""

from django.test import Client


def attempt(client, password):
    return client.post("/accounts/login/", {"username": "riley", "password": password})


def test_a_username_is_locked_out_after_the_failure_limit(reviewer, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        assert attempt(client, "wrong-password").status_code in (200, 429)
    response = attempt(client, "riley-password-1")
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content


def test_a_right_password_under_the_limit_logs_in_and_resets_the_count(reviewer, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    attempt(client, "wrong-password")
    attempt(client, "wrong-password")
    assert attempt(client, "riley-password-1").status_code == 302
    client.logout()
    attempt(client, "wrong-password")
    assert attempt(client, "riley-password-1").status_code == 302


def test_password_reset_is_not_offered_without_a_mail_server(client, db):
    assert client.get("/accounts/password_reset/").status_code == 404

"""A write lock held past the busy timeout: the API answers 503 JSON with Retry-After and stores
nothing; the worker's writes wait and retry."""

import sqlite3
import threading

import pytest
from django.db import OperationalError, connection

from interactions.models import Interaction
from training.locks import retrying_when_locked

PROMPT = "Find my notes about the database migration"


@pytest.fixture
def locked_database(transactional_db, settings, monkeypatch):
    """Another process's `BEGIN IMMEDIATE` on the SQLite file, held while the test runs."""
    if connection.vendor != "sqlite":
        pytest.skip("the busy timeout is SQLite's")
    # monkeypatch, not an assignment: the settings fixture restores top-level settings only, and a
    # short timeout left behind would make every later test in the process fail on a busy database.
    monkeypatch.setitem(settings.DATABASES["default"]["OPTIONS"], "timeout", 0.2)
    connection.close()  # reconnect with the short timeout
    holder = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    yield holder
    holder.rollback()
    holder.close()
    connection.close()


def test_classify_answers_503_json_with_retry_after_and_stores_nothing(api, locked_database):
    response = api.post("/classify", {"prompt": PROMPT})
    assert response.status_code == 503
    assert "nothing was stored" in response.json()["detail"]
    assert int(response["Retry-After"]) > 0
    locked_database.rollback()
    assert Interaction.objects.count() == 0


def test_a_login_answers_503_not_a_server_error(client, reviewer, locked_database):
    response = client.post("/accounts/login/", {"username": "riley", "password": "riley-password-1"})
    assert response.status_code == 503
    assert response["Retry-After"]


def test_a_write_retries_until_the_lock_is_released(locked_database):
    threading.Timer(0.5, locked_database.rollback).start()
    tries = []

    def write():
        tries.append(1)
        Interaction.objects.filter(pk=0).update(prompt="x")  # any write takes the lock
        return "written"

    assert retrying_when_locked(write, wait=0.3) == "written"
    assert len(tries) > 1


def test_other_database_errors_are_not_retried(db):
    tries = []

    def broken():
        tries.append(1)
        raise OperationalError("no such table: nowhere")

    with pytest.raises(OperationalError):
        retrying_when_locked(broken, wait=0)
    assert tries == [1]

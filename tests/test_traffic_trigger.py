"""A run also starts when enough new prompts arrived, before anyone reviewed them: with only the seed,
self-training and the noisy student still learn from use."""

import pytest
from django_q.brokers import get_broker

from interactions.classify import classify
from training.encoder import embed
from training.models import TrainingRun
from training.pipeline import execute

PROMPTS = [f"remind me to water the plants in room {i} tomorrow morning" for i in range(260)]


@pytest.fixture
def vectors(db):
    return embed(PROMPTS)


def send(first, last, vectors):
    for i in range(first, last):
        classify(PROMPTS[i], embedding=vectors[i])


def test_the_traffic_trigger_fires_once_per_threshold(trained, vectors, settings, django_capture_on_commit_callbacks):
    get_broker().purge_queue()
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", retrain_traffic=100)
    with django_capture_on_commit_callbacks(execute=True):
        send(0, 99, vectors)
    assert not TrainingRun.objects.filter(trigger="traffic").exists()
    with django_capture_on_commit_callbacks(execute=True):
        send(99, 160, vectors)
    assert TrainingRun.objects.get(trigger="traffic").status == TrainingRun.Status.QUEUED
    assert get_broker().queue_size() == 1


def test_the_traffic_trigger_counts_from_the_last_run_that_trained(
    trained, vectors, settings, django_capture_on_commit_callbacks
):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", retrain_traffic=100)
    with django_capture_on_commit_callbacks(execute=True):
        send(0, 100, vectors)
    assert execute(TrainingRun.objects.get(trigger="traffic")).status == TrainingRun.Status.SUCCEEDED
    with django_capture_on_commit_callbacks(execute=True):
        send(100, 199, vectors)
    assert TrainingRun.objects.filter(trigger="traffic").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        send(199, 260, vectors)
    assert TrainingRun.objects.filter(trigger="traffic").count() == 2


def test_zero_switches_the_traffic_trigger_off(trained, vectors, settings, django_capture_on_commit_callbacks):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", retrain_traffic=0)
    with django_capture_on_commit_callbacks(execute=True):
        send(0, 150, vectors)
    assert not TrainingRun.objects.filter(trigger="traffic").exists()


def test_a_run_with_new_traffic_but_no_new_labels_trains(trained, vectors):
    send(0, 10, vectors)
    run = TrainingRun.objects.create(trigger=TrainingRun.Trigger.SCHEDULE)
    assert execute(run).status == TrainingRun.Status.SUCCEEDED

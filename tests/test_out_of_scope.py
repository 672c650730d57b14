"""Prompts from outside every known intent are never auto-accepted, even with the gate certified."""

import json

import pytest

from interactions.classify import classify
from tests.conftest import train_now
from training.datasets import import_jsonl
from training.models import Source

# HWU64 knows alarms, music, weather, calendars, lists, transport...; none of it is about software.
OUT_OF_SCOPE = [
    "refactor the python module so it uses async io everywhere",
    "why does my docker build fail on the arm runner",
    "write a unit test for the billing service",
    "summarize this pull request for the changelog",
    "what is the time complexity of quicksort in the worst case",
    "deploy the staging branch to the kubernetes cluster",
    "rename every variable called tmp in this repository",
    "explain the difference between a mutex and a semaphore",
    "negotiate a lower rent with my landlord by email",
    "how do I file a patent for my invention in europe",
]


@pytest.fixture
def certified(db, hwu64, settings):
    """A model trained on 1,500 real triplets, with a precision target low enough to certify a gate."""
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("certification", precision_target=0.7)
    lines = (hwu64 / "train.jsonl").read_text(encoding="utf-8").splitlines()
    import_jsonl(lines[:1500], Source.BASE)
    version = train_now().version
    certificate = version.card.certificate
    assert certificate.triplet.certified, certificate
    # every head could be labelled alone, so the out-of-scope test can see a per-head label slip through
    assert all(proof.certified for proof in certificate.heads.values()), certificate.heads
    return lines[1500:1700]


def test_in_scope_prompts_are_auto_accepted_once_certified(certified):
    verdicts = [classify(json.loads(line)["prompt"]).verdict for line in certified]
    assert verdicts.count("accepted") > 10


def test_out_of_scope_prompts_are_not_auto_accepted(certified, settings):
    # no head says Unknown: the certified gate alone decides
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("gate", unknown_threshold=0.0)
    verdicts = {prompt: classify(prompt) for prompt in OUT_OF_SCOPE}
    assert {p: i.verdict for p, i in verdicts.items()} == dict.fromkeys(OUT_OF_SCOPE, "review")
    assert {p: i.auto_labelled for p, i in verdicts.items()} == {key: [] for key in OUT_OF_SCOPE}
    assert sum("out_of_scope" in i.reasons for i in verdicts.values()) >= len(OUT_OF_SCOPE) // 2

"""Each waiting item suggests what the active version predicts, and says which version that is; the
first prediction, the one the gate judged, stays visible."""

import json

import pytest

from interactions.classify import classify
from interactions.models import Interaction, Review
from interactions.reviews import decide
from tests.conftest import train_now
from training.datasets import import_jsonl
from training.models import Example, Source, normalize_prompt
from training.promotion import promote_by_hand

PROMPT = "Find my notes about the kubernetes upgrade"
NEW = {"subject": "Cluster", "action": "Upgrade", "category": "Operations"}


@pytest.fixture
def waiting(trained, review_everything):
    return classify(PROMPT)


@pytest.fixture
def newer(waiting):
    """A version promoted after the item arrived, taught a new triplet for prompts like it."""
    prompts = [
        "Find my notes about the kubernetes upgrade plan",
        "Show my notes on the kubernetes cluster upgrade",
        "Where are my kubernetes upgrade notes",
        "Open the notes about upgrading kubernetes",
        "Find the kubernetes upgrade checklist in my notes",
        "My notes about the kubernetes node upgrade",
    ]
    import_jsonl([json.dumps({"prompt": p, **NEW}) for p in prompts], Source.LIVE)
    version = train_now(force=True).version
    return promote_by_hand(version, None, "taught the cluster upgrades")


def test_an_item_the_active_version_predicted_keeps_its_prediction(reviewer_client, waiting):
    page = reviewer_client.get("/review/").content.decode()
    assert f"suggested by v{waiting.model_version_id}" in page
    assert Interaction.objects.get(pk=waiting.pk).suggestion is None


def test_a_waiting_item_suggests_what_the_version_promoted_since_predicts(reviewer_client, waiting, newer):
    page = reviewer_client.get("/review/").content.decode()
    item = Interaction.objects.get(pk=waiting.pk)
    assert item.suggested_by == newer.number and f"suggested by v{newer.number}" in page
    assert item.suggested == NEW, "the newer version learned the new triplet for prompts like this one"
    first = " / ".join(waiting.triplet.values())
    assert f"first predicted by v{waiting.model_version_id}: {first}" in page


def test_approving_learns_the_suggestion_shown_and_keeps_the_first_prediction_in_the_review(
    reviewer_client, reviewer, waiting, newer
):
    reviewer_client.get("/review/")
    review = decide(waiting.pk, reviewer, Review.Decision.APPROVED)
    assert review.after == NEW and review.before == waiting.triplet
    live = Example.objects.get(source=Source.LIVE, normalized_prompt=normalize_prompt(PROMPT))
    assert live.triplet == NEW

"""POST /api/v1/interactions/{id}/feedback: a corrected triplet joins the live dataset."""

import pytest

from interactions.models import Interaction, Review
from interactions.reviews import AlreadyDecided, auto_label_precision, decide, queue
from training.models import Example, Source

CORRECTED = {"subject": "Paper", "action": "Think", "category": "Research"}


@pytest.fixture
def interaction(api, trained):
    return Interaction.objects.get(
        pk=api.post("/classify", {"prompt": "What does this new article claim?"}).json()["interaction_id"]
    )


def test_the_corrected_triplet_joins_the_live_dataset(api, interaction, reviewer):
    response = api.post(f"/interactions/{interaction.pk}/feedback", CORRECTED)
    assert response.status_code == 200
    example = Example.objects.get(pk=response.json()["example_id"])
    assert (example.source, example.triplet, example.created_by) == (Source.LIVE, CORRECTED, reviewer)
    assert example.prompt == interaction.prompt


def test_the_example_traces_back_to_its_interaction_and_review(api, interaction, reviewer):
    api.post(f"/interactions/{interaction.pk}/feedback", CORRECTED)
    interaction.refresh_from_db()
    assert interaction.example.triplet == CORRECTED
    review = Review.objects.get(interaction=interaction)
    assert (review.reviewer, review.before, review.after) == (reviewer, interaction.triplet, CORRECTED)


def test_a_second_correction_replaces_the_first(api, interaction):
    api.post(f"/interactions/{interaction.pk}/feedback", CORRECTED)
    api.post(f"/interactions/{interaction.pk}/feedback", {**CORRECTED, "action": "Find"})
    live = Example.objects.get(source=Source.LIVE)
    assert live.action == "Find"


def test_an_unknown_interaction_is_a_404(api, trained):
    response = api.post("/interactions/999999/feedback", CORRECTED)
    assert response.status_code == 404
    assert "999999 does not exist" in response.json()["detail"]
    assert not Example.objects.filter(source=Source.LIVE).exists()


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"subject": "Paper", "action": "Think"}, "category: Field required"),
        ({**CORRECTED, "subject": ""}, "subject"),
        ({**CORRECTED, "action": 3}, "action: Input should be a valid string"),
        ({**CORRECTED, "category": "Unknown"}, "reserved"),
    ],
)
def test_a_bad_triplet_is_refused_and_stores_nothing(api, interaction, payload, message):
    response = api.post(f"/interactions/{interaction.pk}/feedback", payload)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert not Example.objects.filter(source=Source.LIVE).exists()
    assert not Review.objects.exists()


def test_feedback_decides_the_item_so_it_leaves_the_review_queue(api, interaction):
    assert queue().filter(pk=interaction.pk).exists()
    api.post(f"/interactions/{interaction.pk}/feedback", CORRECTED)
    assert not queue().filter(pk=interaction.pk).exists()


def test_a_reviewer_cannot_overwrite_feedback_by_approving_the_prediction(api, interaction, staff):
    api.post(f"/interactions/{interaction.pk}/feedback", CORRECTED)
    with pytest.raises(AlreadyDecided, match="riley"):
        decide(interaction.pk, staff, Review.Decision.APPROVED)
    assert Example.objects.get(source=Source.LIVE).triplet == CORRECTED


def test_feedback_that_corrects_an_auto_labelled_head_counts_against_it(api, category_certified):
    interaction = Interaction.objects.get(
        pk=api.post("/classify", {"prompt": "Find my notes about the kubernetes upgrade"}).json()["interaction_id"]
    )
    assert interaction.auto_labelled == ["category"]
    wrong = next(label for label in category_certified.labels["category"] if label != interaction.category)
    api.post(f"/interactions/{interaction.pk}/feedback", {**interaction.triplet, "category": wrong})
    assert auto_label_precision()["category"] == (0.0, 1)
    category_certified.refresh_from_db()
    assert category_certified.paused_heads == ["category"]

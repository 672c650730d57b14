"""A prompt people rejected keeps its look-alikes from being labelled without a person."""

from interactions.classify import classify
from interactions.models import Interaction, Review
from interactions.reviews import decide

REJECTED = "Find my notes about the kubernetes upgrade"
LOOK_ALIKE = "Find my notes on the kubernetes upgrades"
UNRELATED = "Draft a reply to the landlord about the rent"


def reject(reviewer, settings, prompt):
    """A person rejects a prompt the gate left to people (rejecting an auto-label would also pause its head)."""
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("gate", auto_accept=False)
    interaction = classify(prompt)
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("gate", auto_accept=True)
    decide(interaction.pk, reviewer, Review.Decision.REJECTED)


def test_a_look_alike_of_a_rejected_prompt_goes_to_a_person(category_certified, reviewer, settings):
    assert classify(LOOK_ALIKE).auto_labelled == ["category"]
    reject(reviewer, settings, REJECTED)
    later = classify(LOOK_ALIKE)
    assert (later.verdict, later.reasons, later.auto_labelled) == ("review", ["near_rejected"], [])
    assert not later.example
    assert later.thresholds["nearest_rejected"] > 0.9


def test_a_rejection_leaves_unrelated_prompts_alone(category_certified, reviewer, settings):
    reject(reviewer, settings, REJECTED)
    assert classify(UNRELATED).auto_labelled == ["category"]


def test_an_approved_prompt_is_no_rejection(category_certified, reviewer, settings):
    decide(classify(REJECTED).pk, reviewer, Review.Decision.APPROVED)
    assert classify(LOOK_ALIKE).auto_labelled == ["category"]


def test_a_withdrawn_rejection_stops_counting(category_certified, reviewer, settings):
    reject(reviewer, settings, REJECTED)
    Interaction.objects.filter(reviews__decision=Review.Decision.REJECTED).delete()  # as the admin deletes it
    assert classify(LOOK_ALIKE).auto_labelled == ["category"]


def test_the_review_page_shows_the_rejected_prompt_an_item_resembles(
    category_certified, reviewer, settings, reviewer_client
):
    reject(reviewer, settings, REJECTED)
    classify(LOOK_ALIKE)
    html = reviewer_client.get("/review/").content.decode()
    assert f"Like a prompt people rejected: “{REJECTED}”" in html

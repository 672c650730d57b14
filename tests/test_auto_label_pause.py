"""A head whose auto-labels people correct is paused for that version: its certificate was wrong."""

from dataclasses import replace

import pytest

from interactions.classify import classify
from interactions.models import Review
from interactions.reviews import decide
from tests.conftest import give_certificate
from training.card import Proof

PROMPTS = ["Find my notes about the kubernetes upgrade", "Summarise the meeting about the budget"]


def another_category(version, interaction):
    return next(label for label in version.labels["category"] if label != interaction.category)


def correct_the_category(version, reviewer, prompt):
    interaction = classify(prompt)
    assert interaction.auto_labelled == ["category"]
    decide(interaction.pk, reviewer, Review.Decision.OVERRIDDEN, {"category": another_category(version, interaction)})
    version.refresh_from_db()


def test_a_corrected_head_is_paused_for_the_version_that_labelled_it(category_certified, reviewer):
    correct_the_category(category_certified, reviewer, PROMPTS[0])
    assert category_certified.paused_heads == ["category"]


def test_a_paused_head_goes_to_a_person_and_says_why(category_certified, reviewer):
    correct_the_category(category_certified, reviewer, PROMPTS[0])
    later = classify(PROMPTS[1])
    assert later.auto_labelled == []
    assert "paused_category" in later.reasons
    assert not later.example


def test_kept_auto_labels_do_not_pause_the_head(category_certified, reviewer):
    for prompt in PROMPTS:
        decide(classify(prompt).pk, reviewer, Review.Decision.APPROVED)
    category_certified.refresh_from_db()
    assert category_certified.paused_heads == []
    assert classify("Draft a reply to the landlord about the rent").auto_labelled == ["category"]


def test_a_paused_version_accepts_no_whole_triplet(category_certified, reviewer):
    correct_the_category(category_certified, reviewer, PROMPTS[0])
    every_triplet = replace(category_certified.card.certificate, triplet=Proof(-50.0))
    give_certificate(category_certified, every_triplet)
    later = classify(PROMPTS[1])
    assert later.verdict == "review"
    assert later.reasons[0] == "certified_but_paused"


@pytest.mark.parametrize("page", ["/", "/models/{number}/"])
def test_the_dashboard_says_which_heads_are_paused(category_certified, reviewer, reviewer_client, page):
    correct_the_category(category_certified, reviewer, PROMPTS[0])
    html = reviewer_client.get(page.format(number=category_certified.number)).content.decode()
    assert "Paused" in html and "category" in html

"""Undo: a decision is taken back, the examples it changed are as they were, the item is back in the queue."""

import pytest

from interactions.classify import classify
from interactions.models import Review
from interactions.reviews import CannotUndo, decide, queue, record_feedback, undo
from training.models import Example, Source

PROMPT = "Find my notes about the kubernetes upgrade"  # outside the holdout region, where the gate auto-labels


@pytest.fixture
def borderline(trained, review_everything):
    return classify(PROMPT)


def undo_by_page(client, review, htmx=True):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/review/decisions/{review.pk}/undo/", headers=headers)


def test_undoing_an_approval_removes_its_live_example_and_reopens_the_item(reviewer, borderline):
    review = decide(borderline.pk, reviewer, Review.Decision.APPROVED)
    undo(review.pk, reviewer)
    borderline.refresh_from_db()
    assert not Example.objects.filter(source=Source.LIVE).exists()
    assert borderline.decided_at is None and borderline.example is None
    assert borderline in queue()
    assert not Review.objects.exists()


def test_undoing_an_override_restores_the_live_labels_an_earlier_decision_gave_the_prompt(reviewer, borderline):
    earlier = classify(PROMPT)
    decide(earlier.pk, reviewer, Review.Decision.OVERRIDDEN, {"subject": "Test suite"})
    review = decide(borderline.pk, reviewer, Review.Decision.OVERRIDDEN, {"subject": "Login page"})
    undo(review.pk, reviewer)
    assert Example.objects.get(source=Source.LIVE).subject == "Test suite"


def test_undoing_a_rejection_brings_back_the_labels_the_gate_gave(reviewer, trained, category_certified):
    item = classify(PROMPT)
    assert item.auto_labelled == ["category"], "the fixture certifies the category head"
    labels = item.example.triplet
    review = decide(item.pk, reviewer, Review.Decision.REJECTED)
    assert not Example.objects.filter(source=Source.BATCH).exists()
    undo(review.pk, reviewer)
    item.refresh_from_db()
    assert (item.example.source, item.example.triplet) == (Source.BATCH, labels)


def test_another_reviewer_cannot_undo_a_decision_but_staff_can(reviewer, staff, django_user_model, borderline):
    review = decide(borderline.pk, reviewer, Review.Decision.APPROVED)
    other = django_user_model.objects.create_user("rita", password="rita-password-1")
    with pytest.raises(CannotUndo, match="reviewer who made"):
        undo(review.pk, other)
    undo(review.pk, staff)
    assert borderline in queue()


def test_a_decision_followed_by_a_correction_cannot_be_undone(reviewer, borderline):
    review = decide(borderline.pk, reviewer, Review.Decision.APPROVED)
    record_feedback(borderline, {**borderline.triplet, "subject": "Tests"}, reviewer)
    with pytest.raises(CannotUndo, match="later"):
        undo(review.pk, reviewer)
    assert Example.objects.get(source=Source.LIVE).subject == "Tests"


def test_the_page_swaps_the_undone_item_back_in_ready_for_a_new_decision(reviewer_client, reviewer, borderline):
    review = decide(borderline.pk, reviewer, Review.Decision.APPROVED)
    response = undo_by_page(reviewer_client, review)
    page = response.content.decode()
    assert response.status_code == 200
    assert f'id="item-{borderline.pk}"' in page and "Approve (a)" in page


def test_the_queue_lists_my_recent_decisions_each_with_an_undo_form(reviewer_client, reviewer, borderline):
    review = decide(borderline.pk, reviewer, Review.Decision.REJECTED)
    page = reviewer_client.get("/review/").content.decode()
    assert "Your recent decisions" in page and f"/review/decisions/{review.pk}/undo/" in page
    response = undo_by_page(reviewer_client, review, htmx=False)
    assert response.status_code == 302 and borderline in queue()

"""The review queue: decisions become reviews and live examples, exactly once."""

import pytest

from interactions.classify import classify
from interactions.models import Review
from interactions.reviews import auto_label_precision, queue
from training.models import Example, Source


@pytest.fixture
def borderline(trained, review_everything):
    return classify("Could you look into the flaky login tests?")


def decide(client, item, decision, **heads):
    return client.post(f"/review/{item.pk}/decide/", {"decision": decision, **heads}, headers={"HX-Request": "true"})


def test_the_queue_can_list_the_least_confident_first(reviewer_client, trained, review_everything, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("review", order="least_confident")
    items = [
        classify(p)
        for p in (
            "Remind me to renew the passport",
            "Plan the offsite agenda for March",
            "Find emails about the invoice",
        )
    ]
    assert list(queue()) == sorted(items, key=lambda i: i.min_confidence)
    page = reviewer_client.get("/review/").content.decode()
    assert all(item.prompt in page for item in items)
    assert "Nearest human-labelled examples" in page


def test_the_queue_is_in_a_stable_random_order_by_default(trained, review_everything):
    prompts = [f"Remind me to call person number {i} tomorrow" for i in range(8)]
    items = [classify(p) for p in prompts]
    assert list(queue()) == sorted(items, key=lambda i: i.review_key)
    assert list(queue()) != sorted(items, key=lambda i: i.min_confidence)
    assert classify(prompts[0]).review_key == items[0].review_key


def test_approving_adds_the_predicted_triplet_to_the_live_dataset(reviewer_client, reviewer, borderline):
    response = decide(reviewer_client, borderline, "approved")
    assert response.status_code == 200 and "Approved" in response.content.decode()
    review = Review.objects.get(interaction=borderline)
    assert (review.reviewer, review.decision, review.after) == (reviewer, "approved", borderline.triplet)
    borderline.refresh_from_db()
    assert (borderline.example.source, borderline.example.triplet) == (Source.LIVE, borderline.triplet)
    assert borderline not in queue()


def test_overriding_one_head_with_a_new_label_keeps_the_others(reviewer_client, borderline):
    decide(reviewer_client, borderline, "overridden", subject="Test suite", action="", category="")
    example = Example.objects.get(source=Source.LIVE)
    assert example.triplet == {**borderline.triplet, "subject": "Test suite"}
    assert Review.objects.get().before == borderline.triplet


def test_rejecting_learns_nothing(reviewer_client, borderline):
    decide(reviewer_client, borderline, "rejected")
    assert Review.objects.get().decision == "rejected"
    assert not Example.objects.filter(source=Source.LIVE).exists()


def test_the_second_reviewer_is_told_it_was_already_decided(reviewer_client, staff_client, borderline):
    decide(reviewer_client, borderline, "approved")
    response = decide(staff_client, borderline, "rejected")
    assert response.status_code == 409
    assert "Already decided: riley approved it" in response.content.decode()
    assert Review.objects.count() == 1


def test_an_unknown_head_must_be_labelled_before_approval(reviewer_client, trained, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("gate", unknown_threshold=1.01)
    item = classify("Could you look into the flaky login tests?")
    response = decide(reviewer_client, item, "approved")
    assert response.status_code == 400 and "pick a label for subject" in response.content.decode()
    assert item in queue()


def test_bulk_approve_decides_each_selected_item(reviewer_client, trained, review_everything):
    items = [classify(p) for p in ("Remind me to renew the passport", "Plan the offsite agenda for March")]
    reviewer_client.post("/review/bulk-approve/", {"selected": [i.pk for i in items]})
    assert Review.objects.filter(decision="approved").count() == 2
    assert Example.objects.filter(source=Source.LIVE).count() == 2


def test_audit_samples_of_auto_accepted_items_are_in_the_queue(reviewer_client, trained, accept_everything, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("gate", audit_rate=1.0)
    item = classify("Summarize the paper about sparse attention")
    assert (item.verdict, item.audit) == ("accepted", True)
    assert 'class="tag audit"' in reviewer_client.get("/review/").content.decode()


def test_audit_decisions_estimate_auto_label_precision(reviewer_client, trained, accept_everything, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("gate", audit_rate=1.0)
    right, wrong = (
        classify("Summarize the paper about sparse attention"),
        classify("Remind me to renew the passport soon"),
    )
    decide(reviewer_client, right, "approved")
    decide(reviewer_client, wrong, "rejected")
    assert auto_label_precision() == dict.fromkeys(("subject", "action", "category"), (0.5, 2))
    assert not Example.objects.filter(pk=wrong.example_id).exists()  # the wrong auto-label is not learned


def test_prompts_are_escaped_in_the_queue(reviewer_client, trained, review_everything):
    classify("please run <script>alert('x')</script> for me")
    page = reviewer_client.get("/review/").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page


def test_each_decision_is_a_real_form_that_works_without_javascript(reviewer_client, borderline):
    page = reviewer_client.get("/review/").content.decode()
    assert f'<form method="post" action="/review/{borderline.pk}/decide/"' in page
    response = reviewer_client.post(f"/review/{borderline.pk}/decide/", {"decision": "rejected"})
    assert response.status_code == 302 and Review.objects.get().decision == "rejected"

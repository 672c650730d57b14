"""Every dashboard page needs a login; staff-only actions refuse reviewers."""

import pytest
from django.test import Client

from interactions.classify import classify
from tests.conftest import give_certificate, train_now
from training.card import Certificate, Proof
from training.models import ModelVersion, TrainingRun
from training.triggers import create_run

PAGES = [
    "/",
    "/review/",
    "/models/",
    "/datasets/",
    "/training/progress/",
    "/datasets/base.jsonl",
    "/api/v1/docs",
    "/api/v1/openapi.json",
]


@pytest.mark.parametrize("url", PAGES)
def test_it_sends_an_anonymous_visitor_to_the_login_page(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", PAGES)
def test_a_reviewer_sees_every_page(reviewer_client, trained, url):
    assert reviewer_client.get(url).status_code == 200


def test_the_model_page_shows_per_class_metrics_and_confusion(reviewer_client, trained):
    page = reviewer_client.get(f"/models/{trained.number}/").content.decode()
    assert "confusion matrix" in page and "precision" in page
    assert "Script" in page  # a label of the seed


def test_the_model_page_shows_how_long_each_stage_of_its_run_took(reviewer_client, trained):
    page = reviewer_client.get(f"/models/{trained.number}/").content.decode()
    seconds = dict(TrainingRun.objects.get(version=trained).summary["stage_seconds"])["certifying the gate"]
    assert f"certifying the gate {seconds} s" in page


def test_the_model_page_shows_the_log_loss_promotion_compared(reviewer_client, trained):
    newer = train_now().version
    page = reviewer_client.get(f"/models/{newer.number}/").content.decode()
    assert f"log-loss <strong>{newer.metrics['holdout']['log_loss']:.3f}</strong>" in page
    assert f"log-loss {newer.metrics['active_holdout']['log_loss']:.3f}" in page
    assert "Not promoted: it gives every holdout example the same probability" in page  # nothing new
    assert "its twin trained without the holdout" in page


def test_the_overview_shows_threshold_progress(reviewer_client, trained, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", retrain_threshold=100)
    page = reviewer_client.get("/").content.decode()
    assert "0 of 100</strong> new examples until the next retrain" in page


def test_empty_pages_say_what_to_do(reviewer_client, db):
    assert "Nothing to review" in reviewer_client.get("/review/").content.decode()
    assert "No model yet" in reviewer_client.get("/models/").content.decode()


@pytest.mark.parametrize("url", ["/training/retrain/", "/models/1/promote/", "/datasets/upload/"])
def test_a_reviewer_cannot_use_staff_actions(reviewer_client, trained, url):
    assert reviewer_client.post(url, {"reason": "because"}).status_code == 403
    assert not TrainingRun.objects.filter(trigger="manual", status="queued").exists()


def test_a_reviewer_sees_no_retrain_or_promote_button(reviewer_client, trained):
    assert "Retrain now" not in reviewer_client.get("/").content.decode()
    assert "Promote" not in reviewer_client.get(f"/models/{trained.number}/").content.decode()


def test_staff_retrain_queues_a_run_and_shows_its_progress(staff_client, trained):
    response = staff_client.post("/training/retrain/", headers={"HX-Request": "true"})
    run = TrainingRun.objects.get(status="queued")
    assert f"Run #{run.pk}" in response.content.decode()
    assert 'hx-trigger="every 1s"' in response.content.decode()


def test_the_progress_poll_shows_a_running_run(staff_client, trained):
    run = create_run(TrainingRun.Trigger.MANUAL, force=True)
    response = staff_client.get("/training/progress/", headers={"HX-Request": "true"})
    assert f"Run #{run.pk}" in response.content.decode()
    assert "HX-Refresh" not in response.headers


def test_the_progress_poll_reloads_the_page_when_the_run_ends(staff_client, trained):
    train_now()
    response = staff_client.get("/training/progress/", headers={"HX-Request": "true"})
    assert response.headers["HX-Refresh"] == "true"  # so the new version shows in the models table


def test_staff_promote_needs_a_reason(staff_client, trained):
    newer = train_now().version
    staff_client.post(f"/models/{newer.number}/promote/", {"reason": ""})
    assert ModelVersion.objects.get(status="active") == trained
    staff_client.post(f"/models/{newer.number}/promote/", {"reason": "try it"})
    assert ModelVersion.objects.get(status="active") == newer


def test_the_pages_say_why_nothing_is_auto_accepted_yet(reviewer_client, trained):
    assert "Not certified yet" in reviewer_client.get("/").content.decode()
    assert "Not certified:" in reviewer_client.get(f"/models/{trained.number}/").content.decode()


def test_the_pages_say_how_close_the_evidence_came_to_a_certificate(reviewer_client, trained):
    close = Proof(None, 0.0, surest=60, surest_right=51, needed=60)
    give_certificate(
        trained, Certificate(step=60, evidence=180, triplet=close, heads={**Certificate().heads, "action": close})
    )
    sentence = "Of the 60 predictions its evidence was surest of, 51 were right; 60 must be to certify."
    assert sentence in reviewer_client.get("/").content.decode()
    page = reviewer_client.get(f"/models/{trained.number}/").content.decode()
    assert sentence in page and "51 of 60 right (60 needed)" in page


def test_the_seed_models_pages_say_that_too_little_of_its_evidence_is_in_scope_to_test(reviewer_client, trained):
    proof = trained.card.certificate.triplet
    assert proof.surest < 60  # 69 seed examples, most of them far from every other
    verb = "is" if proof.surest == 1 else "are"
    expected = f"Only {proof.surest} of its 69 human-labelled examples {verb} in scope (similar enough to another"
    assert expected in reviewer_client.get("/").content.decode()


def test_the_model_page_shows_a_certified_gate(reviewer_client, trained):
    give_certificate(trained, Certificate(confidence=0.9, evidence=600, triplet=Proof(4.2, 0.12)))
    page = reviewer_client.get(f"/models/{trained.number}/").content.decode()
    assert "sureness ≥ 4.20 proves 0.95 exact-triplet precision" in page


def test_a_decision_without_the_csrf_token_is_refused(reviewer, trained, review_everything):
    item = classify("Could you look into the flaky login tests?")
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    response = client.post(f"/review/{item.pk}/decide/", {"decision": "approved"}, headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert not item.reviews.exists()


def test_the_pages_show_which_heads_are_labelled_on_their_own(reviewer_client, trained):
    heads = {"subject": Proof(), "action": Proof(), "category": Proof(1.25, 0.83)}
    give_certificate(trained, Certificate(evidence=600, heads=heads))
    assert "category (about 0.83 of prompts)" in reviewer_client.get("/").content.decode()
    model_page = reviewer_client.get(f"/models/{trained.number}/").content.decode()
    assert "<td>category</td><td>1.25</td><td>0.830</td>" in model_page
    assert "<td>action</td><td>not certified</td>" in model_page

"""The typed model card: what a version stores about itself reads back the same, and old rows still read."""

from training.card import Certificate, ModelCard, Proof
from training.models import HEADS

CERTIFICATE = Certificate(
    target=0.95,
    step=60,
    confidence=0.95,
    scope=0.61,
    evidence=420,
    triplet=Proof(4.2, 0.12, surest=60, surest_right=60, needed=60),
    heads={"subject": Proof(None, 0.0, 60, 57, 60), "action": Proof(3.1, 0.4), "category": Proof(1.5, 0.8)},
)


def test_a_card_round_trips_through_its_json():
    card = ModelCard({"exact": 0.7}, {"exact": 0.65}, 3, CERTIFICATE)
    assert ModelCard.from_json(card.to_json()) == card


def test_an_uncertified_certificate_says_how_close_its_surest_predictions_came():
    close = Certificate(step=60, evidence=200, triplet=Proof(None, 0.0, surest=60, surest_right=57, needed=60))
    assert close.how_close == "Of the 60 predictions its evidence was surest of, 57 were right; 60 must be to certify."
    assert CERTIFICATE.how_close == ""  # certified


def test_a_certificate_with_no_evidence_in_scope_says_none_is():
    far = Certificate(step=60, evidence=69, triplet=Proof(None, 0.0, surest=0, surest_right=0, needed=60))
    assert far.how_close.startswith("None of its 69 human-labelled examples is in scope")


def test_a_version_without_a_certificate_reads_as_certifying_nothing():
    certificate = ModelCard.from_json({"holdout": None}).certificate
    assert not certificate.triplet.certified and not any(certificate.labels_alone(head) for head in HEADS)


def test_a_paused_head_is_not_labelled_alone_even_when_certified():
    paused = CERTIFICATE.with_paused(["category"])
    assert [head for head in HEADS if paused.labels_alone(head)] == ["action"]
    assert paused.sure_heads({"subject": 9.0, "action": 3.1, "category": 2.0}) == ("action", "category")


def test_a_version_card_carries_its_paused_heads(trained):
    trained.paused_heads = ["subject"]
    assert trained.card.certificate.paused == ("subject",)
    assert trained.card.holdout == trained.metrics["holdout"]

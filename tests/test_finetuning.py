"""A training run may fine-tune its own encoder: stored and hash-checked like the heads, served with
them in one swap, brought back by a rollback, and never seen by the fold models that certify the gate
on labels it learned. Fine-tuning here takes two steps: these tests check behaviour, simulate_loop
measures accuracy."""

import time

import numpy as np
import pytest

from interactions.classify import classify
from interactions.models import Interaction, Review
from interactions.reviews import decide
from tests.conftest import train_now
from training import pipeline
from training.budget import AFTERWARDS, Budget
from training.datasets import add_example, merge
from training.encoder import ENCODER_NAME, Encoder, stock_encoder
from training.finetune import EncoderTuner
from training.label_names import named_triplets
from training.models import Example, ModelVersion, Source, TrainingRun
from training.policy import current
from training.promotion import promote_by_hand
from training.registry import ModelFileError, load_encoder

PROMPT = "Find my notes about the database migration"
TWO_INTENTS = ["find my notes about kubernetes", "play some jazz in the kitchen"] * 40
THEIR_TRIPLETS = [
    {"subject": "Note", "action": "Find", "category": "Knowledge"},
    {"subject": "Music", "action": "Play", "category": "Media"},
] * 40


@pytest.fixture
def finetuning(settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", encoder="finetune", finetune_max_steps=2)


@pytest.fixture
def tuned(finetuning, trained):
    """The seed's first model with a fine-tuned encoder (trained once, like `trained`, then restored)."""
    return trained


def test_a_fine_tuned_encoder_is_stored_with_its_hash_and_size(tuned):
    assert tuned.encoder.startswith("finetuned-") and tuned.encoder_file.name.endswith(".safetensors")
    assert tuned.encoder_size == tuned.encoder_file.size > 10_000_000
    assert load_encoder(tuned).name == tuned.encoder


def test_the_model_page_says_how_far_the_encoders_fine_tuning_went(tuned, reviewer_client):
    page = reviewer_client.get(f"/models/{tuned.number}/").content.decode()
    assert "Its fine-tuning: 2 steps, epoch 1 of " in page and "ended by the step limit." in page
    assert "Cross-validated by fold models that fine-tuned their own encoders." in page


def test_the_fine_tuned_encoder_embeds_differently_from_the_stock_one(tuned):
    vectors = load_encoder(tuned).embed([PROMPT]), stock_encoder().embed([PROMPT])
    assert not np.allclose(*vectors)


def test_classify_embeds_with_the_active_versions_encoder_and_records_which(tuned):
    interaction = classify(PROMPT)
    assert (interaction.model_version_id, interaction.encoder) == (tuned.number, tuned.encoder)
    np.testing.assert_allclose(interaction.vector(), load_encoder(tuned).embed([PROMPT])[0], atol=1e-5)


def test_a_tampered_encoder_file_is_refused(tuned, api):
    with open(tuned.encoder_file.path, "r+b") as f:
        f.seek(-8, 2)
        f.write(b"tampered")
    with pytest.raises(ModelFileError, match=r"encoder file of model v1 .* does not match its recorded sha256"):
        load_encoder(tuned)
    response = api.post("/classify", {"prompt": PROMPT})
    assert response.status_code == 503 and "sha256" in response.json()["detail"]


def test_a_rollback_brings_the_earlier_versions_encoder_back(tuned, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", encoder="stock")
    stock_version = train_now().version
    promote_by_hand(stock_version, None, "try the stock encoder")
    assert classify(PROMPT).encoder == ENCODER_NAME
    promote_by_hand(tuned, None, "roll back")
    assert classify(PROMPT).encoder == tuned.encoder


def test_the_example_cache_keeps_stock_vectors_when_a_fine_tuned_version_served_the_prompt(tuned, reviewer):
    interaction = classify(PROMPT)
    decide(
        interaction.pk,
        reviewer,
        Review.Decision.OVERRIDDEN,
        {"subject": "Note", "action": "Find", "category": "Knowledge"},
    )
    interaction.refresh_from_db()
    example = interaction.example
    assert example.embedding is None or example.encoder == ENCODER_NAME
    pipeline.ensure_embeddings([example])
    np.testing.assert_allclose(example.vector(), stock_encoder().embed([PROMPT])[0], atol=1e-5)


@pytest.fixture
def tunings(monkeypatch):
    """The prompts of each encoder fine-tuning the runs make, in order (the fine-tunings run for real)."""
    seen = []

    class Recording(EncoderTuner):
        def train(self):
            seen.append(set(self.prompts))
            return super().train()

    monkeypatch.setattr(pipeline, "EncoderTuner", Recording)
    return seen


def test_the_encoders_learn_human_labels_only_and_never_those_their_fold_is_scored_on(seeded, finetuning, tunings):
    auto_accepted = "look up my notes on the quarterly budget review"
    example, _ = add_example(
        auto_accepted, {"subject": "Note", "action": "Find", "category": "Knowledge"}, Source.BATCH
    )
    assert example in merge(current().training.holdout_fraction).train  # a training example, not left out
    run = train_now()
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert run.summary["gate_folds"] == "fold models that fine-tuned their own encoders"
    folds = tunings[-pipeline.FOLDS :]
    names = {name for name, _ in named_triplets(e.triplet for e in Example.objects.all())}  # every fold learns them
    assert all(names <= fold for fold in folds)
    human = set().union(*folds) - names
    held_out = [human - fold for fold in folds]  # what each fold encoder is scored on
    assert all(held_out)
    assert sum(len(held) for held in held_out) == len(human)  # each labelled prompt held out by exactly one
    assert set().union(*held_out) == human
    assert not any(auto_accepted in prompts for prompts in tunings)  # the heads may learn it, no encoder


def test_the_time_budget_stops_a_fine_tuning_cleanly():
    tuner = EncoderTuner(TWO_INTENTS, THEIR_TRIPLETS, deadline=time.monotonic())
    encoder = tuner.train()
    assert tuner.stopped_by == "deadline"
    assert isinstance(encoder, Encoder) and encoder.embed(["play jazz"]).shape == (1, 384)


def test_a_noisy_student_validates_on_its_teachers_labelled_prompts_never_on_guesses():
    labelled = [f"find my notes about project {n}" for n in range(60)] + [f"play song {n}" for n in range(60)]
    gold = [{"subject": "Note", "action": "Find", "category": "Knowledge"}] * 60
    gold += [{"subject": "Music", "action": "Play", "category": "Media"}] * 60
    guessed = [f"play the album number {n}" for n in range(200)]
    teacher = EncoderTuner(labelled, gold, validate_on=len(labelled))
    student = EncoderTuner(labelled + guessed, gold + [gold[-1]] * len(guessed), validate_on=len(labelled))
    _, teacher_rows = teacher._split()
    _, student_rows = student._split()
    assert student_rows == teacher_rows and len(teacher_rows) == 12
    assert max(student_rows) < len(labelled)


def test_early_stopping_sees_the_heads_improve_while_no_validation_prompt_has_its_whole_triplet_right():
    prompts = [f"find my notes about project {n}" for n in range(60)] + [f"play song number {n}" for n in range(60)]
    triplets = [{"subject": f"Project{n}", "action": "Find", "category": "Knowledge"} for n in range(60)]
    triplets += [{"subject": f"Song{n}", "action": "Play", "category": "Media"} for n in range(60)]
    tuner = EncoderTuner(prompts, triplets, max_steps=4)  # no validation prompt's subject is in training
    tuner.train()
    assert tuner.best_score > 0


def test_a_noisy_student_continues_its_teachers_fine_tuning_rather_than_starting_from_the_stock_encoder():
    teacher = EncoderTuner(TWO_INTENTS, THEIR_TRIPLETS, max_steps=3).train()
    student = EncoderTuner(TWO_INTENTS, THEIR_TRIPLETS, deadline=time.monotonic(), start=teacher).train()
    probe = ["remind me to call the dentist"]
    from_teacher = np.abs(student.embed(probe) - teacher.embed(probe)).max()
    from_stock = np.abs(student.embed(probe) - stock_encoder().embed(probe)).max()
    assert from_teacher < from_stock


def test_each_fine_tuning_stops_early_enough_to_embed_what_follows_it_within_the_runs_limit():
    budget = Budget(minutes=10, prompts=["find my notes about kubernetes", "play some jazz in the kitchen"])
    assert 0 < budget.seconds_per_prompt < 1
    last = budget.deadline(1.0, then_embed=0)
    assert last == pytest.approx(budget.start + 600 * (1 - AFTERWARDS))
    assert budget.deadline(1.0, then_embed=10_000) == pytest.approx(last - 10_000 * budget.seconds_per_prompt)
    assert budget.deadline(0.5, then_embed=0) < last


def test_the_folds_share_what_is_left_of_the_time_limit_less_what_each_does_after_its_fine_tuning():
    budget = Budget(minutes=10, prompts=["find my notes about kubernetes"])
    assert budget.end == pytest.approx(budget.start + 600 * (1 - AFTERWARDS))
    left = budget.end - time.monotonic()
    assert budget.share_of_rest(5, then_spend=0) == pytest.approx(budget.end - left * 4 / 5, abs=0.5)
    assert budget.share_of_rest(5, then_spend=30) == pytest.approx(budget.end - left * 4 / 5 - 30, abs=0.5)
    assert budget.share_of_rest(1, then_spend=0) == pytest.approx(budget.end, abs=0.5)


@pytest.mark.slow  # fine-tunes an encoder
def test_with_too_little_time_left_the_gate_is_certified_by_stock_encoder_folds_without_fine_tuning_them(
    seeded, settings, tunings
):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", encoder="finetune", finetune_minutes=0.1)
    run = train_now()
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert len(tunings) == 1  # the version's encoder only
    assert run.summary["gate_folds"].startswith("fold models on the stock encoder: the time limit left too little")
    assert run.version.encoder.startswith("finetuned-") and run.version.card.certificate.evidence > 0


def test_an_encoder_round_trips_through_its_bytes_and_keeps_its_name(tuned):
    encoder = load_encoder(tuned)
    again = Encoder.from_bytes(encoder.to_bytes())
    assert again.name == encoder.name
    np.testing.assert_allclose(again.embed([PROMPT]), encoder.embed([PROMPT]), atol=1e-6)


@pytest.mark.slow  # fine-tunes an encoder
def test_auto_keeps_the_stock_encoder_unless_the_fine_tuned_one_does_better(seeded, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", encoder="auto", finetune_max_steps=1)
    run = train_now()
    version = ModelVersion.objects.get(pk=run.version.pk)
    assert run.summary["encoder"].startswith(("stock encoder", "fine-tuned encoder"))
    assert (version.encoder == ENCODER_NAME) == run.summary["encoder"].startswith("stock encoder")


def test_interactions_record_the_stock_encoder_while_no_model_is_active(db):
    assert classify(PROMPT).encoder == ENCODER_NAME
    assert Interaction.objects.get().encoder == ENCODER_NAME

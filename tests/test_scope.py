"""The gate's scope is calibrated from the prompts people rejected: once enough of them say where the
labelled intents end, a prompt more similar to a human example than all of them is in scope."""

import pytest

from interactions.classify import classify
from interactions.models import Review
from interactions.reviews import decide
from tests.conftest import train_once
from training.models import HUMAN_SOURCES, Example, TrainingRun
from training.registry import activate, load_encoder

# Nothing the seed's scripts, agents, emails, notes, papers, plans and reminders serve.
REJECTED = [
    "what is the capital city of australia",
    "how tall is mount everest in feet",
    "who won the football world cup in 1998",
]
# In the seed's domain, but under 0.6 similar to every seed example.
UNLIKE_THE_SEED = "stop the agent that is scraping the news"


@pytest.fixture
def rejected(trained, reviewer, settings):
    """A person rejected REJECTED; the policy lowers the scope from three rejections on."""
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("certification", scope_rejections=3)
    for prompt in REJECTED:
        decide(classify(prompt).pk, reviewer, Review.Decision.REJECTED)
    return trained


@pytest.fixture
def recalibrated(rejected, settings):
    """The next run's version, made active (it learned nothing new, so a person promotes it)."""
    return activate(train_once(settings))


def test_a_prompt_unlike_every_human_example_is_out_of_scope_at_first(trained):
    assert "out_of_scope" in classify(UNLIKE_THE_SEED).reasons


def test_a_run_lowers_the_scope_to_just_above_the_most_similar_rejected_prompt(recalibrated):
    scope = recalibrated.card.certificate.scope
    said = TrainingRun.objects.get(version=recalibrated).summary["scope_rejected"]
    assert said["prompts"] == 3
    assert said["most_similar"] < scope <= said["most_similar"] + 0.01
    assert scope < 0.6


def test_a_prompt_more_similar_than_every_rejected_one_is_in_scope(recalibrated):
    assert "out_of_scope" not in classify(UNLIKE_THE_SEED).reasons


def test_a_rejected_prompt_stays_out_of_scope(recalibrated, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("gate", unknown_threshold=0.0)  # the scope decides
    assert "out_of_scope" in classify(REJECTED[0]).reasons


def test_fewer_rejections_than_the_policy_asks_leave_the_scope_as_it_was(rejected, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("certification", scope_rejections=4)
    version = train_once(settings)
    said = TrainingRun.objects.get(version=version).summary["scope_rejected"]
    assert (version.card.certificate.scope, said) == (0.6, None)


def test_the_model_page_says_where_the_scope_stands(recalibrated, staff_client):
    html = staff_client.get(f"/models/{recalibrated.number}/").content.decode()
    assert f"In scope: prompts at least {recalibrated.card.certificate.scope:.2f} similar" in html
    assert "the most similar of the 3 prompts people rejected stands at" in html


@pytest.mark.slow  # fine-tunes an encoder
def test_a_fine_tuned_versions_scope_comes_from_the_rejected_prompts_as_its_encoder_embeds_them(rejected, settings):
    settings.SECONDMIND_POLICY = settings.SECONDMIND_POLICY.but("training", encoder="finetune", finetune_max_steps=2)
    version = train_once(settings)
    encoder = load_encoder(version)
    labelled = [e.prompt for e in Example.objects.filter(source__in=HUMAN_SOURCES)]
    most_similar = (encoder.embed(REJECTED) @ encoder.embed(labelled).T).max()
    said = TrainingRun.objects.get(version=version).summary["scope_rejected"]
    assert not encoder.is_stock
    assert said["most_similar"] == pytest.approx(most_similar, abs=1e-3)
    assert said["most_similar"] < version.card.certificate.scope <= said["most_similar"] + 0.01

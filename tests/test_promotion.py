"""A candidate goes live only when it beats the active model on the human-labelled holdout."""

import random
from statistics import NormalDist

import numpy as np
import pytest

from tests.conftest import train_now
from training.datasets import add_example, import_jsonl, in_holdout_region
from training.evaluation import LOSS_CAP, item_losses
from training.models import HEADS, Example, ModelVersion, Promotion, Source
from training.policy import PromotionPolicy
from training.promotion import Comparison, should_promote
from training.registry import load_heads


def changed(count, first):
    """`count` holdout examples, changed as `first` says on the first ones (+1 gained, -1 lost)."""
    change = np.zeros(count, int)
    change[: len(first)] = first
    return change


def compared(saved, exact_change=(), head_change=None):
    """A Comparison saving `saved` log-loss per holdout example, with whole triplets changed as
    `exact_change` says on the first examples and unchanged on the rest; heads as `head_change` says."""
    heads = {head: changed(len(saved), (head_change or {}).get(head, ())) for head in HEADS}
    return Comparison(np.asarray(saved, float), changed(len(saved), exact_change), heads)


CLEARLY_BETTER = compared(np.full(50, 0.5))  # saves 0.5 of log-loss on each of 50 holdout examples

DEFAULT = PromotionPolicy()
HOLDOUT = 0.2  # the default share held out


def scores(accuracy, exact=0.5, per_head=None):
    per_head = per_head or {}
    return {**{head: {"accuracy": per_head.get(head, accuracy)} for head in HEADS}, "exact": exact, "log_loss": 1.0}


def relabel_training_prompts(wrong):
    """Live labels for every seed prompt outside the holdout: shuffled (wrong) or the seed's own."""
    base = Example.objects.filter(source=Source.BASE)
    seed = [e for e in base if not in_holdout_region(e.normalized_prompt, HOLDOUT)]
    shuffled = {head: [e.triplet[head] for e in seed] for head in HEADS}
    rng = random.Random(7)
    for values in shuffled.values():
        rng.shuffle(values)
    for i, example in enumerate(seed):
        triplet = {head: shuffled[head][i] for head in HEADS} if wrong else example.triplet
        add_example(example.prompt, triplet, Source.LIVE)


@pytest.fixture
def hwu64_seeded(db, hwu64):
    """600 real triplets as the base dataset: a holdout big enough for the comparison to mean something."""
    lines = (hwu64 / "train.jsonl").read_text(encoding="utf-8").splitlines()[::16][:600]
    import_jsonl(lines, Source.BASE)


def test_a_candidate_trained_on_wrong_labels_is_not_promoted(hwu64_seeded):
    trained = train_now().version
    relabel_training_prompts(wrong=True)
    run = train_now()
    assert run.promoted is False
    assert run.version.status == ModelVersion.Status.REJECTED
    assert ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE) == trained
    assert run.decision.startswith("Not promoted")


def test_a_better_candidate_is_promoted(hwu64_seeded):
    relabel_training_prompts(wrong=True)
    first = train_now().version
    relabel_training_prompts(wrong=False)
    run = train_now()
    assert run.promoted is True, run.decision
    assert ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE) == run.version
    assert run.version.metrics["challenged"] == first.number
    first.refresh_from_db()
    assert first.status == ModelVersion.Status.RETIRED


def test_the_first_model_goes_live():
    assert should_promote(scores(0.1), None, None, DEFAULT) == (True, "First model: there was no active model.")


def test_a_tie_keeps_the_active_model_and_says_it_is_a_tie():
    promote, reason = should_promote(scores(0.6), scores(0.6), compared(np.zeros(50)), DEFAULT)
    assert not promote and "the same probability as the active model" in reason


def test_a_candidate_with_lower_log_loss_on_most_examples_is_promoted():
    saved = np.array([0.3] * 40 + [-0.1] * 10)
    promote, reason = should_promote(scores(0.6), scores(0.6), compared(saved), DEFAULT)
    assert promote and reason.startswith("Promoted")


def test_a_candidate_better_by_luck_on_a_few_examples_is_not_promoted():
    saved = np.array([2.0, 1.5] + [-0.05] * 48)  # lower mean log-loss, from two examples only
    assert saved.mean() > 0
    promote, reason = should_promote(scores(0.7), scores(0.6), compared(saved), PromotionPolicy(confidence=0.7))
    assert not promote and "where 70% is needed" in reason


def test_the_t_test_is_never_surer_than_the_normal_approximation_it_replaced():
    rng = np.random.default_rng(0)
    for size in (10, 25, 60):
        for _ in range(50):
            saved = rng.normal(0.1, 1.0, size)
            normal = NormalDist().cdf(saved.mean() / (saved.std(ddof=1) / np.sqrt(size)))
            assert compared(saved).confidence_better() <= normal + 1e-12 or normal < 0.5


def test_the_confidence_setting_is_the_boundary():
    saved = np.array([1.0, -0.5] * 25)
    sure = compared(saved).confidence_better()
    assert should_promote(scores(0.6), scores(0.6), compared(saved), PromotionPolicy(confidence=sure - 0.01))[0]
    assert not should_promote(scores(0.6), scores(0.6), compared(saved), PromotionPolicy(confidence=sure + 0.01))[0]


# What a candidate trained on 163 labels of the seed's own domain did against its predecessor on 52
# holdout examples: twelve whole triplets gained, none lost, and a log-loss gain the t-test put at 94%.
UNEVEN_LOG_LOSS = np.array([3.0, 2.5, 2.0, -1.5, -1.0] + [0.05] * 47)


def test_a_candidate_with_many_more_whole_triplets_right_is_promoted_though_its_log_loss_gain_is_uncertain():
    gained = compared(UNEVEN_LOG_LOSS, [+1] * 12)
    assert gained.confidence_better() < DEFAULT.confidence
    promote, reason = should_promote(scores(0.9, exact=0.92), scores(0.8, exact=0.69), gained, DEFAULT)
    assert promote and "12 gained, 0 lost" in reason


def test_a_few_whole_triplets_more_do_not_promote_a_candidate_whose_log_loss_gain_is_uncertain():
    three_more = compared(UNEVEN_LOG_LOSS, [+1] * 4 + [-1])
    promote, reason = should_promote(scores(0.9), scores(0.8), three_more, DEFAULT)
    assert not promote and "by whole triplets where 95% is needed" in reason


def test_more_whole_triplets_right_do_not_promote_a_candidate_with_a_surely_worse_log_loss():
    worse_log_loss = compared(-np.abs(UNEVEN_LOG_LOSS), [+1] * 12)
    promote, reason = should_promote(scores(0.9, exact=0.92), scores(0.8, exact=0.69), worse_log_loss, DEFAULT)
    assert not promote and "but a worse log-loss" in reason


def test_a_candidate_surely_worse_at_whole_triplets_is_not_promoted():
    fewer = compared(CLEARLY_BETTER.saved, [+1] * 2 + [-1] * 8)  # 2 holdout triplets gained, 8 lost
    promote, reason = should_promote(scores(0.7, exact=0.38), scores(0.6, exact=0.5), fewer, DEFAULT)
    assert not promote and "worse at whole triplets, 95% sure" in reason


def test_one_whole_triplet_lost_does_not_outvote_a_clearly_better_log_loss():
    one_fewer = compared(CLEARLY_BETTER.saved, [+1] * 5 + [-1] * 6)
    assert should_promote(scores(0.7, exact=0.48), scores(0.6, exact=0.5), one_fewer, DEFAULT)[0]


def test_at_a_worse_confidence_of_one_half_any_whole_triplet_lost_refuses_the_candidate():
    one_fewer = compared(CLEARLY_BETTER.saved, [+1] * 5 + [-1] * 6)
    strict = PromotionPolicy(worse_confidence=0.5)
    assert not should_promote(scores(0.7, exact=0.48), scores(0.6, exact=0.5), one_fewer, strict)[0]


ACTION_LOST_ON_THREE = compared(CLEARLY_BETTER.saved, head_change={"action": [-1, -1, -1]})


def test_a_head_worse_beyond_the_tolerance_blocks_promotion():
    candidate = scores(0.9, per_head={"action": 0.54})
    promote, reason = should_promote(candidate, scores(0.6), ACTION_LOST_ON_THREE, PromotionPolicy(tolerance=0.05))
    assert not promote and "action lost more than 0.05 accuracy beyond chance" in reason


def test_a_head_worse_within_the_tolerance_still_promotes():
    candidate = scores(0.9, per_head={"action": 0.56})
    assert should_promote(candidate, scores(0.6), ACTION_LOST_ON_THREE, PromotionPolicy(tolerance=0.05))[0]


def test_two_head_labels_lost_on_a_small_holdout_do_not_block_a_better_candidate():
    # the first retrain a new user saw: 2 subject labels of 39 lost (0.051), 3 whole triplets gained
    holdout = compared(np.full(39, 0.5), exact_change=[1, 1, 1], head_change={"subject": [-1, -1]})
    candidate = {**scores(0.9, exact=0.744, per_head={"subject": 0.949}), "log_loss": 0.976}
    active = {**scores(0.9, exact=0.667, per_head={"subject": 1.0}), "log_loss": 1.007}
    assert should_promote(candidate, active, holdout, DEFAULT)[0]


def test_a_comparison_counts_whole_triplets_and_each_heads_labels_gained_and_lost():
    # three holdout examples: the candidate gets the action of the first right, misses the subject of the third
    candidate = {"subject": [True, True, False], "action": [True, False, True], "category": [True, True, True]}
    active = {"subject": [True, True, True], "action": [False, False, True], "category": [True, True, True]}
    comparison = Comparison.between(
        (np.array([1.0, 2.0, 3.0]), {h: np.array(v) for h, v in candidate.items()}),
        (np.array([1.5, 2.0, 2.0]), {h: np.array(v) for h, v in active.items()}),
    )
    assert comparison.saved.tolist() == [0.5, 0.0, -1.0]
    assert comparison.exact_change.tolist() == [1, 0, -1]
    assert {h: c.tolist() for h, c in comparison.head_change.items()} == {
        "subject": [0, 0, -1],
        "action": [1, 0, 0],
        "category": [0, 0, 0],
    }


def test_a_holdout_too_small_to_decide_keeps_the_active_model():
    nine = compared(CLEARLY_BETTER.saved[:9])
    promote, reason = should_promote(scores(0.9), scores(0.1), nine, PromotionPolicy(min_holdout=10))
    assert not promote and "fewer than 10" in reason


def test_labels_the_model_does_not_know_cost_the_capped_log_loss(trained):
    heads = load_heads(trained)
    known = Example.objects.filter(source=Source.BASE).first()
    never_seen = {"subject": "Spaceship", "action": "levitate", "category": "Nowhere"}
    losses = item_losses(heads, np.stack([known.vector()] * 2), [known.triplet, never_seen])
    assert 0 < losses[0] < LOSS_CAP
    assert losses[1] == pytest.approx(3 * LOSS_CAP)


def test_staff_can_roll_back_through_the_api_with_a_reason(staff_api, staff, trained):
    newer = train_now().version
    assert newer.status == ModelVersion.Status.REJECTED  # nothing new: not better
    response = staff_api.post(f"/models/{newer.number}/promote", {"reason": "try the newer one"})
    assert response.status_code == 200 and response.json()["version"] == newer.number
    staff_api.post(f"/models/{trained.number}/promote", {"reason": "roll back"})
    assert ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE) == trained
    assert [(p.version, p.user, p.reason) for p in Promotion.objects.order_by("pk")] == [
        (newer, staff, "try the newer one"),
        (trained, staff, "roll back"),
    ]


def test_a_reviewer_cannot_promote_through_the_api(api, trained):
    response = api.post(f"/models/{trained.number}/promote", {"reason": "because"})
    assert response.status_code == 403


def test_promoting_an_unknown_version_is_a_404(staff_api, trained):
    assert staff_api.post("/models/99/promote", {"reason": "x"}).status_code == 404

"""When a candidate replaces the active model, and hand promotion or rollback by staff."""

import numpy as np
from django.db import transaction
from scipy.stats import ttest_1samp

from .models import HEADS, ModelVersion, Promotion
from .policy import PromotionPolicy
from .registry import activate, active_version, load_heads


def confidence_better(saved) -> float:
    """How sure the holdout makes us that the candidate has the lower expected log-loss: a one-sided
    paired t-test on `saved`, the log-loss it saves over the active model on each holdout example (the t
    distribution, not the normal, because a holdout has a few dozen examples)."""
    saved = np.asarray(saved, dtype=float)
    if len(saved) < 2 or not saved.std():
        return 1.0 if len(saved) and saved.mean() > 0 else 0.0
    return 1.0 - float(ttest_1samp(saved, 0.0, alternative="greater").pvalue)


def should_promote(candidate, active, saved, policy: PromotionPolicy) -> tuple[bool, str]:
    """(promote, reason) from the two models' metrics on the same holdout and `saved`, the log-loss the
    candidate saves over the active model on each holdout example.

    The rule: the first model goes live; otherwise the candidate needs a lower log-loss with at least
    `policy.confidence`, an exact-triplet accuracy no lower, and no head's accuracy lower by
    more than the tolerance. A tie keeps the active model. Beyond chance, because every run is one more
    test on the same holdout: a candidate that wins by luck is promoted, worse than the model it
    replaced, and then hard to replace. Exact accuracy too, because auto-labels can make the heads they
    teach much surer, which lowers the summed log-loss, while whole triplets get no better.
    """
    if active is None:
        return True, "First model: there was no active model."
    minimum = policy.min_holdout
    if len(saved) < minimum:
        return False, (
            f"The holdout has {len(saved)} human-labelled examples, fewer than {minimum}: too few to "
            "tell which model is better, so the active model stays. Label more examples or promote by hand."
        )
    tolerance = policy.tolerance
    worse = [h for h in HEADS if candidate[h]["accuracy"] < active[h]["accuracy"] - tolerance]
    confidence, needed = confidence_better(saved), policy.confidence
    scores = (
        f"log-loss {candidate['log_loss']:.3f} vs {active['log_loss']:.3f}, "
        f"exact {candidate['exact']:.3f} vs {active['exact']:.3f} on {len(saved)} holdout examples"
    )
    if worse:
        return False, f"Not promoted: {', '.join(worse)} lost more than {tolerance:.2f} accuracy ({scores})."
    if candidate["exact"] < active["exact"]:
        return False, f"Not promoted: lower exact-triplet accuracy ({scores})."
    if not np.any(saved):
        return (
            False,
            f"Not promoted: it gives every holdout example the same probability as the active model ({scores}).",
        )
    if confidence < needed:
        return False, (
            f"Not promoted: not clearly better than the active model, {confidence:.0%} sure "
            f"where {needed:.0%} is needed ({scores})."
        )
    return True, f"Promoted: better on the holdout, {confidence:.0%} sure ({scores})."


def promote_by_hand(version, user, reason) -> ModelVersion:
    """Make `version` active (a promotion or a rollback), recorded with who and why."""
    if not reason.strip():
        raise ValueError("Say why: a hand promotion or rollback needs a reason.")
    load_heads(version)  # refuse a missing or tampered file before it goes live
    load_heads(version, blind=True)  # the next promotion compares this one
    with transaction.atomic():
        previous = active_version()
        activate(version)
        Promotion.objects.create(version=version, previous=previous, user=user, reason=reason.strip())
    return version


class UnknownVersion(ValueError):
    pass


def version_by_number(number) -> ModelVersion:
    try:
        return ModelVersion.objects.get(number=number)
    except ModelVersion.DoesNotExist:
        raise UnknownVersion(f"There is no model version {number}.") from None

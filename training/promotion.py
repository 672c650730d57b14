"""When a candidate replaces the active model, and hand promotion or rollback by staff."""

from django.conf import settings
from django.db import transaction

from .models import HEADS, ModelVersion, Promotion
from .registry import activate, active_version, load_heads


def holdout_score(metrics):
    """What promotion compares: the mean of the three head accuracies and the exact-triplet accuracy.
    Accuracies, not macro-F1: on a small holdout most classes have one or two examples and a per-class
    average swings with each of them."""
    return (sum(metrics[h]["accuracy"] for h in HEADS) / len(HEADS) + metrics["exact"]) / 2


def decide(candidate, active, holdout_size):
    """(promote, reason) from the two models' metrics on the same holdout.

    The rule: the first model goes live; otherwise the candidate needs a strictly higher holdout score
    (mean head accuracy and exact-triplet accuracy, averaged) and no head's accuracy lower by more than
    the tolerance. A tie keeps the active model.
    """
    if active is None:
        return True, "First model: there was no active model."
    minimum = settings.SECONDMIND_MIN_HOLDOUT
    if holdout_size < minimum:
        return False, (
            f"The holdout has {holdout_size} human-labelled examples, fewer than {minimum}: too few to "
            "tell which model is better, so the active model stays. Label more examples or promote by hand."
        )
    tolerance = settings.SECONDMIND_PROMOTION_TOLERANCE
    worse = [h for h in HEADS if candidate[h]["accuracy"] < active[h]["accuracy"] - tolerance]
    scores = (
        f"holdout score {holdout_score(candidate):.3f} vs {holdout_score(active):.3f}, "
        f"exact {candidate['exact']:.3f} vs {active['exact']:.3f} on {holdout_size} holdout examples"
    )
    if worse:
        return False, f"Not promoted: {', '.join(worse)} lost more than {tolerance:.2f} accuracy ({scores})."
    if holdout_score(candidate) <= holdout_score(active) + 1e-9:
        return False, f"Not promoted: no better than the active model ({scores})."
    return True, f"Promoted: better on the holdout ({scores})."


def promote_by_hand(version, user, reason):
    """Make `version` active (a promotion or a rollback), recorded with who and why."""
    if not reason.strip():
        raise ValueError("Say why: a hand promotion or rollback needs a reason.")
    load_heads(version)  # refuse a missing or tampered file before it goes live
    with transaction.atomic():
        previous = active_version()
        activate(version)
        Promotion.objects.create(version=version, previous=previous, user=user, reason=reason.strip())
    return version


class UnknownVersion(ValueError):
    pass


def version_by_number(number):
    try:
        return ModelVersion.objects.get(number=number)
    except ModelVersion.DoesNotExist:
        raise UnknownVersion(f"There is no model version {number}.") from None

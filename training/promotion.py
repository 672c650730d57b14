"""When a candidate replaces the active model, and hand promotion or rollback by staff."""

from django.conf import settings
from django.db import transaction

from .models import HEADS, ModelVersion, Promotion
from .registry import activate, active_version, load_heads


def decide(candidate, active, holdout_size):
    """(promote, reason) from the two models' metrics on the same holdout.

    The rule: the first model goes live; otherwise the candidate must have a strictly higher mean
    macro-F1 over the three heads, no head's macro-F1 lower by more than the tolerance, and an
    exact-triplet accuracy no lower than the active model's. A tie keeps the active model.
    """
    if active is None:
        return True, "First model: there was no active model."
    minimum = settings.SECONDMIND_MIN_HOLDOUT
    if holdout_size < minimum:
        return False, (
            f"The holdout has {holdout_size} human-labelled examples, fewer than {minimum}: too few to "
            "tell which model is better, so the active model stays. Label more examples or promote by hand."
        )
    gain = candidate["mean_macro_f1"] - active["mean_macro_f1"]
    tolerance = settings.SECONDMIND_PROMOTION_TOLERANCE
    worse = [h for h in HEADS if candidate[h]["macro_f1"] < active[h]["macro_f1"] - tolerance]
    scores = (
        f"mean macro-F1 {candidate['mean_macro_f1']:.3f} vs {active['mean_macro_f1']:.3f}, "
        f"exact {candidate['exact']:.3f} vs {active['exact']:.3f} on {holdout_size} holdout examples"
    )
    if worse:
        return False, f"Not promoted: {', '.join(worse)} lost more than {tolerance:.2f} macro-F1 ({scores})."
    if candidate["exact"] < active["exact"]:
        return False, f"Not promoted: lower exact-triplet accuracy ({scores})."
    if gain <= 1e-9:
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

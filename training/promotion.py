"""When a candidate replaces the active model, and hand promotion or rollback by staff."""

from dataclasses import dataclass

import numpy as np
from django.db import transaction
from scipy.stats import binomtest, ttest_1samp

from .evaluation import whole_triplets
from .models import HEADS, ModelVersion, Promotion
from .policy import PromotionPolicy
from .registry import activate, active_version, load_heads


@dataclass(frozen=True)
class Comparison:
    """A candidate against the active model on each holdout example: `saved`, the log-loss it saves,
    `exact_change`, +1 where only it gets the whole triplet right, -1 where only the active model does,
    and `head_change`, the same per head."""

    saved: np.ndarray
    exact_change: np.ndarray
    head_change: dict

    @classmethod
    def between(cls, candidate, active) -> "Comparison":
        """`candidate` against `active`, each (per-example log-loss, per-head hits as item_hits gives
        them) on the same holdout examples."""
        (losses, hits), (active_losses, active_hits) = candidate, active
        return cls(
            active_losses - losses,
            whole_triplets(hits).astype(int) - whole_triplets(active_hits).astype(int),
            {head: hits[head].astype(int) - active_hits[head].astype(int) for head in HEADS},
        )

    def __len__(self) -> int:
        return len(self.saved)

    def confidence_better(self) -> float:
        """How sure the holdout makes us that the candidate has the lower expected log-loss: a one-sided
        paired t-test on the log-loss saved per example (the t distribution, not the normal, because a
        holdout has a few dozen examples)."""
        saved = np.asarray(self.saved, dtype=float)
        if len(saved) < 2 or not saved.std():
            return 1.0 if len(saved) and saved.mean() > 0 else 0.0
        return 1.0 - float(ttest_1samp(saved, 0.0, alternative="greater").pvalue)

    @property
    def gained(self) -> int:
        return int(np.sum(self.exact_change > 0))

    @property
    def lost(self) -> int:
        return int(np.sum(self.exact_change < 0))

    def confidence_worse_exact(self) -> float:
        """How sure the holdout makes us that the candidate gets fewer whole triplets right: a one-sided
        sign test over the examples only one of the two gets right."""
        return sign_confidence(self.lost, self.gained)

    def confidence_better_exact(self) -> float:
        """How sure the holdout makes us that the candidate gets more whole triplets right (the same test)."""
        return sign_confidence(self.gained, self.lost)

    def confidence_worse_head(self, head) -> float:
        """How sure the holdout makes us that the candidate gets fewer `head` labels right (the same test)."""
        change = self.head_change[head]
        return sign_confidence(int(np.sum(change < 0)), int(np.sum(change > 0)))


def sign_confidence(more, fewer) -> float:
    """How sure `more` against `fewer` changed examples make us that the change goes their way."""
    if more <= fewer:
        return 0.0
    return 1.0 - float(binomtest(more, more + fewer, 0.5, alternative="greater").pvalue)


def should_promote(candidate, active, comparison: Comparison | None, policy: PromotionPolicy) -> tuple[bool, str]:
    """(promote, reason) from the two models' metrics on the same holdout and their `comparison` on it.

    The rule: the first model goes live; otherwise the candidate needs a lower log-loss or more whole
    triplets right, either with at least `policy.confidence`, the other not worse beyond chance
    (`policy.worse_confidence`), and no head's accuracy lower by more than the tolerance, beyond chance
    too (on a holdout of 39, two labels lost are 0.05 of accuracy and a coin toss). A tie keeps
    the active model. Beyond chance, because every run is one more test on the same holdout: a
    candidate that wins by luck is promoted, worse than the model it replaced, and then hard to replace.
    Either measure, because on a holdout of a few dozen examples a candidate that gains a dozen whole
    triplets and loses none can leave the log-loss t-test at 94% (the heavy tail of a few confident
    mistakes). Whole triplets not worse, because auto-labels can make the heads they teach much surer,
    which lowers the summed log-loss, while whole triplets get no better; beyond chance, because at
    0.5 (any lower exact accuracy) one holdout example of a few hundred outvoted a log-loss 99% sure
    better, and the loop stopped promoting for the last third of the HWU64 stream.
    """
    if active is None:
        return True, "First model: there was no active model."
    minimum = policy.min_holdout
    if len(comparison) < minimum:
        return False, (
            f"The holdout has {len(comparison)} human-labelled examples, fewer than {minimum}: too few to "
            "tell which model is better, so the active model stays. Label more examples or promote by hand."
        )
    tolerance = policy.tolerance
    worse = [
        head
        for head in HEADS
        if candidate[head]["accuracy"] < active[head]["accuracy"] - tolerance
        and comparison.confidence_worse_head(head) >= policy.worse_confidence
    ]
    confidence, needed = comparison.confidence_better(), policy.confidence
    scores = (
        f"log-loss {candidate['log_loss']:.3f} vs {active['log_loss']:.3f}, "
        f"exact {candidate['exact']:.3f} vs {active['exact']:.3f} on {len(comparison)} holdout examples"
    )
    if worse:
        lost = f"{', '.join(worse)} lost more than {tolerance:.2f} accuracy beyond chance"
        return False, f"Not promoted: {lost} ({scores})."
    if (worse_exact := comparison.confidence_worse_exact()) >= policy.worse_confidence:
        return False, f"Not promoted: worse at whole triplets, {worse_exact:.0%} sure ({scores})."
    if not np.any(comparison.saved):
        return (
            False,
            f"Not promoted: it gives every holdout example the same probability as the active model ({scores}).",
        )
    if confidence >= needed:
        return True, f"Promoted: better on the holdout, {confidence:.0%} sure ({scores})."
    more_exact = comparison.confidence_better_exact()
    if more_exact < needed:
        return False, (
            f"Not promoted: not clearly better than the active model, {confidence:.0%} sure by log-loss and "
            f"{more_exact:.0%} by whole triplets where {needed:.0%} is needed ({scores})."
        )
    if 1 - confidence >= policy.worse_confidence:
        return (
            False,
            f"Not promoted: more whole triplets right, but a worse log-loss, {1 - confidence:.0%} sure ({scores}).",
        )
    return True, (
        f"Promoted: more whole triplets right on the holdout ({comparison.gained} gained, {comparison.lost} lost), "
        f"{more_exact:.0%} sure; its log-loss alone made us {confidence:.0%} sure ({scores})."
    )


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

"""The review queue: what a person decides, applied exactly once."""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from training.calibration import precision_upper_bound
from training.datasets import PromptVectors, add_example, matrix, nearest_human_examples
from training.detector import detector
from training.encoder import stock_encoder
from training.models import HEADS, UNKNOWN, Example, ModelVersion, Source, label_error, normalize_prompt
from training.policy import CertificationPolicy, current
from training.registry import active_version
from training.webhooks import notify

from .models import Interaction, Review, Verdict
from .rejections import rejected_prompts


class AlreadyDecided(Exception):
    def __init__(self, review):
        self.review = review
        who = review.reviewer.username if review and review.reviewer else "someone"
        super().__init__(f"Already decided: {who} {review.decision if review else 'decided'} it.")


class InvalidDecision(ValueError):
    pass


class CannotUndo(Exception):
    pass


LIVE_ESTIMATE_REVIEWS = 1000
QUEUE_LONG = "webhook:queue-long"
QUEUE_ORDERS = {
    "random": "review_key",
    "least_confident": "min_confidence",
    "newest": "-created_at",
    "oldest": "created_at",
}


def queue(order: str | None = None) -> QuerySet:
    """Undecided borderline items and audit samples: audits first, then by `order` (a QUEUE_ORDERS key,
    SECONDMIND_REVIEW_ORDER by default)."""
    pending = Q(verdict=Verdict.REVIEW) | Q(audit=True)
    field = QUEUE_ORDERS[order or current().review.order]
    return Interaction.objects.filter(pending, decided_at__isnull=True).order_by("-audit", field, "pk")


def warn_when_the_queue_is_long() -> None:
    """The webhook's queue.long event, once when the queue reaches SECONDMIND_WEBHOOK_QUEUE_SIZE and
    again only after it went back under (remembered in the cache: per process unless it is shared)."""
    limit = settings.SECONDMIND_WEBHOOK_QUEUE_SIZE
    if not settings.SECONDMIND_WEBHOOK_URL or not limit:
        return
    size = queue().count()
    if size < limit:
        cache.delete(QUEUE_LONG)
    elif cache.add(QUEUE_LONG, size, timeout=None):
        notify("queue.long", size=size, limit=limit)


def matching(items, text="", labels=None, reason="") -> QuerySet:
    """The items whose prompt holds `text`, whose suggestion has each given head label, and which the
    gate held back for `reason`."""
    if text:
        items = items.filter(prompt__icontains=text)
    if reason:  # a JSON list of codes, as text on every database: the code in quotes is one whole code
        items = items.annotate(reason_codes=Cast("reasons", TextField())).filter(reason_codes__contains=f'"{reason}"')
    for head, label in (labels or {}).items():
        if label:
            first = Q(suggestion__isnull=True, **{head: label})
            items = items.filter(first | Q(**{f"suggestion__{head}": label}))
    return items


def decided_today() -> int:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return Review.objects.exclude(decision=Review.Decision.FEEDBACK).filter(created_at__gte=start).count()


def with_neighbours(interactions, floor: float, k: int = 3) -> list:
    """Attach the nearest human-labelled examples to each interaction, for the reviewer to compare, and
        to those the gate held back as `near_rejected`, the rejected prompt they resemble. Examples less similar
    than `floor` say nothing about a prompt: they are left out."""
    interactions = list(interactions)
    # the human examples' cached vectors are the stock encoder's
    stock = PromptVectors(
        [i.prompt for i in interactions], matrix(interactions), [i.encoder for i in interactions]
    ).vectors_by(stock_encoder())
    for interaction, neighbours in zip(interactions, nearest_human_examples(list(stock), k)):
        interaction.neighbours = [(example, similarity) for example, similarity in neighbours if similarity >= floor]
        if "near_rejected" in interaction.reasons:
            interaction.rejected_look_alike = rejected_prompts.most_similar(interaction.vector(), interaction.encoder)
    return interactions


def with_suggestions(interactions, unknown_below: float) -> list:
    """The items, each suggesting the active version's prediction: those a version before it predicted
    get a new one (from their stored vectors when the active encoder made them, else one forward pass for
    them all), stored so that an approval learns what was shown."""
    interactions = list(interactions)
    active = active_version()
    behind = [i for i in interactions if active is not None and i.suggested_by != active.number]
    if not behind:
        return interactions
    stored = PromptVectors([i.prompt for i in behind], matrix(behind), [i.encoder for i in behind])
    for interaction, prediction in zip(behind, detector.predict_many(stored.prompts, unknown_below, stored)):
        suggestion = {**prediction.triplet, "confidence": prediction.confidence}
        interaction.suggestion = {"version": prediction.model_version, **suggestion}
    Interaction.objects.bulk_update(behind, ["suggestion"])
    return interactions


def overridden_triplet(interaction, changes) -> dict[str, str]:
    """The predicted triplet with the heads a person changed; each head must end up a real label."""
    triplet = {**interaction.suggested, **{h: v.strip() for h, v in changes.items() if h in HEADS and v and v.strip()}}
    for head in HEADS:
        if error := label_error(head, triplet[head]):
            raise InvalidDecision(
                error if triplet[head] != UNKNOWN else f"pick a label for {head}: the model did not know it"
            )
    return triplet


def already_decided(interaction) -> "AlreadyDecided":
    return AlreadyDecided(interaction.reviews.exclude(decision=Review.Decision.FEEDBACK).first())


def decide(interaction_id, reviewer, decision, changes=None) -> Review:
    """Approve, override or reject one item; a second decision on the same item raises AlreadyDecided."""
    with transaction.atomic():
        interaction = Interaction.objects.get(pk=interaction_id)
        if interaction.decided_at is not None:  # said first: whatever else is wrong with this decision
            raise already_decided(interaction)
        if decision == Review.Decision.REJECTED:
            after = None
        else:
            after = overridden_triplet(interaction, changes if decision == Review.Decision.OVERRIDDEN else {})
            if decision == Review.Decision.OVERRIDDEN and after == interaction.suggested:
                decision = Review.Decision.APPROVED
        claimed = Interaction.objects.filter(pk=interaction_id, decided_at__isnull=True).update(
            decided_at=timezone.now()
        )
        if not claimed:  # another reviewer decided it in the meantime
            raise already_decided(interaction)
        before = examples_before(interaction)
        if after is not None:
            interaction.example, _ = add_example(
                interaction.prompt,
                after,
                Source.LIVE,
                user=reviewer,
                embedding=interaction.vector(),
                encoder=interaction.encoder,
            )
            interaction.save(update_fields=["example"])
        elif interaction.example and interaction.example.source == Source.BATCH:
            interaction.example.delete()  # a person rejected the prompt: do not learn the machine's labels
        review = Review.objects.create(
            interaction=interaction,
            reviewer=reviewer,
            decision=decision,
            before=interaction.triplet,
            after=after,
            undo=before,
        )
        recheck_auto_labels(interaction)
        return review


def recheck_auto_labels(interaction) -> None:
    """After a decision on an item with auto-labels, or its undo: pause or resume its version's heads."""
    if (interaction.auto_labelled or interaction.would_label) and interaction.model_version_id is not None:
        pause_corrected_heads(interaction.model_version_id, current().certification)


def _labels(example):
    return None if example is None else {"prompt": example.prompt, **example.triplet}


def examples_before(interaction) -> dict:
    """What a decision on `interaction` may change, as it is now: the item's example, and the prompt's
    live example and the item's batch example."""
    live = Example.objects.filter(normalized_prompt=normalize_prompt(interaction.prompt), source=Source.LIVE).first()
    batch = interaction.example if interaction.example and interaction.example.source == Source.BATCH else None
    return {"example": interaction.example_id, "live": _labels(live), "batch": _labels(batch)}


def undo(review_id, user) -> Interaction:
    """Undo a decision: the examples it created, changed or deleted are as they were before it, and the
    item is back in the queue. Only the latest decision on an item, by its reviewer or by staff."""
    with transaction.atomic():
        review = Review.objects.select_for_update().select_related("interaction").get(pk=review_id)
        interaction = review.interaction
        if review.reviewer_id != user.pk and not user.is_staff:
            raise CannotUndo("Only the reviewer who made a decision, or staff, can undo it.")
        if review.undo is None:
            raise CannotUndo("This decision was made before decisions could be undone: send new labels instead.")
        if interaction.reviews.filter(pk__gt=review.pk).exists():
            raise CannotUndo("A later decision or correction on this item came after it: undo that first.")
        before = review.undo
        live = Example.objects.filter(normalized_prompt=normalize_prompt(interaction.prompt), source=Source.LIVE)
        if review.after is not None and before["live"] is None:
            live.delete()
        elif review.after is not None:
            live.update(**before["live"])
        example = Example.objects.filter(pk=before["example"]).first()
        if example is None and before["batch"] is not None:  # the rejection deleted the machine's labels
            example, _ = add_example(
                interaction.prompt,
                before["batch"],
                Source.BATCH,
                embedding=interaction.vector(),
                encoder=interaction.encoder,
                notify=False,
            )
        interaction.example, interaction.decided_at = example, None
        interaction.save(update_fields=["example", "decided_at"])
        review.delete()
        recheck_auto_labels(interaction)
    return interaction


def recent_decisions(user, count=20) -> QuerySet:
    """The user's latest decisions (not API corrections), newest first."""
    return (
        Review.objects.filter(reviewer=user)
        .exclude(decision=Review.Decision.FEEDBACK)
        .select_related("interaction")
        .order_by("-pk")[:count]
    )


def may_label(user, interaction) -> bool:
    """Who labels what: a reviewer (staff, or the 'Can add review' permission) any interaction, a client
    only its own."""
    return user.is_staff or user.has_perm("interactions.add_review") or interaction.user_id == user.pk


def record_feedback(interaction, triplet, user) -> Example | None:
    """A person's corrected triplet, sent through the API. On an undecided item it is that item's
    decision, as a review would be: the item leaves the queue, no reviewer can overwrite it by approving
    the prediction, and it checks any auto-labels. On a decided item it is a later correction, which
    replaces the live labels. Returns the live example."""
    try:
        decide(interaction.pk, user, Review.Decision.OVERRIDDEN, triplet)
    except AlreadyDecided:
        with transaction.atomic():
            example, _ = add_example(
                interaction.prompt,
                triplet,
                Source.LIVE,
                user=user,
                embedding=interaction.vector(),
                encoder=interaction.encoder,
            )
            Review.objects.create(
                interaction=interaction,
                reviewer=user,
                decision=Review.Decision.FEEDBACK,
                before=interaction.triplet,
                after=example.triplet,
            )
            Interaction.objects.filter(pk=interaction.pk).update(example=example)
    interaction.refresh_from_db()
    return interaction.example


def auto_label_precision() -> dict[str, tuple[float, int]]:
    """{head: (share of its auto-labels a person kept, how many a person checked)}, for the heads with
    any checked. Every reviewed item that had auto-labels counts: the audit sample of accepted
    triplets and the partial auto-labels of items that went to review (a random sample in the default
    queue order); and so do the heads the gate would have labelled in the holdout region, where a
    person decides every prompt, sure ones included. A rejected prompt counts as wrong: its labels
    should not have been learned. Live: the latest `LIVE_ESTIMATE_REVIEWS` such reviews, so it follows
    the models now serving."""
    latest = checked_auto_labels().order_by("-pk")[:LIVE_ESTIMATE_REVIEWS]
    return {head: (kept / checked, checked) for head, (kept, checked) in kept_counts(latest).items()}


def checked_auto_labels() -> QuerySet:
    """Decisions on items that had auto-labels, or heads the gate would have labelled outside the
    holdout region, as (before, after, those heads, these heads)."""
    reviews = Review.objects.exclude(decision=Review.Decision.FEEDBACK).exclude(
        interaction__auto_labelled=[], interaction__would_label=[]
    )
    return reviews.values_list("before", "after", "interaction__auto_labelled", "interaction__would_label")


def kept_counts(decisions) -> dict[str, tuple[int, int]]:
    """{head: (auto-labels a person kept, auto-labels a person checked)}; a rejected prompt kept none."""
    counts = {}
    for before, after, labelled, would_label in decisions:
        for head in labelled + would_label:
            kept, checked = counts.get(head, (0, 0))
            counts[head] = (kept + (after is not None and after[head] == before[head]), checked + 1)
    return counts


def pause_corrected_heads(version_number: int, rules: CertificationPolicy) -> None:
    """Pause the heads whose auto-labels by this version people corrected so often that, at the
    certificate's confidence, their precision is below the target: the certificate was wrong for them."""
    counts = kept_counts(checked_auto_labels().filter(interaction__model_version=version_number))
    paused = sorted(
        head
        for head, (kept, checked) in counts.items()
        if precision_upper_bound(kept, checked, rules.confidence) < rules.precision_target
    )
    ModelVersion.objects.filter(number=version_number).update(paused_heads=paused)

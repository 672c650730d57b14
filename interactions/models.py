import hashlib
import secrets
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import models
from django.utils import timezone

from training.models import Example, ModelVersion


def hash_token(token) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the REST API; only its sha256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False, help_text="The first characters, to tell tokens apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    def mark_used(self) -> None:
        """Record the use, at most once a minute: a write per request would cost every classify call."""
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)

    @classmethod
    def issue(cls, user, name=""):
        """(token, plaintext): the plaintext is shown once and never stored."""
        plaintext = "sm_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, token_hash=hash_token(plaintext), prefix=plaintext[:8])
        return token, plaintext


class Verdict(models.TextChoices):
    ACCEPTED = "accepted"
    REVIEW = "review"
    REJECTED = "rejected"


class Interaction(models.Model):
    prompt = models.TextField()
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=20, default="api", help_text="api, dashboard, simulation")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    embedding = models.BinaryField(editable=False)
    encoder = models.CharField(
        max_length=200,
        default="sentence-transformers/all-MiniLM-L6-v2",
        editable=False,
        help_text="The encoder that made the embedding.",
    )
    subject = models.CharField(max_length=100)
    action = models.CharField(max_length=100)
    category = models.CharField(max_length=100)
    confidence = models.JSONField(help_text="Per head confidence, 0 to 1.")
    min_confidence = models.FloatField(default=0.0, db_index=True, help_text="The least sure head.")
    review_key = models.FloatField(db_index=True, help_text="A stable random rank for the queue.")
    model_version = models.ForeignKey(ModelVersion, to_field="number", null=True, blank=True, on_delete=models.SET_NULL)
    latency_ms = models.FloatField()
    verdict = models.CharField(max_length=10, choices=Verdict.choices, db_index=True)
    reasons = models.JSONField(default=list)
    thresholds = models.JSONField(default=dict, help_text="The gate settings the verdict used.")
    auto_labelled = models.JSONField(
        default=list, blank=True, help_text="The heads the gate labelled without a person (all three when accepted)."
    )
    would_label = models.JSONField(
        default=list,
        blank=True,
        help_text="In the holdout region, where a person decides every prompt: the heads the gate would have "
        "labelled elsewhere. The person's decision audits the certificate on a random sample.",
    )
    audit = models.BooleanField(
        default=False, help_text="An auto-accepted item sampled for a person to check the auto-labels."
    )
    decided_at = models.DateTimeField(null=True, blank=True, help_text="When a person decided it.")
    example = models.ForeignKey(
        Example,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
        help_text="The training example this interaction produced (batch, or live after a review).",
    )
    retry_key = models.CharField(  # noqa: DJ001 -- NULL, unlike '', stays out of the unique constraint
        max_length=200,
        null=True,
        blank=True,
        editable=False,
        help_text="The client's Idempotency-Key: a retry with the same key answers with this interaction.",
    )

    suggestion = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="While it waits for a person: the prediction of the version active now, when a later "
        "version than the one that first predicted it: {version, subject, action, category, confidence}.",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "retry_key"],
                condition=models.Q(retry_key__isnull=False),
                name="one_interaction_per_retry_key",
            )
        ]

    def __str__(self):
        return f"#{self.pk} {self.prompt[:60]}"

    @property
    def triplet(self) -> dict[str, str]:
        """The first prediction, the one the gate judged."""
        return {"subject": self.subject, "action": self.action, "category": self.category}

    @property
    def suggested(self) -> dict[str, str]:
        """What a reviewer is shown and approves: the newest version's prediction, else the first."""
        return {head: self.suggestion[head] for head in self.triplet} if self.suggestion else self.triplet

    @property
    def suggested_confidence(self) -> dict[str, float]:
        return self.suggestion["confidence"] if self.suggestion else self.confidence

    @property
    def suggested_by(self) -> int | None:
        return self.suggestion["version"] if self.suggestion else self.model_version_id

    def vector(self) -> np.ndarray:
        return np.frombuffer(self.embedding, dtype=np.float32)


class Review(models.Model):
    """A person's decision on an interaction: what it was before and after, who, when."""

    class Decision(models.TextChoices):
        APPROVED = "approved"
        OVERRIDDEN = "overridden"
        REJECTED = "rejected"
        FEEDBACK = "feedback"

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    decision = models.CharField(max_length=10, choices=Decision.choices, db_index=True)
    before = models.JSONField()
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    undo = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="What the decision changed, to undo it: the item's example and the prompt's live and batch "
        "examples as they were before.",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.decision} #{self.interaction_id}"


class Guidelines(models.Model):
    """What reviewers should know when they decide, written by staff in the admin; the newest is shown."""

    text = models.TextField(help_text="Shown above the review queue. Blank lines separate paragraphs.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name_plural = "guidelines"
        ordering = ["-updated_at"]

    def __str__(self):
        return self.text[:60]

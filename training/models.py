from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from .encoder import ENCODER_NAME, embed

if TYPE_CHECKING:  # card.py needs HEADS from here
    from .card import ModelCard

HEADS = ("subject", "action", "category")
UNKNOWN = "Unknown"
MAX_LABEL_CHARS = 100


class Source(models.TextChoices):
    BASE = "base", "base (hand-annotated seed)"
    BATCH = "batch", "batch (auto-accepted)"
    LIVE = "live", "live (human-reviewed)"


HUMAN_SOURCES = (Source.BASE, Source.LIVE)


def is_encodable(text) -> bool:
    """False for text a database and the tokenizer cannot take: a lone surrogate from a JSON escape."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def label_error(head, value) -> str | None:
    """What is wrong with a label, or None: the one rule for imports, the API, reviews and the admin."""
    if not isinstance(value, str) or not value.strip():
        return f'"{head}" must be a non-empty string'
    if not is_encodable(value):
        return f'"{head}" holds a lone surrogate: send valid Unicode text'
    if len(value) > MAX_LABEL_CHARS:
        return f'"{head}" is longer than {MAX_LABEL_CHARS} characters'
    if value.strip().casefold() == UNKNOWN.casefold():
        return f'"{head}" cannot be "{UNKNOWN}" (in any case): it is reserved for an unsure head'
    return None


def normalize_prompt(prompt) -> str:
    """The key examples are deduplicated on: case and whitespace do not make a new example."""
    return " ".join(prompt.casefold().split())


class Example(models.Model):
    prompt = models.TextField()
    normalized_prompt = models.TextField(editable=False, db_index=True)
    # Blank only in a batch example, for a head the gate was not sure enough to label.
    subject = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=100, blank=True)
    category = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=5, choices=Source.choices, db_index=True)
    embedding = models.BinaryField(null=True, editable=False)
    encoder = models.CharField(max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["normalized_prompt", "source"], name="one_example_per_prompt_and_source")
        ]

    def __str__(self):
        return f"{self.prompt} -> {self.triplet}"

    def save(self, *args, **kwargs) -> None:
        if missing := self.missing_labels():
            raise ValueError(f"{next(iter(missing.values()))} {self.triplet}")
        self.normalized_prompt = normalize_prompt(self.prompt)
        stored_prompt, stored_embedding = getattr(self, "_stored", (self.prompt, None))
        if self.embedding is not None and self.prompt != stored_prompt and self.embedding == stored_embedding:
            # the cached vector is the old text's, and training, the gate's scope check and the review
            # page's neighbours would all use it
            self.embedding, self.encoder = embed([self.prompt])[0].tobytes(), ENCODER_NAME
        super().save(*args, **kwargs)
        self._stored = (self.prompt, self.embedding)

    @classmethod
    def from_db(cls, db, field_names, values):
        example = super().from_db(db, field_names, values)
        example._stored = (example.__dict__.get("prompt"), example.__dict__.get("embedding"))
        return example

    def missing_labels(self) -> dict[str, str]:
        """{head: why it needs a label}: a base or live example labels every head, a batch one at least one."""
        if self.source not in HUMAN_SOURCES and self.labelled_heads:
            return {}
        needed = "labels every head" if self.source in HUMAN_SOURCES else "needs at least one label"
        return {head: f"A {self.source} example {needed}." for head in HEADS if not getattr(self, head)}

    def clean(self) -> None:
        """What a form (the admin's) is told before saving: the import's rules and one example per prompt."""
        self.normalized_prompt = normalize_prompt(self.prompt)
        errors = {head: error for head in self.labelled_heads if (error := label_error(head, getattr(self, head)))}
        errors |= self.missing_labels()
        duplicate = Example.objects.filter(normalized_prompt=self.normalized_prompt, source=self.source).exclude(
            pk=self.pk
        )
        if duplicate.exists():
            errors["prompt"] = f"This prompt is already a {self.source} example: edit that one instead."
        if errors:
            raise ValidationError(errors)

    @property
    def triplet(self) -> dict[str, str]:
        return {head: getattr(self, head) for head in HEADS}

    @property
    def labelled_heads(self) -> list[str]:
        return [head for head in HEADS if getattr(self, head)]

    def vector(self) -> np.ndarray:
        return np.frombuffer(self.embedding, dtype=np.float32)


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        CANDIDATE = "candidate"
        ACTIVE = "active"
        RETIRED = "retired"
        REJECTED = "rejected"

    number = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CANDIDATE)
    encoder = models.CharField(
        max_length=200, help_text="The stock encoder's name, or finetuned-<hash> of its weights."
    )
    encoder_file = models.FileField(
        upload_to="models/",
        blank=True,
        help_text="A fine-tuned encoder's weights (safetensors); empty for the stock one.",
    )
    encoder_sha256 = models.CharField(max_length=64, blank=True)
    encoder_size = models.PositiveBigIntegerField(default=0, help_text="Bytes of the encoder file.")
    heads_file = models.FileField(upload_to="models/")
    sha256 = models.CharField(max_length=64)
    blind_heads_file = models.FileField(
        upload_to="models/",
        blank=True,
        help_text="The same training without the holdout, which promotion compares; the served heads also "
        "learned the holdout. Empty when there was no holdout to learn.",
    )
    blind_sha256 = models.CharField(max_length=64, blank=True)
    labels = models.JSONField(help_text="The label vocabulary of each head, in output order.")
    metrics = models.JSONField(default=dict, blank=True)
    paused_heads = models.JSONField(
        default=list,
        blank=True,
        help_text="Heads this version no longer labels on its own: people corrected too many of their auto-labels.",
    )
    trained_on = models.ManyToManyField(Example, related_name="trained_into", blank=True)
    evaluated_on = models.ManyToManyField(Example, related_name="evaluated_in", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    files_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the worker last read the files and checked their sha256."
    )
    files_problem = models.TextField(
        blank=True, help_text="What that check found wrong; empty when the files are whole."
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="one_active_model")
        ]

    def __str__(self):
        return f"v{self.number} ({self.status})"

    @property
    def card(self) -> "ModelCard":
        """The typed ModelCard of `metrics`, its certificate carrying the paused heads."""
        from .card import ModelCard  # card.py needs HEADS from here

        card = ModelCard.from_json(self.metrics)
        return replace(card, certificate=card.certificate.with_paused(self.paused_heads))


class TrainingRun(models.Model):
    class Trigger(models.TextChoices):
        THRESHOLD = "threshold"
        TRAFFIC = "traffic"
        MANUAL = "manual"
        SCHEDULE = "schedule"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped"

    OPEN = (Status.QUEUED, Status.RUNNING)

    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # True while queued or running, NULL after: the unique constraint allows one open run at a time.
    is_open = models.BooleanField(null=True, default=True, editable=False)
    stage = models.CharField(max_length=40, blank=True)
    percent = models.PositiveSmallIntegerField(default=0)
    force = models.BooleanField(default=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the process that runs it.")
    data_until = models.BigIntegerField(default=0, help_text="The highest example id present when the run started.")
    traffic_until = models.BigIntegerField(
        default=0, help_text="The newest prompt's id when the run started (the traffic trigger counts from it)."
    )
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    promoted = models.BooleanField(null=True)
    decision = models.TextField(blank=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["is_open"], condition=Q(is_open=True), name="one_open_training_run")
        ]

    def __str__(self):
        return f"run #{self.pk} ({self.trigger}, {self.status})"

    def save(self, *args, **kwargs) -> None:
        self.is_open = True if self.status in self.OPEN else None
        if "update_fields" in kwargs and kwargs["update_fields"] is not None:
            kwargs["update_fields"] = set(kwargs["update_fields"]) | {"is_open"}
        super().save(*args, **kwargs)

    @property
    def duration(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class Promotion(models.Model):
    """A hand promotion or rollback: who made which version active, and why."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="promotions")
    previous = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"v{self.version.number} made active"

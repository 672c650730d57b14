"""Model files: written once through Django's storage API, checked against their sha256 on load."""

import hashlib
import logging
from dataclasses import dataclass

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from .datasets import ensure_embeddings, matrix
from .encoder import Encoder, on_chosen_backend, stock_encoder
from .heads import TripletHeads
from .models import HEADS, HUMAN_SOURCES, Example, ModelVersion
from .webhooks import notify

log = logging.getLogger(__name__)


class ModelFileError(Exception):
    """A file of a version is missing or does not match its recorded hash."""


def _next_number():
    return (ModelVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1


def _store(data, kind, suffix):
    """(file name, sha256) of a newly written model file."""
    sha256 = hashlib.sha256(data).hexdigest()
    # The file gets a fresh name and the row only exists once the file is whole, so no reader ever
    # sees a half-written model; the hash check on load catches anything that changed it later.
    return default_storage.save(f"models/{kind}-{sha256[:16]}.{suffix}", ContentFile(data)), sha256


@dataclass(frozen=True)
class StoredFiles:
    """The files of a candidate, written before its version row exists."""

    heads: tuple
    blind: tuple
    labels: dict
    encoder_name: str
    encoder: tuple
    encoder_size: int


def store(heads, blind, encoder) -> StoredFiles:
    """Write the heads files (`blind`: the same training without the holdout, when `heads` also learned
    it) and a fine-tuned encoder's weights (the stock one ships with the package)."""
    weights = b"" if encoder.is_stock else encoder.to_bytes()
    return StoredFiles(
        _store(heads.to_bytes(), "heads", "pth"),
        _store(blind.to_bytes(), "heads", "pth") if blind is not None else ("", ""),
        heads.labels,
        encoder.name,
        _store(weights, "encoder", "safetensors") if weights else ("", ""),
        len(weights),
    )


def register(files, trained_on, evaluated_on, metrics) -> ModelVersion:
    """The version row that points to stored files; returns the new candidate."""
    for _ in range(5):
        try:
            with transaction.atomic():
                version = ModelVersion.objects.create(
                    number=_next_number(),
                    encoder=files.encoder_name,
                    encoder_file=files.encoder[0],
                    encoder_sha256=files.encoder[1],
                    encoder_size=files.encoder_size,
                    heads_file=files.heads[0],
                    sha256=files.heads[1],
                    blind_heads_file=files.blind[0],
                    blind_sha256=files.blind[1],
                    labels=files.labels,
                    metrics=metrics,
                )
                version.trained_on.set(trained_on)
                version.evaluated_on.set(evaluated_on)
                return version
        except IntegrityError:  # another process took the number: take the next one
            continue
    raise RuntimeError("Could not allocate a model version number.")


def _checked_bytes(version, what, name, sha256):
    try:
        with default_storage.open(name, "rb") as f:
            data = f.read()
    except FileNotFoundError as error:
        raise ModelFileError(
            f"The {what} file of model v{version.number} ({name}) is missing; retrain or promote another version."
        ) from error
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ModelFileError(
            f"The {what} file of model v{version.number} ({name}) does not match its recorded sha256 and was "
            "refused; retrain or promote another version."
        )
    return data


def file_problem(version) -> str:
    """What is wrong with a version's files (missing, or not matching their recorded sha256), or ""."""
    files = [("heads", version.heads_file.name, version.sha256)]
    if version.blind_sha256:
        files.append(("heads", version.blind_heads_file.name, version.blind_sha256))
    if version.encoder_file:
        files.append(("encoder", version.encoder_file.name, version.encoder_sha256))
    try:
        for what, name, sha256 in files:
            _checked_bytes(version, what, name, sha256)
    except ModelFileError as error:
        return str(error)
    return ""


def verify_model_files() -> str:
    """The worker's schedule: read every file of the versions that serve or could be rolled back to, and
    record what is wrong, so a corrupted file shows on the dashboard before a process needs it."""
    servable = ModelVersion.objects.exclude(status=ModelVersion.Status.REJECTED)
    damaged = []
    for version in servable:
        problem = file_problem(version)
        ModelVersion.objects.filter(pk=version.pk).update(files_checked_at=timezone.now(), files_problem=problem)
        if problem:
            log.error("%s", problem)
            damaged.append(version.number)
    return f"{servable.count()} versions checked, damaged: {damaged or 'none'}"


def load_heads(version, blind=False) -> TripletHeads:
    """The heads a version serves, or with `blind` the ones that never saw the holdout (the same heads
    when there was no holdout to learn)."""
    if blind and version.blind_sha256:
        name, sha256 = version.blind_heads_file.name, version.blind_sha256
    else:
        name, sha256 = version.heads_file.name, version.sha256
    return TripletHeads.from_bytes(_checked_bytes(version, "heads", name, sha256))


def load_encoder(version) -> Encoder:
    """The encoder a version embeds with: the stock one, or its fine-tuned weights, hash-checked."""
    if not version.encoder_file:
        return stock_encoder()
    data = _checked_bytes(version, "encoder", version.encoder_file.name, version.encoder_sha256)
    return on_chosen_backend(Encoder.from_bytes(data))


def holdout_mistakes(version) -> list:
    """[(example, [(predicted label, whether it is wrong) per head])] for the holdout examples the
    version's blind heads got wrong, the ones its holdout scores count against it."""
    examples = list(version.evaluated_on.order_by("pk"))
    if not examples:
        return []
    encoder = load_encoder(version)
    if encoder.is_stock:
        ensure_embeddings(examples)
        vectors = matrix(examples)
    else:
        vectors = encoder.embed([e.prompt for e in examples])
    predicted = load_heads(version, blind=True).predict(vectors).per_head
    guesses = [
        [(predicted[head][0][i], predicted[head][0][i] != e.triplet[head]) for head in HEADS]
        for i, e in enumerate(examples)
    ]
    return [(e, guess) for e, guess in zip(examples, guesses) if any(wrong for _, wrong in guess)]


def human_reference(version) -> np.ndarray:
    """The vectors of the human-labelled examples a version knows: the gate's measure of scope."""
    return matrix(
        list(
            Example.objects.filter(Q(trained_into=version) | Q(evaluated_in=version), source__in=HUMAN_SOURCES)
            .distinct()
            .order_by("pk")
        )
    )


def activate(version) -> ModelVersion:
    """Make `version` the one active model, retiring the previous one, in one transaction."""
    with transaction.atomic():
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exclude(pk=version.pk).update(
            status=ModelVersion.Status.RETIRED
        )
        version.status = ModelVersion.Status.ACTIVE
        version.activated_at = timezone.now()
        version.save(update_fields=["status", "activated_at"])
        notify("model.activated", version=version.number, holdout=version.metrics.get("holdout"))
    return version


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()

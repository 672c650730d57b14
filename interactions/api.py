"""The REST API (django-ninja): /api/v1/classify, feedback, the active model, hand promotion."""

import json
from typing import Annotated, Any, Literal

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from ninja import Field, Header, NinjaAPI, Schema
from ninja.errors import HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import field_validator, model_validator

from training.batching import EmbeddingTimeout
from training.locks import RETRY_AFTER_SECONDS, is_lock_timeout
from training.models import is_encodable, label_error
from training.promotion import UnknownVersion, promote_by_hand, version_by_number
from training.registry import ModelFileError, active_version

from .classify import Item, KeyReused, classify, classify_many, classify_once
from .models import ApiToken, Interaction, Verdict, hash_token
from .rate_limits import over_the_limit
from .reviews import may_label, record_feedback


class RateLimited(Exception):
    def __init__(self, retry_after):
        self.retry_after = retry_after


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        if len(token) > MAX_TOKEN_CHARS:
            return None
        found = (
            ApiToken.objects.select_related("user").filter(token_hash=hash_token(token), user__is_active=True).first()
        )
        if found is None:
            return None
        if retry_after := over_the_limit(found.pk):
            raise RateLimited(retry_after)
        found.mark_used()
        request.user, request.api_token_id = found.user, found.pk
        return found.user


MAX_TOKEN_CHARS = 200


api = NinjaAPI(
    title="SecondMind API",
    version="1",
    description="Classify prompts into subject / action / category triplets and teach the model.",
    auth=BearerToken(),
    urls_namespace="api",
    docs_decorator=login_required,
)


def _readable(errors):
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "payload"))
        message = error.get("msg", "is invalid").removeprefix("Value error, ")
        parts.append(f"{where or 'body'}: {message}")
    return "; ".join(parts)


@api.exception_handler(ValidationError)
def validation_error(request, exc):
    return api.create_response(request, {"detail": _readable(exc.errors), "errors": exc.errors}, status=422)


@api.exception_handler(RequestDataTooBig)
def body_too_big(request, exc):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return api.create_response(
        request,
        {"detail": f"The request body is over {limit:,} bytes: send a shorter prompt or a smaller context."},
        status=413,
    )


@api.exception_handler(RateLimited)
def rate_limited(request, exc):
    limit = settings.SECONDMIND_API_RATE_LIMIT
    response = api.create_response(
        request,
        {
            "detail": f"This token sent more than {limit} requests this minute (a batch counts each prompt); "
            f"retry in {exc.retry_after} s."
        },
        status=429,
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(OperationalError)
def database_busy(request, exc):
    if not is_lock_timeout(exc):
        raise exc
    response = api.create_response(
        request,
        {
            "detail": "The database is busy (another process holds its write lock): "
            f"nothing was stored; retry in {RETRY_AFTER_SECONDS} s."
        },
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@api.exception_handler(HttpError)
def http_error(request, exc):
    message = str(exc)
    if message.startswith("Cannot parse request body"):
        message = 'The request body is not valid JSON: send an object such as {"prompt": "..."}.'
    return api.create_response(request, {"detail": message}, status=exc.status_code)


class Confidence(Schema):
    subject: float
    action: float
    category: float


class ClassifyIn(Schema):
    prompt: str = Field(..., strict=True, description="The text a person sent to the assistant.")
    context: dict[str, Any] | None = Field(None, description="Any JSON object kept with the interaction.")

    @field_validator("context")
    @classmethod
    def context_is_storable(cls, value):
        if value is None:
            return value
        try:
            json.dumps(value, allow_nan=False)
        except ValueError:
            raise ValueError("holds NaN or Infinity, which JSON cannot store: send null or a string") from None
        return value

    @field_validator("prompt")
    @classmethod
    def prompt_has_text(cls, value):
        if not value.strip():
            raise ValueError("must not be empty or only whitespace")
        if not is_encodable(value):
            raise ValueError("holds a lone surrogate (an invalid \\uD800-\\uDFFF escape): send valid Unicode text")
        limit = settings.SECONDMIND_MAX_PROMPT_CHARS
        if len(value) > limit:
            raise ValueError(f"is {len(value)} characters long; the limit is {limit}")
        return value


RetryKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Any string up to 200 characters, new for each request: a retry with the same key answers with "
        "the interaction the first call stored, and stores nothing.",
    ),
]


class ClassifyOut(Schema):
    interaction_id: int
    subject: str
    action: str
    category: str
    confidence: Confidence
    verdict: Literal["accepted", "review", "rejected"]
    reasons: list[str]
    model_version: int | None


MAX_BATCH = 256


class BatchItemIn(ClassifyIn):
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="As the single call's Idempotency-Key header, for this item: a retry answers with the "
        "interaction stored the first time, and stores nothing.",
    )


class ClassifyBatchIn(Schema):
    items: list[BatchItemIn] = Field(..., min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def keys_are_distinct(self):
        keys = [item.idempotency_key for item in self.items if item.idempotency_key is not None]
        if len(keys) != len(set(keys)):
            raise ValueError("two items share an idempotency_key: give each item its own")
        return self


class ClassifyBatchOut(Schema):
    results: list[ClassifyOut] = Field(..., description="One per item, in the order sent.")


class TripletIn(Schema):
    subject: str = Field(..., strict=True)
    action: str = Field(..., strict=True)
    category: str = Field(..., strict=True)

    @field_validator("subject", "action", "category")
    @classmethod
    def is_a_label(cls, value, info):
        if error := label_error(info.field_name, value):
            raise ValueError(error)
        return value.strip()


class FeedbackIn(TripletIn):
    override_rejection: bool = Field(False, description="Label a prompt the gate rejected as noise anyway.")

    def triplet(self):
        return {head: getattr(self, head) for head in ("subject", "action", "category")}


class FeedbackOut(Schema):
    interaction_id: int
    example_id: int
    source: str
    subject: str
    action: str
    category: str


class HeadScore(Schema):
    accuracy: float
    macro_f1: float


class HoldoutMetrics(Schema):
    size: int
    exact: float
    mean_macro_f1: float
    subject: HeadScore
    action: HeadScore
    category: HeadScore


class ModelOut(Schema):
    version: int
    status: str
    encoder: str
    trained_at: str
    activated_at: str | None
    trained_on: int = Field(..., description="Examples the served heads learned, the holdout included.")
    holdout: HoldoutMetrics | None = Field(
        ..., description="How the version's blind heads, trained the same way without the holdout, scored on it."
    )


class PromoteIn(Schema):
    reason: str = Field(..., min_length=1, description="Why, recorded with the promotion.")

    @field_validator("reason")
    @classmethod
    def reason_has_text(cls, value):
        if not value.strip():
            raise ValueError("must say why, not only whitespace")
        return value.strip()


def _model_out(version):
    return {
        "version": version.number,
        "status": version.status,
        "encoder": version.encoder,
        "trained_at": version.created_at.isoformat(),
        "activated_at": version.activated_at.isoformat() if version.activated_at else None,
        "trained_on": version.trained_on.count(),
        "holdout": version.metrics.get("holdout"),
    }


@api.post("/classify", response=ClassifyOut, summary="Classify a prompt and store the interaction")
def classify_prompt(request, payload: ClassifyIn, idempotency_key: RetryKey = None):
    try:
        if idempotency_key is None:
            interaction = classify(payload.prompt, payload.context, user=request.user)
        else:
            interaction = classify_once(payload.prompt, payload.context, request.user, idempotency_key)
    except (ModelFileError, EmbeddingTimeout) as error:
        raise HttpError(503, str(error)) from None
    except KeyReused as error:
        raise HttpError(409, str(error)) from None
    return _classify_out(interaction)


@api.post(
    "/classify/batch",
    response=ClassifyBatchOut,
    summary=f"Classify up to {MAX_BATCH} prompts in one forward pass; all are stored or none",
)
def classify_batch(request, payload: ClassifyBatchIn):
    if retry_after := over_the_limit(request.api_token_id, cost=len(payload.items) - 1):
        raise RateLimited(retry_after)
    items = [Item(item.prompt, item.context, item.idempotency_key) for item in payload.items]
    try:
        interactions = classify_many(items, request.user)
    except (ModelFileError, EmbeddingTimeout) as error:
        raise HttpError(503, str(error)) from None
    except KeyReused as error:
        raise HttpError(409, f"Item {error.index}: {error}") from None
    return {"results": [_classify_out(interaction) for interaction in interactions]}


def _classify_out(interaction):
    return {
        "interaction_id": interaction.pk,
        **interaction.triplet,
        "confidence": interaction.confidence,
        "verdict": interaction.verdict,
        "reasons": interaction.reasons,
        "model_version": interaction.model_version_id,
    }


@api.post(
    "/interactions/{interaction_id}/feedback",
    response=FeedbackOut,
    summary="Correct the triplet of an interaction; it joins the live dataset",
)
def feedback(request, interaction_id: int, payload: FeedbackIn):
    interaction = Interaction.objects.filter(pk=interaction_id).first()
    if interaction is None:
        raise HttpError(404, f"Interaction {interaction_id} does not exist.")
    if not may_label(request.user, interaction):
        raise HttpError(
            403,
            "This token labels only its own interactions; a reviewer (staff, or a user with the "
            "'Can add review' permission) labels any.",
        )
    if interaction.verdict == Verdict.REJECTED and not payload.override_rejection:
        raise HttpError(
            409,
            f"The gate rejected this prompt as noise ({', '.join(interaction.reasons)}); send "
            '"override_rejection": true to make it a training example anyway.',
        )
    example = record_feedback(interaction, payload.triplet(), request.user)
    return {"interaction_id": interaction.pk, "example_id": example.pk, "source": example.source, **example.triplet}


@api.get("/models/active", response=ModelOut, summary="The model that answers, with its holdout scores")
def model_active(request):
    version = active_version()
    if version is None:
        raise HttpError(404, "No model is active yet: run `python manage.py retrain --wait`.")
    return _model_out(version)


@api.post(
    "/models/{version}/promote",
    response=ModelOut,
    summary="Staff: make a version active by hand (promotion or rollback)",
)
def promote(request, version: int, payload: PromoteIn):
    if not request.user.is_staff:
        raise HttpError(403, "Only staff can promote or roll back a model.")
    try:
        chosen = promote_by_hand(version_by_number(version), request.user, payload.reason)
    except UnknownVersion as error:
        raise HttpError(404, str(error)) from None
    except ModelFileError as error:
        raise HttpError(409, str(error)) from None
    return _model_out(chosen)

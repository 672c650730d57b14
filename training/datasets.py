"""The dataset: adding examples without duplicates, cached embeddings, JSONL import and export,
and the merged view of base + live + batch that training uses."""

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.db import transaction

from .encoder import DIMENSIONS, ENCODER_NAME, embed
from .models import HEADS, HUMAN_SOURCES, Example, Source, label_error, normalize_prompt

JSONL_FIELDS = ("prompt", *HEADS)
EXPORT_FILES = {
    Source.BASE: "intentions_base.jsonl",
    Source.BATCH: "batch_dataset.jsonl",
    Source.LIVE: "live_dataset.jsonl",
}
# Conflicting labels for one prompt: a person over the machine, and the latest human decision first.
SOURCE_PRIORITY = {Source.LIVE: 0, Source.BASE: 1, Source.BATCH: 2}


class InvalidDataset(Exception):
    def __init__(self, errors):
        self.errors = errors
        super().__init__("\n".join(f"line {n}: {message}" for n, message in errors))


def record_error(record, partial=False) -> str | None:
    """What is wrong with one JSONL object, or None. `partial`: a head may be null (not labelled), as
    the batch dataset leaves the heads the gate was unsure of."""
    if not isinstance(record, dict):
        return "expected a JSON object"
    missing = [name for name in JSONL_FIELDS if name not in record]
    if missing:
        return "missing " + ", ".join(f'"{name}"' for name in missing)
    prompt = record["prompt"]
    if not isinstance(prompt, str) or not prompt.strip():
        return '"prompt" must be a non-empty string'
    if len(prompt) > settings.SECONDMIND_MAX_PROMPT_CHARS:
        return f'"prompt" is longer than {settings.SECONDMIND_MAX_PROMPT_CHARS} characters'
    labelled = [head for head in HEADS if not (partial and record[head] is None)]
    if not labelled:
        return "at least one head needs a label"
    for head in labelled:
        if error := label_error(head, record[head]):
            return error
    return None


def parse_jsonl(lines, partial=False) -> tuple[list[dict], list[str]]:
    """(records, errors): the valid triplets and a (line number, message) per bad line; an unlabelled
    head (allowed with `partial`) comes back as "". A UTF-8 byte-order mark (as Windows editors save) is
    ignored; a prompt repeated with other labels is an error, never resolved silently."""
    records, errors, first_seen = [], [], {}
    for number, line in enumerate(lines, start=1):
        line = line.removeprefix("\ufeff") if number == 1 else line
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            errors.append((number, f"not valid JSON ({error.msg})"))
            continue
        if problem := record_error(record, partial) or _conflict(record, number, first_seen):
            errors.append((number, problem))
        else:
            records.append({name: (record[name] or "").strip() for name in JSONL_FIELDS})
    return records, errors


def _conflict(record, number, first_seen):
    """An error when the file already gave this prompt other labels (first_seen: prompt -> (line, labels))."""
    labels = tuple((record[head] or "").strip() for head in HEADS)
    line, earlier = first_seen.setdefault(normalize_prompt(record["prompt"]), (number, labels))
    if earlier != labels:
        return f"the same prompt as line {line} with other labels ({' / '.join(earlier)} there): keep one"
    return None


@dataclass
class ImportResult:
    created: int = 0
    duplicates: int = 0
    errors: list = field(default_factory=list)


def import_jsonl(lines, source, skip_invalid=False, user=None) -> dict:
    """Import triplets from JSONL lines; a file with errors imports nothing unless `skip_invalid`."""
    records, errors = parse_jsonl(lines, partial=source == Source.BATCH)
    if errors and not skip_invalid:
        raise InvalidDataset(errors)
    result = ImportResult(errors=errors)
    embeddings = embed([r["prompt"] for r in records])
    with transaction.atomic():
        for record, vector in zip(records, embeddings):
            _, created = add_example(record["prompt"], record, source, user=user, embedding=vector, notify=False)
            result.created += created
            result.duplicates += not created
    examples_added(result.created)
    return result


def export_jsonl(source, out) -> None:
    """Write the examples of one source to a text stream, oldest first, one object per line."""
    for example in Example.objects.filter(source=source).order_by("pk"):
        record = {"prompt": example.prompt, **{h: label or None for h, label in example.triplet.items()}}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


def add_example(
    prompt, triplet, source, user=None, embedding=None, notify=True, encoder=ENCODER_NAME
) -> tuple[Example, bool]:
    """(example, created). A batch prompt already in the dataset is not added again; a live one
    replaces the earlier human decision for that prompt. `embedding` is cached with the example when
    `encoder` made it is the stock one, which the cache holds."""
    normalized = normalize_prompt(prompt)
    labels = {head: triplet[head] for head in HEADS}
    cached = embedding is not None and encoder == ENCODER_NAME
    vector = {"embedding": _to_bytes(embedding), "encoder": ENCODER_NAME} if cached else {}
    with transaction.atomic():
        if source == Source.LIVE:
            example, created = Example.objects.update_or_create(
                normalized_prompt=normalized,
                source=source,
                defaults={"prompt": prompt, "created_by": user, **labels, **vector},
            )
        else:
            existing = Example.objects.filter(normalized_prompt=normalized)
            if source == Source.BASE:
                existing = existing.filter(source=Source.BASE)
            example = existing.order_by("pk").first()
            created = example is None
            if created:
                example = Example.objects.create(prompt=prompt, source=source, created_by=user, **labels, **vector)
    if created and notify:
        examples_added(1)
    return example, created


def examples_added(count) -> None:
    """Hook for the retrain threshold: called after examples were committed."""
    if count:
        from .triggers import check_threshold  # triggers enqueue tasks; keep imports one-way

        transaction.on_commit(check_threshold)


class PromptVectors(NamedTuple):
    """Prompts with their vectors and the encoder that made each vector (the traffic nobody labelled, a
    page of review items)."""

    prompts: list
    vectors: np.ndarray
    encoders: list

    def vectors_by(self, encoder) -> np.ndarray:
        """The vectors as `encoder` embeds the prompts: the stored ones it made, the rest embedded now."""
        other = [i for i, name in enumerate(self.encoders) if name != encoder.name]
        if not other:
            return self.vectors
        vectors = self.vectors.copy()
        vectors[other] = encoder.embed([self.prompts[i] for i in other])
        return vectors


NO_TRAFFIC = PromptVectors([], np.zeros((0, DIMENSIONS), dtype=np.float32), [])


def _to_bytes(vector):
    return np.asarray(vector, dtype=np.float32).tobytes()


def ensure_embeddings(examples) -> None:
    """Embed the examples that have no embedding from the current encoder, and store them."""
    missing = [e for e in examples if e.embedding is None or e.encoder != ENCODER_NAME]
    if missing:
        vectors = embed([e.prompt for e in missing])
        for example, vector in zip(missing, vectors):
            example.embedding = _to_bytes(vector)
            example.encoder = ENCODER_NAME
        Example.objects.bulk_update(missing, ["embedding", "encoder"], batch_size=500)


def matrix(examples) -> np.ndarray:
    return np.stack([e.vector() for e in examples]) if examples else np.zeros((0, DIMENSIONS), np.float32)


def stable_fraction(text) -> float:
    """A number in [0, 1) that looks random but is the same for the same text in every process."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_holdout_region(normalized_prompt: str, fraction: float) -> bool:
    """Whether a prompt belongs to the holdout's `fraction` of all prompts. A stable hash of the prompt
    decides, so a prompt is held out by every version or by none."""
    return stable_fraction(normalized_prompt) < fraction


@dataclass
class MergedDataset:
    train: list
    holdout: list
    conflicts: int
    unused_batch: int
    per_source: Counter

    @property
    def summary(self) -> dict:
        return {
            "train": len(self.train),
            "holdout": len(self.holdout),
            "conflicts_resolved": self.conflicts,
            "batch_in_holdout_region_unused": self.unused_batch,
            "train_per_source": dict(self.per_source),
        }


def merge(holdout_fraction: float) -> "MergedDataset":
    """base + live + batch, one example per normalized prompt (live > base > batch), split into
    the training set and the human-only holdout (the prompts in the holdout region)."""
    chosen = {}
    conflicts = 0
    for example in Example.objects.order_by("pk"):
        current = chosen.get(example.normalized_prompt)
        if current is None:
            chosen[example.normalized_prompt] = example
            continue
        conflicts += current.triplet != example.triplet
        if SOURCE_PRIORITY[example.source] < SOURCE_PRIORITY[current.source]:
            chosen[example.normalized_prompt] = example
    train, holdout, unused_batch = [], [], 0
    for normalized, example in chosen.items():
        if not in_holdout_region(normalized, holdout_fraction):
            train.append(example)
        elif example.source in HUMAN_SOURCES:
            holdout.append(example)
        else:
            unused_batch += 1  # never trained on, so no prompt is trained by one version and scored by another
    per_source = Counter(e.source for e in train)
    return MergedDataset(train, holdout, conflicts, unused_batch, per_source)


def nearest_human_examples(vectors, k=3) -> list[list[tuple[Example, float]]]:
    """For each vector, the k most similar base/live examples with their similarity."""
    # only ids and vectors: building every example as an object took 0.8 s a review page at 50,000 examples
    rows = list(
        Example.objects.filter(source__in=HUMAN_SOURCES, encoder=ENCODER_NAME)
        .exclude(embedding=None)
        .values_list("pk", "embedding")
    )
    if not rows or not len(vectors):
        return [[] for _ in vectors]
    ids, blobs = zip(*rows)
    similarity = np.stack(vectors) @ np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), -1).T
    best = np.argsort(-similarity, axis=1)[:, :k]
    found = Example.objects.in_bulk([ids[j] for j in best.flat])
    return [[(found[ids[j]], float(similarity[i, j])) for j in row] for i, row in enumerate(best)]


def near_duplicates(examples, threshold, shown=5, chunk=1000) -> tuple[int, list[tuple[str, str, float]]]:
    """Pairs of different prompts whose embeddings are at least `threshold` similar: (how many, the
    most similar few as (prompt, prompt, similarity)). Reported, not removed: a person decides."""
    vectors = matrix(examples)
    count, found = 0, []
    for start in range(0, len(examples), chunk):
        similarity = vectors[start : start + chunk] @ vectors.T
        rows, cols = np.nonzero(similarity >= threshold)
        keep = cols > rows + start  # each pair once, never an example with itself
        count += int(keep.sum())
        found += [(float(similarity[r, c]), r + start, c) for r, c in zip(rows[keep], cols[keep])]
    found.sort(reverse=True)
    return count, [(examples[i].prompt, examples[j].prompt, round(sim, 4)) for sim, i, j in found[:shown]]

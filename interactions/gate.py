"""The quality gate: noise is dropped, confident triplets are auto-accepted, the rest goes to review."""

import re
from dataclasses import dataclass

from training.datasets import in_holdout_region
from training.models import HEADS, normalize_prompt
from training.policy import GatePolicy, Policy

from .models import Verdict

# Only punctuation, digits and symbols ("!!!", "+1", "-1", "???"), or a slash command ("/reset").
_COMMAND_SHAPE = re.compile(r"^([\W\d_]+|/\w.*)$")


@dataclass(frozen=True)
class GateVerdict:
    decision: str
    reasons: list
    thresholds: dict
    auto_heads: tuple = ()  # the heads whose predicted label joins the batch dataset
    would_label: tuple = ()  # in the holdout region: the heads it would have labelled anywhere else


def is_system_command(text: str, gate: GatePolicy) -> bool:
    return text in gate.commands or bool(_COMMAND_SHAPE.match(text))


def noise_reasons(prompt: str, gate: GatePolicy) -> list[str]:
    text = prompt.strip()
    reasons = []
    if len(text) < gate.min_chars:
        reasons.append("too_short")
    if len(text.split()) < gate.min_words:
        reasons.append("too_few_words")
    if is_system_command(text, gate):
        reasons.append("system_command")
    return reasons


def thresholds(gate: GatePolicy) -> dict:
    return {
        "min_chars": gate.min_chars,
        "min_words": gate.min_words,
        "unknown_below": gate.unknown_threshold,
        "rule": gate.rule,
        "accept_at": gate.accept_threshold,
    }


def judge(prompt: str, prediction, policy: Policy, rejected_similarity: float | None = None) -> GateVerdict:
    """The verdict for a prompt and the model's prediction of it under `policy`, with reason codes;
    `rejected_similarity`: of the most similar prompt people rejected, None while they rejected none."""
    gate = policy.gate
    used = thresholds(gate)
    if noise := noise_reasons(prompt, gate):
        return GateVerdict(Verdict.REJECTED, noise, used)
    if prediction.model_version is None:
        return GateVerdict(Verdict.REVIEW, ["no_active_model"], used)
    if unknown := prediction.unknown_heads:
        return GateVerdict(Verdict.REVIEW, [f"unknown_{head}" for head in unknown], used)
    if not gate.auto_accept:
        return GateVerdict(Verdict.REVIEW, ["auto_accept_off"], used)
    if gate.rule == "fixed":
        unsure = [head for head in HEADS if prediction.confidence[head] < used["accept_at"]]
        if unsure:
            return GateVerdict(Verdict.REVIEW, [f"low_confidence_{head}" for head in unsure], used)
        return GateVerdict(Verdict.ACCEPTED, ["confident"], used, HEADS)
    verdict = certified_verdict(prediction, used, rejected_similarity)
    if in_holdout_region(normalize_prompt(prompt), policy.training.holdout_fraction):
        # never trained on, so a label without a person would teach nothing; and a person labelling
        # a random share of all these prompts, sure ones included, keeps the holdout a sample of the
        # traffic, and checks what the gate would have labelled without the bias of choosing
        return GateVerdict(Verdict.REVIEW, ["holdout_sample"], verdict.thresholds, would_label=verdict.auto_heads)
    return verdict


def certified_verdict(prediction, used: dict, rejected_similarity: float | None = None) -> GateVerdict:
    """Accepted when the triplet's sureness reaches the threshold certified for this model version;
    otherwise a person decides, and the heads that reach their own certified threshold are
    auto-labelled meanwhile. A head paused for this version (people corrected its labels) is never
    labelled without a person, alone or in a triplet. Nor is a prompt at least as similar to one people
    rejected as to any human-labelled example: the certificate's evidence never covered what people
    turned away."""
    certificate = prediction.certificate
    used = {
        **used,
        "certified_threshold": certificate.threshold,
        "scope": certificate.scope,
        "certified_head_thresholds": {h: proof.threshold for h, proof in certificate.heads.items()},
        "paused_heads": list(certificate.paused),
        "nearest_rejected": rejected_similarity,
    }
    if certificate.scope is not None and prediction.neighbour_similarity < certificate.scope:
        return GateVerdict(Verdict.REVIEW, ["out_of_scope"], used)
    if rejected_similarity is not None and rejected_similarity >= prediction.neighbour_similarity:
        return GateVerdict(Verdict.REVIEW, ["near_rejected"], used)
    if not certificate.triplet.certified:
        reasons = ["not_certified"]
    elif not certificate.triplet.reached_by(prediction.sureness):
        reasons = ["below_certified_threshold"]
    elif not certificate.paused:
        return GateVerdict(Verdict.ACCEPTED, ["certified"], used, HEADS)
    else:
        reasons = ["certified_but_paused"]
    sure = certificate.sure_heads(prediction.head_sureness)
    labelled = tuple(head for head in sure if certificate.labels_alone(head))
    reasons += [f"auto_labelled_{head}" for head in labelled]
    reasons += [f"paused_{head}" for head in sure if head not in labelled]
    return GateVerdict(Verdict.REVIEW, reasons, used, labelled)

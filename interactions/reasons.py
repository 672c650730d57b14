"""The gate's reason codes in a reviewer's words: a short label for the card and the why for its tooltip."""

from training.models import HEADS

PLAIN = {
    "no_active_model": ("no model yet", "No model was active when the prompt arrived."),
    "auto_accept_off": ("auto-accept off", "SECONDMIND_AUTO_ACCEPT is off: a person decides every prompt."),
    "holdout_sample": (
        "holdout",
        "One of the stable 20% of prompts only people label: they judge every candidate model.",
    ),
    "out_of_scope": (
        "unlike anything labelled",
        "No human-labelled example is similar enough, so the model's certificate does not cover it.",
    ),
    "near_rejected": ("like a rejected prompt", "It resembles a prompt people rejected more than any labelled one."),
    "not_certified": (
        "model not certified",
        "This version has not yet proved, on human-labelled examples, that it is right often enough to label "
        "a whole triplet alone. Reviews build that evidence.",
    ),
    "below_certified_threshold": (
        "not sure enough",
        "The model is less sure than the threshold its certificate proved safe.",
    ),
    "certified_but_paused": (
        "sure, but paused",
        "Sure enough to accept, but people corrected this version's labels of a head too often.",
    ),
    "audit": ("audit", "Accepted without a person; sampled so a person checks the model's labels."),
}
PER_HEAD = {
    "unknown_": ("{head} unknown", "The {head} head was below SECONDMIND_UNKNOWN_THRESHOLD: pick its label."),
    "low_confidence_": ("{head} unsure", "The {head} head was below SECONDMIND_ACCEPT_THRESHOLD."),
    "auto_labelled_": (
        "{head} learned already",
        "The {head} head was sure enough by its own certificate: its label is learned while you decide the rest.",
    ),
    "paused_": ("{head} paused", "People corrected this version's {head} labels too often: a person labels it."),
}


def explain(reason) -> tuple[str, str]:
    """(short label, explanation) for a reason code; the code itself for one this module does not know."""
    if reason in PLAIN:
        return PLAIN[reason]
    for prefix, (label, why) in PER_HEAD.items():
        head = reason.removeprefix(prefix)
        if reason.startswith(prefix) and head in HEADS:
            return label.format(head=head), why.format(head=head)
    return reason, reason


def reason_choices() -> list[tuple[str, str]]:
    """(code, label) of every reason an item in the queue may carry, for a filter."""
    codes = [code for code in PLAIN if code != "audit"]
    codes += [prefix + head for prefix in PER_HEAD for head in HEADS]
    return [(code, explain(code)[0]) for code in codes]

"""The learning policy: every knob of the gate, the certificate, training, self-training, promotion and the
review queue, typed, checked and read from the environment in one place. settings.py builds it once
(`SECONDMIND_POLICY`); functions receive the part they need as an argument, and tests pass small ones.

A bad value stops the start-up with ImproperlyConfigured naming the variable and what it accepts,
instead of being read as something else (a typo as False) or failing at request time."""

from dataclasses import Field, dataclass, field, fields, replace

from django.core.exceptions import ImproperlyConfigured

BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
PARSERS = {
    bool: (lambda raw: BOOLEANS[raw.lower()], "true/false, yes/no, on/off or 1/0"),
    int: (int, "a whole number"),
    float: (float, "a number"),
    str: (str, "any text"),
    tuple: (lambda raw: tuple(item.strip() for item in raw.split(",") if item.strip()), "a comma-separated list"),
}


def parsed(name, raw, kind) -> object:
    """`raw` (the text of environment variable `name`) as a `kind`, or ImproperlyConfigured saying why."""
    parse, allowed = PARSERS[kind]
    try:
        return parse(raw.strip())
    except (KeyError, ValueError):
        raise ImproperlyConfigured(f"{name}={raw!r} is not valid: use {allowed}.") from None


def knob(variable, default, meaning, *, choices=(), low=None, high=None) -> Field:
    """A policy field read from `variable`; `choices` or the range [low, high] say what it accepts."""
    return field(
        default=default,
        metadata={"variable": variable, "meaning": meaning, "choices": choices, "low": low, "high": high},
    )


def allowed(f) -> str:
    """What field `f` accepts, in words."""
    if f.metadata["choices"]:
        return " or ".join(f.metadata["choices"])
    low, high = f.metadata["low"], f.metadata["high"]
    noun = PARSERS[f.type][1]
    if low is not None and high is not None:
        return f"{noun} from {low:g} to {high:g}"
    return f"{noun} of at least {low:g}" if low is not None else noun


def invalid(f, value) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{f.metadata['variable']}={value!r} is not valid: use {allowed(f)}.")


def _valid(f, value):
    if not isinstance(value, f.type) or (f.type is int and isinstance(value, bool)):
        return False
    low, high, choices = f.metadata["low"], f.metadata["high"], f.metadata["choices"]
    return (not choices or value in choices) and (low is None or value >= low) and (high is None or value <= high)


class Section:
    """A frozen group of knobs that checks itself when built."""

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
            elif not _valid(f, value):
                raise invalid(f, value)

    @classmethod
    def from_environ(cls, environ):
        values = {}
        for f in fields(cls):
            name = f.metadata["variable"]
            if name in environ:
                values[f.name] = parsed(name, environ[name], f.type)
                if not _valid(f, values[f.name]):
                    raise invalid(f, environ[name])
        return cls(**values)


@dataclass(frozen=True)
class GatePolicy(Section):
    min_chars: int = knob("SECONDMIND_GATE_MIN_CHARS", 10, "Shorter prompts are noise: dropped.", low=0)
    min_words: int = knob("SECONDMIND_GATE_MIN_WORDS", 3, "Prompts of fewer words are noise: dropped.", low=0)
    commands: tuple = knob(
        "SECONDMIND_GATE_COMMANDS",
        ("!!!", "+1", "-1"),
        "System commands, dropped as noise (so is any prompt of only punctuation and digits, or a /command).",
    )
    unknown_threshold: float = knob(
        "SECONDMIND_UNKNOWN_THRESHOLD",
        0.4,
        "A head less confident than this answers Unknown (above 1: every head).",
        low=0,
    )
    auto_accept: bool = knob("SECONDMIND_AUTO_ACCEPT", True, "false: a person decides every prompt.")
    rule: str = knob(
        "SECONDMIND_AUTO_ACCEPT_RULE",
        "certified",
        "certified: only where precision was certified on human "
        "labels; fixed: every head at SECONDMIND_ACCEPT_THRESHOLD (measured to poison the model; kept to "
        "compare).",
        choices=("certified", "fixed"),
    )
    accept_threshold: float = knob(
        "SECONDMIND_ACCEPT_THRESHOLD", 0.9, "The fixed rule's confidence for every head.", low=0, high=1
    )
    audit_rate: float = knob(
        "SECONDMIND_AUDIT_RATE", 0.02, "Share of auto-accepted prompts also sent to review as audits.", low=0, high=1
    )


@dataclass(frozen=True)
class CertificationPolicy(Section):
    precision_target: float = knob(
        "SECONDMIND_AUTO_PRECISION_TARGET",
        0.95,
        "The precision an auto-accept or auto-label rule must be shown to reach.",
        low=0,
        high=1,
    )
    step: int = knob(
        "SECONDMIND_CERTIFY_STEP",
        60,
        "Thresholds are tested on this many evidence items, then twice as many, and so on "
        "(at 95% confidence at least 52, or nothing is ever certified).",
        low=1,
    )
    confidence: float = knob(
        "SECONDMIND_CERTIFY_CONFIDENCE", 0.95, "The confidence of the certificate's lower bound.", low=0.5, high=0.999
    )
    scope_similarity: float = knob(
        "SECONDMIND_GATE_SCOPE_SIMILARITY",
        0.6,
        "Out of scope (never auto-accepted) below this similarity to "
        "every human label; the stock encoder's value, matched per fine-tuned encoder.",
        low=-1,
        high=1,
    )
    scope_rejections: int = knob(
        "SECONDMIND_SCOPE_REJECTIONS",
        20,
        "Once people rejected this many prompts, the scope is lowered to just above the most "
        "similar of them, never raised (0: the fixed scope always).",
        low=0,
    )


@dataclass(frozen=True)
class TrainingPolicy(Section):
    holdout_fraction: float = knob(
        "SECONDMIND_HOLDOUT_FRACTION",
        0.2,
        "Share of the prompt hash space held out: human labels there score the blind heads "
        "(the served heads learn them too); the gate never labels a prompt there without a person.",
        low=0,
        high=0.9,
    )
    retrain_threshold: int = knob("SECONDMIND_RETRAIN_THRESHOLD", 100, "New examples that start a training run.", low=1)
    retrain_traffic: int = knob(
        "SECONDMIND_RETRAIN_TRAFFIC",
        500,
        "New prompts (reviewed or not) that also start a run, so the loop learns from use "
        "before anyone reviews (0: never).",
        low=0,
    )
    near_duplicate_similarity: float = knob(
        "SECONDMIND_NEAR_DUPLICATE_SIMILARITY",
        0.95,
        "Examples this similar are reported as near-duplicates.",
        low=0,
        high=1,
    )
    neighbour_weight: float = knob(
        "SECONDMIND_NEIGHBOUR_WEIGHT",
        0.3,
        "Weight of the 10 nearest examples' vote in each head (0: off).",
        low=0,
        high=1,
    )
    label_names: bool = knob(
        "SECONDMIND_LABEL_NAMES",
        True,
        'Learn each labelled triplet\'s name ("set alarm") as one more example of it; '
        "false where labels are codes, not words.",
    )
    encoder: str = knob(
        "SECONDMIND_ENCODER",
        "auto",
        "stock: frozen all-MiniLM-L6-v2; finetune: fine-tuned by every run; auto: "
        "both, the fine-tuned one kept when better on the holdout.",
        choices=("stock", "finetune", "auto"),
    )
    finetune_minutes: float = knob(
        "SECONDMIND_FINETUNE_MINUTES",
        10.0,
        "Time limit of a run that fine-tunes: up to half for the version's encoder, the rest shared by "
        "the gate's five fold encoders, which keep the stock encoder when too little is left for them.",
        low=0.1,
    )
    finetune_max_steps: int = knob(
        "SECONDMIND_FINETUNE_MAX_STEPS", 0, "A cap on the steps of each fine-tuning (0: none), for quick trials.", low=0
    )


@dataclass(frozen=True)
class SelfTrainingPolicy(Section):
    enabled: bool = knob(
        "SECONDMIND_SELF_TRAINING",
        True,
        "false: training learns from labelled examples only, not from the prompts waiting for review.",
    )
    noisy_student: bool = knob(
        "SECONDMIND_NOISY_STUDENT",
        False,
        "Fine-tune on, after the labels, the traffic the first encoder is sure of (off: in the loop on HWU64 "
        "it cost 4 points at 400 labels).",
    )
    confidence: float = knob(
        "SECONDMIND_SELF_TRAINING_CONFIDENCE",
        0.8,
        "How probable a guessed triplet must be to be learned.",
        low=0,
        high=1,
    )
    prompts: int = knob(
        "SECONDMIND_SELF_TRAINING_PROMPTS",
        20000,
        "How many of the newest waiting prompts self-training looks at.",
        low=0,
    )


@dataclass(frozen=True)
class PromotionPolicy(Section):
    confidence: float = knob(
        "SECONDMIND_PROMOTION_CONFIDENCE",
        0.95,
        "How sure the holdout must make us that a candidate is better, by log-loss or by whole triplets "
        "(0.5: any gain; 1: never).",
        low=0,
        high=1,
    )
    tolerance: float = knob(
        "SECONDMIND_PROMOTION_TOLERANCE",
        0.05,
        "How much accuracy one head may lose in a promotion (a loss counts only when the holdout "
        "makes it as sure as SECONDMIND_PROMOTION_WORSE_CONFIDENCE asks).",
        low=0,
        high=1,
    )
    worse_confidence: float = knob(
        "SECONDMIND_PROMOTION_WORSE_CONFIDENCE",
        0.8,
        "How sure the holdout must make us that a candidate gets fewer whole triplets right to refuse it "
        "(a one-sided sign test; 0.5: any fewer).",
        low=0.5,
        high=1,
    )
    min_holdout: int = knob(
        "SECONDMIND_MIN_HOLDOUT", 10, "Below this many holdout examples a candidate is never promoted alone.", low=1
    )


@dataclass(frozen=True)
class ReviewPolicy(Section):
    order: str = knob(
        "SECONDMIND_REVIEW_ORDER", "random", "The queue's default order.", choices=("random", "least_confident")
    )
    neighbour_floor: float = knob(
        "SECONDMIND_REVIEW_NEIGHBOUR_FLOOR",
        0.35,
        "Nearest examples less similar than this are left off a card (above 1: all of them).",
        low=-1,
    )


@dataclass(frozen=True)
class Policy:
    gate: GatePolicy = field(default_factory=GatePolicy)
    certification: CertificationPolicy = field(default_factory=CertificationPolicy)
    training: TrainingPolicy = field(default_factory=TrainingPolicy)
    self_training: SelfTrainingPolicy = field(default_factory=SelfTrainingPolicy)
    promotion: PromotionPolicy = field(default_factory=PromotionPolicy)
    review: ReviewPolicy = field(default_factory=ReviewPolicy)

    @classmethod
    def from_environ(cls, environ):
        return cls(**{f.name: f.type.from_environ(environ) for f in fields(cls)})

    def but(self, section, **values) -> "Policy":
        """A copy with `values` changed in `section`, checked like the original."""
        return replace(self, **{section: replace(getattr(self, section), **values)})


def current() -> Policy:
    """The policy this process runs with."""
    from django.conf import settings

    return settings.SECONDMIND_POLICY


def markdown_table() -> str:
    """The configuration table of docs/operations.md, one row per knob."""
    rows = ["| Variable | Default | Accepts | What it does |", "|---|---|---|---|"]
    for section in fields(Policy):
        for f in fields(section.type):
            default = ",".join(f.default) if f.type is tuple else str(f.default).lower()
            rows.append(f"| `{f.metadata['variable']}` | `{default}` | {allowed(f)} | {f.metadata['meaning']} |")
    return "\n".join(rows)

"""What a model version shows for itself, typed: its certificate (what the gate may label without a
person, and the evidence for it) and its card (the holdout scores it was judged on). Both are stored as
JSON in `ModelVersion.metrics`; only `to_json`/`from_json` know that shape."""

from dataclasses import dataclass, field, replace

from .models import HEADS


@dataclass(frozen=True)
class Proof:
    """One certified sureness threshold: predictions at least this sure reach the precision target."""

    threshold: float | None = None  # None: the evidence proved no threshold
    certified_share: float = 0.0  # of the evidence at or above the threshold
    # how close the evidence came: of its `surest` predictions in scope (the first set the threshold
    # test checks, a step's worth and every prediction tied with the last, when there are that many),
    # `surest_right` were right and at least `needed` had to be (None: a version made before they were kept)
    surest: int = 0
    surest_right: int | None = None
    needed: int | None = None

    @property
    def certified(self) -> bool:
        return self.threshold is not None

    def reached_by(self, sureness: float) -> bool:
        return self.threshold is not None and sureness >= self.threshold

    @classmethod
    def from_json(cls, data: dict | None) -> "Proof":
        data = data or {}
        return cls(
            data.get("threshold"),
            data.get("certified_share", 0.0),
            data.get("surest", 0),
            data.get("surest_right"),
            data.get("needed"),
        )


def _no_proofs() -> dict:
    return {head: Proof() for head in HEADS}


@dataclass(frozen=True)
class Certificate:
    """The gate's rule for one version: whole triplets (`triplet`) and each head alone (`heads`), the
    precision `target` proved at `confidence` in steps of `step` predictions, from `evidence`
    human-labelled examples, for prompts at least `scope` similar to one; `paused` heads (people
    corrected their auto-labels too often) are labelled by a person whatever their proof."""

    target: float = 0.95
    step: int = 0
    confidence: float = 0.95
    scope: float | None = None
    evidence: int = 0
    triplet: Proof = field(default_factory=Proof)
    heads: dict = field(default_factory=_no_proofs)
    paused: tuple = ()

    @property
    def threshold(self) -> float | None:
        return self.triplet.threshold

    @property
    def certified_share(self) -> float:
        return self.triplet.certified_share

    def sure_heads(self, head_sureness: dict) -> tuple:
        """The heads whose own proof the prediction reaches, paused or not."""
        return tuple(head for head in HEADS if self.heads[head].reached_by(head_sureness[head]))

    def labels_alone(self, head: str) -> bool:
        """Whether this version labels `head` without a person when it is sure of it: the pausing rule."""
        return self.heads[head].certified and head not in self.paused

    @property
    def how_close(self) -> str:
        """While no whole triplet is certified, how close the evidence came, in words ("" when unknown)."""
        proof = self.triplet
        if proof.certified or proof.surest_right is None:
            return ""
        if proof.surest < self.step:
            few = f"Only {proof.surest}" if proof.surest else "None"
            verb = "are" if proof.surest > 1 else "is"
            return (
                f"{few} of its {self.evidence} human-labelled examples {verb} in scope (similar enough to "
                f"another to be judged), and a threshold is first tested on {self.step}."
            )
        return (
            f"Of the {proof.surest} predictions its evidence was surest of, {proof.surest_right} were right; "
            f"{proof.needed} must be to certify."
        )

    def with_paused(self, paused) -> "Certificate":
        return replace(self, paused=tuple(paused))

    def to_json(self) -> dict:
        return {
            "target": self.target,
            "step": self.step,
            "confidence": self.confidence,
            "scope": self.scope,
            "evidence": self.evidence,
            **vars(self.triplet),
            "heads": {head: vars(proof) for head, proof in self.heads.items()},
        }

    @classmethod
    def from_json(cls, data: dict | None) -> "Certificate":
        data = data or {}
        heads = data.get("heads") or {}
        return cls(
            target=data.get("target", 0.95),
            step=data.get("step", 0),
            confidence=data.get("confidence", 0.95),
            scope=data.get("scope"),
            evidence=data.get("evidence", 0),
            triplet=Proof.from_json(data),
            heads={head: Proof.from_json(heads.get(head)) for head in HEADS},
        )


@dataclass(frozen=True)
class ModelCard:
    """A version's holdout scores (its blind heads'), the active version's on the same holdout when it
    was judged (`challenged` its number), and its certificate."""

    holdout: dict | None = None
    active_holdout: dict | None = None
    challenged: int | None = None
    certificate: Certificate = field(default_factory=Certificate)

    def to_json(self) -> dict:
        return {
            "holdout": self.holdout,
            "active_holdout": self.active_holdout,
            "challenged": self.challenged,
            "gate": self.certificate.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict | None) -> "ModelCard":
        data = data or {}
        return cls(
            data.get("holdout"),
            data.get("active_holdout"),
            data.get("challenged"),
            Certificate.from_json(data.get("gate")),
        )

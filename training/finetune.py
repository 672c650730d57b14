"""Fine-tunes a copy of the stock encoder on labelled prompts: a plain object with a `train()`.

End to end, with cross-entropy through three linear heads on the sentence embedding (the baseline the
README measured at +6 to +8 points of exact accuracy over the frozen encoder). The heads only steer the
encoder; the version's own heads are trained afterwards on its embeddings (`trainer.py`). It stops
early when a validation split drawn from the training prompts stops improving, and at a deadline."""

import copy
import math
import random
import time

import torch
from torch import nn

from .encoder import DIMENSIONS, Encoder, device, stock_encoder
from .models import HEADS
from .trainer import UNLABELLED, label_indices, vocabulary

ENCODER_LEARNING_RATE = 5e-5
HEAD_LEARNING_RATE = 1e-2
BATCH_SIZE = 32
PATIENCE = 2  # epochs without a better validation score before stopping
VALIDATION_SHARE = 0.1
MIN_VALIDATION = 10
# what ended a fine-tuning, as the model page says it
ENDINGS = {None: "its last epoch", "no gain": "early stopping", "deadline": "the time limit", "steps": "the step limit"}


def epochs_for(count) -> int:
    """More passes over few examples, fewer over many: 8 at 500, 6 at 1,000, 3 at 10,000 (measured: on all
    of HWU64 three passes score 81.7% exact where two scored 80.9%, and four no more than three)."""
    return max(3, min(10, math.ceil(math.sqrt(32000 / max(count, 1)))))


class EncoderTuner:
    def __init__(
        self,
        prompts,
        triplets,
        epochs=None,
        max_steps=None,
        deadline=None,
        seed=0,
        progress=None,
        validate_on=None,
        start=None,
    ):
        """`triplets` may leave heads blank ("" for a head nobody labelled). `max_steps` caps the steps
        (tests, benchmarks); `deadline` is a `time.monotonic()` after which it stops at the next step;
        `progress(fraction, epoch)` is called after every step. The validation split is drawn from the
        first `validate_on` prompts (all by default): the labelled ones, never guesses or label names, so
        that two tuners given the same labelled prompts first validate on the same rows. `start`: the
        Encoder to continue from (a noisy student continues its teacher), the stock one by default."""
        self.prompts, self.triplets = list(prompts), list(triplets)
        self.validate_on = len(self.prompts) if validate_on is None else validate_on
        self.start = start or stock_encoder()
        self.best_score = None  # the kept weights' share of validation rows right, after train()
        self.epochs = epochs or epochs_for(len(self.prompts))
        self.max_steps, self.deadline, self.seed = max_steps, deadline, seed
        self.progress = progress or (lambda fraction, epoch: None)
        self.stopped_by = None  # why it stopped before its last epoch, if it did: "deadline" or "no gain"
        self.steps_done, self.epochs_done = 0, 0

    def train(self) -> Encoder:
        """The fine-tuned Encoder."""
        torch.manual_seed(self.seed)
        model = copy.deepcopy(self.start.model)
        labels = vocabulary(self.triplets)
        heads = nn.ModuleDict({h: nn.Linear(DIMENSIONS, max(len(labels[h]), 1)) for h in HEADS}).to(device())
        targets = {h: t.to(device()) for h, t in label_indices(labels, self.triplets).items()}
        train_rows, validation_rows = self._split()
        optimizer = torch.optim.AdamW(
            [
                {"params": model.parameters(), "lr": ENCODER_LEARNING_RATE},
                {"params": heads.parameters(), "lr": HEAD_LEARNING_RATE},
            ]
        )
        loss_fn = nn.CrossEntropyLoss(ignore_index=UNLABELLED)
        batches = math.ceil(len(train_rows) / BATCH_SIZE)
        total = min(self.epochs * batches, self.max_steps or math.inf)
        best, best_score, waited, step = None, -1.0, 0, 0
        rng = random.Random(self.seed)
        for epoch in range(self.epochs):
            model.train()
            order = rng.sample(train_rows, len(train_rows))
            for start in range(0, len(order), BATCH_SIZE):
                rows = order[start : start + BATCH_SIZE]
                logits = heads_logits(model, heads, [self.prompts[i] for i in rows])
                loss = sum(
                    loss_fn(logits[h], targets[h][rows]) for h in HEADS if (targets[h][rows] != UNLABELLED).any()
                )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                self.steps_done, self.epochs_done = step, epoch + 1
                self.progress(min(step / total, 1.0), epoch + 1)
                if self._out_of_time(step):
                    break
            score = self._score(model, heads, targets, validation_rows)
            if score > best_score:
                best, best_score, waited = _weights(model), score, 0
            else:
                waited += 1
            if self.stopped_by or waited >= PATIENCE:
                self.stopped_by = self.stopped_by or "no gain"
                break
        if best is not None and validation_rows:
            model.load_state_dict(best)
            self.best_score = best_score
        model.eval()
        return Encoder.tuned(model)

    def report(self) -> dict:
        """How far `train()` went, for the run's summary: a fine-tuning the deadline cut short is a
        weaker encoder."""
        return {
            "steps": self.steps_done,
            "epochs": f"{self.epochs_done} of {self.epochs}",
            "stopped_by": ENDINGS[self.stopped_by],
            "validation": None if self.best_score is None else round(self.best_score, 3),
        }

    def _out_of_time(self, step):
        if self.max_steps and step >= self.max_steps:
            self.stopped_by = "steps"
        elif self.deadline is not None and time.monotonic() >= self.deadline:
            self.stopped_by = "deadline"
        return self.stopped_by is not None

    def _split(self):
        """(train rows, validation rows): a validation split only where there are enough prompts to spare."""
        labelled = list(range(self.validate_on))
        count = int(len(labelled) * VALIDATION_SHARE)
        if count < MIN_VALIDATION:
            return list(range(len(self.prompts))), []
        random.Random(f"validation-{self.seed}").shuffle(labelled)
        held = set(labelled[:count])
        return [i for i in range(len(self.prompts)) if i not in held], labelled[:count]

    def _score(self, model, heads, targets, rows):
        """The validation rows' exact share (all labelled heads right) averaged with their share of
        labelled heads right (0 without a split): the exact share alone is 0 after every epoch on a
        split of ten prompts early on, which stopped a 100-label fine-tuning at its first epochs."""
        if not rows:
            return 0.0
        model.eval()
        with torch.no_grad():
            logits = heads_logits(model, heads, [self.prompts[i] for i in rows])
        right, labelled = {}, {}
        for h in HEADS:
            gold = targets[h][rows]
            labelled[h] = gold != UNLABELLED
            right[h] = labelled[h] & (logits[h].argmax(dim=1).cpu() == gold)
        exact = torch.stack([right[h] | ~labelled[h] for h in HEADS]).all(dim=0).float().mean()
        heads_right = sum(int(right[h].sum()) for h in HEADS) / max(sum(int(labelled[h].sum()) for h in HEADS), 1)
        return float(exact + heads_right) / 2


def heads_logits(model, heads, texts) -> dict[str, torch.Tensor]:
    features = {k: v.to(device()) if torch.is_tensor(v) else v for k, v in model.preprocess(texts).items()}
    embeddings = model(features)["sentence_embedding"]
    return {h: layer(embeddings) for h, layer in heads.items()}


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}

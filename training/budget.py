"""A training run's time limit (SECONDMIND_FINETUNE_MINUTES) shared out among its fine-tunings, each
stopping early enough to embed what it must embed afterwards, so that the run as a whole ends within it."""

import time

from .encoder import stock_encoder

AFTERWARDS = 0.05  # of the limit, kept for the heads, the judging and the registering at the end
SAMPLE = 64


class Budget:
    def __init__(self, minutes, prompts):
        """`prompts`: some of the run's prompts, to time the encoder on (a fine-tuned copy is as fast)."""
        self.start = time.monotonic()
        self.seconds = 60 * minutes
        sample = (list(prompts) * SAMPLE)[:SAMPLE]
        stock_encoder().embed(sample)  # untimed: the first pass allocates, nearly doubling the estimate
        started = time.monotonic()
        stock_encoder().embed(sample)
        self.seconds_per_prompt = (time.monotonic() - started) / max(len(sample), 1)
        self.end = self.start + (1 - AFTERWARDS) * self.seconds

    def deadline(self, until, then_embed) -> float:
        """When a fine-tuning must stop: at `until` (a fraction of the limit from the run's start), less the
        time to embed `then_embed` prompts after it."""
        limit = self.start + until * (1 - AFTERWARDS) * self.seconds
        return limit - then_embed * self.seconds_per_prompt

    def share_of_rest(self, parts, then_spend) -> float:
        """When the next of `parts` equal parts of the time left must stop its fine-tuning: at the end of
        its share, less the `then_spend` seconds of work that follow its fine-tuning. In the past when
        that work alone would take the share."""
        now = time.monotonic()
        return now + (self.end - now) / parts - then_spend

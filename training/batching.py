"""Concurrent requests share the encoder's forward passes (cross-request micro-batching).

A web process serves each request in a thread of its own. Embedding one prompt costs nearly as much
as embedding a dozen, so a thread that needs a prompt embedded hands it to the process's embedding
thread and waits: that thread embeds, in one forward pass, every prompt handed to it while the previous
pass ran (and, with a window, during a few more milliseconds), up to `max_batch`. A lone request is
embedded at once, without waiting for company; under load the batches grow by themselves. The heads,
the database and the gate stay in the request's own thread: only the forward pass is shared.

Each prompt's vector is the one embedding it alone gives (the encoder masks the padding a batch adds),
in the order asked. A batch that fails is embedded again prompt by prompt, so a prompt that cannot be
embedded fails only its own request.

The embedding thread ends once it has been idle for `idle` seconds, and the next prompt starts a new
one: while a thread that ran torch lives, its idle OpenMP team makes torch in every other thread of the
process about three times slower (a training run in a process that classified, as the test suite does)."""

import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)


class EmbeddingTimeout(RuntimeError):
    pass


@dataclass
class _Asked:
    encoder: object
    prompt: str
    answer: Future = field(default_factory=Future)


class EmbeddingBatcher:
    def __init__(self, window: float = 0.0, max_batch: int = 64, timeout: float = 30.0, idle: float = 1.0):
        """`window`: seconds the embedding thread waits for more prompts after the first of a batch
        (0: none, batches form from the prompts that arrived during the previous pass); `timeout`:
        seconds a request waits for its vector before giving up; `idle`: seconds without a prompt after
        which the embedding thread ends."""
        self.window, self.max_batch, self.timeout, self.idle = window, max_batch, timeout, idle
        self._pid, self._asked = None, None
        self._lock = threading.Lock()
        self.passes, self.embedded, self.threads = 0, 0, 0  # in this process

    def embed(self, encoder, prompt: str) -> np.ndarray:
        """`prompt`'s vector by `encoder`, from a forward pass shared with the requests asking meanwhile."""
        asked = _Asked(encoder, prompt)
        with self._lock:  # an embedding thread that is ending either sees this prompt or is replaced
            self._queue().put(asked)
        try:
            return asked.answer.result(timeout=self.timeout)
        except TimeoutError:
            raise EmbeddingTimeout(
                f"The encoder did not embed the prompt within {self.timeout:g} s: the web process is overloaded."
            ) from None

    def _queue(self) -> queue.SimpleQueue:
        """This process's queue, with its embedding thread running (a forked web worker starts its own)."""
        if self._pid != os.getpid():
            self._asked = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(self._asked,), name="embedding", daemon=True).start()
            self._pid, self.threads = os.getpid(), self.threads + 1
        return self._asked

    def _serve(self, asked: queue.SimpleQueue) -> None:
        while True:
            try:
                batch = [asked.get(timeout=self.idle)]
            except queue.Empty:
                with self._lock:
                    if asked.empty():
                        self._pid = None
                        return
                continue
            if self.window:
                time.sleep(self.window)
            while len(batch) < self.max_batch:
                try:
                    batch.append(asked.get_nowait())
                except queue.Empty:
                    break
            self.passes, self.embedded = self.passes + 1, self.embedded + len(batch)
            for encoder in {id(a.encoder): a.encoder for a in batch}.values():  # one pass per encoder
                _answer([a for a in batch if a.encoder is encoder])


def _answer(batch: list[_Asked]) -> None:
    try:
        vectors = batch[0].encoder.embed([a.prompt for a in batch])
    except Exception:
        log.exception("embedding a batch of %d prompts failed: embedding them one by one", len(batch))
        for one in batch:
            _answer_alone(one)
        return
    for one, vector in zip(batch, vectors):
        one.answer.set_result(vector)


def _answer_alone(one: _Asked) -> None:
    try:
        one.answer.set_result(one.encoder.embed([one.prompt])[0])
    except Exception as error:
        one.answer.set_exception(error)

"""The training run's id on every log line written while it runs, whichever module writes it."""

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

_run_id = contextvars.ContextVar("training_run_id", default=None)


@contextmanager
def run_logging(run_id) -> Iterator[None]:
    token = _run_id.set(run_id)
    try:
        yield
    finally:
        _run_id.reset(token)


class RunIdFilter(logging.Filter):
    """Sets `record.run` to " [run #N]" inside a run (empty elsewhere), for the formatter."""

    def filter(self, record) -> bool:
        run_id = _run_id.get()
        record.run = f" [run #{run_id}]" if run_id is not None else ""
        return True

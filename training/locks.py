"""A database write lock held longer than the busy timeout (SQLite: another process in a long write
transaction) is a passing fault: the worker retries its writes, the API answers 503 with Retry-After."""

import logging
import time

from django.db import OperationalError

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


def is_lock_timeout(error) -> bool:
    return isinstance(error, OperationalError) and "locked" in str(error).lower()


def retrying_when_locked(write, attempts=10, wait=RETRY_AFTER_SECONDS) -> object:
    """`write()`, tried again while the database stays locked (each try already waited the busy timeout)."""
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except OperationalError as error:
            if not is_lock_timeout(error) or attempt == attempts:
                raise
            log.warning("database locked, write retried in %s s (attempt %s of %s)", wait, attempt, attempts)
            time.sleep(wait)

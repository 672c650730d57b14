"""A per-token request limit: a counter per token and minute in Django's cache (per process with the
default local-memory cache; shared by every process when CACHE_URL names Redis)."""

import time

from django.conf import settings
from django.core.cache import cache


def over_the_limit(token_id, cost=1) -> int:
    """Counts `cost` more calls for the token (a batch costs one per prompt): the seconds until it may
    call again, or 0 while it is under SECONDMIND_API_RATE_LIMIT a minute."""
    limit = settings.SECONDMIND_API_RATE_LIMIT
    if not limit:
        return 0
    now = time.time()
    key = f"api-rate:{token_id}:{int(now // 60)}"
    cache.add(key, 0, timeout=61)
    try:
        count = cache.incr(key, cost)
    except ValueError:  # expired between add and incr
        cache.set(key, cost, timeout=61)
        count = cost
    return 0 if count <= limit else int(60 - now % 60) + 1

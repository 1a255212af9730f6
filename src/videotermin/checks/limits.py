"""How many network-check payloads a participant may ask for: each is up to 1 MB of random bytes,
and a link holder must not turn the agency's server into a bandwidth source.

A fixed window per participant in the cache (shared between nodes when Redis is configured).
"""

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 600


def take_probe(participant_id: str) -> bool:
    """Count one payload of the participant; False once the window's allowance is spent."""
    key = f"videotermin:checks:probes:{participant_id}"
    # add() starts the window only when none runs; incr() counts atomically in Redis.
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add() and incr()
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        count = 1
    return count <= settings.NETWORK_PROBE_LIMIT

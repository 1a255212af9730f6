"""Rate limits per actor, not per connection (a reconnect must not reset them), on all nodes."""

import asyncio
import math
import time
import weakref
from functools import cache
from typing import Any

from django.conf import settings
from limits import RateLimitItem, parse, storage, strategies
from limits.aio import strategies as aio_strategies

# Keys of every user of this module share one namespace in Redis.
PREFIX = "videotermin"

# Limits are strings for limits.parse ("20/second", "100 per 5 seconds"), counted in a moving
# window: a burst up to the amount passes at once, the average over the period cannot exceed it.
# With REDIS_URL every node and both twins (hit, hit_sync) count together; without it the counts
# live in this process, the async and the sync ones apart (development, tests).


def _redis_url() -> str:
    return getattr(settings, "REDIS_URL", "") or ""


@cache
def _limit(limit: str) -> RateLimitItem:
    return parse(limit)


# Async storages belong to the event loop they were made in (their locks, Redis connections):
# one set per loop. A server runs one loop; each test runs its own, and so starts from zero.
_async_limiters: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]]" = (
    weakref.WeakKeyDictionary()
)


def _async_limiter(redis_url: str) -> aio_strategies.MovingWindowRateLimiter:
    limiters = _async_limiters.setdefault(asyncio.get_running_loop(), {})
    if redis_url not in limiters:
        if redis_url:
            # The redis package is installed (channels_redis needs it); limits defaults to coredis.
            backend = storage.storage_from_string(
                f"async+{redis_url}", implementation="redispy", key_prefix=PREFIX
            )
        else:
            backend = storage.storage_from_string("async+memory://")
        limiters[redis_url] = aio_strategies.MovingWindowRateLimiter(backend)
    return limiters[redis_url]


@cache
def _sync_limiter(redis_url: str) -> strategies.MovingWindowRateLimiter:
    if redis_url:
        backend = storage.storage_from_string(redis_url, key_prefix=PREFIX)
    else:
        backend = storage.storage_from_string("memory://")
    return strategies.MovingWindowRateLimiter(backend)


async def hit(key: str, limit: str) -> bool:
    """Count one hit for the key; False once the limit is spent (the hit is then not counted)."""
    return await _async_limiter(_redis_url()).hit(_limit(limit), key)


def hit_sync(key: str, limit: str) -> bool:
    """Count one hit for the key; False once the limit is spent (the hit is then not counted)."""
    return _sync_limiter(_redis_url()).hit(_limit(limit), key)


def forget() -> None:
    """Start the in-process synchronous counts afresh (tests); async ones are per event loop."""
    _sync_limiter.cache_clear()


def spent_sync(key: str, limit: str) -> bool:
    """Whether the key has used up the limit, without counting a hit."""
    return not _sync_limiter(_redis_url()).test(_limit(limit), key)


def retry_after_sync(key: str, limit: str) -> int:
    """Whole seconds until the key may be counted again (the oldest hit leaves the window)."""
    stats = _sync_limiter(_redis_url()).get_window_stats(_limit(limit), key)
    return max(1, math.ceil(stats.reset_time - time.time()))

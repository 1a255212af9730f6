"""Rate limits per actor, not per connection (a reconnect must not reset them): requests on all
nodes (hit_sync), WebSocket frames in the process that holds the socket (hit_frame)."""

import math
import time
from collections.abc import Callable
from functools import cache

from django.conf import settings
from limits import RateLimitItem, parse, storage, strategies

# Keys of every user of this module share one namespace in Redis.
PREFIX = "videotermin"

# Limits are strings for limits.parse ("20/second", "100 per 5 seconds"), counted in a moving
# window: a burst up to the amount passes at once, the average over the period cannot exceed it.
# With REDIS_URL every node counts requests together; without it the counts live in this
# process (development, tests).


def _redis_url() -> str:
    return getattr(settings, "REDIS_URL", "") or ""


@cache
def _limit(limit: str) -> RateLimitItem:
    return parse(limit)


class FrameCounts:
    """Moving-window counts kept in this process, for the frames of WebSockets.

    A socket lives in one process, and a member's page holds one socket; its frames are counted
    where they arrive, by the member (not by the socket: a reconnect to the same process starts
    nothing afresh) at the cost of a dictionary look-up: no Redis round trip, no thread, no
    timer per frame. A member whose page moves to another node (the node died) starts afresh
    there; the connections themselves are limited across nodes.

    The window is a sliding one of two fixed windows, weighted by how much of the earlier one
    still falls inside the period (the approximation Redis and Cloudflare use): a burst up to
    the amount passes at once, the average over the period cannot exceed it.
    """

    # Counts whose windows ended this long ago are forgotten, at most this often.
    SWEEP_SECONDS = 30.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        # (key, limit) → [number of the current window, the previous window's count, this one's]
        self.windows: dict[tuple[str, str], list[int]] = {}
        self.swept = clock()

    def hit(self, key: str, limit: str) -> bool:
        item = _limit(limit)
        period, amount = item.get_expiry(), item.amount
        now = self.clock()
        number, into = divmod(now, period)
        window = self.windows.get((key, limit))
        if window is None or window[0] < number - 1:
            window = self.windows[(key, limit)] = [int(number), 0, 0]
        elif window[0] < number:
            window[:] = [int(number), window[2], 0]
        earlier = window[1] * (1 - into / period)
        if earlier + window[2] + 1 > amount:
            return False
        window[2] += 1
        if now - self.swept > self.SWEEP_SECONDS:
            self.sweep(now)
        return True

    def sweep(self, now: float) -> None:
        self.swept = now
        self.windows = {
            counted: window
            for counted, window in self.windows.items()
            if (window[0] + 2) * _limit(counted[1]).get_expiry() > now
        }


_frames = FrameCounts()


@cache
def _sync_limiter(redis_url: str) -> strategies.MovingWindowRateLimiter:
    if redis_url:
        backend = storage.storage_from_string(redis_url, key_prefix=PREFIX)
    else:
        backend = storage.storage_from_string("memory://")
    return strategies.MovingWindowRateLimiter(backend)


def hit_frame(key: str, limit: str) -> bool:
    """Count one WebSocket frame for the key in this process (FrameCounts); False once the
    limit is spent (the frame is then not counted)."""
    return _frames.hit(key, limit)


def hit_sync(key: str, limit: str) -> bool:
    """Count one hit for the key; False once the limit is spent (the hit is then not counted)."""
    return _sync_limiter(_redis_url()).hit(_limit(limit), key)


def forget() -> None:
    """Start the in-process counts afresh (tests)."""
    global _frames
    _sync_limiter.cache_clear()
    _frames = FrameCounts()


def spent_sync(key: str, limit: str) -> bool:
    """Whether the key has used up the limit, without counting a hit."""
    return not _sync_limiter(_redis_url()).test(_limit(limit), key)


def retry_after_sync(key: str, limit: str) -> int:
    """Whole seconds until the key may be counted again (the oldest hit leaves the window)."""
    stats = _sync_limiter(_redis_url()).get_window_stats(_limit(limit), key)
    return max(1, math.ceil(stats.reset_time - time.time()))

"""Failed-login counting per account, so a guesser is stopped whatever addresses it uses.

A sorted set of failure times per key in Redis (a true sliding window, shared by every
process); in single-process mode (no REDIS_URL) the same window in process memory.
"""
from __future__ import annotations

import contextlib
import threading
import uuid

import redis.exceptions
from flask import current_app

from utils import clock
from utils.redis_client import get_redis

PREFIX = "rt:loginfail:"


class _MemoryWindows:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures: dict[str, list[float]] = {}


def _memory() -> _MemoryWindows:
    return current_app.extensions.setdefault("roundtable_login_failures", _MemoryWindows())


def _settings() -> tuple[int, int]:
    config = current_app.config
    return config["LOGIN_MAX_FAILURES"], config["LOGIN_FAILURE_WINDOW_SECONDS"]


def retry_after(key: str) -> int | None:
    """Seconds until `key` may try again, or None when it is not locked."""
    limit, window = _settings()
    now = clock.time()
    client = get_redis()
    if client is None:
        memory = _memory()
        with memory.lock:
            times = [t for t in memory.failures.get(key, []) if t > now - window]
            memory.failures[key] = times
    else:
        try:
            client.zremrangebyscore(PREFIX + key, 0, now - window)
            times = [score for _, score in client.zrange(PREFIX + key, 0, -1, withscores=True)]
        except redis.exceptions.RedisError:
            return None  # counting is best effort; the per-address limiter still holds
    if len(times) < limit:
        return None
    oldest_that_counts = sorted(times)[-limit]
    return max(1, int(oldest_that_counts + window - now) + 1)


def record_failure(key: str) -> None:
    _, window = _settings()
    now = clock.time()
    client = get_redis()
    if client is None:
        memory = _memory()
        with memory.lock:
            memory.failures.setdefault(key, []).append(now)
        return
    # Best effort: with Redis down, the per-address limiter still bounds guessing.
    with contextlib.suppress(redis.exceptions.RedisError):
        pipe = client.pipeline()
        pipe.zadd(PREFIX + key, {uuid.uuid4().hex: now})
        pipe.expire(PREFIX + key, window)
        pipe.execute()


def clear(key: str) -> None:
    client = get_redis()
    if client is None:
        with _memory().lock:
            _memory().failures.pop(key, None)
        return
    with contextlib.suppress(redis.exceptions.RedisError):
        client.delete(PREFIX + key)

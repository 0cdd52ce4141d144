"""Flood limits for chat, per user, shared by every process through Redis (in memory
in single-process mode). Moving windows: "10 per 5 seconds" never lets 11 through in
any 5 seconds, unlike a fixed window that allows a double burst at its edge."""
from __future__ import annotations

import math
import os
import time

from flask import current_app
from limits import parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from utils.errors import RateLimited

_limiters: dict[tuple[int, str], MovingWindowRateLimiter] = {}


def _limiter() -> MovingWindowRateLimiter:
    uri = current_app.config.get("REDIS_URL") or "memory://"
    key = (os.getpid(), uri)
    limiter = _limiters.get(key)
    if limiter is None:
        options = {}
        if uri.startswith("redis"):
            timeout = current_app.config["REDIS_TIMEOUT_SECONDS"]
            options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
        storage: Storage = storage_from_string(uri, key_prefix="rt:chatlimit", **options)
        limiter = _limiters[key] = MovingWindowRateLimiter(storage)
    return limiter


def hit(kind: str, user_id: str, setting: str, message: str) -> None:
    """Count one `kind` action of `user_id` against the limit named by `setting`;
    raise RateLimited (with the seconds to wait) when it is spent."""
    item = parse(current_app.config[setting])
    limiter = _limiter()
    if limiter.hit(item, kind, user_id):
        return
    reset_at = limiter.get_window_stats(item, kind, user_id).reset_time
    raise RateLimited(math.ceil(max(1.0, reset_at - time.time())), message)

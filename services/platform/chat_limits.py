"""Flood limits for chat and socket events, per user, shared by every process through
Redis (in memory without Redis). Moving windows: "10 per 5 seconds" never lets 11
through in any 5 seconds, unlike a fixed window that allows a double burst at its edge.

Every socket event belongs to a class with its own limit (`EVENT_CLASSES`), counted
before the event does any work; `send_message` also counts against CHAT_RATE_LIMIT."""
from __future__ import annotations

import math
import os
import time

from flask import current_app
from limits import parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from utils import redis_client
from utils.errors import RateLimited

_limiters: dict[tuple[int, str], MovingWindowRateLimiter] = {}

# Socket event class -> the setting holding its per-user limit.
EVENT_CLASSES = {
    "read": "SOCKET_READ_RATE_LIMIT",    # join/leave rooms, topics, posts; get_online_users
    "write": "SOCKET_WRITE_RATE_LIMIT",  # send, edit, delete, react, mark_read
    "typing": "CHAT_TYPING_RATE_LIMIT",
}


def _limiter() -> MovingWindowRateLimiter:
    key = (os.getpid(), redis_client.storage_key(current_app.config))
    limiter = _limiters.get(key)
    if limiter is None:
        uri, options = redis_client.limits_storage(current_app.config)
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


def hit_write_request(user_id: str) -> None:
    """Count one write request over REST (any route a signed-in user calls with POST, PUT,
    PATCH or DELETE, account self-care included) against WRITE_LIMIT_ANY: the per-user
    ceiling under the write classes' own limits (services.accounts.write_gate.LIMITS)."""
    hit("write:any", user_id, "WRITE_LIMIT_ANY", "Too many changes; slow down.")


def hit_event(event_class: str, user_id: str) -> None:
    """Count one socket event of `event_class` (a key of EVENT_CLASSES) by `user_id`."""
    hit(f"event:{event_class}", user_id, EVENT_CLASSES[event_class],
        "Too many events of this kind; slow down.")

"""A version stamp per user in Redis, replaced after every write to the user's document,
so a copy of the user kept elsewhere (a live socket's, utils.socket_events) can tell
with one Redis GET whether it is still what MongoDB holds.

Readers read the stamp before the document, writers replace it after the write, so a
copy filed under the current stamp was read after every finished write. A new random
stamp, not a counter, so an old one never comes back; only "no stamp" can, when the key
expires (a day after the last write) or Redis is flushed, and a copy lives seconds.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

import redis.exceptions

from utils.redis_client import get_redis

log = logging.getLogger(__name__)

PREFIX = "rt:userver:"
# Far longer than any copy lives; only bounds how long the keys of idle users stay.
KEY_SECONDS = 24 * 3600
NO_STAMP = "-"  # the user has no stamp yet (never written since the key expired)


def changed(user_id: Any) -> None:
    """Call after a write to the user's document. An outage must not fail the request
    whose write succeeded: copies then live out their own short lifetime."""
    client = get_redis()
    if client is None:
        return
    try:
        client.set(PREFIX + str(user_id), uuid.uuid4().hex, ex=KEY_SECONDS)
    except redis.exceptions.RedisError as exc:
        log.warning("user %s version not replaced: %s", user_id, exc)


def current(user_id: Any) -> str | None:
    """The user's stamp now, or None when it cannot be known (no Redis, or Redis
    failing): then nothing may be trusted from a copy."""
    client = get_redis()
    if client is None:
        return None
    try:
        stamp = client.get(PREFIX + str(user_id))
    except redis.exceptions.RedisError as exc:
        log.warning("user version unreadable, reading the user: %s", exc)
        return None
    return stamp.decode() if stamp else NO_STAMP


# Sockets that keep their session through an epoch bump

ADOPT_PREFIX = "rt:adopt:"


def adopt(user_id: Any, origins: set[str], epoch: int) -> None:
    """The sockets opened with `origins` (the session or token that changed the password
    keeps its own) may carry on under session `epoch`. An outage only costs them their
    next event (answered `unauthorized`, so the client reconnects)."""
    client = get_redis()
    if client is None:
        return
    try:
        pipe = client.pipeline()
        for origin in origins:
            pipe.set(f"{ADOPT_PREFIX}{user_id}:{origin}", epoch, ex=KEY_SECONDS * 30)
        pipe.execute()
    except redis.exceptions.RedisError as exc:
        log.warning("sockets of user %s keep no session: %s", user_id, exc)


def adopted_epoch(user_id: Any, origin: str | None) -> int | None:
    """The session epoch the sockets opened with `origin` were allowed to adopt."""
    client = get_redis()
    if client is None or not origin:
        return None
    try:
        value = client.get(f"{ADOPT_PREFIX}{user_id}:{origin}")
    except redis.exceptions.RedisError:
        return None
    return int(value) if value is not None else None

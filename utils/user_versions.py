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
from flask import g, has_request_context, request

from utils import local_copies
from utils.redis_client import get_redis

log = logging.getLogger(__name__)

PREFIX = "rt:userver:"
# Far longer than any copy lives; only bounds how long the keys of idle users stay.
KEY_SECONDS = 24 * 3600
NO_STAMP = "-"  # the user has no stamp yet (never written since the key expired)


# One stamp for every topic's access fields (visibility, deleted, owner): replaced after
# any write to them, so per-topic copies (utils.local_copies.TOPICS) stay exact. Such
# writes are rare (create, edit of visibility, delete, ownership transfer).
TOPICS_KEY = "rt:topicver"
_MEMO = "_rt_stamps"
# Other Redis keys almost every request reads next (a cache namespace's generation),
# fetched in the same MGET as the stamps: `also_read` adds one, `read_along` answers it.
_ALONG: list[str] = []


def also_read(key: str) -> None:
    if key not in _ALONG:
        _ALONG.append(key)


def read_along(key: str) -> tuple[bool, bytes | None]:
    """(True, raw value) when this request's MGET of the stamps read `key`."""
    memo = _memo()
    if memo is None or ("raw", key) not in memo:
        return False, None
    return True, memo[("raw", key)]  # type: ignore[return-value]


def forget(key: str) -> None:
    """This request changed `key`: read it afresh next time."""
    _forget(("raw", key))  # type: ignore[arg-type]


def _memo() -> dict[Any, Any] | None:
    """The stamps this request has read, kept for the rest of it (one Redis round trip
    per request for the user's and the topics' stamps together). Tied to the request
    object, not only to `g`: a socket event gets a new request (and `g` can outlive one
    when an app context was already pushed)."""
    if not has_request_context():
        return None
    current_request = request._get_current_object()
    held = g.get(_MEMO)
    if held is None or held[0] is not current_request:
        held = (current_request, {})
        setattr(g, _MEMO, held)
    return held[1]


def _forget(key: Any) -> None:
    memo = _memo()
    if memo is not None:
        memo.pop(key, None)


def changed(user_id: Any) -> None:
    """Call after a write to the user's document, their topic memberships or topic bans,
    or their bearer tokens. An outage must not fail the request whose write succeeded:
    copies then live out their own short lifetime."""
    local_copies.forget_user(user_id)
    _forget(str(user_id))
    client = get_redis()
    if client is None:
        return
    try:
        client.set(PREFIX + str(user_id), uuid.uuid4().hex, ex=KEY_SECONDS)
    except redis.exceptions.RedisError as exc:
        log.warning("user %s version not replaced: %s", user_id, exc)


def topics_changed() -> None:
    """Call after a write to a topic's access fields (visibility, deleted, owner_id)."""
    local_copies.forget_topics()
    _forget(TOPICS_KEY)
    client = get_redis()
    if client is None:
        return
    try:
        client.set(TOPICS_KEY, uuid.uuid4().hex, ex=KEY_SECONDS)
    except redis.exceptions.RedisError as exc:
        log.warning("topics' version not replaced: %s", exc)


def _read(keys: list[str], along_too: bool = True) -> list[str] | None:
    client = get_redis()
    if client is None:
        return None
    along = list(_ALONG) if along_too else []
    try:
        values = client.mget(keys + along)
    except redis.exceptions.RedisError as exc:
        log.warning("versions unreadable, reading MongoDB: %s", exc)
        return None
    memo = _memo()
    if memo is not None:
        for key, raw in zip(along, values[len(keys):], strict=True):
            memo[("raw", key)] = raw
    return [value.decode() if value else NO_STAMP for value in values[:len(keys)]]


def current(user_id: Any, fresh: bool = False) -> str | None:
    """The user's stamp now (or as read earlier in this request, unless `fresh`), or
    None when it cannot be known (no Redis, or Redis failing): then nothing may be
    trusted from a copy. The topics' stamp comes along in the same round trip."""
    key = str(user_id)
    memo = _memo()
    if memo is not None and not fresh and key in memo:
        return memo[key]
    values = _read([PREFIX + key, TOPICS_KEY])
    if values is None:
        return None
    if memo is not None:
        memo[key], memo[TOPICS_KEY] = values
    return values[0]


def current_many(user_ids: list[Any]) -> dict[str, str | None]:
    """{str(user id): stamp} of several users (other people than the acting one: a
    message's recipients), those this request has not read yet in one MGET; None for
    each when they cannot be known."""
    keys = list(dict.fromkeys(str(user_id) for user_id in user_ids))
    memo = _memo()
    known = {key: memo[key] for key in keys if memo is not None and key in memo}
    missing = [key for key in keys if key not in known]
    if missing:
        values = _read([PREFIX + key for key in missing], along_too=False)
        for key, value in zip(missing, values or [None] * len(missing), strict=True):
            known[key] = value
            if memo is not None and value is not None:
                memo[key] = value
    return known


def topics_current() -> str | None:
    """The topics' stamp as this request read it (with the user's), or now."""
    memo = _memo()
    if memo is not None and TOPICS_KEY in memo:
        return memo[TOPICS_KEY]
    values = _read([TOPICS_KEY])
    if values is None:
        return None
    if memo is not None:
        memo[TOPICS_KEY] = values[0]
    return values[0]


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

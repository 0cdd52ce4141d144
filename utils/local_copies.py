"""Copies kept in this process of what almost every request reads (the acting user, their
topic roles, a topic's access fields; the other people a message or a notification
concerns, their blocks and mutes), each filed under the version stamp it was read under
(utils.user_versions) and trusted only while that stamp is still the current one.

Checking costs one Redis round trip per request (the stamps are read together and kept
for the request), against a MongoDB read per item without the copies. A copy is also
dropped after `lifetime` seconds, which bounds what a write whose stamp could not be
replaced (Redis failing at that moment) leaves stale. Without Redis nothing is copied.
"""
from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from flask import Flask, current_app, has_app_context


class Copies:
    """A bounded map key -> (stamp, deadline, value), least recently used out first."""

    def __init__(self, size: int = 20000) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[str, float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, stamp: str | None) -> Any | None:
        """The value filed under `stamp`, or None (unknown, older stamp, expired)."""
        if stamp is None:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] != stamp or time.monotonic() > entry[1]:
            # Left in place (the next `put` replaces it): requests under way meanwhile
            # still `peek` whose stamp to read, instead of each reading MongoDB twice.
            return None
        return entry[2]

    def peek(self, key: Hashable) -> Any | None:
        """The value whatever its stamp or age (only to learn what stamp to read)."""
        entry = self._entries.get(key)
        return entry[2] if entry is not None else None

    def put(self, key: Hashable, stamp: str | None, value: Any, lifetime: float) -> None:
        """File `value`, read after `stamp` was read; nothing without a stamp."""
        if stamp is None:
            return
        with self._lock:
            self._entries[key] = (stamp, time.monotonic() + lifetime, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def drop(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


KEY = "roundtable_local_copies"
KINDS = (
    "users",  # user id (str) -> the user document as stored (not deleted)
    "tokens",  # SHA-256 of a bearer token -> (token document, user); the user's stamp
    "logins",  # a browser session's login id -> (its login_sessions document, user)
    "topic_access",  # user id (str) -> {"roles": {topic_id: role}, "bans": {...}}
    "topics",  # topic id -> access fields (visibility, deleted, owner_id); topics' stamp
    "blocks",  # user id (str) -> ids they blocked or were blocked by (platform.user_copies)
    "mutes",  # user id (str) -> their notification mutes as (target type, target id)
    "hides",  # user id (str) -> the ids of the users whose content they hide
)
# Every app's copies, so tests can drop them all when they flush Redis.
_every: weakref.WeakSet[Copies] = weakref.WeakSet()


def of(kind: str) -> Copies:
    """The current app's copies of `kind` (one app per process in production; each test
    app is a process of its own, so tests can play two processes)."""
    return current_app.extensions[KEY][kind]


def forget_user(user_id: Any) -> None:
    """This process wrote to the user: its own copies go at once (others see the stamp)."""
    if has_app_context() and KEY in current_app.extensions:
        for kind in ("users", "topic_access", "blocks", "mutes", "hides"):
            of(kind).drop(str(user_id))


def forget_topics() -> None:
    if has_app_context() and KEY in current_app.extensions:
        of("topics").clear()


def clear() -> None:
    for copies in list(_every):
        copies.clear()


def init_app(app: Flask) -> None:
    app.extensions[KEY] = {kind: Copies() for kind in KINDS}
    _every.update(app.extensions[KEY].values())

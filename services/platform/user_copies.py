"""What a write reads of the OTHER people it concerns (a direct message's partner, a
notification's recipient): their document, everyone they blocked or were blocked by,
what they muted; and whom the acting user hides (every list filters by it). Each
process keeps these (utils.local_copies) under that user's version stamp
(utils.user_versions), like the acting user's own copy, and every write to them
replaces the stamp: the user's document (models.user), a block either way (models.block
replaces BOTH people's), a mute (models.notification_mute), a hide (models.user_hide).
So a block, an unblock, a mute or a hide made by any process is seen by the very next
check, and a check in steady state costs no MongoDB command (one Redis MGET for the
stamps, kept for the request).

A user with more than COPY_LIMIT blocks, mutes or hides keeps no copy of them (a marker
says so under their stamp): their checks ask MongoDB, so no copy grows without bound.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from bson import ObjectId
from flask import current_app

from models.block import Block
from models.notification_mute import NotificationMute
from models.user import User
from models.user_hide import UserHide
from utils import local_copies, user_versions

COPY_LIMIT = 500
TOO_MANY = "too many"  # filed instead of a set: ask MongoDB for this user


def _copy_seconds() -> float:
    return current_app.config["LOCAL_COPY_SECONDS"]


def active_user(user_id: ObjectId) -> dict[str, Any] | None:
    """The user as stored, unless deleted (models.user.User.find_active), from this
    process's copy while their stamp is unchanged."""
    stamp = user_versions.current_many([user_id])[str(user_id)]
    copies = local_copies.of("users")
    user = copies.get(str(user_id), stamp)
    if user is None:
        user = User().find_active(user_id)
        if user is None:
            return None
        copies.put(str(user_id), stamp, user, _copy_seconds())
    # A copy per caller: one that changes its user must not change the next one's.
    return dict(user)


def is_blocked_between(a: ObjectId, b: ObjectId) -> bool:
    """True when either user blocked the other. Read from `a`'s copy (pass the acting
    user first: their stamp is already read for the request)."""
    stamp = user_versions.current_many([a])[str(a)]
    related = _bounded_set("blocks", a, stamp, lambda limit: Block().related_ids(a, limit))
    if related == TOO_MANY:
        return Block().exists_between(a, b)
    return b in related


def hidden_by(user_id: ObjectId) -> frozenset | set:
    """Whom `user_id` hides (models.user_hide), from this process's copy while their
    stamp is unchanged: every list of posts, comments or messages filters by it."""
    stamp = user_versions.current_many([user_id])[str(user_id)]
    hidden = _bounded_set("hides", user_id, stamp,
                          lambda limit: UserHide().hidden_ids(user_id, limit))
    return UserHide().hidden_ids(user_id) if hidden == TOO_MANY else hidden


def mutes_of(user_ids: list[ObjectId]) -> dict[ObjectId, frozenset | None]:
    """{user id: their mutes as (target type, target id)}, None for a user who has more
    than COPY_LIMIT (ask MongoDB for them). A missing copy is read alone for one user (a
    direct message's partner, a notification's recipient); for several, those without
    a copy are left out: the caller asks MongoDB about them in one query."""
    stamps = user_versions.current_many(user_ids)
    copies = local_copies.of("mutes")
    found: dict[ObjectId, frozenset | None] = {}
    for user_id in user_ids:
        stamp = stamps[str(user_id)]
        if len(user_ids) == 1:
            mutes = _bounded_set("mutes", user_id, stamp, lambda limit, user_id=user_id:
                                 NotificationMute().targets_of_user(user_id, limit))
        else:
            mutes = copies.get(str(user_id), stamp)
        if mutes is not None:
            found[user_id] = None if mutes == TOO_MANY else mutes
    return found


def _bounded_set(kind: str, user_id: ObjectId, stamp: str | None,
                 load: Callable[[int], Collection[Any]]) -> frozenset | str:
    """The `kind` copy of `user_id` (read with `load(limit)` when missing), or TOO_MANY
    when it holds more than COPY_LIMIT items."""
    copies = local_copies.of(kind)
    found = copies.get(str(user_id), stamp)
    if found is None:
        items = load(COPY_LIMIT + 1)
        found = frozenset(items) if len(items) <= COPY_LIMIT else TOO_MANY
        copies.put(str(user_id), stamp, found, _copy_seconds())
    return found

"""The one way a socket enters a live room (room names and every way out of them are
services.platform.live_rooms').

`enter` is the only code that puts a socket into a room (a test checks that nothing
else imports Socket.IO's `join_room` or calls `enter_room`), and it decides itself who
may: check, join, check again. The second check closes the race with a removal: a
removal stored before it makes it fail (the socket leaves at once); a removal stored
after it is followed by its eviction, which finds the socket in the room. Connecting
registers the socket and puts it into `user_<id>` the same way. The caller (a socket
handler) names the socket: its sid, and for a call room the login that opened it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app
from flask_socketio import join_room, leave_room
from redis.exceptions import RedisError

from services.chat import call_access, chat_access
from services.forum import posts_service
from services.platform import connections, live_rooms, realtime, topic_access
from services.platform.live_rooms import (
    CHAT,
    NAMES,
    ORIGINS_PREFIX,
    POST,
    TOPIC,
    TRACK_SECONDS,
    USER,
    VOIP,
    chat_room,
    local_sids,
    post_room,
    topic_room,
    user_room,
    voip_room,
)
from utils.errors import NotFound, RateLimited
from utils.redis_client import get_redis

log = logging.getLogger(__name__)

T = TypeVar("T")


# Entering and leaving

def _authorize(user: dict[str, Any], kind: str, target_id: Any, sid: str,
               origin: str | None) -> tuple[str, Any]:
    """(room name, topic id or None) when `user` may be in the room; else the error the
    area answers (NotFound for what they may not see, Forbidden for a ban)."""
    if kind == USER:
        if str(target_id) != str(user["_id"]):
            raise NotFound("Room not found.")
        return user_room(user["_id"]), None
    if kind == TOPIC:
        topic = topic_access.get_readable_topic(user, target_id, topic_access.ACCESS_FIELDS)
        topic_access.require_not_banned(user, topic)
        return topic_room(topic["_id"]), topic["_id"]
    if kind == POST:
        post, topic = posts_service.get_readable_post(user, target_id)
        topic_access.require_not_banned(user, topic)
        return post_room(post["_id"]), topic["_id"]
    if kind == CHAT:
        # A public topic's chat is readable by anyone, but not by those banned from it.
        room = chat_access.readable_room(user, target_id)
        return chat_room(room["_id"]), room.get("topic_id")
    if kind == VOIP:
        # Only the socket of one of the call's live participants.
        call_id = call_access.require_party_socket(user, target_id,
                                                   call_access.Device(sid, origin))
        return voip_room(call_id), None
    raise NotFound("Room not found.")


def enter(user: dict[str, Any], kind: str, target_id: Any, sid: str,
          then: Callable[[], T] | None = None, origin: str | None = None) -> str | T:
    """Put the socket `sid` into the `kind` room of `target_id` if `user` may be there:
    check, join, check again, then `then()` (e.g. the catch-up read, so a message
    stored after it arrives live). Returns `then()`'s result, else the room name. Any
    refusal after the join takes the socket out again. A call room also wants `origin`,
    the login that opened the socket (a call party is bound to both)."""
    room, topic_id = _authorize(user, kind, target_id, sid, origin)
    if topic_id is not None:
        live_rooms.track(user["_id"], topic_id, room)
    join_room(room, sid=sid, namespace=realtime.NAMESPACE)
    try:
        _authorize(user, kind, target_id, sid, origin)
        return then() if then is not None else room
    except BaseException:
        leave_room(room, sid=sid, namespace=realtime.NAMESPACE)
        raise


def leave(kind: str, target_id: Any, sid: str) -> str:
    """Take the socket `sid` out of a room (nothing to decide: leaving is harmless)."""
    room = NAMES[kind](target_id)
    leave_room(room, sid=sid, namespace=realtime.NAMESPACE)
    return room


class TooManySockets(RateLimited):
    """More concurrent sockets than SOCKET_MAX_PER_USER."""


def connect(user: dict[str, Any], sid: str, origin: str | None) -> bool:
    """Register the connecting socket `sid` (refused with TooManySockets past the
    per-user limit), remember its origin and put it into `user_<id>`. True when it is
    the user's first connection (they came online)."""
    user_id = str(user["_id"])
    limit = int(current_app.config["SOCKET_MAX_PER_USER"])
    if get_redis() is None or not realtime.multi_process():
        others = local_sids(user_id, exclude=sid)
        if len(others) >= limit:
            raise TooManySockets(30, f"At most {limit} connections per user.")
        first = not others
    else:
        first = connections.register_connection(user_id, sid, limit)
        if first is None:
            raise TooManySockets(30, f"At most {limit} connections per user.")
        if origin:
            key = ORIGINS_PREFIX + user_id
            get_redis().pipeline().hset(key, sid, origin).expire(key, TRACK_SECONDS).execute()
    enter(user, USER, user["_id"], sid)
    return first


def disconnect(user_id: str, sid: str) -> bool:
    """Forget a socket; True when it was the user's last (they went offline)."""
    if get_redis() is None or not realtime.multi_process():
        return not local_sids(user_id, exclude=sid)
    try:
        get_redis().hdel(ORIGINS_PREFIX + user_id, sid)
    except RedisError as exc:  # the entry only outlives its socket; the next lookup skips it
        log.warning("socket origin of %s not forgotten: %s", user_id, exc)
    return connections.unregister_connection(user_id, sid)

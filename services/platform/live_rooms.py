"""Live rooms: the names of the Socket.IO rooms, the one way a socket enters one, and
every way out of them (ban, removal, visibility change, session end).

Rooms: `user_<id>` (every socket of a user), `topic_<id>` (new_post, post_updated),
`post_<id>` (new_comment), `chat_room_<id>` (messages of a chat room) and
`voip_<call_id>`. `enter` is the only code that puts a socket into a room (a test
checks that nothing else imports Socket.IO's `join_room` or calls `enter_room`), and it
decides itself who may: check, join, check again. The second check closes the race
with a removal: a removal stored before it makes it fail (the socket leaves at once); a
removal stored after it is followed by its eviction, which finds the socket in the room.

What is kept about live sockets lives in Redis (or, in single-process mode without a
message queue, in Socket.IO's own tables), never in a process-local dict:
- `rt:live:<topic_id>`: users whose sockets entered a live room of the topic, and
  `rt:live:<topic_id>:<user_id>`: the rooms they entered, so a ban, a removal or the
  topic turning private takes them out of every one of them, on every process;
- `rt:origins:<user_id>` (multi-process mode): socket id -> the credentials that opened
  it (`session:<login id>` or `token:<token id>`), so ending a session or revoking a
  token closes exactly its sockets, on every process. In single-process mode the origin
  is read from each socket's own environ.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from bson import ObjectId
from flask import Flask, current_app
from redis.exceptions import RedisError

from models.base import to_object_id
from models.room import Room
from models.user import User
from services.platform import connections, realtime, topic_access
from utils import user_versions
from utils.errors import APIError
from utils.extensions import socketio
from utils.redis_client import get_redis
from utils.socket_events import SOCKET_IDENTITY

log = logging.getLogger(__name__)

T = TypeVar("T")

USER, TOPIC, POST, CHAT, VOIP = "user", "topic", "post", "chat_room", "voip"
LIVE_PREFIX = "rt:live:"
ORIGINS_PREFIX = "rt:origins:"
# Longer than a socket lives; only bounds how long the keys of idle users stay.
TRACK_SECONDS = 7 * 24 * 3600


# Names

def user_room(user_id: Any) -> str:
    return f"user_{user_id}"


def topic_room(topic_id: Any) -> str:
    return f"topic_{topic_id}"


def post_room(post_id: Any) -> str:
    return f"post_{post_id}"


def chat_room(room_id: Any) -> str:
    return f"chat_room_{room_id}"


def voip_room(call_id: Any) -> str:
    return f"voip_{call_id}"


NAMES: dict[str, Callable[[Any], str]] = {USER: user_room, TOPIC: topic_room,
                                           POST: post_room, CHAT: chat_room, VOIP: voip_room}


def session_origin(login_id: str | None) -> str | None:
    return f"session:{login_id}" if login_id else None


def token_origin(token_id: Any) -> str | None:
    return f"token:{token_id}" if token_id else None


def track(user_id: Any, topic_id: Any, room: str) -> None:
    """Remember that the user's sockets entered `room` of the topic, for eviction."""
    client = get_redis()
    if client is None:
        return
    pipe = client.pipeline()
    pipe.sadd(f"{LIVE_PREFIX}{topic_id}", str(user_id))
    pipe.expire(f"{LIVE_PREFIX}{topic_id}", TRACK_SECONDS)
    pipe.sadd(f"{LIVE_PREFIX}{topic_id}:{user_id}", room)
    pipe.expire(f"{LIVE_PREFIX}{topic_id}:{user_id}", TRACK_SECONDS)
    pipe.execute()


# The sockets of a user

def local_sids(user_id: Any, exclude: str | None = None) -> list[str]:
    """Sockets of `user_id` connected to this process (Socket.IO's own room table)."""
    manager = socketio.server.manager if socketio.server else None
    if manager is None:
        return []
    return [sid for sid, _ in manager.get_participants(realtime.NAMESPACE, user_room(user_id))
            if sid != exclude]


def user_sids(user_id: Any) -> list[str]:
    """Every live socket id of `user_id`, on every process."""
    if get_redis() is None or not realtime.multi_process():
        return local_sids(user_id)
    return connections.registered_sids(str(user_id))


def is_online(user_ids: Iterable[Any]) -> dict[str, bool]:
    ids = list(dict.fromkeys(str(uid) for uid in user_ids))
    if get_redis() is None or not realtime.multi_process():
        return {uid: bool(local_sids(uid)) for uid in ids}
    return connections.registered_online(ids)


def _origins(user_id: str, sids: list[str]) -> dict[str, str | None]:
    if get_redis() is None or not realtime.multi_process():
        environ = socketio.server.get_environ
        return {sid: ((environ(sid, realtime.NAMESPACE) or {}).get(SOCKET_IDENTITY) or {})
                .get("origin") for sid in sids}
    values = get_redis().hmget(ORIGINS_PREFIX + user_id, sids) if sids else []
    return {sid: value.decode() if isinstance(value, bytes) else value
            for sid, value in zip(sids, values, strict=True)}


# Eviction

def evict(user_id: Any, room: str) -> int:
    """Take every socket of `user_id` out of `room`, whichever process holds it."""
    if socketio.server is None:
        return 0
    sids = user_sids(user_id)
    for sid in sids:
        # The Redis manager leaves locally or publishes the request to the owner.
        socketio.server.leave_room(sid, room, namespace=realtime.NAMESPACE)
    return len(sids)


# What else a user leaves with a chat room (the room's live call): areas above this one
# (services.calls builds on it, so it cannot be called from here by name) are hooks the
# app factory registers from one list (registrations.CHAT_ROOM_LEAVERS); importing them
# registers nothing. Nothing about sockets is kept in them.
EXTENSION = "roundtable_live_rooms"


def init_app(app: Flask, chat_room_leavers: Iterable[Callable[[Any, Any], None]]) -> None:
    """Call each `leaver(user_id, room_id)` whenever a user is evicted from a chat room."""
    app.extensions[EXTENSION] = {"chat_room_leavers": tuple(chat_room_leavers)}


def chat_room_leavers(app: Flask | None = None) -> tuple[Callable[[Any, Any], None], ...]:
    return (app or current_app).extensions[EXTENSION]["chat_room_leavers"]


def evict_from_chat_room(user_id: Any, room_id: Any) -> None:
    """Every socket of `user_id` leaves `chat_room_<id>` and the room's live call (its
    `voip_<call_id>` room with it), and hears `removed_from_room`."""
    _leave_chat_room(user_id, room_id)
    realtime.emit("removed_from_room", {"room_id": str(room_id)}, to=user_room(user_id))


def _leave_chat_room(user_id: Any, room_id: Any) -> None:
    evict(user_id, chat_room(room_id))
    for leave_also in chat_room_leavers():
        leave_also(user_id, room_id)


def close_chat_room(topic_id: Any, room_id: Any, reason: str) -> list[str]:
    """After a topic's chat room was deleted: everyone whose sockets entered it leaves it
    and its live call; they, and the topic's live room (whose room list showed it),
    hear `removed_from_room {room_id, reason}` once. Returns the users evicted."""
    entrants = _chat_room_entrants(to_object_id(topic_id), room_id)
    for user_id in entrants:
        _leave_chat_room(user_id, room_id)
    realtime.emit("removed_from_room", {"room_id": str(room_id), "reason": reason},
                  to=[topic_room(topic_id)] + [user_room(uid) for uid in entrants])
    return entrants


def _chat_room_entrants(topic_oid: ObjectId, room_id: Any) -> list[str]:
    """The users whose sockets entered `chat_room_<room_id>` of the topic (on any process:
    `track` wrote it down in Redis)."""
    room = chat_room(room_id)
    client = get_redis()
    if client is None:
        return [uid for uid in _topic_audience(topic_oid) if room in _local_rooms(uid)]
    candidates = _topic_audience(topic_oid)
    pipe = client.pipeline()
    for uid in candidates:
        pipe.sismember(f"{LIVE_PREFIX}{topic_oid}:{uid}", room)
    return [uid for uid, entered in zip(candidates, pipe.execute(), strict=True) if entered]


def _local_rooms(user_id: str) -> set[str]:
    manager = socketio.server.manager
    return {room for sid in local_sids(user_id)
            for room in manager.get_rooms(sid, realtime.NAMESPACE)}


def evict_from_topic(user_id: Any, topic_id: Any) -> None:
    """Every socket of `user_id` leaves every live room of the topic: `topic_<id>`, the
    post rooms it entered and the topic's chat rooms (each announced with
    `removed_from_room`). For bans, leaving, and the topic turning private."""
    topic_oid = to_object_id(topic_id)
    entered: set[str] = {topic_room(topic_oid)}
    client = get_redis()
    if client is not None:
        key = f"{LIVE_PREFIX}{topic_oid}:{user_id}"
        try:
            entered.update(r.decode() if isinstance(r, bytes) else r
                           for r in client.smembers(key))
            client.delete(key)
            client.srem(f"{LIVE_PREFIX}{topic_oid}", str(user_id))
        except RedisError as exc:  # the write that caused this is stored: do not fail it
            log.warning("live rooms of %s in topic %s unreadable: %s", user_id, topic_oid, exc)
    chat_ids = Room().topic_room_ids(topic_oid)
    entered -= {chat_room(room_id) for room_id in chat_ids}
    for room in entered:
        evict(user_id, room)
    for room_id in chat_ids:
        evict_from_chat_room(user_id, room_id)


def evict_outsiders(topic_id: Any) -> int:
    """After a topic turned private (or was deleted): everyone whose sockets entered its
    live rooms and who may no longer read it leaves all of them. Returns how many."""

    topic_oid = to_object_id(topic_id)
    evicted = 0
    for user_id in _topic_audience(topic_oid):
        user = User().find_active(user_id) if ObjectId.is_valid(user_id) else None
        try:
            if user is not None:
                topic_access.get_readable_topic(user, topic_oid, topic_access.ACCESS_FIELDS)
                continue
        except APIError:
            pass
        evict_from_topic(user_id, topic_oid)
        evicted += 1
    return evicted


def _topic_audience(topic_oid: ObjectId) -> list[str]:
    client = get_redis()
    if client is not None:
        return [uid.decode() if isinstance(uid, bytes) else uid
                for uid in client.smembers(f"{LIVE_PREFIX}{topic_oid}")]
    # Without Redis there is one process: its own tables say who is in the topic's room
    # and chat rooms (post rooms are left when their sockets leave or close).
    manager = socketio.server.manager if socketio.server else None
    if manager is None:
        return []
    rooms = [topic_room(topic_oid)] + [chat_room(r) for r in Room().topic_room_ids(topic_oid)]
    environ = socketio.server.get_environ
    users = {((environ(sid, realtime.NAMESPACE) or {}).get(SOCKET_IDENTITY) or {}).get("user_id")
             for room in rooms for sid, _ in manager.get_participants(realtime.NAMESPACE, room)}
    return [uid for uid in users if uid]


# Session end

def end_sockets(user_id: Any, reason: str, only: str | None = None,
                keep: Iterable[str | None] = (), epoch: int | None = None) -> int:
    """Send `force_logout {reason}` to, then disconnect, the sockets of `user_id` opened
    with the origin `only` (one session or token), or else every socket but those opened
    with an origin in `keep`. Call after the write that ended the sessions; the sockets of
    kept origins carry on under the new session `epoch` (utils.user_versions.adopt)."""
    if socketio.server is None:
        return 0
    user_id = str(user_id)
    kept = {origin for origin in keep if origin}
    sids = user_sids(user_id)
    if only is not None or kept:
        origins = _origins(user_id, sids)
        sids = [sid for sid in sids if (origins[sid] == only if only is not None
                                        else origins[sid] not in kept)]
    if kept and epoch is not None:
        user_versions.adopt(user_id, kept, epoch)
    # The reason first, then the disconnect, on the process that holds each socket.
    realtime.emit_then_disconnect("force_logout", {"reason": reason}, sids)
    return len(sids)

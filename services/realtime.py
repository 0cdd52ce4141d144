"""Realtime plumbing shared by every area: emitting events, the registry of live
connections, taking users out of Socket.IO rooms and logging them out, on every process.

Two modes, chosen by config:
- With `SOCKETIO_MESSAGE_QUEUE` (follows `REDIS_URL`), events are published on the
  Socket.IO Redis channel through a write-only manager, so every process, this one
  included, delivers them in the order they were published. The connection registry
  lives in Redis: `rt:conns:<user_id>` (sorted set sid -> expiry), `rt:online` (user_id ->
  latest expiry) and `rt:host:<host_id>` (sid -> user_id of this process, refreshed by its
  heartbeat). A process that dies stops its heartbeat; its connections expire and the
  sweep of any live process reports those users offline.
- Without a queue (one process), Socket.IO's own manager is the registry: the sockets in
  `user_<id>` are exactly that user's connections.

Nothing here keeps socket state in a process-local dict.
"""
from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable
from typing import Any

import socketio as socketio_lib
from flask import Flask, current_app

from utils import clock
from utils.extensions import socketio
from utils.process_clients import shared_client
from utils.redis_client import get_redis

log = logging.getLogger(__name__)

NAMESPACE = "/"
# Flask-SocketIO's default channel; the write-only publisher must use the same one.
CHANNEL = "flask-socketio"
CONNS_PREFIX = "rt:conns:"
ONLINE_KEY = "rt:online"
HOST_PREFIX = "rt:host:"
TYPING_KEY = "rt:typing"

# Per-process identity and maintenance loop, keyed by pid so a forked worker never reuses
# its parent's (the same reason utils.process_clients keys clients by pid).
_host_ids: dict[int, str] = {}
_maintenance_started: set[tuple[int, str]] = set()


def user_room(user_id: Any) -> str:
    return f"user_{user_id}"


def host_id() -> str:
    pid = os.getpid()
    if pid not in _host_ids:
        _host_ids[pid] = uuid.uuid4().hex
    return _host_ids[pid]


def multi_process() -> bool:
    return bool(current_app.config.get("SOCKETIO_MESSAGE_QUEUE"))


def _publisher() -> socketio_lib.RedisManager | None:
    url = current_app.config.get("SOCKETIO_MESSAGE_QUEUE")
    if not url:
        return None
    return shared_client("socketio-publisher", (url,), lambda: socketio_lib.RedisManager(
        url, channel=CHANNEL, write_only=True))


# Emitting

def emit(event: str, data: Any, to: str | list[str], skip_sid: str | None = None) -> None:
    """Send `event` to the rooms in `to`, once per socket however many of them it is in.

    With a queue, even local sockets get the event through the Redis channel, so the
    order in which events are published is the order every socket on every process sees
    (the chat send path publishes under a per-room lock, in seq order)."""
    publisher = _publisher()
    if publisher is not None:
        publisher.emit(event, data, namespace=NAMESPACE, room=to, skip_sid=skip_sid)
    else:
        socketio.emit(event, data, to=to, skip_sid=skip_sid, namespace=NAMESPACE)


# Connection registry

_CONNECT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[5])
return redis.call('ZADD', KEYS[2], 'GT', ARGV[4], ARGV[2])
"""

_DISCONNECT = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZCARD', KEYS[1]) == 0 then
  return redis.call('ZREM', KEYS[2], ARGV[2])
end
return 0
"""

# Keys are built inside the scripts below: Roundtable uses one Redis, not a cluster.
_HEARTBEAT = """
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local changed = redis.call('ZADD', ARGV[3] .. entries[i + 1], 'XX', 'CH', ARGV[1], entries[i])
  if changed == 1 then redis.call('ZADD', KEYS[2], 'GT', ARGV[1], entries[i + 1]) end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return #entries / 2
"""

_SWEEP = """
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
local gone = {}
for _, uid in ipairs(stale) do
  local key = ARGV[2] .. uid
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  local best = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #best == 0 then
    redis.call('ZREM', KEYS[1], uid)
    table.insert(gone, uid)
  else
    redis.call('ZADD', KEYS[1], best[2], uid)
  end
end
return gone
"""


def _ttl() -> float:
    return float(current_app.config["PRESENCE_TTL_SECONDS"])


def register_connection(user_id: str, sid: str) -> bool:
    """Record a new connection; True when it is the user's first (they came online)."""
    client = get_redis()
    if client is None or not multi_process():
        return len(local_sids(user_id, exclude=sid)) == 0
    now = clock.time()
    added = client.eval(_CONNECT, 3, CONNS_PREFIX + user_id, ONLINE_KEY,
                        HOST_PREFIX + host_id(), sid, user_id, now, now + _ttl(),
                        int(_ttl() * 3))
    return bool(added)


def unregister_connection(user_id: str, sid: str) -> bool:
    """Forget a connection; True when it was the user's last (they went offline)."""
    client = get_redis()
    if client is None or not multi_process():
        return len(local_sids(user_id, exclude=sid)) == 0
    gone = client.eval(_DISCONNECT, 3, CONNS_PREFIX + user_id, ONLINE_KEY,
                       HOST_PREFIX + host_id(), sid, user_id, clock.time())
    return bool(gone)


def heartbeat() -> int:
    """Push the expiry of every connection this process holds; returns how many."""
    client = get_redis()
    if client is None or not multi_process():
        return 0
    return int(client.eval(_HEARTBEAT, 2, HOST_PREFIX + host_id(), ONLINE_KEY,
                           clock.time() + _ttl(), int(_ttl() * 3), CONNS_PREFIX))


def sweep_offline() -> list[str]:
    """Users whose every connection expired (a process died); each is returned by
    exactly one sweeping process, which announces them offline."""
    client = get_redis()
    if client is None or not multi_process():
        return []
    gone = client.eval(_SWEEP, 1, ONLINE_KEY, clock.time(), CONNS_PREFIX)
    return [uid.decode() if isinstance(uid, bytes) else uid for uid in gone]


def local_sids(user_id: str, exclude: str | None = None) -> list[str]:
    """Sockets of `user_id` connected to this process (Socket.IO's own room table)."""
    manager = socketio.server.manager if socketio.server else None
    if manager is None:
        return []
    return [sid for sid, _ in manager.get_participants(NAMESPACE, user_room(user_id))
            if sid != exclude]


def user_sids(user_id: str) -> list[str]:
    """Every live socket id of `user_id`, on every process."""
    client = get_redis()
    if client is None or not multi_process():
        return local_sids(user_id)
    sids = client.zrangebyscore(CONNS_PREFIX + user_id, clock.time(), "+inf")
    return [sid.decode() for sid in sids]


def is_online(user_ids: Iterable[str]) -> dict[str, bool]:
    ids = list(dict.fromkeys(str(uid) for uid in user_ids))
    client = get_redis()
    if client is None or not multi_process():
        return {uid: bool(local_sids(uid)) for uid in ids}
    if not ids:
        return {}
    scores = client.zmscore(ONLINE_KEY, ids)
    now = clock.time()
    return {uid: score is not None and score > now for uid, score in zip(ids, scores,
                                                                        strict=True)}


# Removal and logout, effective on every process

def remove_user_from_room(user_id: Any, room: str) -> int:
    """Take every socket of `user_id` out of the Socket.IO room `room` (e.g. `topic_<id>`
    or `chat_room_<id>`), whichever process holds it. Returns how many sockets."""
    sids = user_sids(str(user_id))
    for sid in sids:
        # The Redis manager leaves locally or publishes the request to the owner.
        socketio.server.leave_room(sid, room, namespace=NAMESPACE)
    return len(sids)


def force_logout(user_id: Any, reason: str) -> int:
    """Tell every socket of `user_id` why (`force_logout {reason}`) and disconnect it.
    Call after the write that ended the sessions (ban, password reset, deletion)."""
    if socketio.server is None:
        return 0
    emit("force_logout", {"reason": reason}, to=user_room(user_id))
    sids = user_sids(str(user_id))
    for sid in sids:
        socketio.server.disconnect(sid, namespace=NAMESPACE)
    return len(sids)


# Typing state: who types where, expiring without renewal

_TYPING_SWEEP = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
for _, member in ipairs(expired) do redis.call('ZREM', KEYS[1], member) end
return expired
"""


def set_typing(room_id: str, user_id: str, typing: bool) -> bool:
    """Record the state; True when it changed (so the room hears about it). Without Redis
    every call counts as a change and clients expire typing by `expires_in`."""
    client = get_redis()
    if client is None:
        return True
    member = f"{room_id}|{user_id}"
    if typing:
        expiry = clock.time() + current_app.config["CHAT_TYPING_EXPIRY_SECONDS"]
        return bool(client.zadd(TYPING_KEY, {member: expiry}))
    return bool(client.zrem(TYPING_KEY, member))


def sweep_typing() -> list[tuple[str, str]]:
    """(room_id, user_id) whose typing expired; each returned by one process only."""
    client = get_redis()
    if client is None:
        return []
    expired = client.eval(_TYPING_SWEEP, 1, TYPING_KEY, clock.time())
    pairs = []
    for member in expired:
        room_id, _, user_id = (member.decode() if isinstance(member, bytes)
                               else member).partition("|")
        pairs.append((room_id, user_id))
    return pairs


# Maintenance: heartbeat, presence sweep and typing expiry, one loop per process

def start_maintenance(app: Flask) -> None:
    """Start this process's loop once (on its first connection). Off when
    `REALTIME_MAINTENANCE` is false, e.g. in tests that drive the steps by hand."""
    if not app.config["REALTIME_MAINTENANCE"] or get_redis(app) is None:
        return
    key = (os.getpid(), app.config["MONGO_DB_NAME"])
    if key in _maintenance_started:
        return
    _maintenance_started.add(key)
    socketio.start_background_task(_maintenance_loop, app)


def _maintenance_loop(app: Flask) -> None:
    from services import presence

    interval = float(app.config["REALTIME_SWEEP_SECONDS"])
    every = max(1, round(float(app.config["PRESENCE_HEARTBEAT_SECONDS"]) / interval))
    tick = 0
    while True:
        try:
            with app.app_context():
                presence.expire_typing()
                if tick % every == 0:
                    heartbeat()
                    for user_id in sweep_offline():
                        presence.announce(user_id, online=False)
        except Exception:
            # A Redis or database outage must not end the loop: the next tick retries.
            log.exception("realtime maintenance tick failed")
        tick += 1
        socketio.sleep(interval)

"""The Redis registry of live connections (multi-process mode): `rt:conns:<user_id>`
(sorted set sid -> expiry), `rt:online` (user_id -> latest expiry) and `rt:host:<host_id>`
(sid -> user_id of this process, refreshed by its heartbeat). A process that dies stops
its heartbeat; its connections expire and the sweep of any live process reports those
users offline. Without a queue Socket.IO's own manager is the registry
(services.platform.live_rooms reads it)."""
from __future__ import annotations

from flask import current_app

from services.platform.realtime import host_id, multi_process
from utils import clock
from utils.redis_client import get_redis

CONNS_PREFIX = "rt:conns:"
ONLINE_KEY = "rt:online"
HOST_PREFIX = "rt:host:"


_CONNECT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[6])
    and not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return -1
end
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


def register_connection(user_id: str, sid: str, limit: int) -> bool | None:
    """Record a new connection (multi-process mode): True when it is the user's first
    (they came online), None when the user already has `limit` live connections (then
    nothing is recorded). Counting and adding are one step, so racing connects cannot
    both take the last place."""
    now = clock.time()
    added = get_redis().eval(_CONNECT, 3, CONNS_PREFIX + user_id, ONLINE_KEY,
                             HOST_PREFIX + host_id(), sid, user_id, now, now + _ttl(),
                             int(_ttl() * 3), limit)
    return None if added == -1 else bool(added)


def unregister_connection(user_id: str, sid: str) -> bool:
    """Forget a connection (multi-process mode); True when it was the user's last."""
    gone = get_redis().eval(_DISCONNECT, 3, CONNS_PREFIX + user_id, ONLINE_KEY,
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


def registered_sids(user_id: str) -> list[str]:
    """Every live socket id of `user_id`, on every process (multi-process mode)."""
    sids = get_redis().zrangebyscore(CONNS_PREFIX + user_id, clock.time(), "+inf")
    return [sid.decode() for sid in sids]


def registered_online(ids: list[str]) -> dict[str, bool]:
    """Which of `ids` have a live connection (multi-process mode)."""
    if not ids:
        return {}
    scores = get_redis().zmscore(ONLINE_KEY, ids)
    now = clock.time()
    return {uid: score is not None and score > now for uid, score in zip(ids, scores,
                                                                        strict=True)}

"""Typing state: who types where, expiring without renewal (a Redis sorted set)."""
from __future__ import annotations

from flask import current_app

from utils import clock
from utils.redis_client import get_redis

TYPING_KEY = "rt:typing"

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

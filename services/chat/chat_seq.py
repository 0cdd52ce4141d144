"""A message's seq: claimed by its insert, proved by the room's conditional advance.

A send inserts its message at a guessed seq under the unique `(room_id, seq)` index (a
taken seq is refused), then moves the room from exactly `last_seq: seq - 1` to `seq`.
Only that move keeps the message, so whatever the guess said, a kept seq follows the
room's last one: a guess ahead of the room (one that outlived the data it came from, as
after a database restored under a running server) misses, the message is taken back,
and the send retries after the room's true last seq (`settle`).

Messages above `last_seq` that no move covered (a send that crashed between its insert
and its move, or one still running past its lock) are adopted by the next `settle` when
they follow the room's last seq without a hole. An adopted message can no longer be
taken back by its sender, so the room is never moved over a message that then goes.
"""
from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from typing import Any

from bson import ObjectId
from redis.exceptions import RedisError

from models.message import Message
from models.room import Room
from models.room_member import RoomMember
from services.chat.chat_views import room_snapshot
from utils.errors import BadRequest

log = logging.getLogger(__name__)

SLOTS = 64  # the sends of one room in a process share a slot, chosen by the room id
ATTEMPTS = 20
SETTLE_BATCH = 100  # messages above the room's last seq looked at per settle round

# Beside each slot's ordering lock (services/chat/chat_send.py), (room_id, seq) of the last
# message its holder stored. Without a message queue this process is the only sender,
# so the next sender of that room tries the seq after it instead of reading the room.
_last_stored: list[tuple[ObjectId, int] | None] = [None] * SLOTS


def slot(room_id: ObjectId) -> int:
    return zlib.crc32(room_id.binary) % SLOTS


def store(room: dict[str, Any], author_id: ObjectId, client_id: str,
          build: Callable[[int], dict[str, Any]], shared: Any) -> tuple[dict[str, Any], bool]:
    """(message, created): the message `build(seq)` stored at the room's next seq, or
    the one this author already stored under `client_id`. Called under the room's
    ordering lock (`shared`: the Redis client holding it, None with one process)."""
    messages, room_id = Message(), room["_id"]
    seq = _guess(room_id, shared)
    for _ in range(ATTEMPTS):
        document = build(seq)
        if not messages.insert_unless_taken(document):
            existing = messages.find_by_client_id(room_id, author_id, client_id)
            if existing is not None:
                return existing, False  # a resend: stored before, or by a concurrent one
            seq = settle(room_id) + 1  # the seq is taken: the guess was behind
            continue
        # Before the room covers the message, so a concurrent mark_read cannot pass it
        # without seeing it counted as mine.
        counted = _count_own(room, author_id, seq)
        _count_quiet(document, 1)
        # The proof: the room moves onto this seq only from the one right below it.
        # A miss means the guess was ahead of the room, unless a settle adopted the
        # message meanwhile (then it stays, and that settle moves the room over it).
        if (Room().advance(room_id, seq - 1, seq, room_snapshot(document))
                or not messages.take_back(document["_id"])):
            _remember(room_id, seq, shared)
            return document, True
        if counted:
            RoomMember().uncount_own_sent(room_id, author_id, seq)
        _count_quiet(document, -1)
        log.info("room %s: seq %s was ahead of the room; retrying after its last", room_id,
                 seq)
        seq = settle(room_id) + 1
    raise BadRequest("The room is too busy; send again.")


def settle(room_id: ObjectId) -> int:
    """The room's true last seq: its `last_seq`, first moved over the messages stored
    right above it without a hole that no move covered yet."""
    rooms, messages = Room(), Message()
    for _ in range(ATTEMPTS):
        last = rooms.last_seq(room_id)
        run: list[dict[str, Any]] = []
        for message in messages.above(room_id, last, SETTLE_BATCH):
            if message["seq"] != last + len(run) + 1:
                break  # a hole: what lies above it is a wrong guess its sender takes back
            run.append(message)
        if not run:
            return last
        top = run[-1]
        shown = [room_snapshot(m) for m in run if not m.get("thread_quiet")]
        # Adopted before the move, so none of them is taken back under it; all of them
        # still there, or a sender took one back first and we look again.
        if messages.adopt(room_id, last, top["seq"]) == len(run):
            rooms.advance(room_id, last, top["seq"], shown[-1] if shown else None)
    raise BadRequest("The room is too busy; send again.")


def _count_own(room: dict[str, Any], author_id: ObjectId, seq: int) -> bool:
    members = RoomMember()
    if members.count_own_sent(room["_id"], author_id, seq):
        return True
    if room["kind"] != "topic":
        return False
    # Writing in a topic room makes it one of "my rooms", read up to before this send.
    members.ensure(room["_id"], author_id, last_read_seq=room["last_seq"])
    return members.count_own_sent(room["_id"], author_id, seq)


def _count_quiet(document: dict[str, Any], step: int) -> None:
    """A thread-only reply is not unread for members not following its thread
    (services/chat/chat_threads.py); counted before the room covers it, as own sends are."""
    if document.get("thread_quiet"):
        RoomMember().count_quiet(document["room_id"], document["seq"],
                                 document["thread_hearers"], step)


def _last_seq_key(room_id: ObjectId) -> str:
    return f"rt:roomseq:{room_id}"


def _guess(room_id: ObjectId, shared: Any) -> int:
    """The next seq to try: after the one the previous lock holder stored (this
    process's, or with several processes the one it left in Redis beside the lock),
    else after the room's `last_seq`. Only a guess: `store` proves it or retries."""
    if shared is None:
        known = _last_stored[slot(room_id)]
        if known is not None and known[0] == room_id:
            return known[1] + 1
    else:
        try:
            left = shared.get(_last_seq_key(room_id))
        except RedisError:
            left = None
        if left is not None:
            return int(left) + 1
    return Room().last_seq(room_id) + 1


def _remember(room_id: ObjectId, seq: int, shared: Any) -> None:
    """For the next holder of the room's lock: in this process, and with several
    processes in Redis beside the lock (a Redis round trip instead of a room read)."""
    _last_stored[slot(room_id)] = (room_id, seq)
    if shared is None:
        return
    try:
        shared.set(_last_seq_key(room_id), seq, ex=86400)
    except RedisError:  # the next holder reads the room instead
        log.warning("room %s: could not leave its last seq in Redis", room_id)

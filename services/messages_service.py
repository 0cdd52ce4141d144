"""Rooms, messages, read cursors and unread counts; the REST routes and the Socket.IO
handlers both call these functions.

Access follows one rule (zulip's `access_message`): a room the user may not read is
"not found", whatever the reason; a room they may read but not write answers
"forbidden". Events are emitted only after the write they describe succeeded.

Sending claims the next seq by inserting the message under the unique `(room_id, seq)`
index, so a failed insert claims nothing and seqs have no gaps or repeats even without
the lock. The per-room lock (Redis with a message queue, else a process lock) makes the
sends of one room publish their events in seq order on every process.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import unicodedata
import zlib
from collections.abc import Iterator
from typing import Any

from bson import ObjectId
from flask import current_app
from pymongo.errors import DuplicateKeyError
from redis.exceptions import LockError

from models.base import id_str, to_object_id, utcnow
from models.message import Message
from models.room import Room, direct_key
from models.room_member import RoomMember
from models.user import User
from services import audit_service, chat_limits, live_rooms, realtime
from services.live_rooms import chat_room, user_room
from services.shapes.messages import MESSAGE, REACTIONS, ROOM, SNAPSHOT
from services.users_service import are_friends, is_blocked_between
from utils import content_filter
from utils.errors import (
    APIError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from utils.redis_client import get_redis

log = logging.getLogger(__name__)

MAX_GROUP_MEMBERS = 100
SNAPSHOT_CHARS = 200
# Sends of one room in this process queue on one of these, chosen by hashing the room
# id (a fixed set, so nothing grows with the number of rooms).
_process_locks = [threading.Lock() for _ in range(64)]
# Beside each lock, (room_id, seq) of the last message its holder stored. Without a
# message queue this process is the only sender, so the next sender of that room tries
# the seq after it instead of reading the room. It is only a guess: the unique
# (room_id, seq) index refuses a taken seq, and the sender then reads the highest one.
_last_stored: list[tuple[ObjectId, int] | None] = [None] * len(_process_locks)
# At most this many sends of this process talk to the database at once. Under a burst,
# hundreds of handlers would otherwise queue on MongoClient's pool (100 connections), and
# the sender holding a room's ordering lock would wait behind them for its own connection,
# past the lock's expiry. The rest wait here, holding nothing.
_send_slots = threading.BoundedSemaphore(16)


# Serialization

def _snapshot(message: dict[str, Any]) -> dict[str, Any]:
    return {"id": message["_id"], "seq": message["seq"], "author_id": message["author_id"],
            "body": message["body"][:SNAPSHOT_CHARS], "created_at": message["created_at"],
            "deleted": message["deleted"]}


def serialize_snapshot(snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
    return SNAPSHOT.dump(snapshot) if snapshot else None


def serialize_message(message: dict[str, Any], author: dict[str, Any] | None) -> dict[str, Any]:
    return MESSAGE.dump({**message, "author": author, "reactions": _reactions(message)})


def _reactions(message: dict[str, Any]) -> dict[str, list[str]]:
    """Emojis nobody reacts with any more are left out."""
    return {emoji: users for emoji, users in (message.get("reactions") or {}).items() if users}


def serialize_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    authors = {u["_id"]: u for u in User().collection.find(
        {"_id": {"$in": list({m["author_id"] for m in messages})}})}
    return [serialize_message(m, authors.get(m["author_id"])) for m in messages]


def unread_of(room: dict[str, Any], member: dict[str, Any] | None) -> int:
    if member is None:
        return 0
    return max(0, room["last_seq"] - member["last_read_seq"] - member["own_after_read"])


def serialize_room(room: dict[str, Any], member: dict[str, Any] | None,
                   people: dict[ObjectId, dict[str, Any]] | None = None) -> dict[str, Any]:
    if people is None:
        people = _users_by_id(room["member_ids"])
    return ROOM.dump({
        **room, "description": room.get("description") or "",
        "members": [people[uid] for uid in room["member_ids"] if uid in people],
        "last_message": room["last_message"] or None,
        "unread_count": unread_of(room, member),
        "last_read_seq": member["last_read_seq"] if member else 0})


def _users_by_id(ids: list[ObjectId]) -> dict[ObjectId, dict[str, Any]]:
    return {u["_id"]: u for u in User().collection.find({"_id": {"$in": list(ids)}})}


# Access

def _topics():
    # Topic rooms need the topics area; imported where used so the two areas stay apart.
    from services import topics_service

    return topics_service


def readable_room(user: dict[str, Any], room_id: Any) -> dict[str, Any]:
    """The room if `user` may read it, else NotFound; Forbidden only for a user banned
    from the (readable) topic of a topic room: a ban ends reading its chat, history and
    catch-up alike, not only live delivery."""
    room = Room().find_by_id(room_id)
    if room is None:
        raise NotFound("Room not found.")
    if room["kind"] == "topic":
        with _room_not_found():
            topic = _topics().get_readable_topic(user, room["topic_id"],
                                                 _topics().ACCESS_FIELDS)
        _topics().require_not_banned(user, topic)
    elif user["_id"] not in room["member_ids"]:
        raise NotFound("Room not found.")
    return room


@contextlib.contextmanager
def _room_not_found() -> Iterator[None]:
    """A topic room of a topic the user may not read answers like a missing room: "Topic
    not found." would tell that the room exists, and that it is a topic's."""
    try:
        yield
    except NotFound:
        raise NotFound("Room not found.") from None


def writable_room(user: dict[str, Any], room_id: Any) -> dict[str, Any]:
    """The room if `user` may post in it: NotFound when they may not even read it,
    Forbidden when they may read but not write (banned, blocked, not a member)."""
    room = Room().find_by_id(room_id)
    if room is None:
        raise NotFound("Room not found.")
    if room["kind"] == "topic":
        # Read and write access in one pass: the topic is read once, not twice.
        with _room_not_found():
            _topics().require_participant(user, room["topic_id"])
        return room
    if user["_id"] not in room["member_ids"]:
        raise NotFound("Room not found.")
    if room["kind"] == "direct":
        # Checked on every write, not only when the room was opened: a block or an
        # `allow_messages_from` changed since then applies to the next message.
        other = next((uid for uid in room["member_ids"] if uid != user["_id"]), None)
        partner = User().find_active(other) if other else None
        if partner is None:
            raise Forbidden("You cannot message this user.")
        _check_can_message(user, partner)
    return room


def _can_moderate_room(user: dict[str, Any], room: dict[str, Any]) -> bool:
    if user.get("role") in ("moderator", "admin"):
        return True
    if room["kind"] == "topic":
        topics = _topics()
        return topics.can_moderate(user, topics.get_readable_topic(user, room["topic_id"]))
    return room["kind"] == "group" and room["created_by"] == user["_id"]


# Rooms

def _check_can_message(sender: dict[str, Any], recipient: dict[str, Any]) -> None:
    """Forbidden unless `recipient` accepts messages from `sender`: no block either way,
    and their `allow_messages_from` (everyone, friends, nobody) lets `sender` in. Applies
    to opening a direct room, every write into one, and being put in a group."""
    if is_blocked_between(sender["_id"], recipient["_id"]):
        raise Forbidden("You cannot message this user.")
    policy = (recipient.get("settings") or {}).get("allow_messages_from", "everyone")
    if policy == "nobody" or (policy == "friends"
                              and not are_friends(sender["_id"], recipient["_id"])):
        raise Forbidden("This user does not accept messages from you.")


def _active_user(user_id: Any) -> dict[str, Any]:
    found = User().find_active(to_object_id(user_id, "User"))
    if found is None:
        raise NotFound("User not found.")
    return found


def open_direct(user: dict[str, Any], other_id: str) -> tuple[dict[str, Any], bool]:
    """The one direct room of the pair, created on first use; (room, created)."""
    other = _active_user(other_id)
    if other["_id"] == user["_id"]:
        raise BadRequest("You cannot message yourself.")
    _check_can_message(user, other)
    rooms, key = Room(), direct_key(user["_id"], other["_id"])
    room = rooms.find_by_key(key)
    if room is not None:
        return room, False
    try:
        room, created = rooms.insert(_direct_document(user["_id"], other["_id"], key)), True
    except Conflict:
        room, created = rooms.find_by_key(key), False  # the other side created it first
    for member_id in room["member_ids"]:
        RoomMember().ensure(room["_id"], member_id)
    return room, created


def _direct_document(a: ObjectId, b: ObjectId, key: str) -> dict[str, Any]:
    now = utcnow()
    return {"kind": "direct", "key": key, "title": None, "description": "", "topic_id": None,
            "created_by": a, "member_ids": [a, b], "last_seq": 0, "last_message": None,
            "last_message_at": None, "activity_at": now, "created_at": now, "updated_at": now}


def create_group(user: dict[str, Any], title: str, member_ids: list[str]) -> dict[str, Any]:
    members = [user]
    for member_id in dict.fromkeys(member_ids):
        other = _active_user(member_id)
        if other["_id"] == user["_id"]:
            continue
        _check_can_message(user, other)
        members.append(other)
    if len(members) > MAX_GROUP_MEMBERS:
        raise ValidationFailed(details={"member_ids": [
            f"A group has at most {MAX_GROUP_MEMBERS} members."]})
    room = Room().create("group", user["_id"], [m["_id"] for m in members], title=title.strip())
    for member in members:
        RoomMember().ensure(room["_id"], member["_id"])
    targets = [user_room(m["_id"]) for m in members]
    realtime.emit("room_updated", serialize_room(room, None, {m["_id"]: m for m in members}),
                  to=targets)
    return room


def create_topic_room(user: dict[str, Any], topic_id: str, name: str,
                      description: str) -> dict[str, Any]:
    """Topic members create chat rooms; whoever may read the topic may read them."""
    topics = _topics()
    topic = topics.get_readable_topic(user, topic_id)
    topics.require_participant(user, topic["_id"])
    room = Room().create("topic", user["_id"], [], title=name.strip(),
                         description=description.strip(), topic_id=topic["_id"])
    RoomMember().ensure(room["_id"], user["_id"])
    realtime.emit("room_updated", serialize_room(room, None, {}),
                  to=live_rooms.topic_room(topic["_id"]))
    return room


def list_topic_rooms(user: dict[str, Any], topic_id: str, limit: int,
                     cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    from utils.pagination import paginate

    topic = _topics().get_readable_topic(user, topic_id)
    return paginate(Room().collection, {"kind": "topic", "topic_id": topic["_id"]},
                    [("activity_at", -1), ("_id", -1)], limit, cursor)


def room_view(user: dict[str, Any], room: dict[str, Any]) -> dict[str, Any]:
    return serialize_room(room, RoomMember().find(room["_id"], user["_id"]))


def rooms_view(user: dict[str, Any], rooms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    members = RoomMember().of_user_in(user["_id"], [r["_id"] for r in rooms])
    people = _users_by_id(list({uid for r in rooms for uid in r["member_ids"]}))
    return [serialize_room(r, members.get(r["_id"]), people) for r in rooms]


def list_my_rooms(user: dict[str, Any], limit: int,
                  cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Rooms I belong to (or joined, for topic rooms), newest activity first."""
    from utils.pagination import paginate

    room_ids = RoomMember().room_ids_of(user["_id"])
    return paginate(Room().collection, {"_id": {"$in": room_ids}},
                    [("activity_at", -1), ("_id", -1)], limit, cursor)


def update_room(user: dict[str, Any], room_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    room = readable_room(user, room_id)
    if room["kind"] == "direct" or not _can_moderate_room(user, room):
        raise Forbidden("You may not change this room.")
    updates = {k: v.strip() for k, v in changes.items() if k in ("title", "description")}
    if not updates:
        return room
    room = Room().update_fields(room["_id"], updates)
    _announce_room(room)
    return room


def _announce_room(room: dict[str, Any], extra: list[str] | None = None) -> None:
    targets = [chat_room(room["_id"])] + [user_room(u) for u in room["member_ids"]]
    realtime.emit("room_updated", serialize_room(room, None), to=targets + (extra or []))


def _group_for_manager(user: dict[str, Any], room_id: str) -> dict[str, Any]:
    room = readable_room(user, room_id)
    if room["kind"] != "group":
        raise BadRequest("Only group conversations have managed members.")
    if room["created_by"] != user["_id"]:
        raise Forbidden("Only the creator manages the members.")
    return room


def add_member(user: dict[str, Any], room_id: str, target_id: str) -> dict[str, Any]:
    room = _group_for_manager(user, room_id)
    target = _active_user(target_id)
    if target["_id"] not in room["member_ids"]:
        _check_can_message(user, target)
    if target["_id"] not in room["member_ids"] and len(room["member_ids"]) >= MAX_GROUP_MEMBERS:
        raise BadRequest(f"A group has at most {MAX_GROUP_MEMBERS} members.")
    # New members start reading at the present: earlier history is not "unread" for them.
    RoomMember().ensure(room["_id"], target["_id"], last_read_seq=room["last_seq"])
    Room().add_member(room["_id"], target["_id"])
    room = Room().get(room["_id"])
    _announce_room(room)
    return room


def remove_member(user: dict[str, Any], room_id: str, target_id: str) -> dict[str, Any]:
    room = _group_for_manager(user, room_id)
    target_oid = to_object_id(target_id, "Member")
    if target_oid == user["_id"]:
        raise BadRequest("Use leave to leave the conversation.")
    if target_oid not in room["member_ids"]:
        raise NotFound("Member not found.")
    _drop_member(room, target_oid)
    return Room().get(room["_id"])


def leave_room(user: dict[str, Any], room_id: str) -> None:
    room = readable_room(user, room_id)
    if room["kind"] == "direct":
        raise BadRequest("A direct conversation cannot be left.")
    if room["kind"] == "topic":
        RoomMember().remove(room["_id"], user["_id"])
        live_rooms.evict(user["_id"], chat_room(room["_id"]))
        return
    _drop_member(room, user["_id"])
    if room["created_by"] == user["_id"]:
        # The group keeps a manager: the longest-standing remaining member.
        remaining = [uid for uid in room["member_ids"] if uid != user["_id"]]
        if remaining:
            Room().update_fields(room["_id"], {"created_by": remaining[0]})


def _drop_member(room: dict[str, Any], user_id: ObjectId) -> None:
    """Take `user_id` out of a group: stored membership, then every socket, then tell
    them and the others."""
    Room().remove_member(room["_id"], user_id)
    RoomMember().remove(room["_id"], user_id)
    live_rooms.evict_from_chat_room(user_id, room["_id"])
    _announce_room(Room().get(room["_id"]))


# Messages

def _clean_body(body: str, author: dict[str, Any]) -> str:
    body = body.strip()
    limit = current_app.config["CHAT_MESSAGE_MAX_LENGTH"]
    if not body or len(body) > limit:
        raise ValidationFailed(details={"body": [f"Use 1-{limit} characters."]})
    # The text to store (maybe masked), or ContentRejected; a fully masked body stays.
    return content_filter.apply(body, "message", author)


def _reply_target(room: dict[str, Any], reply_to: str | None) -> ObjectId | None:
    if not reply_to:
        return None
    target = Message().find_by_id(reply_to)
    if target is None or target["room_id"] != room["_id"]:
        raise ValidationFailed(details={"reply_to": ["No such message in this room."]})
    return target["_id"]


def _slot(room_id: ObjectId) -> int:
    return zlib.crc32(room_id.binary) % len(_process_locks)


@contextlib.contextmanager
def _ordered(room_id: ObjectId) -> Iterator[None]:
    """Serialize the sends of one room so their events are published in seq order."""
    # Senders in this process queue on a process lock first, so at most one of them per
    # process polls the Redis lock (hundreds of polling greenlets would swamp Redis).
    # Without a message queue this process emits straight to its own sockets and no
    # other process reaches them, so the process lock alone orders what they see.
    with _process_locks[_slot(room_id)]:
        client = get_redis() if realtime.multi_process() else None
        if client is None:
            yield
        else:
            with _redis_lock(client, room_id):
                yield


@contextlib.contextmanager
def _redis_lock(client: Any, room_id: ObjectId) -> Iterator[None]:
    seconds = current_app.config["CHAT_ORDER_LOCK_SECONDS"]
    lock = client.lock(f"rt:roomlock:{room_id}", timeout=seconds, sleep=0.002,
                       blocking_timeout=seconds * 2)
    acquired = lock.acquire()
    if not acquired:
        # Seqs stay unique and gap-free without the lock; only the event order may suffer.
        log.warning("room %s ordering lock not acquired; sending unordered", room_id)
    try:
        yield
    finally:
        if acquired:
            try:
                lock.release()
            except LockError:
                # The lock expired while held: another sender may have published in
                # between, so this room's order may have slipped once. Say so.
                log.warning("room %s ordering lock expired before release", room_id)


def send_message(user: dict[str, Any], room_id: str, body: str, client_id: str,
                 reply_to: str | None = None) -> tuple[dict[str, Any], bool]:
    """Store and deliver a message; (message, created). The same client_id again
    returns the stored message and creates nothing."""
    with _send_slots:
        return _send_message(user, room_id, body, client_id, reply_to)


def _send_message(user: dict[str, Any], room_id: str, body: str, client_id: str,
                  reply_to: str | None) -> tuple[dict[str, Any], bool]:
    room = writable_room(user, room_id)
    # A resend is recognised by the unique (room, author, client_id) index when its
    # insert fails, so a new message does not pay a lookup first. A resend refused
    # here (over the flood limit, a body no longer accepted) still gets its message.
    try:
        body = _clean_body(body, user)
        reply = _reply_target(room, reply_to)
        chat_limits.hit("send", str(user["_id"]), "CHAT_RATE_LIMIT",
                        "Too many messages; slow down.")
    except APIError:
        existing = Message().find_by_client_id(room["_id"], user["_id"], client_id)
        if existing is None:
            raise
        return serialize_message(existing, user), False
    with _ordered(room["_id"]):
        message, created = _store(room, user["_id"], body, client_id, reply)
        if created:
            _deliver(room, message, user)
    if created and room["kind"] == "topic" and _topic_activity_stale(room, message):
        _topics().touch_activity(room["topic_id"], message["created_at"])
    return serialize_message(message, user), created


def post_system_message(room_id: ObjectId, author_id: ObjectId, body: str, client_id: str,
                        system: dict[str, Any]) -> dict[str, Any] | None:
    """A message the server writes in a room on a user's behalf (a call started or
    ended), delivered like any other. No content filter or flood limit applies; the
    same `client_id` twice stores it once (two processes sweeping the same call)."""
    room, author = Room().find_by_id(room_id), User().find_by_id(author_id)
    if room is None or author is None:
        return None
    with _ordered(room["_id"]):
        message, created = _store(room, author_id, body, client_id, None, system)
        if created:
            _deliver(room, message, author)
    return serialize_message(message, author)


def _topic_activity_stale(room: dict[str, Any], message: dict[str, Any]) -> bool:
    """A busy chat moves its topic up once a minute, not once per message (each touch
    also invalidates the cached topic lists)."""
    previous = room.get("last_message_at")
    return previous is None or (message["created_at"] - previous).total_seconds() >= 60


def _store(room: dict[str, Any], author_id: ObjectId, body: str, client_id: str,
           reply: ObjectId | None, system: dict[str, Any] | None = None
           ) -> tuple[dict[str, Any], bool]:
    """Called under the room's ordering lock."""
    messages, room_id = Message(), room["_id"]
    seq = _next_seq(room_id)
    for _ in range(20):
        document = messages.new_document(room_id, seq, author_id, body, client_id, reply,
                                         system)
        try:
            messages.collection.insert_one(document)
        except DuplicateKeyError:
            existing = messages.find_by_client_id(room_id, author_id, client_id)
            if existing is not None:
                return existing, False  # a resend: stored before, or by a concurrent one
            # Someone claimed this seq (a send that outlived the lock, a crash before
            # `last_seq` moved, a wrong guess): take the next one after the highest.
            seq = messages.highest_seq(room_id) + 1
            continue
        # Before `last_seq` covers the message, so a concurrent mark_read cannot pass it
        # without seeing it counted as mine.
        _count_own(room, author_id, seq)
        Room().advance(room_id, seq, _snapshot(document))
        _last_stored[_slot(room_id)] = (room_id, seq)
        return document, True
    raise BadRequest("The room is too busy; send again.")


def _next_seq(room_id: ObjectId) -> int:
    known = _last_stored[_slot(room_id)]
    if known is not None and known[0] == room_id and not realtime.multi_process():
        return known[1] + 1
    return Room().last_seq(room_id) + 1


def _count_own(room: dict[str, Any], author_id: ObjectId, seq: int) -> None:
    members = RoomMember()
    if members.count_own_sent(room["_id"], author_id, seq) or room["kind"] != "topic":
        return
    # Writing in a topic room makes it one of "my rooms", read up to before this send.
    members.ensure(room["_id"], author_id, last_read_seq=room["last_seq"])
    members.count_own_sent(room["_id"], author_id, seq)


def _deliver(room: dict[str, Any], message: dict[str, Any], author: dict[str, Any]) -> None:
    payload = serialize_message(message, author)
    targets = [chat_room(room["_id"])]
    if room["kind"] != "topic":
        # Members get direct and group messages without joining the room.
        targets += [user_room(uid) for uid in room["member_ids"]]
    realtime.emit("message", payload, to=targets)
    if room["kind"] == "topic":
        return
    seq = message["seq"]
    for member in RoomMember().of_room(room["_id"]):
        if member["user_id"] == author["_id"]:
            continue
        unread = max(0, seq - member["last_read_seq"] - member["own_after_read"])
        realtime.emit("unread", {"room_id": str(room["_id"]), "unread_count": unread},
                      to=user_room(member["user_id"]))


def history(user: dict[str, Any], room_id: str, after_seq: int | None,
            before_seq: int | None, limit: int) -> dict[str, Any]:
    """`{items, has_more}`: seq ascending, after `after_seq` (oldest first from there) or
    before `before_seq` (the newest before it); the latest page when neither is given."""
    room = readable_room(user, room_id)
    return _page(room, after_seq, before_seq, limit)


def _page(room: dict[str, Any], after_seq: int | None, before_seq: int | None,
          limit: int) -> dict[str, Any]:
    messages = Message()
    if after_seq is not None:
        found = messages.page_after(room["_id"], after_seq, limit + 1)
        has_more = len(found) > limit
        found = found[:limit]
    else:
        before = before_seq if before_seq is not None else room["last_seq"] + 1
        found = messages.page_before(room["_id"], before, limit + 1)
        has_more = len(found) > limit
        found = found[-limit:] if has_more else found
    return {"items": serialize_messages(found), "has_more": has_more}


def catch_up(user: dict[str, Any], room_id: str, after_seq: int | None) -> dict[str, Any]:
    """For join_room, called once the socket is in the room: every message after
    `after_seq` (the latest page without it) plus the room's `last_seq`."""
    room = readable_room(user, room_id)
    limit = current_app.config["CHAT_CATCHUP_LIMIT"]
    page = _page(room, after_seq, None, limit)
    return {"room_id": str(room["_id"]), "messages": page["items"],
            "has_more": page["has_more"], "last_seq": room["last_seq"]}


def readable_message(user: dict[str, Any], message_id: Any) -> tuple[dict, dict]:
    """(message, room) when `user` may read the message's room. A message that does not
    exist, is deleted, or sits in a room (or topic) they may not read is one and the same
    NotFound, so the answer never tells whether the id exists."""
    message = Message().find_by_id(message_id)
    try:
        if message is None or message["deleted"]:
            raise NotFound()
        room = readable_room(user, message["room_id"])
    except NotFound:
        raise NotFound("Message not found.") from None
    return message, room


def edit_message(user: dict[str, Any], message_id: str, body: str) -> dict[str, Any]:
    message, room = readable_message(user, message_id)
    if message["author_id"] != user["_id"]:
        raise Forbidden("Only the author edits a message.")
    writable_room(user, room["_id"])
    updated = Message().edit(message["_id"], _clean_body(body, user))
    payload = serialize_message(updated, user)
    Room().refresh_snapshot(room["_id"], updated["seq"], _snapshot(updated))
    realtime.emit("message_updated", payload, to=_audience(room))
    return payload


def delete_message(user: dict[str, Any], message_id: str) -> dict[str, Any]:
    message, room = readable_message(user, message_id)
    if message["author_id"] != user["_id"] and not _can_moderate_room(user, room):
        raise Forbidden("Only the author or a moderator deletes a message.")
    deleted = Message().soft_delete(message["_id"])
    if deleted is None:
        raise NotFound("Message not found.")
    Room().refresh_snapshot(room["_id"], deleted["seq"], _snapshot(deleted))
    if message["author_id"] != user["_id"]:
        # Someone else's message: a moderator acted, so the audit trail records it.
        audit_service.record(user, "message.delete", "message", deleted["_id"],
                             data={"room_id": room["_id"]}, topic_id=room.get("topic_id"))
    realtime.emit("message_deleted", {"id": id_str(deleted["_id"]),
                                      "room_id": id_str(room["_id"]), "seq": deleted["seq"]},
                  to=_audience(room))
    return serialize_message(deleted, User().find_by_id(deleted["author_id"]))


def _audience(room: dict[str, Any]) -> list[str]:
    targets = [chat_room(room["_id"])]
    if room["kind"] != "topic":
        targets += [user_room(uid) for uid in room["member_ids"]]
    return targets


def valid_emoji(emoji: str) -> bool:
    """One emoji, possibly with skin tone, variation selector or ZWJ sequence."""
    if not emoji or len(emoji) > 16:
        return False
    joiners = {"\u200d", "\ufe0f", "\ufe0e", "\u20e3"}
    symbols = 0
    for char in emoji:
        category = unicodedata.category(char)
        if category == "So":
            symbols += 1
        elif not (char in joiners or category == "Sk"
                  or 0xE0020 <= ord(char) <= 0xE007F):  # tags of subdivision flags
            return False
    joined = emoji.count("\u200d")
    return symbols >= 1 and (symbols <= joined + 1 or _regional_pair(emoji))


def _regional_pair(emoji: str) -> bool:
    return len(emoji) == 2 and all(0x1F1E6 <= ord(c) <= 0x1F1FF for c in emoji)


def react(user: dict[str, Any], message_id: str, emoji: str, on: bool) -> dict[str, Any]:
    if not valid_emoji(emoji):
        raise ValidationFailed(details={"emoji": ["Use a single emoji."]})
    message, room = readable_message(user, message_id)
    writable_room(user, room["_id"])
    field, uid = f"reactions.{emoji}", str(user["_id"])
    operation = {"$addToSet": {field: uid}} if on else {"$pull": {field: uid}}
    updated = Message().update(message["_id"], operation)
    payload = REACTIONS.dump({**updated, "room_id": room["_id"],
                              "reactions": _reactions(updated)})
    realtime.emit("reaction_updated", payload, to=_audience(room))
    return payload


# Read cursors

def mark_read(user: dict[str, Any], room_id: str, seq: int,
              skip_sid: str | None = None) -> int:
    """Move my cursor forward to `seq` (never back, never past the last message);
    returns my unread count. The room hears `read`; my other devices hear `unread`."""
    room = readable_room(user, room_id)
    members, messages = RoomMember(), Message()
    members.ensure(room["_id"], user["_id"])
    for _ in range(20):
        member = members.find(room["_id"], user["_id"])
        room = Room().get(room["_id"])
        target = min(seq, room["last_seq"])
        if target <= member["last_read_seq"]:
            return unread_of(room, member)
        own = messages.count_by_author_between(room["_id"], user["_id"],
                                               member["last_read_seq"], target)
        if members.move_cursor(member, target, own):
            break
    else:
        raise BadRequest("The read cursor is busy; try again.")
    unread = unread_of(room, members.find(room["_id"], user["_id"]))
    realtime.emit("read", {"room_id": str(room["_id"]), "user_id": str(user["_id"]),
                           "seq": target}, to=chat_room(room["_id"]))
    realtime.emit("unread", {"room_id": str(room["_id"]), "unread_count": unread},
                  to=user_room(user["_id"]), skip_sid=skip_sid)
    return unread


# Presence lookups

MAX_PRESENCE_LOOKUP = 1000


def room_people(user: dict[str, Any], room_id: str) -> list[ObjectId]:
    """Whose presence a reader of the room may ask about: the members of a group or
    direct room, the members of a topic room's topic."""
    room = readable_room(user, room_id)
    if room["kind"] == "topic":
        return topic_people(user, room["topic_id"])
    return list(room["member_ids"])


def topic_people(user: dict[str, Any], topic_id: Any) -> list[ObjectId]:
    from models.topic_member import TopicMember

    topic = _topics().get_readable_topic(user, topic_id)
    return [m["user_id"] for m in TopicMember().collection.find(
        {"topic_id": topic["_id"]}, {"user_id": 1}).limit(MAX_PRESENCE_LOOKUP)]

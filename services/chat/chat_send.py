"""The send path: store a message and deliver it, in order, exactly once.

The seq is claimed by the message's insert and proved by the room's conditional advance
(services/chat/chat_seq.py), so seqs have no gaps or repeats even without the lock, and
whatever the next-seq guess says. The per-room lock (Redis with a message queue, else
a process lock) makes the sends of one room publish their events in seq order on every
process. Events are emitted only after the write they describe succeeded.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from bson import ObjectId
from flask import current_app
from redis.exceptions import LockError

from models.message import Message
from models.room import Room
from models.room_member import RoomMember
from models.user import User
from services.accounts import trust, write_gate
from services.chat import chat_drafts, chat_previews, chat_seq, chat_threads, notify_chat
from services.chat.audience import audience, members_hearing
from services.chat.chat_access import writable_room
from services.chat.chat_views import serialize_message, unread_count
from services.media import attachments
from services.notify import notify_prefs
from services.platform import content_filter, realtime, topic_activity
from services.platform.live_rooms import user_room
from services.polls import poll_items
from utils.errors import APIError, ValidationFailed
from utils.redis_client import get_redis

log = logging.getLogger(__name__)

# Sends of one room in this process queue on one of these, chosen by hashing the room
# id (a fixed set, so nothing grows with the number of rooms).
_process_locks = [threading.Lock() for _ in range(chat_seq.SLOTS)]
# At most this many sends of this process talk to the database at once. Under a burst,
# hundreds of handlers would otherwise queue on MongoClient's pool (100 connections), and
# the sender holding a room's ordering lock would wait behind them for its own connection,
# past the lock's expiry. The rest wait here, holding nothing.
_send_slots = threading.BoundedSemaphore(16)


def clean_body(body: str, author: dict[str, Any], empty_ok: bool = False) -> str:
    """The body to store; empty only where `empty_ok` (a message with attachments)."""
    body = body.strip()
    limit = current_app.config["CHAT_MESSAGE_MAX_LENGTH"]
    if not body and empty_ok:
        return body
    if not body or len(body) > limit:
        raise ValidationFailed(details={"body": [f"Use 1-{limit} characters."]})
    # The text to store (maybe masked), or ContentRejected; a fully masked body stays.
    return content_filter.apply(body, "message", author)


def _reply_target(room: dict[str, Any], reply_to: str | None) -> dict[str, Any] | None:
    if not reply_to:
        return None
    target = Message().find_by_id(reply_to)
    if target is None or target["room_id"] != room["_id"]:
        raise ValidationFailed(details={"reply_to": ["No such message in this room."]})
    return target


@contextlib.contextmanager
def _ordered(room_id: ObjectId) -> Iterator[Any]:
    """Serialize the sends of one room so their events are published in seq order.
    Yields the Redis client holding the room's lock (None with one process)."""
    # Senders in this process queue on a process lock first, so at most one of them per
    # process polls the Redis lock (hundreds of polling greenlets would swamp Redis).
    # Without a message queue this process emits straight to its own sockets and no
    # other process reaches them, so the process lock alone orders what they see.
    with _process_locks[chat_seq.slot(room_id)]:
        client = get_redis() if realtime.multi_process() else None
        if client is None:
            yield None
        else:
            with _redis_lock(client, room_id):
                yield client


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
                 reply_to: str | None = None, files: list[Any] | None = None,
                 gif: dict[str, Any] | None = None, thread_root_id: str | None = None,
                 also_to_room: bool = False, poll: dict[str, Any] | None = None
                 ) -> tuple[dict[str, Any], bool]:
    """Store and deliver a message; (message, created). The same client_id again
    returns the stored message and creates nothing. `files`: upload ids to attach;
    `gif`: a GIF picked from the provider ({url, width?, height?, thumbnail_url?});
    `thread_root_id`: a reply in that thread (services/chat/chat_threads.py);
    `poll`: a poll the message carries (services/polls/poll_items.py `prepare`)."""
    with _send_slots:
        return _send_message(user, room_id, body, client_id, reply_to, files or [], gif,
                             (thread_root_id, also_to_room), poll)


def _send_message(user: dict[str, Any], room_id: str, body: str, client_id: str,
                  reply_to: str | None, files: list[Any], gif: dict[str, Any] | None,
                  thread: tuple[str | None, bool], poll: dict[str, Any] | None = None
                  ) -> tuple[dict[str, Any], bool]:
    room = writable_room(user, room_id)
    # A resend is recognised by the unique (room, author, client_id) index when its
    # insert fails, so a new message does not pay a lookup first. A resend refused
    # here (over the flood limit, a body no longer accepted) still gets its message.
    try:
        # The gate (mute, flood limit) first: the filter runs only for sends it lets through.
        write_gate.admit(user, "message", room=room, text=body,
                         attachments=len(files) + (gif is not None))
        body = clean_body(body, user, empty_ok=bool(files) or gif is not None or bool(poll))
        new_poll = poll_items.prepare(poll, user, "message")
        reply = _reply_target(room, reply_to)
        root = chat_threads.root_for(room, thread[0])
        message_id = ObjectId()
        # Claimed before the insert (under the message's own id), so two sends cannot
        # both attach one upload; released below if no message is created.
        stored_files = attachments.claim(user, files, "message", message_id, gif=gif)
    except APIError:
        existing = Message().find_by_client_id(room["_id"], user["_id"], client_id)
        if existing is None:
            raise
        return serialize_message(existing, user), False
    created = False
    extra = chat_threads.reply_fields(root, user["_id"], thread[1]) if root else None
    try:
        # Stored before the message, so its first delivery carries it; gone again below
        # if no message is created.
        poll_items.store(new_poll, "message", message_id)
        with _ordered(room["_id"]) as shared:
            message, created = _store(room, user["_id"], body, client_id,
                                      reply["_id"] if reply else None,
                                      files=stored_files, message_id=message_id,
                                      shared=shared, extra=extra, poll=new_poll)
            if created:
                _deliver(room, message, user)
                if root is not None:
                    chat_threads.replied(room, root, message)
    finally:
        if stored_files and not created:  # a resend, or the insert failed
            attachments.release(message_id)
        if not created:
            poll_items.discard(new_poll)
    if created and room.get("archived_by"):
        # A new message brings an archived conversation back (WhatsApp, Slack).
        Room().unarchive_all(room["_id"])
    if created:
        notify_chat.message_sent(user, room, message)
        if reply is not None:
            trust.note_reply(user, reply)
        if root is not None:
            chat_threads.notify_reply(user, room, root, message)
        chat_previews.message_written(message)
        chat_drafts.clear_after_send(user["_id"], room["_id"])
    if created and room["kind"] == "topic" and _topic_activity_stale(room, message):
        topic_activity.touch_activity(room["topic_id"], message["created_at"])
    return serialize_message(message, user), created


def post_system_message(room_id: ObjectId, author_id: ObjectId, body: str, client_id: str,
                        system: dict[str, Any]) -> dict[str, Any] | None:
    """A message the server writes in a room on a user's behalf (a call started or
    ended), delivered like any other. No content filter or flood limit applies; the
    same `client_id` twice stores it once (two processes sweeping the same call)."""
    room, author = Room().find_by_id(room_id), User().find_by_id(author_id)
    if room is None or author is None:
        return None
    with _ordered(room["_id"]) as shared:
        message, created = _store(room, author_id, body, client_id, None, system,
                                  shared=shared)
        if created:
            _deliver(room, message, author)
    return serialize_message(message, author)


def _topic_activity_stale(room: dict[str, Any], message: dict[str, Any]) -> bool:
    """A busy chat moves its topic up once a minute, not once per message (each touch
    also invalidates the cached topic lists)."""
    previous = room.get("last_message_at")
    return previous is None or (message["created_at"] - previous).total_seconds() >= 60


def _store(room: dict[str, Any], author_id: ObjectId, body: str, client_id: str,
           reply: ObjectId | None, system: dict[str, Any] | None = None,
           files: list[dict[str, Any]] | None = None,
           message_id: ObjectId | None = None, shared: Any = None,
           extra: dict[str, Any] | None = None, poll: dict[str, Any] | None = None
           ) -> tuple[dict[str, Any], bool]:
    """Called under the room's ordering lock (`shared`: the Redis client holding it).
    `extra`: more fields of the message (a thread reply's)."""
    def build(seq: int) -> dict[str, Any]:
        document = {**Message().new_document(room["_id"], seq, author_id, body, client_id,
                                             reply, system, files, message_id), **(extra or {})}
        if poll is not None:
            document["poll_id"] = poll["_id"]
        return document

    return chat_seq.store(room, author_id, client_id, build, shared)


def _deliver(room: dict[str, Any], message: dict[str, Any], author: dict[str, Any]) -> None:
    payload = serialize_message(message, author)
    # Members get direct and group messages without joining the room.
    realtime.emit("message", payload, to=audience(room))
    if room["kind"] == "topic":
        return
    seq = message["seq"]
    hearing = set(members_hearing(room))
    if message.get("thread_quiet"):  # only the thread's followers count it as unread
        hearing &= set(message["thread_hearers"])
    members = [m for m in RoomMember().of_room(room["_id"])
               if m["user_id"] in hearing and m["user_id"] != author["_id"]]
    # Muted rooms still count (the room shows its count) but say so: clients leave them
    # out of their total badge (docs/MESSAGING.md "Personal controls").
    muted = notify_prefs.muted([m["user_id"] for m in members], {"room": room["_id"]})
    for member in members:
        unread = unread_count(seq, member)
        realtime.emit("unread", {"room_id": str(room["_id"]), "unread_count": unread,
                                 "muted": member["user_id"] in muted},
                      to=user_room(member["user_id"]))

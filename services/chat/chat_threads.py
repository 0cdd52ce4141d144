"""Threads in chat rooms (docs/MESSAGING.md "Threads").

A reply names its root (`thread_root_id`) and is a message of the room like any other:
it takes the room's next seq and is idempotent by `client_id` (services/chat/chat_send.py).
A root is never a reply itself. The root carries the thread's summary; its author, each
replier and everyone mentioned in a reply follow the thread. Followers hear of replies
(`thread_reply`), and a reply sent only to the thread (no `also_to_room`) does not count
as unread in the room for members who did not follow it when it was sent.
"""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from flask import current_app

from models.message import Message
from models.thread_follow import ThreadFollow
from models.user import User
from services.chat import notify_chat
from services.chat.audience import audience
from services.chat.chat_access import readable_message
from services.chat.chat_views import serialize_messages, thread_of
from services.notify.notify_mentions import mentioned_names
from services.platform import realtime
from services.platform.shapes.messages import FOLLOWED_THREAD, THREAD_UPDATED
from utils.errors import NotFound, ValidationFailed

LAST_REPLIERS = 3


def root_for(room: dict[str, Any], root_id: str | None) -> dict[str, Any] | None:
    """The thread root a send names, checked: a live message of this room that is not a
    reply itself."""
    if not root_id:
        return None
    root = Message().find_by_id(root_id)
    if root is None or root["room_id"] != room["_id"] or root["deleted"]:
        raise ValidationFailed(details={"thread_root_id": ["No such message in this room."]})
    if root.get("thread_root_id"):
        raise ValidationFailed(details={"thread_root_id": [
            "A reply cannot start a thread; reply to its root."]})
    return root


def reply_fields(root: dict[str, Any], author_id: ObjectId,
                 also_to_room: bool) -> dict[str, Any]:
    """What a reply stores beyond a message: its root and, when it is for the thread
    only, who hears it as unread in the room (the followers as it is sent)."""
    fields: dict[str, Any] = {"thread_root_id": root["_id"]}
    if not also_to_room:
        hearers = set(ThreadFollow().follower_ids(root["_id"]))
        fields.update(thread_quiet=True,
                      thread_hearers=sorted(hearers | {author_id, root["author_id"]}))
    return fields


def replied(room: dict[str, Any], root: dict[str, Any], message: dict[str, Any]) -> None:
    """After the reply was stored (under the room's ordering lock, so `thread_updated`
    follows its `message` in order): the root's summary, the follows, the event."""
    follows, author_id = ThreadFollow(), message["author_id"]
    root = Message().find_by_id(root["_id"]) or root  # as the previous reply left it
    before = (root.get("thread") or {}).get("last_repliers") or []
    repliers = ([uid for uid in before if uid != author_id] + [author_id])[-LAST_REPLIERS:]
    updated = Message().note_thread_reply(root["_id"], message["created_at"], repliers)
    if updated is None:
        return
    follows.follow(updated, root["author_id"], root["seq"])
    follows.follow(updated, author_id, message["seq"])
    follows.replied(root["_id"], author_id, message["seq"], message["created_at"])
    realtime.emit("thread_updated", THREAD_UPDATED.dump({
        "root_id": root["_id"], "room_id": room["_id"], "thread": thread_of(updated)}),
        to=audience(room))


def message_deleted(room: dict[str, Any], message: dict[str, Any]) -> None:
    """After a message was deleted: a root's thread is over (its follows go, so it
    leaves everyone's threads list); a reply leaves its root's summary and its
    followers' unread counts, and the room hears `thread_updated`."""
    root_id = message.get("thread_root_id")
    if root_id is None:
        ThreadFollow().delete_of_root(message["_id"])
        return
    ThreadFollow().reply_gone(root_id, message["author_id"], message["seq"])
    updated = Message().note_thread_reply_gone(room["_id"], root_id, LAST_REPLIERS)
    if updated is not None:
        realtime.emit("thread_updated", THREAD_UPDATED.dump({
            "root_id": root_id, "room_id": room["_id"], "thread": thread_of(updated)}),
            to=audience(room))


def notify_reply(author: dict[str, Any], room: dict[str, Any], root: dict[str, Any],
                 message: dict[str, Any]) -> None:
    """After delivery: `thread_reply` to the followers (not the ones the reply mentions:
    they hear a `mention`), and the people mentioned who may read the room follow."""
    limit = current_app.config["NOTIFY_MAX_MENTIONS"]
    names = mentioned_names(message.get("body") or "", limit, exclude=author["username"])
    mentioned = User().find_by_usernames(names) if names else []
    skip = {u["_id"] for u in mentioned} | {author["_id"]}
    followers = [uid for uid in ThreadFollow().follower_ids(root["_id"]) if uid not in skip]
    notify_chat.thread_replied(author, room, root, message, followers)
    for user in mentioned:
        if user["_id"] != author["_id"] and notify_chat.may_read(user, room):
            ThreadFollow().follow(root, user["_id"], message["seq"] - 1)


def _root(user: dict[str, Any], message_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    message, room = readable_message(user, message_id)
    if message.get("thread_root_id"):
        raise NotFound("Message not found.")  # a reply roots no thread
    return message, room


def thread(user: dict[str, Any], message_id: str, after_seq: int, limit: int,
           cursor: str | None) -> dict[str, Any]:
    """`{root, items, next_cursor}`: the thread's replies after `after_seq`, oldest first."""
    root, _room = _root(user, message_id)
    found, next_cursor = Message().thread_page(root["room_id"], root["_id"], after_seq, limit,
                                                 cursor)
    return {"root": serialize_messages([root], user["_id"])[0],
            "items": serialize_messages(found, user["_id"]), "next_cursor": next_cursor}


def set_following(user: dict[str, Any], message_id: str, on: bool) -> None:
    """Follow (read up to now) or unfollow a thread."""
    root, room = _root(user, message_id)
    if on:
        ThreadFollow().follow(root, user["_id"], room["last_seq"])
    else:
        ThreadFollow().unfollow(root["_id"], user["_id"])


def mark_read(user: dict[str, Any], message_id: str, seq: int) -> int:
    """Move my read marker of a thread I follow to `seq`; my unread count of it (0 for
    a thread I do not follow: nothing there counts for me)."""
    root, _room = _root(user, message_id)
    follows = ThreadFollow()
    follow = follows.find(root["_id"], user["_id"])
    if follow is None:
        return 0
    seq = max(seq, follow["last_read_seq"])
    unread = Message().count_thread_unread(root["room_id"], root["_id"], user["_id"], seq)
    follows.mark_read(root["_id"], user["_id"], seq, unread)
    return unread


def my_threads(user: dict[str, Any], limit: int, cursor: str | None) -> dict[str, Any]:
    """The threads I follow, unread first, then by latest reply; a thread whose room I
    may no longer read is left out."""
    follows, next_cursor = ThreadFollow().page_of(user["_id"], limit, cursor)
    roots = Message().undeleted_by_ids([f["root_id"] for f in follows])
    items = []
    for follow in follows:
        root = roots.get(follow["root_id"])
        if root is None or not notify_chat.may_read(user, {"_id": root["room_id"]}):
            continue
        items.append({**FOLLOWED_THREAD.dump({
            "room_id": root["room_id"], "unread_count": follow["unread"],
            "last_read_seq": follow["last_read_seq"], "last_reply_at": follow["last_reply_at"]}),
            "root": serialize_messages([root], user["_id"])[0]})
    return {"items": items, "next_cursor": next_cursor}

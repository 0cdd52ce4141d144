"""Notifications caused by a chat message, called after it was stored and delivered:
a direct message to someone with no connected socket (anyone online sees it arrive live),
and `@mentions` in group and topic rooms, only to people who may read the room."""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.user import User
from services.chat import chat_access
from services.notify import notify_core
from services.notify.notify_mentions import notify_mentions
from services.platform import live_rooms
from utils.errors import APIError


def may_read(user: dict[str, Any], room: dict[str, Any]) -> bool:
    try:
        chat_access.readable_room(user, room["_id"])
    except APIError:  # not found, or banned from the room's topic
        return False
    return True


def _reader(room: dict[str, Any]):
    return lambda user: may_read(user, room)


def readable_for_push(user: dict[str, Any], data: dict[str, Any]) -> bool:
    """False when the notification `data` names a chat room `user` may not read now (a
    push about it would carry its content; services/notify/push_delivery.py)."""
    if not data.get("room_id"):
        return True
    try:
        chat_access.readable_room(user, data["room_id"])
    except APIError:
        return False
    return True


def message_sent(author: dict[str, Any], room: dict[str, Any],
                 message: dict[str, Any], before: dict[str, Any] | None = None) -> None:
    """A new message, or (with `before`) an edit: an edit tells only the names it added
    and never makes a `direct_message`."""
    subject = f"room:{room['_id']}"
    data = {"room_id": str(room["_id"]), "message_id": str(message["_id"]),
            "title": room.get("title") or author["username"]}
    sources = {"room": room["_id"], "topic": room.get("topic_id")}
    if room["kind"] == "direct" and before is None:
        # In a direct conversation the other person hears of a message once: live, or
        # as a `direct_message` notification when offline; a mention adds nothing.
        others = [uid for uid in room["member_ids"] if uid != author["_id"]]
        online = live_rooms.is_online(others)
        for uid in others:
            if not online.get(str(uid)):
                notify_core.deliver(uid, "direct_message", data, actor=author,
                                    subject=subject, sources=sources)
    if room["kind"] == "direct":
        return
    notify_mentions(author, [message.get("body") or ""], _reader(room), data, subject,
                    sources, before=[before.get("body") or ""] if before else ())


def thread_replied(author: dict[str, Any], room: dict[str, Any], root: dict[str, Any],
                   message: dict[str, Any], followers: list[ObjectId]) -> None:
    """`thread_reply` to the thread's followers who may still read the room (coalesced
    per thread like replies)."""
    data = {"room_id": str(room["_id"]), "message_id": str(message["_id"]),
            "root_id": str(root["_id"]), "title": room.get("title") or author["username"]}
    sources = {"room": room["_id"], "topic": room.get("topic_id")}
    for user in User().find_by_ids(followers).values():
        if may_read(user, room):
            notify_core.deliver(user["_id"], "thread_reply", data, actor=author,
                                subject=f"thread:{root['_id']}", sources=sources)

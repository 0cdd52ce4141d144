"""Reading and changing what was said: history pages, the catch-up after joining a
room, editing, deleting and reactions. Each change is announced only after it is stored."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from emoji import EMOJI_DATA, STATUS
from flask import current_app

from models.base import id_str
from models.edit_version import MESSAGE
from models.message import Message
from models.room import Room
from models.user import User
from services.accounts import write_gate
from services.chat import chat_previews, chat_threads, notify_chat
from services.chat.audience import audience
from services.chat.chat_access import (
    can_moderate_room,
    readable_message,
    readable_room,
    writable_room,
)
from services.chat.chat_send import clean_body
from services.chat.chat_views import reactions_of, serialize_message, serialize_messages, snapshot
from services.media import attachments
from services.notify import notify_moderation
from services.platform import audit_service, edit_history, realtime
from services.platform.shapes.messages import REACTIONS
from services.polls import poll_items
from utils import clock
from utils.errors import Forbidden, NotFound, ValidationFailed


def history(user: dict[str, Any], room_id: str, after_seq: int | None,
            before_seq: int | None, limit: int) -> dict[str, Any]:
    """`{items, has_more}`: seq ascending, after `after_seq` (oldest first from there) or
    before `before_seq` (the newest before it); the latest page when neither is given."""
    room = readable_room(user, room_id)
    return _page(room, after_seq, before_seq, limit, user["_id"])


def _page(room: dict[str, Any], after_seq: int | None, before_seq: int | None,
          limit: int, viewer_id: ObjectId) -> dict[str, Any]:
    messages = Message()
    if after_seq is not None:
        found = messages.page_after(room["_id"], after_seq, limit + 1, room["last_seq"])
        has_more = len(found) > limit
        found = found[:limit]
    else:
        before = before_seq if before_seq is not None else room["last_seq"] + 1
        found = messages.page_before(room["_id"], before, limit + 1, room["last_seq"])
        has_more = len(found) > limit
        found = found[-limit:] if has_more else found
    return {"items": serialize_messages(found, viewer_id), "has_more": has_more}


def catch_up(user: dict[str, Any], room_id: str, after_seq: int | None) -> dict[str, Any]:
    """For join_room, called once the socket is in the room: every message after
    `after_seq` (the latest page without it) plus the room's `last_seq`."""
    room = readable_room(user, room_id)
    limit = current_app.config["CHAT_CATCHUP_LIMIT"]
    page = _page(room, after_seq, None, limit, user["_id"])
    return {"room_id": str(room["_id"]), "messages": page["items"],
            "has_more": page["has_more"], "last_seq": room["last_seq"]}


def edit_message(user: dict[str, Any], message_id: str, body: str) -> dict[str, Any]:
    write_gate.admit(user, "edit", text=body)
    message, room = readable_message(user, message_id)
    if message["author_id"] != user["_id"]:
        raise Forbidden("Only the author edits a message.")
    writable_room(user, room["_id"])
    edited = Message().edit_body(message["_id"], clean_body(body, user), clock.now())
    if edited is None:  # deleted meanwhile
        raise NotFound("Message not found.")
    before, updated = edited
    edit_history.kept(MESSAGE, before, updated)
    payload = serialize_message(updated, user)
    Room().refresh_snapshot(room["_id"], updated["_id"], snapshot(updated))
    realtime.emit("message_updated", payload, to=audience(room))
    notify_chat.message_sent(user, room, updated, before=message)
    chat_previews.message_written(updated, before=message)
    return payload


def message_history(user: dict[str, Any], message_id: str, limit: int,
                    cursor: str | None) -> dict[str, Any]:
    """The message's earlier versions, to its author and the room's moderators (site
    staff included); to any other reader the 404 of a missing message."""
    message, room = readable_message(user, message_id)
    if message["author_id"] != user["_id"] and not can_moderate_room(user, room):
        raise NotFound("Message not found.")
    return edit_history.versions(MESSAGE, message["_id"], limit, cursor)


def delete_message(user: dict[str, Any], message_id: str) -> dict[str, Any]:
    message, room = readable_message(user, message_id)
    if message["author_id"] != user["_id"] and not can_moderate_room(user, room):
        raise Forbidden("Only the author or a moderator deletes a message.")
    deleted = Message().soft_delete(message["_id"])
    if deleted is None:
        raise NotFound("Message not found.")
    attachments.discard(deleted["_id"])
    edit_history.forget(MESSAGE, deleted["_id"])
    poll_items.remove(deleted.get("poll_id"))
    Room().refresh_snapshot(room["_id"], deleted["_id"], snapshot(deleted))
    if message["author_id"] != user["_id"]:
        # Someone else's message: a moderator acted, so the audit trail records it.
        audit_service.record(user, "message.delete", "message", deleted["_id"],
                             data={"room_id": room["_id"]}, topic_id=room.get("topic_id"))
        notify_moderation.content_removed(message["author_id"], "message", {
            "room_id": str(room["_id"]), "message_id": str(deleted["_id"])})
    realtime.emit("message_deleted", {"id": id_str(deleted["_id"]),
                                      "room_id": id_str(room["_id"]), "seq": deleted["seq"]},
                  to=audience(room))
    if Room().unpin(room["_id"], deleted["_id"]):
        # A deleted message drops out of the pins (services.chat.chat_pins).
        realtime.emit("message_unpinned", {"room_id": id_str(room["_id"]),
                                           "message_id": id_str(deleted["_id"])},
                      to=audience(room))
    chat_threads.message_deleted(room, deleted)
    return serialize_message(deleted, User().find_by_id(deleted["author_id"]))


def valid_emoji(text: str) -> bool:
    """One emoji as Unicode lists it (the `emoji` package's data): keycaps, flags,
    skin tones and ZWJ sequences included; not a component by itself (a skin tone or
    hair style alone), nor two emoji, nor text."""
    found = EMOJI_DATA.get(text)
    return found is not None and found["status"] != STATUS["component"]


def react(user: dict[str, Any], message_id: str, emoji: str, on: bool) -> dict[str, Any]:
    if not valid_emoji(emoji):
        raise ValidationFailed(details={"emoji": ["Use a single emoji."]})
    message, room = readable_message(user, message_id)
    write_gate.admit(user, "reaction", room=room)
    writable_room(user, room["_id"])
    field, uid = f"reactions.{emoji}", str(user["_id"])
    operation = {"$addToSet": {field: uid}} if on else {"$pull": {field: uid}}
    updated = Message().update(message["_id"], operation)
    payload = REACTIONS.dump({**updated, "room_id": room["_id"],
                              "reactions": reactions_of(updated)})
    realtime.emit("reaction_updated", payload, to=audience(room))
    return payload

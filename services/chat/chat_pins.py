"""Pinned messages of a room (docs/MESSAGING.md "Pins"): the room's moderators pin and
unpin (a group's owner and moderators, a topic's moderators, site moderators); in a
direct room either member. Pins are entries `{message_id, seq, by, at}` on the room
document, at most MAX_PINS; a deleted message drops out of them (chat_history)."""
from __future__ import annotations

from typing import Any

from models.message import Message
from models.room import Room
from services.accounts import write_gate
from services.chat.audience import audience
from services.chat.chat_access import can_moderate_room, readable_message, readable_room
from services.chat.chat_views import serialize_messages
from services.platform import realtime
from utils import clock
from utils.errors import Conflict, Forbidden

MAX_PINS = 50


def _pinnable(user: dict[str, Any], message_id: Any) -> tuple[dict, dict]:
    message, room = readable_message(user, message_id)
    if room["kind"] != "direct" and not can_moderate_room(user, room):
        raise Forbidden("Only the room's moderators pin messages.")
    return message, room


def list_pins(user: dict[str, Any], room_id: Any) -> dict[str, Any]:
    """The pinned messages, most recently pinned first, as I read them."""
    room = readable_room(user, room_id)
    order = [entry["message_id"] for entry in reversed(room.get("pins") or [])]
    found = Message().undeleted_by_ids(order)
    return {"items": serialize_messages([found[i] for i in order if i in found], user["_id"])}


def pin(user: dict[str, Any], message_id: Any) -> None:
    write_gate.admit(user, "moderate")
    message, room = _pinnable(user, message_id)
    entry = {"message_id": message["_id"], "seq": message["seq"], "by": user["_id"],
             "at": clock.now()}
    if not Room().pin(room["_id"], entry, MAX_PINS):
        if any(p["message_id"] == message["_id"] for p in room.get("pins") or []):
            return  # pinned already
        raise Conflict(f"A room holds at most {MAX_PINS} pins; unpin one first.")
    realtime.emit("message_pinned", {"room_id": str(room["_id"]),
                                     "message_id": str(message["_id"]), "seq": message["seq"],
                                     "by": str(user["_id"])}, to=audience(room))


def unpin(user: dict[str, Any], message_id: Any) -> None:
    """Idempotent: unpinning a message that is not pinned changes nothing."""
    write_gate.admit(user, "moderate")
    message, room = _pinnable(user, message_id)
    if not Room().unpin(room["_id"], message["_id"]):
        return
    realtime.emit("message_unpinned", {"room_id": str(room["_id"]),
                                       "message_id": str(message["_id"])}, to=audience(room))

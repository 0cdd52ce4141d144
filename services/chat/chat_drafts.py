"""Drafts that follow me across devices (docs/MESSAGING.md "Drafts"): my unsent text in a
room, stored once per (user, room), read and written by me only, where I may read the
room. My other sockets hear `draft_updated` on `user_<id>` (never anyone else); a
message I send there, from any device, clears it."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from flask import current_app

from models.draft import Draft
from services.accounts import write_gate
from services.chat.chat_access import readable_room
from services.platform import realtime
from services.platform.live_rooms import user_room
from services.platform.shapes.messages import DRAFT
from utils.errors import ValidationFailed


def _view(room_id: ObjectId, draft: dict[str, Any] | None) -> dict[str, Any]:
    return DRAFT.dump({"room_id": str(room_id), "body": draft["body"] if draft else "",
                       "updated_at": draft["updated_at"] if draft else None})


def get_draft(user: dict[str, Any], room_id: Any) -> dict[str, Any]:
    room = readable_room(user, room_id)
    return _view(room["_id"], Draft().find(user["_id"], room["_id"]))


def save_draft(user: dict[str, Any], room_id: Any, body: str,
               sid: str | None = None) -> dict[str, Any]:
    """Store my draft (a blank body deletes it) and tell my other sockets (all of them
    for a REST call; every one but `sid` for a socket event)."""
    write_gate.admit(user, "personal")  # mine alone: nobody else ever reads it
    room = readable_room(user, room_id)
    limit = current_app.config["CHAT_MESSAGE_MAX_LENGTH"]
    if len(body) > limit:
        raise ValidationFailed(details={"body": [f"Longer than maximum length {limit}."]})
    drafts = Draft()
    if body.strip():
        draft = drafts.put(user["_id"], room["_id"], body)
    else:
        drafts.remove(user["_id"], room["_id"])
        draft = None
    view = _view(room["_id"], draft)
    realtime.emit("draft_updated", view, to=user_room(user["_id"]), skip_sid=sid)
    return view


def clear_after_send(user_id: ObjectId, room_id: ObjectId) -> None:
    """A message of mine was stored in the room: the draft it came from is gone, on
    every device."""
    if Draft().remove(user_id, room_id):
        realtime.emit("draft_updated", _view(room_id, None), to=user_room(user_id))

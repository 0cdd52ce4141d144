"""What one user does to chat for themselves only (docs/MESSAGING.md "Personal
controls"): delete a message for me, archive a conversation. Nobody else sees a change
and no event goes to anyone else."""
from __future__ import annotations

from typing import Any

from models.message import Message
from models.room import Room
from services.chat.chat_access import readable_message, readable_room
from services.platform import realtime
from services.platform.live_rooms import user_room


def delete_for_me(user: dict[str, Any], message_id: Any) -> None:
    """The message stays for everyone else; in my history and catch-up it becomes an
    empty placeholder (`deleted_for_me`), and my search no longer finds it. My other
    devices hear `message_hidden {id, room_id, seq}`."""
    message, _room = readable_message(user, message_id)
    Message().update(message["_id"], {"$addToSet": {"hidden_for": user["_id"]}})
    realtime.emit("message_hidden", {"id": str(message["_id"]),
                                     "room_id": str(message["room_id"]),
                                     "seq": message["seq"]}, to=user_room(user["_id"]))


def set_archived(user: dict[str, Any], room_id: Any, archived: bool) -> None:
    """Archived rooms leave my `GET /rooms` (they are listed with `?archived=true`) until
    a new message arrives in them, which un-archives them for everyone who archived."""
    room = readable_room(user, room_id)
    Room().set_archived(room["_id"], user["_id"], archived)

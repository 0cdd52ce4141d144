"""Who hears about a chat room: the one privacy rule behind every event of a room
(messages, edits, deletions, reactions, pins, reads, link previews, `room_updated`).

- Everyone whose socket is in the room's live room `chat_room_<id>`: a socket gets
  there only through services.live.room_entry, which checks `readable_room` first, and
  leaves it on a ban, a removal or the topic turning private (services.platform.live_rooms).
- For a group or a direct room, also its members wherever they are (`user_<id>`), so
  they hear without joining; not those who left or were removed (no longer in
  `member_ids`), nor anyone banned from the room while the ban is in force (the ban
  is stored before its removal, so nothing reaches them in between).
- A topic room has no members to reach outside it: whoever may read the topic may read
  the room, so only the sockets that entered it hear.
"""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from services.platform import room_roles
from services.platform.live_rooms import chat_room, user_room


def members_hearing(room: dict[str, Any]) -> list[ObjectId]:
    """The users who hear about `room` wherever they are (none for a topic room)."""
    if room["kind"] == "topic":
        return []
    return [uid for uid in room["member_ids"]
            if room_roles.sanction_of(room, "bans", uid) is None]


def audience(room: dict[str, Any]) -> list[str]:
    """The Socket.IO rooms an event about `room` goes to."""
    return [chat_room(room["_id"])] + [user_room(uid) for uid in members_hearing(room)]

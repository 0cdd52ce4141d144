"""Read cursors: how far each member has read a room, and their unread count."""
from __future__ import annotations

from typing import Any

from models.message import Message
from models.room import Room
from models.room_member import RoomMember
from services.chat.audience import audience
from services.chat.chat_access import readable_room
from services.chat.chat_views import unread_of
from services.notify import notify_prefs
from services.platform import realtime
from services.platform.live_rooms import user_room
from utils.errors import BadRequest


def mark_read(user: dict[str, Any], room_id: str, seq: int,
              skip_sid: str | None = None) -> int:
    """Move my cursor forward to `seq` (never back, never past the last message);
    returns my unread count. The room, and a direct or group room's members, hear
    `read`; my other devices hear `unread`."""
    room = readable_room(user, room_id)
    members, messages = RoomMember(), Message()
    members.ensure(room["_id"], user["_id"])
    for _ in range(20):
        member = members.find(room["_id"], user["_id"])
        room = Room().get(room["_id"])
        target = min(seq, room["last_seq"])
        if target <= member["last_read_seq"]:
            return unread_of(room, member)
        own = messages.count_not_unread_between(room["_id"], user["_id"],
                                               member["last_read_seq"], target)
        if members.move_cursor(member, target, own):
            break
    else:
        raise BadRequest("The read cursor is busy; try again.")
    unread = unread_of(room, members.find(room["_id"], user["_id"]))
    # Like messages: direct and group members hear it without joining the room.
    realtime.emit("read", {"room_id": str(room["_id"]), "user_id": str(user["_id"]),
                           "seq": target}, to=audience(room))
    muted = room["_id"] in notify_prefs.muted_rooms(user["_id"], [room])
    realtime.emit("unread", {"room_id": str(room["_id"]), "unread_count": unread,
                             "muted": muted}, to=user_room(user["_id"]), skip_sid=skip_sid)
    return unread

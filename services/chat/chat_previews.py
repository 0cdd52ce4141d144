"""Link previews of chat messages: queued after a send or an edit that names a URL,
stored on the message (`previews`) and announced as `message_updated` to the room's
audience, the same as an edit (docs/MEDIA.md "Link previews")."""
from __future__ import annotations

from typing import Any

from models.message import Message
from models.room import Room
from models.user import User
from services.chat.chat_views import serialize_message
from services.media import link_previews
from services.platform import realtime
from services.platform.live_rooms import chat_room, user_room
from utils import jobs


def audience(room: dict[str, Any]) -> list[str]:
    """Who sees a message change: the room, and the members of a group or direct room
    wherever they are."""
    targets = [chat_room(room["_id"])]
    if room["kind"] != "topic":
        targets += [user_room(uid) for uid in room["member_ids"]]
    return targets


def message_written(message: dict[str, Any], before: dict[str, Any] | None = None) -> None:
    """After a send or an edit has been stored and announced."""
    if link_previews.wanted(message["body"], before):
        link_previews.queue(attach_message_previews, message["_id"])


def _refresh(message_id: str) -> dict[str, Any] | None:
    """link_previews.refresh over the Message model: the updated message when its
    stored previews changed, else None (an edit or a deletion meanwhile wins)."""
    message = Message().find_by_id(message_id)
    if message is None or message.get("deleted"):
        return None
    found = link_previews.previews_for(message["body"])
    if found == (message.get("previews") or []):
        return None
    return Message().store_previews(message, found)


@jobs.task(retries=1, retry_delay=5, queue=jobs.BEST_EFFORT)
def attach_message_previews(message_id: str) -> None:
    updated = _refresh(message_id)
    if updated is None:
        return
    room = Room().find_by_id(updated["room_id"])
    if room is None:
        return
    payload = serialize_message(updated, User().find_by_id(updated["author_id"]))
    realtime.emit("message_updated", payload, to=audience(room))

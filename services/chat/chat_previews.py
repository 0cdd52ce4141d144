"""Link previews of chat messages: queued after a send or an edit that names a URL,
stored on the message (`previews`) and announced as `message_updated` to the room's
audience, the same as an edit (docs/MEDIA.md "Link previews")."""
from __future__ import annotations

from typing import Any

from models.message import Message
from models.room import Room
from models.user import User
from services.chat.audience import audience
from services.chat.chat_views import serialize_message
from services.media import link_previews
from services.platform import realtime
from utils import jobs


def message_written(message: dict[str, Any], before: dict[str, Any] | None = None) -> None:
    """After a send or an edit has been stored and announced."""
    if link_previews.wanted(message["body"], before):
        link_previews.queue(attach_message_previews, message["_id"])


@jobs.task(retries=1, retry_delay=5, queue=jobs.BEST_EFFORT)
def attach_message_previews(message_id: str) -> None:
    updated = link_previews.refresh(Message(), message_id)
    if updated is None:
        return
    room = Room().find_by_id(updated["room_id"])
    if room is None:
        return
    payload = serialize_message(updated, User().find_by_id(updated["author_id"]))
    realtime.emit("message_updated", payload, to=audience(room))

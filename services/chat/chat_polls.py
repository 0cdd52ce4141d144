"""Polls in chat messages, as chat hands them to services.polls (registrations.POLL_HOSTS):
a poll is read by whoever reads the message's room, voted in by whoever may write
there, and its `poll_updated` goes to the room's audience (services.chat.audience)."""
from __future__ import annotations

from typing import Any

from models.message import Message
from models.room import Room
from services.accounts import write_gate
from services.chat.audience import audience
from services.chat.chat_access import readable_message, writable_room
from services.polls.poll_hosts import PollHost


def _readable(user: dict[str, Any], message_id: Any) -> None:
    readable_message(user, message_id)


def _writable(user: dict[str, Any], message_id: Any) -> None:
    message, _room = readable_message(user, message_id)
    room = writable_room(user, message["room_id"])
    write_gate.admit(user, "vote", room=room)


def _audience(message_id: Any) -> list[str]:
    message = Message().find_by_id(message_id, {"room_id": 1, "deleted": 1})
    if message is None or message["deleted"]:
        return []
    room = Room().find_by_id(message["room_id"])
    return audience(room) if room is not None else []


POLL_HOST = PollHost(readable=_readable, writable=_writable, audience=_audience)

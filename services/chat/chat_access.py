"""Who may read and who may write a chat room, and who may message whom.

Access follows one rule (zulip's `access_message`): a room the user may not read is
"not found", whatever the reason; a room they may read but not write answers
"forbidden". Topic rooms follow their topic (services.platform.topic_access).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from models.base import to_object_id
from models.message import Message
from models.room import Room
from models.user import User
from services.accounts.users_service import are_friends, is_blocked_between
from services.platform import room_roles, topic_access, user_copies
from utils.errors import Forbidden, NotFound, RoomReadOnly
from utils.roles import is_site_moderator


def readable_room(user: dict[str, Any], room_id: Any) -> dict[str, Any]:
    """The room if `user` may read it, else NotFound; Forbidden only for a user banned
    from the (readable) topic of a topic room: a ban ends reading its chat, history and
    catch-up alike, not only live delivery."""
    room = Room().find_by_id(room_id)
    if room is None:
        raise NotFound("Room not found.")
    if room["kind"] == "topic":
        with _room_not_found():
            topic = topic_access.get_readable_topic(user, room["topic_id"],
                                                    topic_access.ACCESS_FIELDS)
        topic_access.require_not_banned(user, topic)
        room_roles.require_not_room_banned(user, room)
    elif user["_id"] not in room["member_ids"]:
        raise NotFound("Room not found.")
    return room


@contextlib.contextmanager
def _room_not_found() -> Iterator[None]:
    """A topic room of a topic the user may not read answers like a missing room: "Topic
    not found." would tell that the room exists, and that it is a topic's."""
    try:
        yield
    except NotFound:
        raise NotFound("Room not found.") from None


def writable_room(user: dict[str, Any], room_id: Any) -> dict[str, Any]:
    """The room if `user` may post in it: NotFound when they may not even read it,
    Forbidden when they may read but not write (banned, blocked, not a member, the room
    closed: `room_read_only`)."""
    room = _writable(user, room_id)
    if room.get("read_only"):  # closed by its topic's moderators: readable, not writable
        raise RoomReadOnly(details={"room_id": str(room["_id"])})
    # Muted in this room: may read, may not write. After the access checks, so a room the
    # user may not read stays "not found". (A site mute is the write gate's: each write
    # service names its action to services.accounts.write_gate.)
    room_roles.require_not_room_muted(user, room)
    return room


def _writable(user: dict[str, Any], room_id: Any) -> dict[str, Any]:
    room = Room().find_by_id(room_id)
    if room is None:
        raise NotFound("Room not found.")
    if room["kind"] == "topic":
        # Read and write access in one pass: the topic is read once, not twice.
        with _room_not_found():
            topic_access.require_participant(user, room["topic_id"],
                                             topic_access.ACCESS_FIELDS)
        room_roles.require_not_room_banned(user, room)
        return room
    if user["_id"] not in room["member_ids"]:
        raise NotFound("Room not found.")
    if room["kind"] == "direct":
        # Checked on every write, not only when the room was opened: a block or an
        # `allow_messages_from` changed since then applies to the next message.
        other = next((uid for uid in room["member_ids"] if uid != user["_id"]), None)
        # The partner from this process's copy behind their version stamp.
        partner = user_copies.active_user(other) if other else None
        if partner is None:
            raise Forbidden("You cannot message this user.")
        check_can_message(user, partner)
    return room


def can_moderate_room(user: dict[str, Any], room: dict[str, Any]) -> bool:
    if is_site_moderator(user):
        return True
    if room["kind"] == "topic":
        topic = topic_access.get_readable_topic(user, room["topic_id"])
        return topic_access.can_moderate(user, topic)
    return room["kind"] == "group" and (room["created_by"] == user["_id"]
                                        or user["_id"] in room.get("moderator_ids", []))


def check_can_message(sender: dict[str, Any], recipient: dict[str, Any]) -> None:
    """Forbidden unless `recipient` accepts messages from `sender`: no block either way,
    and their `allow_messages_from` (everyone, friends, nobody) lets `sender` in. Applies
    to opening a direct room, every write into one, and being put in a group."""
    if is_blocked_between(sender["_id"], recipient["_id"]):
        raise Forbidden("You cannot message this user.")
    policy = (recipient.get("settings") or {}).get("allow_messages_from", "everyone")
    if policy == "nobody" or (policy == "friends"
                              and not are_friends(sender["_id"], recipient["_id"])):
        raise Forbidden("This user does not accept messages from you.")


def active_user(user_id: Any) -> dict[str, Any]:
    found = User().find_active(to_object_id(user_id, "User"))
    if found is None:
        raise NotFound("User not found.")
    return found


def readable_message(user: dict[str, Any], message_id: Any) -> tuple[dict, dict]:
    """(message, room) when `user` may read the message's room. A message that does not
    exist, is deleted, or sits in a room (or topic) they may not read is one and the same
    NotFound, so the answer never tells whether the id exists."""
    message = Message().find_by_id(message_id)
    try:
        if message is None or message["deleted"]:
            raise NotFound()
        room = readable_room(user, message["room_id"])
    except NotFound:
        raise NotFound("Message not found.") from None
    return message, room

"""Presence and typing: who is online, who types where.

Counting is per connection (services.platform.realtime's registry), so several tabs and several
processes agree: a user is online from their first connection to the end of their last,
and a crashed process's connections expire after `PRESENCE_TTL_SECONDS`. `presence`
events go to the user's friends and direct-message partners. Blocking hides presence
both ways: neither the events nor `get_online_users` tell one of the pair about the other.
"""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.block import Block
from models.friendship import Friendship
from models.topic_member import TopicMember
from services.accounts import write_gate
from services.accounts.users_service import public_users, serialize_public_user
from services.chat.chat_access import readable_room, writable_room
from services.live import room_entry
from services.platform import live_rooms, realtime, topic_access, typing_state

# Whose presence one request may ask about, at most.
MAX_PRESENCE_LOOKUP = 1000


def audience(user_id: ObjectId) -> list[ObjectId]:
    """Friends and direct-message partners of `user_id`, but nobody blocked either way
    (a direct room outlives a block)."""
    from models.room import Room

    people = Friendship().friend_ids_of(user_id) | Room().direct_member_ids(user_id)
    people.discard(user_id)
    people.difference_update(Block().related_ids(user_id))
    return sorted(people)


def announce(user_id: str, online: bool) -> None:
    """Tell the audience of `user_id` that they came online or went offline."""
    targets = [live_rooms.user_room(uid) for uid in audience(ObjectId(user_id))]
    if targets:
        realtime.emit("presence", {"user_id": user_id, "online": online}, to=targets)


def connected(user: dict[str, Any], sid: str, origin: str | None) -> None:
    """The socket `sid` connects (room_entry.TooManySockets past the per-user limit)."""
    if room_entry.connect(user, sid, origin):
        announce(str(user["_id"]), online=True)


def disconnected(user_id: str, sid: str) -> None:
    if room_entry.disconnect(user_id, sid):
        announce(user_id, online=False)


def online_among(viewer: dict[str, Any], user_ids: list[ObjectId]) -> list[str]:
    """The ids in `user_ids` that are online now, in the given order, leaving out
    whoever `viewer` blocked or was blocked by."""
    hidden = set(Block().related_ids(viewer["_id"]))
    states = live_rooms.is_online(str(uid) for uid in user_ids if uid not in hidden)
    return [uid for uid, online in states.items() if online]


def typing(room_id: str, user: dict[str, Any], is_typing: bool, sid: str | None) -> None:
    """Tell the room (not the typist's socket `sid`) when the state changes. Only someone
    who may write in the room types in it (a muted or banned member, an outsider: the
    same refusal as a send), checked here, before anything is recorded."""
    write_gate.admit(user, "typing")
    writable_room(user, room_id)
    if typing_state.set_typing(room_id, str(user["_id"]), is_typing):
        _emit_typing(room_id, user, is_typing, sid)


def expire_typing() -> None:
    expired = typing_state.sweep_typing()
    if not expired:
        return
    users = public_users([ObjectId(user_id) for _room, user_id in expired
                          if ObjectId.is_valid(user_id)])
    for room_id, user_id in expired:
        user = users.get(ObjectId(user_id)) if ObjectId.is_valid(user_id) else None
        if user is not None:
            _emit_typing(room_id, user, False, None)


def _emit_typing(room_id: str, user: dict[str, Any], is_typing: bool,
                 skip_sid: str | None) -> None:
    from flask import current_app

    expires_in = current_app.config["CHAT_TYPING_EXPIRY_SECONDS"] if is_typing else 0
    # Sent to the room; every socket of the typist is skipped client-side by user_id,
    # and the typist's own socket is skipped here. `user` (public fields) lets a client
    # show "Ada is typing" without looking the user up.
    realtime.emit("typing", {"room_id": room_id, "user_id": str(user["_id"]),
                             "user": serialize_public_user(user), "typing": is_typing,
                             "expires_in": expires_in},
                  to=live_rooms.chat_room(room_id), skip_sid=skip_sid)


# Whose presence a reader may ask about

def room_people(user: dict[str, Any], room_id: str) -> list[ObjectId]:
    """Whose presence a reader of the room may ask about: the members of a group or
    direct room, the members of a topic room's topic."""
    room = readable_room(user, room_id)
    if room["kind"] == "topic":
        return topic_people(user, room["topic_id"])
    return list(room["member_ids"])


def topic_people(user: dict[str, Any], topic_id: Any) -> list[ObjectId]:
    topic = topic_access.get_readable_topic(user, topic_id)
    return TopicMember().user_ids_in(topic["_id"], MAX_PRESENCE_LOOKUP)

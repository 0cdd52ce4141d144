"""Presence and typing: who is online, who types where.

Counting is per connection (services.realtime's registry), so several tabs and several
processes agree: a user is online from their first connection to the end of their last,
and a crashed process's connections expire after `PRESENCE_TTL_SECONDS`. `presence`
events go to the user's friends and direct-message partners.
"""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.friendship import ACCEPTED, Friendship
from services import realtime


def audience(user_id: ObjectId) -> list[ObjectId]:
    """Friends and direct-message partners of `user_id`."""
    from models.room import Room

    people: set[ObjectId] = set()
    for pair in Friendship().collection.find(
            {"status": ACCEPTED, "$or": [{"requester_id": user_id}, {"addressee_id": user_id}]},
            {"requester_id": 1, "addressee_id": 1}):
        people.update((pair["requester_id"], pair["addressee_id"]))
    for room in Room().collection.find({"kind": "direct", "member_ids": user_id},
                                       {"member_ids": 1}):
        people.update(room["member_ids"])
    people.discard(user_id)
    return sorted(people)


def announce(user_id: str, online: bool) -> None:
    """Tell the audience of `user_id` that they came online or went offline."""
    targets = [realtime.user_room(uid) for uid in audience(ObjectId(user_id))]
    if targets:
        realtime.emit("presence", {"user_id": user_id, "online": online}, to=targets)


def connected(user: dict[str, Any], sid: str) -> None:
    if realtime.register_connection(str(user["_id"]), sid):
        announce(str(user["_id"]), online=True)


def disconnected(user_id: str, sid: str) -> None:
    if realtime.unregister_connection(user_id, sid):
        announce(user_id, online=False)


def online_among(user_ids: list[ObjectId]) -> list[str]:
    """The ids in `user_ids` that are online now, in the given order."""
    states = realtime.is_online(str(uid) for uid in user_ids)
    return [uid for uid, online in states.items() if online]


def typing(room_id: str, user_id: str, is_typing: bool) -> None:
    """Tell the room (not the typist's own sockets) when the state changes."""
    if realtime.set_typing(room_id, user_id, is_typing):
        _emit_typing(room_id, user_id, is_typing)


def expire_typing() -> None:
    for room_id, user_id in realtime.sweep_typing():
        _emit_typing(room_id, user_id, False)


def _emit_typing(room_id: str, user_id: str, is_typing: bool) -> None:
    from flask import current_app

    expires_in = current_app.config["CHAT_TYPING_EXPIRY_SECONDS"] if is_typing else 0
    # Sent to the room; every socket of the typist is skipped client-side by user_id,
    # and the typist's own socket is skipped here.
    realtime.emit("typing", {"room_id": room_id, "user_id": user_id, "typing": is_typing,
                             "expires_in": expires_in},
                  to=f"chat_room_{room_id}", skip_sid=_current_sid())


def _current_sid() -> str | None:
    from flask import has_request_context, request

    return getattr(request, "sid", None) if has_request_context() else None

"""Who may see a call and which socket takes part in it: read by the call lifecycle, the
signaling relay and the entry into `voip_<call_id>` (services.live.room_entry).

A participant (a party) belongs to the user and the login whose socket claimed it: its
`party_id` is unique in the call, and it stores the socket's `origin` (the cookie
session's login or the bearer token that opened it). Only a socket of that same login
takes it back after a reconnect (`call_rejoin`), and only its current socket acts as it.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from bson import ObjectId

from models.base import to_object_id
from models.call import Call
from services.chat.chat_access import readable_room
from utils.errors import Forbidden, NotFound


class Device(NamedTuple):
    """The socket acting in a call: its id, and the login that opened it
    (services.platform.live_rooms `session_origin` / `token_origin`)."""
    sid: str
    origin: str | None


def owned(party: dict[str, Any], device: Device) -> dict[str, Any]:
    """The conditional-update match of `party` as held by `device` (models.call
    `update_party`, `remove_party`): the write happens only if it still is."""
    return {"party_id": party["party_id"], "user_id": party["user_id"], "sid": device.sid,
            "origin": device.origin}


def visible_call(user: dict[str, Any], call_id: Any) -> dict[str, Any]:
    """The call if `user` may read its room; otherwise "not found", like a missing one."""
    call = Call().find_by_id(call_id)
    if call is None:
        raise NotFound("Call not found.")
    try:
        readable_room(user, call["room_id"])
    except NotFound:
        raise NotFound("Call not found.") from None
    return call


def party_of(call: dict[str, Any], user: dict[str, Any], device: Device) -> dict[str, Any]:
    """The participant this socket is; Forbidden for anyone else (an outsider, or another
    device of a participant)."""
    for party in call["participants"]:
        if (party["sid"] == device.sid and party["user_id"] == user["_id"]
                and party.get("origin") == device.origin):
            return party
    raise Forbidden("You are not in this call.")


def require_party_socket(user: dict[str, Any], call_id: Any, device: Device) -> ObjectId:
    """The call's id when `device` of `user` is one of the live call's participants;
    services.live.room_entry asks this before (and after) putting the socket into
    `voip_<call_id>`."""
    call = Call().find_live(to_object_id(call_id, "Call"))
    if call is None:
        raise NotFound("Call not found.")
    party_of(call, user, device)
    return call["_id"]

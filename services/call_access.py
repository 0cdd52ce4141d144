"""Who may see a call and which socket takes part in it: read by the call lifecycle, the
signaling relay and the entry into `voip_<call_id>` (services.room_entry)."""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.base import to_object_id
from models.call import Call
from services.chat_access import readable_room
from utils.errors import Forbidden, NotFound


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


def party_of(call: dict[str, Any], user: dict[str, Any], sid: str) -> dict[str, Any]:
    """The participant this socket is; Forbidden for anyone else (an outsider, or another
    device of a participant)."""
    for party in call["participants"]:
        if party["sid"] == sid and party["user_id"] == user["_id"]:
            return party
    raise Forbidden("You are not in this call.")


def require_party_socket(user: dict[str, Any], call_id: Any, sid: str) -> ObjectId:
    """The call's id when socket `sid` of `user` is one of the live call's participants;
    services.room_entry asks this before (and after) putting the socket into `voip_<call_id>`."""
    call = Call().find_live(to_object_id(call_id, "Call"))
    if call is None:
        raise NotFound("Call not found.")
    party_of(call, user, sid)
    return call["_id"]

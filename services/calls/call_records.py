"""What a call leaves behind and how it is shown: its JSON view, the system messages in
its room (started; ended with duration, missed, declined, cancelled), the missed-call
notification, and the list of my recent calls."""
from __future__ import annotations

from typing import Any

from models.base import id_str, isoformat, to_object_id
from models.call import Call
from models.user import User
from services.chat import chat_send
from services.chat.chat_access import readable_room
from services.notify import notifications_service
from services.platform.shapes.calls import CALL
from utils.errors import Forbidden, NotFound

ENDED_TEXT = {"missed": "Missed {kind} call", "rejected": "{kind_title} call declined",
              "cancelled": "{kind_title} call cancelled"}


def duration_seconds(call: dict[str, Any]) -> int | None:
    if not call.get("answered_at"):
        return None
    end = call.get("ended_at")
    if end is None:
        return None
    return max(0, int((end - call["answered_at"]).total_seconds()))


def serialize(call: dict[str, Any]) -> dict[str, Any]:
    """Participants only while the call is live; `connected` while a socket holds the
    party."""
    live = call["state"] in ("ringing", "active")
    return CALL.dump({
        **call, "duration_seconds": duration_seconds(call),
        "participants": [{**party, "connected": party.get("sid") is not None}
                         for party in call["participants"]] if live else []})


def peers(call: dict[str, Any], party_id: str) -> list[dict[str, str]]:
    """The other devices in the call: whom a newcomer sends its offers to."""
    return [{"user_id": id_str(p["user_id"]), "party_id": p["party_id"]}
            for p in call["participants"] if p["party_id"] != party_id]


def _clock(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


def shown_name(user: dict[str, Any] | None) -> str:
    if user is None:
        return "Someone"
    return user.get("display_name") or user["username"]


def post_started(call: dict[str, Any], caller: dict[str, Any]) -> None:
    chat_send.post_system_message(
        call["room_id"], call["created_by"], f"{shown_name(caller)} started a {call['kind']} call",
        f"call:{call['_id']}:start",
        {"type": "call", "event": "started", "call_id": id_str(call["_id"]),
         "kind": call["kind"]})


def post_ended(call: dict[str, Any]) -> None:
    """Once per call: the client_id makes a second writer (another process) a no-op."""
    duration = duration_seconds(call)
    if call["state"] == "ended":
        body = f"{call['kind'].title()} call ended · {_clock(duration or 0)}"
    else:
        body = ENDED_TEXT[call["state"]].format(kind=call["kind"],
                                                kind_title=call["kind"].title())
    chat_send.post_system_message(
        call["room_id"], call["created_by"], body, f"call:{call['_id']}:end",
        {"type": "call", "event": "missed" if call["state"] == "missed" else "ended",
         "call_id": id_str(call["_id"]), "kind": call["kind"], "state": call["state"],
         "reason": call["end_reason"], "duration_seconds": duration})


def notify_missed(call: dict[str, Any]) -> None:
    """A `missed_call` notification for each invitee who neither answered nor declined."""
    caller = User().find_by_id(call["created_by"])
    rejected = set(call.get("rejected_ids", []))
    data = {"call_id": id_str(call["_id"]), "room_id": id_str(call["room_id"]),
            "kind": call["kind"], "caller_id": id_str(call["created_by"]),
            "caller_name": shown_name(caller), "at": isoformat(call["created_at"])}
    for user_id in call["invitee_ids"]:
        if user_id not in rejected:
            notifications_service.notify(user_id, "missed_call", data, actor=caller,
                                         sources={"room": call["room_id"]})


def record_end(call: dict[str, Any]) -> None:
    post_ended(call)
    if call["state"] == "missed":
        notify_missed(call)


def _readable(user: dict[str, Any], room_ids: list[Any]) -> list[Any]:
    readable = []
    for room_id in room_ids:
        try:
            readable_room(user, room_id)
        except (NotFound, Forbidden):
            continue
        readable.append(room_id)
    return readable


def list_mine(user: dict[str, Any], limit: int, cursor: str | None,
              room_id: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Calls I started, was invited to or joined, newest first, of the rooms I may still
    read: the room decides who sees a call, as for GET /api/calls/<id> (a member removed
    from a group no longer sees its calls, their participants or mute state)."""
    rooms = Call().room_ids_of_person(user["_id"])
    if room_id:
        wanted = to_object_id(room_id, "Room")
        rooms = [room for room in rooms if room == wanted]
    return Call().page_of_person(user["_id"], _readable(user, rooms), limit, cursor)

"""In-call signaling: offers, answers and ICE candidates addressed to one party, mute
state, speaking indicators and heartbeats.

Each signal is checked against the stored call: it must come from the socket of a live
participant and go to another live participant of the same call. Nothing is sent to the
room at large; offers, answers and candidates go to the one target socket only.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app

from models.call import Call
from services.accounts import write_gate
from services.chat.call_access import Device, owned, party_of, visible_call
from services.platform import chat_limits, realtime
from services.platform.live_rooms import voip_room
from utils import clock
from utils.errors import Conflict, Forbidden, NotFound


def _limit(user: dict[str, Any]) -> None:
    chat_limits.hit("call_signal", str(user["_id"]), "CALL_SIGNAL_RATE_LIMIT",
                    "Too many call signals; slow down.")


def relay(user: dict[str, Any], device: Device, event: str, payload: dict[str, Any]
          ) -> dict[str, Any]:
    """Send `event` (offer, answer or candidates) from this socket's party to the party
    `payload["to_party_id"]` of the same call. An offer to a party already connected is
    a renegotiation (an ICE restart, a track added); the wire format is the same."""
    write_gate.admit(user, "call")
    _limit(user)
    call = visible_call(user, payload["call_id"])
    sender = party_of(call, user, device)
    target = next((p for p in call["participants"]
                   if p["party_id"] == payload["to_party_id"]
                   and p["party_id"] != sender["party_id"]), None)
    if target is None:
        raise NotFound("No such party in this call.")
    if target["sid"] is None:
        raise Conflict("That party is reconnecting; send again when it rejoins.",
                       {"reason": "party_reconnecting"})
    body = {k: v for k, v in payload.items() if k not in ("call_id", "to_party_id")}
    realtime.emit(event, {"call_id": str(call["_id"]), "from_user_id": str(user["_id"]),
                          "from_party_id": sender["party_id"], **body}, to=target["sid"])
    return {"call_id": str(call["_id"]), "to_party_id": target["party_id"]}


def set_mute(user: dict[str, Any], device: Device, call_id: str, changes: dict[str, bool]
             ) -> dict[str, Any]:
    """Store this device's mute state and tell the call."""
    write_gate.admit(user, "call")
    _limit(user)
    call = visible_call(user, call_id)
    party = party_of(call, user, device)
    updated = Call().update_party(call["_id"], owned(party, device), changes)
    if updated is None:
        raise Forbidden("You are not in this call.")
    now = next(p for p in updated["participants"] if p["party_id"] == party["party_id"])
    state = {"call_id": str(call["_id"]), "user_id": str(user["_id"]),
             "party_id": party["party_id"], "audio_muted": now["audio_muted"],
             "video_muted": now["video_muted"]}
    realtime.emit("call_mute", state, to=voip_room(call["_id"]), skip_sid=device.sid)
    return state


def speaking(user: dict[str, Any], device: Device, call_id: str, is_speaking: bool
             ) -> dict[str, Any]:
    """A voice-activity hint for the others' UI; not stored."""
    write_gate.admit(user, "call")
    _limit(user)
    call = visible_call(user, call_id)
    party = party_of(call, user, device)
    state = {"call_id": str(call["_id"]), "user_id": str(user["_id"]),
             "party_id": party["party_id"], "speaking": is_speaking}
    realtime.emit("call_speaking", state, to=voip_room(call["_id"]), skip_sid=device.sid)
    return state


def heartbeat(user: dict[str, Any], device: Device, call_id: str) -> dict[str, Any]:
    """Push this device's deadline forward; a device that stops is dropped by the
    sweep (`heartbeat_timeout`), so a dead tab cannot keep a call alive."""
    write_gate.admit(user, "call")
    call = visible_call(user, call_id)
    party = party_of(call, user, device)
    seconds = float(current_app.config["CALL_HEARTBEAT_TIMEOUT_SECONDS"])
    updated = Call().update_party(call["_id"], owned(party, device),
                                  {"expires_at": clock.now() + timedelta(seconds=seconds)})
    if updated is None:
        raise Forbidden("You are not in this call.")
    return {"call_id": str(call["_id"]), "expires_in": seconds}

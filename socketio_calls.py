"""Socket.IO events of calls (docs/CALLS.md). Each handler validates its payload, takes
the acting user and this socket's id, and calls the calls services; every event is
acknowledged `{ok, data}` / `{ok: false, error}`."""
from __future__ import annotations

from typing import Any

from flask import request

from routes.call_schemas import (
    AcceptCallSchema,
    CallRefSchema,
    CandidatesSchema,
    DescriptionEventSchema,
    HangupSchema,
    MuteSchema,
    RejectCallSchema,
    RejoinCallSchema,
    RoomRefSchema,
    SpeakingSchema,
    StartCallSchema,
)
from services.calls import call_signals, calls_service
from services.chat.call_access import Device
from services.platform.shapes import events
from utils.extensions import socketio
from utils.socket_events import acknowledged, socket_origin, socket_user

Payload = dict[str, Any]


def this_device() -> Device:
    """This socket and the login that opened it: a call party is bound to both."""
    return Device(request.sid, socket_origin())


@socketio.on("call_start")
@acknowledged(StartCallSchema(), reply=events.CallJoinAckSchema)
def on_call_start(payload: Payload) -> Payload:
    return calls_service.start_call(socket_user(), payload["room_id"], payload["kind"],
                                    payload.get("party_id"), this_device())


@socketio.on("call_accept")
@acknowledged(AcceptCallSchema(), reply=events.CallJoinAckSchema)
def on_call_accept(payload: Payload) -> Payload:
    """Answer a ringing call, or join a group or topic room's live call."""
    return calls_service.accept_call(socket_user(), payload["call_id"],
                                     payload.get("party_id"), this_device())


@socketio.on("call_rejoin")
@acknowledged(RejoinCallSchema(), reply=events.CallJoinAckSchema)
def on_call_rejoin(payload: Payload) -> Payload:
    return calls_service.rejoin_call(socket_user(), payload["call_id"], payload["party_id"],
                                     this_device())


@socketio.on("call_reject")
@acknowledged(RejectCallSchema(), reply=events.CallRejectAckSchema)
def on_call_reject(payload: Payload) -> Payload:
    return calls_service.reject_call(socket_user(), payload["call_id"], payload["reason"])


@socketio.on("call_cancel")
@acknowledged(CallRefSchema(), reply=events.CallAckSchema)
def on_call_cancel(payload: Payload) -> Payload:
    return calls_service.cancel_call(socket_user(), payload["call_id"], this_device())


@socketio.on("call_hangup")
@acknowledged(HangupSchema(), reply=events.CallAckSchema)
def on_call_hangup(payload: Payload) -> Payload:
    return calls_service.hangup(socket_user(), payload["call_id"], this_device(),
                                payload["reason"])


@socketio.on("call_offer")
@acknowledged(DescriptionEventSchema(), reply=events.CallRelayAckSchema)
def on_call_offer(payload: Payload) -> Payload:
    return call_signals.relay(socket_user(), this_device(), "call_offer", payload)


@socketio.on("call_answer")
@acknowledged(DescriptionEventSchema(), reply=events.CallRelayAckSchema)
def on_call_answer(payload: Payload) -> Payload:
    return call_signals.relay(socket_user(), this_device(), "call_answer", payload)


@socketio.on("call_candidates")
@acknowledged(CandidatesSchema(), reply=events.CallRelayAckSchema)
def on_call_candidates(payload: Payload) -> Payload:
    return call_signals.relay(socket_user(), this_device(), "call_candidates", payload)


@socketio.on("call_mute")
@acknowledged(MuteSchema(), reply=events.CallMuteEventSchema)
def on_call_mute(payload: Payload) -> Payload:
    changes = {k: payload[k] for k in ("audio_muted", "video_muted") if k in payload}
    return call_signals.set_mute(socket_user(), this_device(), payload["call_id"], changes)


@socketio.on("call_speaking")
@acknowledged(SpeakingSchema(), reply=events.CallSpeakingEventSchema)
def on_call_speaking(payload: Payload) -> Payload:
    return call_signals.speaking(socket_user(), this_device(), payload["call_id"],
                                 payload["speaking"])


@socketio.on("call_heartbeat")
@acknowledged(CallRefSchema(), reply=events.CallHeartbeatAckSchema)
def on_call_heartbeat(payload: Payload) -> Payload:
    return call_signals.heartbeat(socket_user(), this_device(), payload["call_id"])


@socketio.on("call_active")
@acknowledged(RoomRefSchema(), reply=events.CallActiveAckSchema)
def on_call_active(payload: Payload) -> Payload:
    """The room's live call, or null."""
    return {"room_id": payload["room_id"],
            "call": calls_service.active_call(socket_user(), payload["room_id"])}


@socketio.on("call_mine")
@acknowledged(reply=events.CallMineAckSchema)
def on_call_mine(payload: Any = None) -> Payload:
    """Live calls ringing for me or that I am in."""
    return {"calls": calls_service.my_live_calls(socket_user())}

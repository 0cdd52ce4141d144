"""Call lifecycle: start, accept, reject, hang up, reconnect, and the sweep that ends
what nobody ends by hand (docs/CALLS.md).

The state lives in MongoDB (models.call); every transition is one conditional update,
so two processes, or a user and the sweep, never both win. Timers are stored deadlines
(`ring_deadline`, each participant's `expires_at`) that `sweep()` acts on; it runs in
every process's realtime maintenance loop and tests call it with a moved clock.
Events are emitted only after the write they describe succeeded.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from flask import current_app

from models.base import to_object_id
from models.block import Block
from models.call import ACTIVE, LIVE_STATES, RINGING, Call
from services.accounts import write_gate
from services.calls import call_push, call_records
from services.chat.call_access import Device, owned, party_of, visible_call
from services.chat.chat_access import readable_room, writable_room
from services.live import room_entry
from services.platform import live_rooms, realtime
from services.platform.live_rooms import user_room, voip_room
from utils import clock
from utils.errors import Conflict
from utils.extensions import socketio

NAMESPACE = "/"


def enter_call_room(user: dict[str, Any], call_id: Any, device: Device) -> str:
    """Put `device`'s socket into `voip_<call_id>` through room_entry, the only way in."""
    return room_entry.enter(user, live_rooms.VOIP, call_id, device.sid, origin=device.origin)


def _leave_call_room(sid: str | None, call_id: ObjectId) -> None:
    if sid and socketio.server is not None:
        # The Redis manager forwards this to the process that holds the socket.
        socketio.server.leave_room(sid, voip_room(call_id), namespace=NAMESPACE)


# Starting and joining

def _seconds(name: str) -> timedelta:
    return timedelta(seconds=float(current_app.config[name]))


def _participant(user: dict[str, Any], party_id: str | None, device: Device,
                 now: datetime) -> dict[str, Any]:
    return {"user_id": user["_id"], "party_id": party_id or uuid.uuid4().hex,
            "sid": device.sid, "origin": device.origin, "joined_at": now,
            "expires_at": now + _seconds("CALL_HEARTBEAT_TIMEOUT_SECONDS"),
            "audio_muted": False, "video_muted": False}


def _invitees(user: dict[str, Any], room: dict[str, Any]) -> list[ObjectId]:
    """Whose devices ring: the other members of a direct or group room, except people
    the caller blocked or was blocked by. A topic room rings nobody; its members see
    the call in the room and join it."""
    if room["kind"] == "topic":
        return []
    blocked = set(Block().related_ids(user["_id"]))
    return [uid for uid in room["member_ids"] if uid != user["_id"] and uid not in blocked]


def start_call(user: dict[str, Any], room_id: str, kind: str, party_id: str | None,
               device: Device) -> dict[str, Any]:
    """Start the room's call and ring the invitees. If the room already has a live call
    (glare: the other side called at the same moment), join that one instead."""
    write_gate.admit(user, "call")
    room = writable_room(user, room_id)
    now = clock.now()
    ring = timedelta(seconds=current_app.config["CALL_RING_SECONDS"])
    caller = _participant(user, party_id, device, now)
    invitees = _invitees(user, room)
    call = {"room_id": room["_id"], "room_kind": room["kind"], "kind": kind, "state": RINGING,
            "live_room": room["_id"], "created_by": user["_id"], "created_at": now,
            "ring_deadline": now + ring, "lifetime_ms": int(ring.total_seconds() * 1000),
            "answered_at": None, "ended_at": None, "end_reason": None, "ended_by": None,
            "invitee_ids": invitees, "rejected_ids": [], "people": [user["_id"], *invitees],
            "participants": [caller], "count": 1, "history": []}
    try:
        Call().insert(call)
    except Conflict:
        existing = Call().find_live_in_room(room["_id"])
        if existing is None:
            raise Conflict("The room's call just ended; start again.") from None
        return {**accept_call(user, str(existing["_id"]), party_id, device), "glare": True}
    enter_call_room(user, call["_id"], device)
    call_records.post_started(call, user)
    view = call_records.serialize(call)
    if invitees:
        realtime.emit("call_invite", {"call": view, "caller_party_id": caller["party_id"],
                                      "lifetime_ms": call["lifetime_ms"]},
                      to=[user_room(uid) for uid in invitees])
        call_push.ring(call)
    return {"call": view, "party_id": caller["party_id"], "peers": [], "glare": False}


def accept_call(user: dict[str, Any], call_id: str, party_id: str | None,
                device: Device) -> dict[str, Any]:
    """Answer a ringing call or join a live one. Per user the first device wins; its
    other devices hear `call_answered_elsewhere`."""
    write_gate.admit(user, "call")
    call = visible_call(user, call_id)
    writable_room(user, call["room_id"])
    if call["state"] not in LIVE_STATES:
        raise Conflict("This call is over.", {"reason": "call_ended"})
    now = clock.now()
    party = _participant(user, party_id, device, now)
    joined = Call().add_participant(call["_id"], party,
                                    current_app.config["CALL_MAX_PARTICIPANTS"], now)
    if joined is None:
        raise _why_not_joined(user, call["_id"], party["party_id"])
    enter_call_room(user, joined["_id"], device)
    view = call_records.serialize(joined)
    realtime.emit("call_accepted", {"call_id": view["id"], "user_id": str(user["_id"]),
                                    "party_id": party["party_id"], "call": view},
                  to=voip_room(joined["_id"]), skip_sid=device.sid)
    realtime.emit("call_answered_elsewhere", {"call_id": view["id"],
                                              "party_id": party["party_id"]},
                  to=user_room(user["_id"]), skip_sid=device.sid)
    call_push.stopped_for(joined, user["_id"], "answered_elsewhere")
    return {"call": view, "party_id": party["party_id"],
            "peers": call_records.peers(joined, party["party_id"]), "glare": False}


def _why_not_joined(user: dict[str, Any], call_id: ObjectId, party_id: str) -> Conflict:
    fresh = Call().find_by_id(call_id)
    if fresh is None or fresh["state"] not in LIVE_STATES:
        return Conflict("This call is over.", {"reason": "call_ended"})
    if any(p["user_id"] == user["_id"] for p in fresh["participants"]):
        return Conflict("You answered this call on another device.",
                        {"reason": "answered_elsewhere"})
    if any(p["party_id"] == party_id for p in fresh["participants"]):
        return Conflict("This party_id is taken in this call.", {"reason": "party_taken"})
    return Conflict("This call is full.", {"reason": "call_full"})


def rejoin_call(user: dict[str, Any], call_id: str, party_id: str,
                device: Device) -> dict[str, Any]:
    """A reconnected device takes its place back (same party_id) within the grace: only
    a socket of the user and login that claimed the party (docs/CALLS.md)."""
    write_gate.admit(user, "call")
    call = visible_call(user, call_id)
    writable_room(user, call["room_id"])
    mine = {"party_id": party_id, "user_id": user["_id"], "origin": device.origin}
    old = next((p for p in call["participants"]
                if all(p.get(k) == v for k, v in mine.items())), None)
    expires = clock.now() + _seconds("CALL_HEARTBEAT_TIMEOUT_SECONDS")
    updated = Call().update_party(call["_id"], mine,
                                  {"sid": device.sid, "expires_at": expires}) if old else None
    if updated is None:
        raise Conflict("You are no longer in this call.", {"reason": "not_in_call"})
    if old["sid"] and old["sid"] != device.sid:
        _leave_call_room(old["sid"], call["_id"])
    enter_call_room(user, updated["_id"], device)
    realtime.emit("call_party_rejoined", {"call_id": str(call["_id"]),
                                          "user_id": str(user["_id"]), "party_id": party_id},
                  to=voip_room(call["_id"]), skip_sid=device.sid)
    return {"call": call_records.serialize(updated), "party_id": party_id,
            "peers": call_records.peers(updated, party_id), "glare": False}


# Declining, leaving, ending

def reject_call(user: dict[str, Any], call_id: str, reason: str) -> dict[str, Any]:
    """An invitee declines (distinct from hanging up: they never joined). Every device
    of theirs stops ringing; a call everyone declined ends as `rejected`."""
    call = visible_call(user, call_id)
    updated = Call().add_rejection(call["_id"], user["_id"])
    if updated is None:
        raise Conflict("There is no invite of yours to decline.", {"reason": "not_ringing"})
    realtime.emit("call_rejected", {"call_id": str(call["_id"]), "user_id": str(user["_id"]),
                                    "reason": reason},
                  to=[voip_room(call["_id"]), user_room(user["_id"])])
    call_push.stopped_for(updated, user["_id"], "declined")
    if updated["state"] == RINGING and set(updated["invitee_ids"]) <= set(updated["rejected_ids"]):
        _end(updated, "rejected", reason, user["_id"], {"state": RINGING, "count": 1})
    return {"call_id": str(call["_id"]), "rejected": True}


def hangup(user: dict[str, Any], call_id: str, device: Device, reason: str) -> dict[str, Any]:
    """Leave the call from this device; the call ends when fewer than two remain (a
    caller hanging up a ringing call cancels it)."""
    call = visible_call(user, call_id)
    party = party_of(call, user, device)
    _drop(call["_id"], party, owned(party, device), reason, user["_id"])
    fresh = Call().find_by_id(call["_id"])
    return {"call": call_records.serialize(fresh)}


def cancel_call(user: dict[str, Any], call_id: str, device: Device) -> dict[str, Any]:
    """The caller gives up before anyone answered."""
    call = visible_call(user, call_id)
    if call["state"] != RINGING or call["created_by"] != user["_id"]:
        raise Conflict("Only a ringing call can be cancelled, by its caller.",
                       {"reason": "not_ringing"})
    return hangup(user, call_id, device, "user_hangup")


def _drop(call_id: ObjectId, party: dict[str, Any], match: dict[str, Any], reason: str,
          by: ObjectId | None) -> dict[str, Any] | None:
    record = {"user_id": party["user_id"], "party_id": party["party_id"],
              "joined_at": party["joined_at"], "left_at": clock.now(), "reason": reason}
    updated = Call().remove_party(call_id, match, record)
    if updated is None:
        return None  # someone else removed it first
    _leave_call_room(party["sid"], call_id)
    realtime.emit("call_left", {"call_id": str(call_id), "user_id": str(party["user_id"]),
                                "party_id": party["party_id"], "reason": reason},
                  to=voip_room(call_id))
    _settle(updated, reason, by)
    return updated


def _settle(call: dict[str, Any], reason: str, by: ObjectId | None) -> None:
    """End a call that has nobody left to talk to."""
    if call["state"] == RINGING and call["count"] == 0:
        _end(call, "cancelled", reason, by, {"state": RINGING, "count": 0})
    elif call["state"] == ACTIVE and call["count"] < 2:
        _end(call, "ended", reason, by, {"state": ACTIVE, "count": {"$lt": 2}})


def _end(call: dict[str, Any], state: str, reason: str, by: ObjectId | None,
         only_if: dict[str, Any]) -> dict[str, Any] | None:
    ended = Call().finish(call["_id"], state, reason, by, clock.now(), only_if)
    if ended is None:
        return None
    view = call_records.serialize(ended)
    targets = [voip_room(ended["_id"]), user_room(ended["created_by"]),
               *(user_room(uid) for uid in ended["invitee_ids"])]
    realtime.emit("call_ended", {"call_id": view["id"], "room_id": view["room_id"],
                                 "state": state, "reason": reason, "by": view["ended_by"],
                                 "duration_seconds": view["duration_seconds"], "call": view},
                  to=targets)
    call_records.record_end(ended)
    call_push.ended(ended)
    return ended


def drop_from_room_call(user_id: Any, room_id: Any) -> None:
    """`user_id` lost room `room_id` (left or was removed from the group, was banned from
    or left its topic, or the topic turned private): their device leaves the room's live
    call as `removed_from_room` (its socket leaves `voip_<call_id>`, so nothing of the
    call reaches it any more), and the call ends if fewer than two remain."""
    call = Call().find_live_in_room(to_object_id(room_id, "Room"))
    if call is None:
        return
    uid = to_object_id(user_id, "User")
    for party in call["participants"]:
        if party["user_id"] == uid:
            _drop(call["_id"], party, {"party_id": party["party_id"], "user_id": uid},
                  "removed_from_room", None)


# Faults: a socket gone, heartbeats missing, an invite nobody answers

def socket_gone(sid: str) -> None:
    """On disconnect: the socket's participants wait for a rejoin until the grace ends."""
    deadline = clock.now() + _seconds("CALL_RECONNECT_GRACE_SECONDS")
    for call in Call().find_by_sid(sid):
        party = next(p for p in call["participants"] if p["sid"] == sid)
        if Call().update_party(call["_id"], {"party_id": party["party_id"],
                                             "user_id": party["user_id"], "sid": sid},
                               {"sid": None, "expires_at": deadline}):
            realtime.emit("call_party_disconnected", {
                "call_id": str(call["_id"]), "user_id": str(party["user_id"]),
                "party_id": party["party_id"],
                "grace_seconds": current_app.config["CALL_RECONNECT_GRACE_SECONDS"]},
                to=voip_room(call["_id"]))


def sweep(now: datetime | None = None) -> int:
    """End invites past their lifetime (`missed`) and drop participants past their
    deadline (`connection_lost` if their socket was gone, else `heartbeat_timeout`),
    which ends calls left with fewer than two. Safe on every process at once."""
    now = now or clock.now()
    done = 0
    for call in Call().find_ring_expired(now):
        if _end(call, "missed", "invite_timeout", None,
                {"state": RINGING, "ring_deadline": {"$lte": now}}):
            done += 1
    for call in Call().find_participant_expired(now):
        for party in call["participants"]:
            if party["expires_at"] > now:
                continue
            reason = "connection_lost" if party["sid"] is None else "heartbeat_timeout"
            if _drop(call["_id"], party, {"party_id": party["party_id"],
                                          "user_id": party["user_id"],
                                          "expires_at": {"$lte": now}}, reason, None):
                done += 1
    return done


# Views

def active_call(user: dict[str, Any], room_id: str) -> dict[str, Any] | None:
    room = readable_room(user, room_id)
    call = Call().find_live_in_room(room["_id"])
    return call_records.serialize(call) if call else None


def my_live_calls(user: dict[str, Any]) -> list[dict[str, Any]]:
    """Calls ringing for me or that I am in (a reloaded page finds its call here)."""
    return [call_records.serialize(c) for c in Call().find_live_of_user(user["_id"])
            if c["state"] in LIVE_STATES]

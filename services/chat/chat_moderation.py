"""Room roles and sanctions (docs/MESSAGING.md "Room roles"): a group's owner
(`created_by`) and moderators (`moderator_ids`), and for topic chat rooms the topic's
moderators (site moderators everywhere), kick, ban for a while and mute members; the
owner promotes and demotes moderators and hands the group over. Direct rooms have no
roles. Every action is written first, then audit-logged, then announced."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

from models.base import isoformat, to_object_id
from models.room import Room
from models.room_member import RoomMember
from services.accounts import write_gate
from services.chat.chat_access import active_user, can_moderate_room, readable_room
from services.chat.chat_rooms import announce_room, drop_member
from services.platform import audit_service, live_rooms, realtime
from utils import clock
from utils.errors import BadRequest, Forbidden, NotFound, ValidationFailed
from utils.roles import is_site_moderator


def _moderated(actor: dict[str, Any], room_id: Any) -> dict[str, Any]:
    room = readable_room(actor, room_id)
    if room["kind"] == "direct":
        raise BadRequest("A direct conversation has no moderators.")
    if not can_moderate_room(actor, room):
        raise Forbidden("Only the room's owner and moderators may do this.")
    return room


def _outranks(actor: dict[str, Any], room: dict[str, Any], target_id: ObjectId) -> None:
    """Moderators act on plain members; the owner (and site staff) on moderators too;
    nobody on the owner or on themselves."""
    if target_id == actor["_id"]:
        raise BadRequest("You cannot do this to yourself.")
    if is_site_moderator(actor):
        if room["kind"] == "group" and target_id == room["created_by"]:
            raise Forbidden("The owner of the group cannot be sanctioned in it.")
        return
    if room["kind"] == "group":
        if target_id == room["created_by"]:
            raise Forbidden("The owner of the group cannot be sanctioned in it.")
        if target_id in room.get("moderator_ids", []) and actor["_id"] != room["created_by"]:
            raise Forbidden("Only the owner acts on a moderator.")
        return
    try:
        above = can_moderate_room(active_user(target_id), room)
    except NotFound:  # someone who may not read the topic (kept out ahead of time)
        above = False
    if above:
        raise Forbidden("Moderators of the topic cannot be sanctioned in its rooms.")


def _audit(actor: dict[str, Any], action: str, room: dict[str, Any], target_id: ObjectId,
           reason: str | None = None, data: dict[str, Any] | None = None) -> None:
    audit_service.record(actor, f"room.{action}", "user", target_id, reason,
                         {"room_id": str(room["_id"]), **(data or {})},
                         topic_id=room.get("topic_id"))


def _expiry(expires_at: datetime | None) -> datetime | None:
    if expires_at is not None and expires_at <= clock.now():
        raise ValidationFailed(details={"expires_at": ["must be in the future"]})
    return expires_at


def _remove(room: dict[str, Any], target_id: ObjectId) -> None:
    """Out of the room: a group's membership and moderator role, a topic room's "my
    rooms" entry, and every live socket (each hears `removed_from_room`). Announcing
    the room is the caller's, after its last write."""
    if room["kind"] == "group":
        if target_id in room["member_ids"]:
            drop_member(room, target_id)
        return
    RoomMember().remove(room["_id"], target_id)
    live_rooms.evict_from_chat_room(target_id, room["_id"])


def kick(actor: dict[str, Any], room_id: Any, target_id: Any) -> dict[str, Any]:
    write_gate.admit(actor, "moderate")
    room = _moderated(actor, room_id)
    target = to_object_id(target_id, "Member")
    _outranks(actor, room, target)
    if room["kind"] == "group" and target not in room["member_ids"]:
        raise NotFound("Member not found.")
    _remove(room, target)
    _audit(actor, "kick", room, target)
    updated = Room().get(room["_id"])
    if room["kind"] == "group":
        announce_room(updated)
    return updated


def ban(actor: dict[str, Any], room_id: Any, target_id: str, reason: str | None,
        expires_at: datetime | None) -> dict[str, Any]:
    """Out now, and kept out (no re-invite, re-join or writing) until `expires_at`."""
    write_gate.admit(actor, "moderate")
    room = _moderated(actor, room_id)
    target = active_user(target_id)["_id"]
    _outranks(actor, room, target)
    entry = {"user_id": target, "expires_at": _expiry(expires_at), "reason": reason,
             "by": actor["_id"], "at": clock.now()}
    Room().put_sanction(room["_id"], "bans", entry, clock.now())
    _remove(room, target)
    _audit(actor, "ban", room, target, reason, {"expires_at": expires_at})
    updated = Room().get(room["_id"])
    announce_room(updated)
    return updated


def mute(actor: dict[str, Any], room_id: Any, target_id: str, reason: str | None,
         expires_at: datetime | None) -> dict[str, Any]:
    """The member stays and reads, but cannot send, edit, react or type until then."""
    write_gate.admit(actor, "moderate")
    room = _moderated(actor, room_id)
    target = active_user(target_id)["_id"]
    _outranks(actor, room, target)
    if room["kind"] == "group" and target not in room["member_ids"]:
        raise NotFound("Member not found.")
    entry = {"user_id": target, "expires_at": _expiry(expires_at), "reason": reason,
             "by": actor["_id"], "at": clock.now()}
    updated = Room().put_sanction(room["_id"], "mutes", entry, clock.now())
    _audit(actor, "mute", room, target, reason, {"expires_at": expires_at})
    announce_room(updated)
    realtime.emit("room_muted", {"room_id": str(room["_id"]),
                                 "expires_at": isoformat(expires_at)},
                  to=live_rooms.user_room(target))
    return updated


def lift(actor: dict[str, Any], room_id: Any, kind: str, target_id: Any) -> dict[str, Any]:
    """Unban or unmute; answers the room whether or not there was one to lift."""
    write_gate.admit(actor, "moderate")
    room = _moderated(actor, room_id)
    target = to_object_id(target_id, "User")
    if Room().drop_sanction(room["_id"], kind, target):
        _audit(actor, "unban" if kind == "bans" else "unmute", room, target)
        updated = Room().get(room["_id"])
        if kind == "mutes":
            announce_room(updated)
        return updated
    return room


# Owner actions (groups only)

def _owned_group(actor: dict[str, Any], room_id: Any) -> dict[str, Any]:
    room = readable_room(actor, room_id)
    if room["kind"] != "group":
        raise BadRequest("Only group conversations have an owner.")
    if room["created_by"] != actor["_id"]:
        raise Forbidden("Only the owner of the group may do this.")
    return room


def _member_of(room: dict[str, Any], target_id: Any) -> ObjectId:
    target = to_object_id(target_id, "Member")
    if target not in room["member_ids"]:
        raise NotFound("Member not found.")
    return target


def set_moderator(actor: dict[str, Any], room_id: Any, target_id: Any, on: bool
                  ) -> dict[str, Any]:
    write_gate.admit(actor, "moderate")
    room = _owned_group(actor, room_id)
    target = _member_of(room, target_id)
    if target == actor["_id"]:
        raise BadRequest("The owner is more than a moderator already.")
    Room().set_moderator(room["_id"], target, on)
    _audit(actor, "promote" if on else "demote", room, target)
    updated = Room().get(room["_id"])
    announce_room(updated)
    return updated


def transfer(actor: dict[str, Any], room_id: Any, target_id: Any) -> dict[str, Any]:
    """The new owner leaves the moderators; the old owner joins them."""
    write_gate.admit(actor, "manage")
    room = _owned_group(actor, room_id)
    target = _member_of(room, target_id)
    if target == actor["_id"]:
        raise BadRequest("You own this group already.")
    rooms = Room()
    updated = rooms.update_if_owner(room["_id"], actor["_id"], target)
    if updated is None:
        raise Forbidden("Only the owner of the group may do this.")
    _audit(actor, "transfer", room, target)
    announce_room(updated)
    return updated

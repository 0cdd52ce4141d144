"""Chat rooms and their members: the direct room of two people, groups (created, renamed,
members added and removed by their creator) and the chat rooms of a topic."""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.base import utcnow
from models.room import Room, direct_key
from models.room_member import RoomMember
from services.accounts import write_gate
from services.chat.audience import audience
from services.chat.chat_access import (
    active_user,
    can_moderate_room,
    check_can_message,
    readable_room,
)
from services.chat.chat_views import serialize_room
from services.platform import audit_service, content_filter, live_rooms, realtime, topic_access
from services.platform.live_rooms import chat_room, user_room
from utils.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed

MAX_GROUP_MEMBERS = 100


def open_direct(user: dict[str, Any], other_id: str) -> tuple[dict[str, Any], bool]:
    """The one direct room of the pair, created on first use; (room, created)."""
    write_gate.admit(user, "direct")
    other = active_user(other_id)
    if other["_id"] == user["_id"]:
        raise BadRequest("You cannot message yourself.")
    check_can_message(user, other)
    rooms, key = Room(), direct_key(user["_id"], other["_id"])
    room = rooms.find_by_key(key)
    if room is not None:
        return room, False
    try:
        room, created = rooms.insert(_direct_document(user["_id"], other["_id"], key)), True
    except Conflict:
        room, created = rooms.find_by_key(key), False  # the other side created it first
    for member_id in room["member_ids"]:
        RoomMember().ensure(room["_id"], member_id)
    return room, created


def _direct_document(a: ObjectId, b: ObjectId, key: str) -> dict[str, Any]:
    now = utcnow()
    return {"kind": "direct", "key": key, "title": None, "description": "", "topic_id": None,
            "created_by": a, "member_ids": [a, b], "last_seq": 0, "last_message": None,
            "last_message_at": None, "activity_at": now, "created_at": now, "updated_at": now}


def create_group(user: dict[str, Any], title: str, member_ids: list[str]) -> dict[str, Any]:
    write_gate.admit(user, "group")
    members = [user]
    for member_id in dict.fromkeys(member_ids):
        other = active_user(member_id)
        if other["_id"] == user["_id"]:
            continue
        check_can_message(user, other)
        members.append(other)
    if len(members) > MAX_GROUP_MEMBERS:
        raise ValidationFailed(details={"member_ids": [
            f"A group has at most {MAX_GROUP_MEMBERS} members."]})
    title = _clean(title, "room_title", user)
    room = Room().create("group", user["_id"], [m["_id"] for m in members], title=title)
    for member in members:
        RoomMember().ensure(room["_id"], member["_id"])
    targets = [user_room(m["_id"]) for m in members]
    realtime.emit("room_updated", serialize_room(room, None, {m["_id"]: m for m in members}),
                  to=targets)
    return room


def create_topic_room(user: dict[str, Any], topic_id: str, name: str,
                      description: str) -> dict[str, Any]:
    """Topic members create chat rooms; whoever may read the topic may read them."""
    write_gate.admit(user, "topic_room", topic_id=topic_id)
    topic = topic_access.get_readable_topic(user, topic_id)
    topic_access.require_participant(user, topic["_id"])
    room = Room().create("topic", user["_id"], [], title=_clean(name, "room_title", user),
                         description=_clean(description, "room_description", user),
                         topic_id=topic["_id"])
    RoomMember().ensure(room["_id"], user["_id"])
    realtime.emit("room_updated", serialize_room(room, None, {}),
                  to=live_rooms.topic_room(topic["_id"]))
    return room


def list_topic_rooms(user: dict[str, Any], topic_id: str, limit: int,
                     cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    topic = topic_access.get_readable_topic(user, topic_id)
    return Room().page_of_topic(topic["_id"], limit, cursor)


def list_my_rooms(user: dict[str, Any], limit: int, cursor: str | None,
                  archived: bool = False) -> tuple[list[dict[str, Any]], str | None]:
    """Rooms I belong to (or joined, for topic rooms), newest activity first: those I
    have not archived, or (`archived`) only those I have."""
    room_ids = RoomMember().room_ids_of(user["_id"])
    return Room().page_among(room_ids, user["_id"], archived, limit, cursor)


def update_room(user: dict[str, Any], room_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Rename or describe a group or topic room (its moderators); close a topic room to
    writes or reopen it (`read_only`: its topic's owner and moderators, site staff)."""
    write_gate.admit(user, "manage")
    room = readable_room(user, room_id)
    if room["kind"] == "direct" or not can_moderate_room(user, room):
        raise Forbidden("You may not change this room.")
    updates = {k: _clean(v, f"room_{k}", user) for k, v in changes.items()
               if k in ("title", "description")}
    if "read_only" in changes:
        if room["kind"] != "topic":
            raise BadRequest("Only a topic's chat rooms can be closed.")
        if changes["read_only"] != bool(room.get("read_only")):
            updates["read_only"] = changes["read_only"]
    if not updates:
        return room
    updated = Room().update_fields(room["_id"], updates)
    if updated is None:
        raise NotFound("Room not found.")  # deleted meanwhile
    if "read_only" in updates:
        audit_service.record_moderation(user, "close_room" if updates["read_only"]
                                        else "reopen_room", room["topic_id"], "room",
                                        room["_id"])
    announce_room(updated)
    return updated


def delete_topic_room(user: dict[str, Any], room_id: str) -> None:
    """Delete a topic's chat room (its topic's owner and moderators, site staff): gone
    from the topic's list, its history unreadable; the sockets in it leave it (and its
    live call) and hear `removed_from_room {room_id, reason: "room_deleted"}`, as does
    the topic's live room."""
    write_gate.admit(user, "manage")
    room = readable_room(user, room_id)
    if room["kind"] != "topic":
        raise BadRequest("Only a topic's chat rooms can be deleted.")
    if not can_moderate_room(user, room):
        raise Forbidden("You may not delete this room.")
    if Room().mark_deleted(room["_id"], user["_id"]) is None:
        raise NotFound("Room not found.")  # deleted meanwhile
    audit_service.record_moderation(user, "delete_room", room["topic_id"], "room", room["_id"])
    live_rooms.close_chat_room(room["topic_id"], room["_id"], "room_deleted")


def _clean(text: str, field_name: str, author: dict[str, Any]) -> str:
    """A room's name or description as it may be stored (the content filter masks, or
    refuses with 422 `content_rejected`), checked after the caller's access."""
    return content_filter.apply(text.strip(), field_name, author)


def announce_room(room: dict[str, Any], extra: list[str] | None = None) -> None:
    realtime.emit("room_updated", serialize_room(room, None),
                  to=audience(room) + (extra or []))


def leave_room(user: dict[str, Any], room_id: str) -> None:
    room = readable_room(user, room_id)
    if room["kind"] == "direct":
        raise BadRequest("A direct conversation cannot be left.")
    if room["kind"] == "topic":
        RoomMember().remove(room["_id"], user["_id"])
        live_rooms.evict(user["_id"], chat_room(room["_id"]))
        return
    if room["created_by"] == user["_id"]:
        # The group keeps an owner: the longest-standing remaining member (`member_ids`
        # keeps the order members joined in), before the others are told.
        remaining = [uid for uid in room["member_ids"] if uid != user["_id"]]
        if remaining:
            Room().update_fields(room["_id"], {"created_by": remaining[0]})
            Room().set_moderator(room["_id"], remaining[0], False)
    drop_member(room, user["_id"])
    announce_room(Room().get(room["_id"]))


def drop_member(room: dict[str, Any], user_id: ObjectId) -> None:
    """Take `user_id` out of a group: stored membership and moderator role, then every
    socket (each hears `removed_from_room`). The caller announces the room once all its
    writes are done, so `room_updated` never shows a state half-way."""
    Room().set_moderator(room["_id"], user_id, False)
    Room().remove_member(room["_id"], user_id)
    RoomMember().remove(room["_id"], user_id)
    live_rooms.evict_from_chat_room(user_id, room["_id"])

"""What a chat room and a message look like to a client: the message, the room with its
members, last message and my unread count."""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.base import id_str, isoformat
from models.room_member import RoomMember
from models.user import User
from services.users_service import public_users, serialize_public_user

SNAPSHOT_CHARS = 200


def snapshot(message: dict[str, Any]) -> dict[str, Any]:
    return {"id": message["_id"], "seq": message["seq"], "author_id": message["author_id"],
            "body": message["body"][:SNAPSHOT_CHARS], "created_at": message["created_at"],
            "deleted": message["deleted"]}


def serialize_snapshot(snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
    if not snapshot:
        return None
    return {"id": id_str(snapshot["id"]), "seq": snapshot["seq"],
            "author_id": id_str(snapshot["author_id"]), "body": snapshot["body"],
            "created_at": isoformat(snapshot["created_at"]), "deleted": snapshot["deleted"]}


def serialize_message(message: dict[str, Any], author: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": id_str(message["_id"]), "room_id": id_str(message["room_id"]),
        "seq": message["seq"],
        "author": serialize_public_user(author) if author else None,
        "body": message["body"], "reply_to": id_str(message.get("reply_to")),
        "reactions": {emoji: users for emoji, users in (message.get("reactions") or {}).items()
                      if users},
        "client_id": message["client_id"], "created_at": isoformat(message["created_at"]),
        "edited_at": isoformat(message.get("edited_at")), "deleted": message["deleted"],
        "system": message.get("system"),
    }


def serialize_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    authors = {u["_id"]: u for u in User().collection.find(
        {"_id": {"$in": list({m["author_id"] for m in messages})}})}
    return [serialize_message(m, authors.get(m["author_id"])) for m in messages]


def unread_count(last_seq: int, member: dict[str, Any] | None) -> int:
    """Messages up to `last_seq` that `member` has not read, their own ones not counted."""
    if member is None:
        return 0
    return max(0, last_seq - member["last_read_seq"] - member["own_after_read"])


def unread_of(room: dict[str, Any], member: dict[str, Any] | None) -> int:
    return unread_count(room["last_seq"], member)


def serialize_room(room: dict[str, Any], member: dict[str, Any] | None,
                   people: dict[ObjectId, dict[str, Any]] | None = None) -> dict[str, Any]:
    if people is None:
        people = _users_by_id(room["member_ids"])
    return {
        "id": id_str(room["_id"]), "kind": room["kind"], "title": room.get("title"),
        "description": room.get("description") or "", "topic_id": id_str(room.get("topic_id")),
        "created_by": id_str(room["created_by"]),
        "members": [serialize_public_user(people[uid]) for uid in room["member_ids"]
                    if uid in people],
        "last_seq": room["last_seq"], "last_message": serialize_snapshot(room["last_message"]),
        "last_message_at": isoformat(room.get("last_message_at")),
        "unread_count": unread_of(room, member),
        "last_read_seq": member["last_read_seq"] if member else 0,
        "created_at": isoformat(room["created_at"]),
    }


def _users_by_id(ids: list[ObjectId]) -> dict[ObjectId, dict[str, Any]]:
    return public_users(ids)


def room_view(user: dict[str, Any], room: dict[str, Any]) -> dict[str, Any]:
    return serialize_room(room, RoomMember().find(room["_id"], user["_id"]))


def rooms_view(user: dict[str, Any], rooms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    members = RoomMember().of_user_in(user["_id"], [r["_id"] for r in rooms])
    people = _users_by_id(list({uid for r in rooms for uid in r["member_ids"]}))
    return [serialize_room(r, members.get(r["_id"]), people) for r in rooms]

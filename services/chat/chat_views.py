"""What a chat room and a message look like to a client: the message, the room with its
members, last message and my unread count."""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.room_member import RoomMember
from models.user import User
from services.accounts.users_service import public_users
from services.notify import notify_prefs
from services.platform import room_roles, user_copies
from services.platform.shapes.messages import MESSAGE, ROOM
from services.polls import poll_items

SNAPSHOT_CHARS = 200


def snapshot(message: dict[str, Any]) -> dict[str, Any]:
    return {"id": message["_id"], "seq": message["seq"], "author_id": message["author_id"],
            "body": message["body"][:SNAPSHOT_CHARS], "created_at": message["created_at"],
            "deleted": message["deleted"]}


def room_snapshot(message: dict[str, Any]) -> dict[str, Any] | None:
    """What the room shows as its last message once `message` is stored: none for a
    reply sent only to its thread (the room keeps showing the one before)."""
    return None if message.get("thread_quiet") else snapshot(message)


def serialize_message(message: dict[str, Any], author: dict[str, Any] | None,
                      polls: dict[ObjectId, dict[str, Any]] | None = None) -> dict[str, Any]:
    """`polls`: see `poll_items.of_item`."""
    return MESSAGE.dump({**message, "author": author, "reactions": reactions_of(message),
                         "thread": thread_of(message),
                         "poll": poll_items.of_item(message, polls)})


def thread_of(message: dict[str, Any]) -> dict[str, Any] | None:
    """A thread root's summary with its last repliers as public users (None: no replies)."""
    thread = message.get("thread")
    if not thread or not thread.get("reply_count"):
        return None
    people = public_users(thread.get("last_repliers") or [])
    return {**thread, "last_repliers": [people[uid] for uid in thread.get("last_repliers")
                                        or [] if uid in people]}


def reactions_of(message: dict[str, Any]) -> dict[str, list[str]]:
    """Emojis nobody reacts with any more are left out."""
    return {emoji: users for emoji, users in (message.get("reactions") or {}).items() if users}


def serialize_messages(messages: list[dict[str, Any]],
                       viewer_id: ObjectId | None = None) -> list[dict[str, Any]]:
    """Messages as `viewer_id` reads them: one they deleted for themselves, or by an
    author they hide, keeps its place (its seq: clients find gaps by seq) as an empty
    placeholder flagged `deleted_for_me` or `author_hidden`."""
    authors = User().find_by_ids([m["author_id"] for m in messages])
    hidden = user_copies.hidden_by(viewer_id) if viewer_id is not None else set()
    polls = poll_items.views([m.get("poll_id") for m in messages], viewer_id)
    return [personal_view(serialize_message(m, authors.get(m["author_id"]), polls), m,
                          viewer_id, hidden) for m in messages]


def personal_view(view: dict[str, Any], message: dict[str, Any], viewer_id: ObjectId | None,
                  hidden: set[ObjectId]) -> dict[str, Any]:
    mine_gone = viewer_id is not None and viewer_id in (message.get("hidden_for") or [])
    author_hidden = message["author_id"] in hidden
    if mine_gone or author_hidden:
        view = {**view, "body": "", "reactions": {}, "reply_to": None, "system": None,
                "poll": None}
    return {**view, "deleted_for_me": mine_gone, "author_hidden": author_hidden}


def unread_count(last_seq: int, member: dict[str, Any] | None) -> int:
    """Messages up to `last_seq` that `member` has not read, their own ones not counted."""
    if member is None:
        return 0
    return max(0, last_seq - member["last_read_seq"] - member["own_after_read"])


def unread_of(room: dict[str, Any], member: dict[str, Any] | None) -> int:
    return unread_count(room["last_seq"], member)


def serialize_room(room: dict[str, Any], member: dict[str, Any] | None,
                   people: dict[ObjectId, dict[str, Any]] | None = None,
                   muted: bool = False) -> dict[str, Any]:
    """`people`: the members and the last message's author (`_room_people`).
    `muted` and `archived` are the viewer's own (the member's); broadcasts of the
    room (`room_updated`, member None) carry them false: clients keep their own."""
    if people is None:
        people = _users_by_id(_room_people([room]))
    last = room["last_message"] or None
    if last is not None:
        last = {**last, "author": people.get(last["author_id"])}
    return ROOM.dump({
        **room, "description": room.get("description") or "",
        "members": [people[uid] for uid in room["member_ids"] if uid in people],
        "last_message": last,
        "unread_count": unread_of(room, member),
        "last_read_seq": member["last_read_seq"] if member else 0,
        "muted": muted,
        "archived": member is not None and member["user_id"] in (room.get("archived_by")
                                                                 or []),
        "moderator_ids": room.get("moderator_ids") or [],
        "read_only": bool(room.get("read_only")),
        "mutes": [entry for entry in room.get("mutes") or []
                  if room_roles.sanction_of(room, "mutes", entry["user_id"]) is entry]})


def _users_by_id(ids: list[ObjectId]) -> dict[ObjectId, dict[str, Any]]:
    return public_users(ids)


def _room_people(rooms: list[dict[str, Any]]) -> list[ObjectId]:
    """Whom the rooms show: their members and the authors of their last messages (a
    topic room has no members; someone who left a group may have written last)."""
    ids = {uid for room in rooms for uid in room["member_ids"]}
    ids.update(room["last_message"]["author_id"] for room in rooms if room.get("last_message"))
    return list(ids)


def room_view(user: dict[str, Any], room: dict[str, Any]) -> dict[str, Any]:
    muted = room["_id"] in notify_prefs.muted_rooms(user["_id"], [room])
    return serialize_room(room, RoomMember().find(room["_id"], user["_id"]), muted=muted)


def rooms_view(user: dict[str, Any], rooms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    members = RoomMember().of_user_in(user["_id"], [r["_id"] for r in rooms])
    people = _users_by_id(_room_people(rooms))
    muted = notify_prefs.muted_rooms(user["_id"], rooms)
    return [serialize_room(r, members.get(r["_id"]), people, r["_id"] in muted)
            for r in rooms]

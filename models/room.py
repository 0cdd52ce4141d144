"""Chat rooms of every kind in one collection: topic chat rooms, group conversations and
direct conversations.

`key` is unique: `direct:<a>:<b>` (the two user ids sorted) makes the direct room of a
pair unique under concurrent creation; every other room uses `room:<_id>`.
A deleted topic room keeps its document (`deleted`, `deleted_at`, `deleted_by`: the
audit trail names it) but no read here returns it: it is gone from every list and
unreadable, like a room that never existed. `read_only` closes a topic room to writes.
`last_seq` is the highest message seq, advanced only after that message is stored and
only from the seq right below it (services/chat/chat_seq.py).
"""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from models.base import BaseModel, is_object_id, to_object_id, utcnow
from utils.errors import Conflict, NotFound
from utils.pagination import paginate

KINDS = ("topic", "group", "direct")
ACTIVITY_SORT = [("activity_at", DESCENDING), ("_id", DESCENDING)]
# Rooms that were not deleted (older documents have no `deleted` field).
LIVE: dict[str, Any] = {"deleted": {"$ne": True}}


def direct_key(a: ObjectId, b: ObjectId) -> str:
    low, high = sorted((str(a), str(b)))
    return f"direct:{low}:{high}"


class Room(BaseModel):
    collection_name = "rooms"
    conflict_message = "This conversation already exists."
    indexes = [
        IndexModel([("key", ASCENDING)], unique=True, name="key_unique"),
        IndexModel([("topic_id", ASCENDING), ("activity_at", DESCENDING), ("_id", DESCENDING)],
                   name="topic_activity"),
        IndexModel([("member_ids", ASCENDING)], name="member_ids"),
    ]

    def create(self, kind: str, created_by: ObjectId, member_ids: list[ObjectId],
               title: str | None = None, description: str = "",
               topic_id: ObjectId | None = None, key: str | None = None) -> dict[str, Any]:
        now = utcnow()
        room_id = ObjectId()
        return self.insert({
            "_id": room_id, "kind": kind, "key": key or f"room:{room_id}",
            "title": title, "description": description, "topic_id": topic_id,
            "created_by": created_by, "member_ids": member_ids,
            "last_seq": 0, "last_message": None, "last_message_at": None,
            "activity_at": now, "created_at": now, "updated_at": now,
        })

    def find_by_id(self, object_id: Any, projection: dict[str, Any] | None = None
                   ) -> dict[str, Any] | None:
        if not is_object_id(object_id):
            return None
        return self.collection.find_one({"_id": ObjectId(object_id), **LIVE}, projection)

    def find_by_ids(self, ids: list[ObjectId], projection: dict[str, Any] | None = None
                    ) -> dict[ObjectId, dict[str, Any]]:
        ids = list(set(ids))
        if not ids:
            return {}
        return {d["_id"]: d for d in self.collection.find({"_id": {"$in": ids}, **LIVE},
                                                          projection)}

    def get(self, object_id: Any, what: str | None = None) -> dict[str, Any]:
        found = self.find_by_id(to_object_id(object_id, what or "Room"))
        if found is None:
            raise NotFound(f"{what or 'Room'} not found.")
        return found

    def mark_deleted(self, room_id: ObjectId, by: ObjectId) -> dict[str, Any] | None:
        """Delete a room (once: None when it was gone already)."""
        now = utcnow()
        return self.collection.find_one_and_update(
            {"_id": room_id, **LIVE},
            {"$set": {"deleted": True, "deleted_at": now, "deleted_by": by, "updated_at": now}},
            return_document=ReturnDocument.AFTER)

    def find_by_key(self, key: str) -> dict[str, Any] | None:
        return self.collection.find_one({"key": key})

    def topic_room_ids(self, topic_id: ObjectId) -> list[ObjectId]:
        """The ids of the topic's chat rooms."""
        return [room["_id"] for room in self.collection.find(
            {"kind": "topic", "topic_id": topic_id, **LIVE}, {"_id": 1})]

    def direct_member_ids(self, user_id: ObjectId) -> set[ObjectId]:
        """Everyone in a direct room with `user_id` (`user_id` too, when there is one)."""
        people: set[ObjectId] = set()
        for room in self.collection.find({"kind": "direct", "member_ids": user_id},
                                         {"member_ids": 1}):
            people.update(room["member_ids"])
        return people

    def page_of_topic(self, topic_id: ObjectId, limit: int, cursor: str | None
                      ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the topic's chat rooms, latest activity first."""
        return paginate(self.collection, {"kind": "topic", "topic_id": topic_id, **LIVE},
                        ACTIVITY_SORT, limit, cursor)

    def page_among(self, room_ids: list[ObjectId], user_id: ObjectId, archived: bool,
                   limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the rooms `room_ids` that `user_id` archived (`archived`) or did
        not, latest activity first."""
        mine = {"archived_by": user_id} if archived else {"archived_by": {"$ne": user_id}}
        return paginate(self.collection, {"_id": {"$in": room_ids}, **mine, **LIVE},
                        ACTIVITY_SORT, limit, cursor)

    def update_fields(self, room_id: ObjectId, changes: dict[str, Any]) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            {"_id": room_id, **LIVE}, {"$set": {**changes, "updated_at": utcnow()}},
            return_document=ReturnDocument.AFTER)

    def add_member(self, room_id: ObjectId, user_id: ObjectId) -> None:
        self.collection.update_one({"_id": room_id}, {"$addToSet": {"member_ids": user_id}})

    def remove_member(self, room_id: ObjectId, user_id: ObjectId) -> None:
        self.collection.update_one({"_id": room_id}, {"$pull": {"member_ids": user_id}})

    def last_seq(self, room_id: ObjectId) -> int:
        found = self.collection.find_one({"_id": room_id}, {"last_seq": 1})
        return found["last_seq"] if found else 0

    def advance(self, room_id: ObjectId, last: int, seq: int,
                snapshot: dict[str, Any] | None) -> bool:
        """Move `last_seq` from exactly `last` to `seq`, with the snapshot of the room's
        last message (None: message `seq` is not shown as the last one, e.g. a reply
        sent only to its thread, so the snapshot stays); False when the room was not at
        `last` (nothing changed)."""
        changes: dict[str, Any] = {"last_seq": seq}
        if snapshot is not None:
            changes.update(last_message=snapshot, last_message_at=snapshot["created_at"],
                           activity_at=snapshot["created_at"])
        return self.collection.update_one({"_id": room_id, "last_seq": last},
                                          {"$set": changes}).matched_count == 1

    def refresh_snapshot(self, room_id: ObjectId, message_id: ObjectId,
                         snapshot: dict[str, Any]) -> None:
        """Keep `last_message` true after its message was edited or deleted."""
        self.collection.update_one({"_id": room_id, "last_message.id": message_id},
                                   {"$set": {"last_message": snapshot}})

    def rewrite_last_message_body(self, room_id: ObjectId, message_id: ObjectId,
                                  body: str) -> None:
        """The room's `last_message` copy follows its message's new body, if it is that
        message."""
        self.collection.update_one({"_id": room_id, "last_message.id": message_id},
                                   {"$set": {"last_message.body": body}})

    def erase_last_messages_by(self, author_id: ObjectId) -> None:
        """Rooms whose last message is the author's show it emptied and deleted."""
        self.collection.update_many({"last_message.author_id": author_id},
                                    {"$set": {"last_message.body": "",
                                              "last_message.deleted": True}})

    def put_sanction(self, room_id: ObjectId, kind: str, entry: dict[str, Any],
                     now: Any) -> dict[str, Any] | None:
        """Replace `entry["user_id"]`'s entry in the `kind` list ("bans" or "mutes"),
        dropping expired entries on the way."""
        for _ in range(10):
            room = self.collection.find_one({"_id": room_id}, {kind: 1})
            if room is None:
                return None
            before = room.get(kind) or []
            kept = [e for e in before if e["user_id"] != entry["user_id"]
                    and (e["expires_at"] is None or e["expires_at"] > now)]
            # Compare-and-set on the whole list: a concurrent change makes us retry.
            updated = self.collection.find_one_and_update(
                {"_id": room_id, kind: before if room.get(kind) is not None else None},
                {"$set": {kind: [*kept, entry]}}, return_document=ReturnDocument.AFTER)
            if updated is not None:
                return updated
        raise Conflict("The room changed meanwhile; try again.")

    def drop_sanction(self, room_id: ObjectId, kind: str, user_id: ObjectId) -> bool:
        return self.collection.update_one(
            {"_id": room_id}, {"$pull": {kind: {"user_id": user_id}}}).modified_count > 0

    def set_moderator(self, room_id: ObjectId, user_id: ObjectId, on: bool) -> None:
        operator = "$addToSet" if on else "$pull"
        self.collection.update_one({"_id": room_id}, {operator: {"moderator_ids": user_id}})

    def update_if_owner(self, room_id: ObjectId, owner: ObjectId, new_owner: ObjectId
                        ) -> dict[str, Any] | None:
        """Hand the room over while `owner` still owns it (two transfers at once: one)."""
        self.collection.update_one({"_id": room_id, "created_by": owner},
                                   {"$pull": {"moderator_ids": new_owner}})
        return self.collection.find_one_and_update(
            {"_id": room_id, "created_by": owner},
            {"$set": {"created_by": new_owner, "updated_at": utcnow()},
             "$addToSet": {"moderator_ids": owner}}, return_document=ReturnDocument.AFTER)

    def set_archived(self, room_id: ObjectId, user_id: ObjectId, archived: bool) -> None:
        operator = "$addToSet" if archived else "$pull"
        self.collection.update_one({"_id": room_id}, {operator: {"archived_by": user_id}})

    def unarchive_all(self, room_id: ObjectId) -> None:
        self.collection.update_one({"_id": room_id}, {"$set": {"archived_by": []}})

    def pin(self, room_id: ObjectId, entry: dict[str, Any], limit: int) -> bool:
        """Add a pin unless the message is pinned already or `limit` pins exist."""
        return self.collection.update_one(
            {"_id": room_id, "pins.message_id": {"$ne": entry["message_id"]},
             f"pins.{limit - 1}": {"$exists": False}},
            {"$push": {"pins": entry}}).modified_count > 0

    def unpin(self, room_id: ObjectId, message_id: ObjectId) -> bool:
        return self.collection.update_one(
            {"_id": room_id}, {"$pull": {"pins": {"message_id": message_id}}}
        ).modified_count > 0

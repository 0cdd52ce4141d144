"""A user's membership of a room and their read cursor.

Unread for a member is `room.last_seq - last_read_seq - own_after_read`, where
`own_after_read` counts the member's own messages above the cursor. Both fields change
only with atomic operators (a conditional `$inc` when sending, a compare-and-set when the
cursor moves), so the count stays exact under concurrent sends and reads.
"""
from __future__ import annotations

import contextlib
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from models.base import BaseModel, utcnow


class RoomMember(BaseModel):
    collection_name = "room_members"
    indexes = [
        IndexModel([("room_id", ASCENDING), ("user_id", ASCENDING)], unique=True,
                   name="room_user_unique"),
        IndexModel([("user_id", ASCENDING)], name="user_id"),
    ]

    def ensure(self, room_id: ObjectId, user_id: ObjectId, last_read_seq: int = 0) -> None:
        """Create the membership if missing (idempotent, also under races)."""
        # A concurrent ensure may create it first: the unique index refuses the second.
        with contextlib.suppress(DuplicateKeyError):
            self.collection.update_one(
                {"room_id": room_id, "user_id": user_id},
                {"$setOnInsert": {"joined_at": utcnow(), "last_read_seq": last_read_seq,
                                  "own_after_read": 0}}, upsert=True)

    def find(self, room_id: ObjectId, user_id: ObjectId) -> dict[str, Any] | None:
        return self.collection.find_one({"room_id": room_id, "user_id": user_id})

    def of_room(self, room_id: ObjectId) -> list[dict[str, Any]]:
        return list(self.collection.find({"room_id": room_id}))

    def room_ids_of(self, user_id: ObjectId) -> list[ObjectId]:
        return [m["room_id"] for m in self.collection.find({"user_id": user_id},
                                                           {"room_id": 1})]

    def of_user_in(self, user_id: ObjectId, room_ids: list[ObjectId]) -> dict[ObjectId, dict]:
        return {m["room_id"]: m for m in self.collection.find(
            {"user_id": user_id, "room_id": {"$in": room_ids}})}

    def remove(self, room_id: ObjectId, user_id: ObjectId) -> bool:
        return self.collection.delete_one({"room_id": room_id,
                                           "user_id": user_id}).deleted_count > 0

    def count_own_sent(self, room_id: ObjectId, user_id: ObjectId, seq: int) -> bool:
        """My message `seq` is above my cursor: it must not count as unread for me.
        False when nothing matched: no membership, or a cursor already past `seq`."""
        return self.collection.update_one(
            {"room_id": room_id, "user_id": user_id, "last_read_seq": {"$lt": seq}},
            {"$inc": {"own_after_read": 1}}).matched_count > 0

    def uncount_own_sent(self, room_id: ObjectId, user_id: ObjectId, seq: int) -> None:
        """Undo count_own_sent: my message `seq` was taken back before the room had it."""
        self.collection.update_one(
            {"room_id": room_id, "user_id": user_id, "last_read_seq": {"$lt": seq},
             "own_after_read": {"$gt": 0}}, {"$inc": {"own_after_read": -1}})

    def count_quiet(self, room_id: ObjectId, seq: int, hearers: list[ObjectId],
                    step: int = 1) -> None:
        """A thread-only reply at `seq` does not count as unread for the members who do
        not follow its thread (`hearers` do): like their own messages (`step` -1 undoes)."""
        match: dict[str, Any] = {"room_id": room_id, "user_id": {"$nin": hearers},
                                 "last_read_seq": {"$lt": seq}}
        if step < 0:
            match["own_after_read"] = {"$gt": 0}
        self.collection.update_many(match, {"$inc": {"own_after_read": step}})

    def move_cursor(self, member: dict[str, Any], seq: int, own_passed: int) -> bool:
        """Compare-and-set: succeeds only if nobody changed the cursor or the own count
        since `member` was read."""
        result = self.collection.update_one(
            {"_id": member["_id"], "last_read_seq": member["last_read_seq"],
             "own_after_read": member["own_after_read"]},
            {"$set": {"last_read_seq": seq}, "$inc": {"own_after_read": -own_passed}})
        return result.modified_count == 1

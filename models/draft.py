"""A user's unsent text in one chat room: private to them, kept across their devices
(services/chat/chat_drafts.py). One per (user, room), by a unique index."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.base import BaseModel, utcnow


class Draft(BaseModel):
    collection_name = "drafts"
    indexes = [
        IndexModel([("user_id", ASCENDING), ("room_id", ASCENDING)], unique=True,
                   name="user_room_unique"),
    ]

    def put(self, user_id: ObjectId, room_id: ObjectId, body: str) -> dict[str, Any]:
        """Store the draft (created on first use); the stored document."""
        query = {"user_id": user_id, "room_id": room_id}
        change = {"$set": {"body": body, "updated_at": utcnow()}}
        try:
            return self.collection.find_one_and_update(
                query, change, upsert=True, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # another device created it that moment: it exists now
            return self.collection.find_one_and_update(
                query, change, return_document=ReturnDocument.AFTER)

    def find(self, user_id: ObjectId, room_id: ObjectId) -> dict[str, Any] | None:
        return self.collection.find_one({"user_id": user_id, "room_id": room_id})

    def remove(self, user_id: ObjectId, room_id: ObjectId) -> bool:
        """Delete the draft; whether there was one."""
        return self.collection.delete_one(
            {"user_id": user_id, "room_id": room_id}).deleted_count > 0

    def delete_all_of(self, user_id: ObjectId) -> int:
        return self.collection.delete_many({"user_id": user_id}).deleted_count

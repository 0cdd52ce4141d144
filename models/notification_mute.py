"""What a user muted for notifications: a topic, a post, a chat room or a user, one
document per (user, target type, target id). Each process keeps a user's mutes under
their version stamp (services.platform.user_copies), so every write here replaces it."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.base import BaseModel
from utils import clock, user_versions
from utils.pagination import paginate

TARGET_TYPES = ("topic", "post", "room", "user")


class NotificationMute(BaseModel):
    collection_name = "notification_mutes"
    indexes = [
        IndexModel([("user_id", ASCENDING), ("target_type", ASCENDING),
                    ("target_id", ASCENDING)], unique=True, name="user_target_unique"),
        IndexModel([("user_id", ASCENDING), ("_id", DESCENDING)], name="user_recent"),
    ]

    def add(self, user_id: ObjectId, target_type: str, target_id: ObjectId) -> None:
        self.collection.update_one(
            {"user_id": user_id, "target_type": target_type, "target_id": target_id},
            {"$setOnInsert": {"created_at": clock.now()}}, upsert=True)
        user_versions.changed(user_id)

    def remove(self, user_id: ObjectId, target_type: str, target_id: ObjectId) -> bool:
        removed = self.collection.delete_one({"user_id": user_id, "target_type": target_type,
                                              "target_id": target_id}).deleted_count == 1
        user_versions.changed(user_id)
        return removed

    def delete_all_of(self, user_id: ObjectId) -> None:
        self.collection.delete_many({"user_id": user_id})
        user_versions.changed(user_id)

    def targets_of_user(self, user_id: ObjectId, limit: int = 0) -> set[tuple[str, ObjectId]]:
        """(target type, target id) of every mute of `user_id` (at most `limit`, 0 for
        no limit)."""
        return {(doc["target_type"], doc["target_id"]) for doc in self.collection.find(
            {"user_id": user_id}, {"target_type": 1, "target_id": 1}, limit=limit)}

    def muting(self, user_ids: list[ObjectId], sources: dict[str, ObjectId]) -> set[ObjectId]:
        """Which of `user_ids` muted any of `sources` ({target type: id})."""
        if not user_ids or not sources:
            return set()
        found = self.collection.find(
            {"user_id": {"$in": user_ids},
             "$or": [{"target_type": kind, "target_id": oid} for kind, oid in sources.items()]},
            {"user_id": 1})
        return {doc["user_id"] for doc in found}

    def targets_of(self, user_id: ObjectId, target_type: str, ids: list[ObjectId]
                   ) -> set[ObjectId]:
        """Which of `ids` (of `target_type`) `user_id` muted."""
        if not ids:
            return set()
        return {doc["target_id"] for doc in self.collection.find(
            {"user_id": user_id, "target_type": target_type, "target_id": {"$in": ids}},
            {"target_id": 1})}

    def page_for(self, user_id: ObjectId, limit: int, cursor: str | None
                 ) -> tuple[list[dict[str, Any]], str | None]:
        return paginate(self.collection, {"user_id": user_id}, [("_id", DESCENDING)],
                        limit, cursor)

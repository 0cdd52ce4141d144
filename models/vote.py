"""Votes on posts and comments: one document per (target, user) holding -1, 0 or 1."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.base import BaseModel

TARGET_TYPES = ("post", "comment")


class Vote(BaseModel):
    collection_name = "votes"
    indexes = [
        IndexModel([("target_type", ASCENDING), ("target_id", ASCENDING),
                    ("user_id", ASCENDING)], unique=True, name="target_user_unique"),
        IndexModel([("user_id", ASCENDING), ("target_type", ASCENDING),
                    ("target_id", ASCENDING)], name="user_votes"),
    ]

    def cast(self, target_type: str, target_id: ObjectId, user_id: ObjectId, value: int,
             now: datetime) -> int:
        """Store the user's vote and return the value it replaced (0 if none), read and
        written in one atomic operation so the score delta is exact."""
        key = {"target_type": target_type, "target_id": target_id, "user_id": user_id}
        update = {"$set": {"value": value, "updated_at": now},
                  "$setOnInsert": {"created_at": now}}
        for _attempt in range(3):
            try:
                before = self.collection.find_one_and_update(
                    key, update, upsert=True, return_document=ReturnDocument.BEFORE)
            except DuplicateKeyError:
                # Two first votes of the same user raced on the upsert; the loser retries
                # and now finds the document.
                continue
            return int(before["value"]) if before else 0
        raise RuntimeError("vote could not be stored")

    def values_of(self, user_id: ObjectId, target_type: str,
                  target_ids: list[ObjectId]) -> dict[ObjectId, int]:
        cursor = self.collection.find({"user_id": user_id, "target_type": target_type,
                                       "target_id": {"$in": target_ids}})
        return {doc["target_id"]: int(doc["value"]) for doc in cursor}

    def find(self, **conditions: Any) -> list[dict[str, Any]]:
        return list(self.collection.find(conditions))

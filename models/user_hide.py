"""Whose content a user chose not to see, without blocking them: one document per
(user, hidden user). Hiding is private: the hidden user is never told."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.base import BaseModel, utcnow
from utils.pagination import paginate


class UserHide(BaseModel):
    collection_name = "user_hides"
    indexes = [
        IndexModel([("user_id", ASCENDING), ("hidden_id", ASCENDING)], unique=True,
                   name="user_hidden_unique"),
        IndexModel([("user_id", ASCENDING), ("_id", DESCENDING)], name="user_recent"),
        IndexModel([("hidden_id", ASCENDING)], name="hidden"),  # account deletion
    ]

    def add(self, user_id: ObjectId, hidden_id: ObjectId) -> None:
        self.collection.update_one({"user_id": user_id, "hidden_id": hidden_id},
                                   {"$setOnInsert": {"created_at": utcnow()}}, upsert=True)

    def remove(self, user_id: ObjectId, hidden_id: ObjectId) -> None:
        self.collection.delete_one({"user_id": user_id, "hidden_id": hidden_id})

    def hidden_ids(self, user_id: ObjectId) -> set[ObjectId]:
        return {doc["hidden_id"] for doc in self.collection.find({"user_id": user_id},
                                                                 {"hidden_id": 1})}

    def page_for(self, user_id: ObjectId, limit: int, cursor: str | None
                 ) -> tuple[list[dict[str, Any]], str | None]:
        return paginate(self.collection, {"user_id": user_id}, [("_id", DESCENDING)],
                        limit, cursor)

    def delete_all_of(self, user_id: ObjectId) -> None:
        self.collection.delete_many({"$or": [{"user_id": user_id}, {"hidden_id": user_id}]})

"""Whose content a user chose not to see, without blocking them: one document per
(user, hidden user). Hiding is private: the hidden user is never told."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.base import BaseModel, utcnow
from utils import user_versions
from utils.pagination import paginate


class UserHide(BaseModel):
    collection_name = "user_hides"
    indexes = [
        IndexModel([("user_id", ASCENDING), ("hidden_id", ASCENDING)], unique=True,
                   name="user_hidden_unique"),
        IndexModel([("user_id", ASCENDING), ("_id", DESCENDING)], name="user_recent"),
        # Who hid someone: account deletion, and their stamps change when it happens.
        IndexModel([("hidden_id", ASCENDING)], name="hidden"),
    ]

    # Every write replaces the hiding user's version stamp (utils.user_versions): each
    # process keeps who they hide under it (services.platform.user_copies.hidden_by).

    def add(self, user_id: ObjectId, hidden_id: ObjectId) -> None:
        self.collection.update_one({"user_id": user_id, "hidden_id": hidden_id},
                                   {"$setOnInsert": {"created_at": utcnow()}}, upsert=True)
        user_versions.changed(user_id)

    def remove(self, user_id: ObjectId, hidden_id: ObjectId) -> None:
        self.collection.delete_one({"user_id": user_id, "hidden_id": hidden_id})
        user_versions.changed(user_id)

    def hidden_ids(self, user_id: ObjectId, limit: int = 0) -> set[ObjectId]:
        """Whom `user_id` hides (at most `limit` of them, 0 for no limit)."""
        return {doc["hidden_id"] for doc in self.collection.find(
            {"user_id": user_id}, {"hidden_id": 1}, limit=limit)}

    def page_for(self, user_id: ObjectId, limit: int, cursor: str | None
                 ) -> tuple[list[dict[str, Any]], str | None]:
        return paginate(self.collection, {"user_id": user_id}, [("_id", DESCENDING)],
                        limit, cursor)

    def delete_all_of(self, user_id: ObjectId) -> None:
        hiders = self.collection.distinct("user_id", {"hidden_id": user_id})
        self.collection.delete_many({"$or": [{"user_id": user_id}, {"hidden_id": user_id}]})
        for someone in (user_id, *hiders):
            user_versions.changed(someone)

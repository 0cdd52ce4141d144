"""Notifications a user sees (warnings from moderators, for now), newest first."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from models import registry
from models.base import BaseModel
from utils import clock
from utils.pagination import paginate

NOTIFICATION_SORT = [("created_at", DESCENDING), ("_id", DESCENDING)]


@registry.register
class Notification(BaseModel):
    collection_name = "notifications"
    indexes = [
        IndexModel([("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                   name="user_created"),
        IndexModel([("user_id", ASCENDING), ("kind", ASCENDING)], name="user_kind"),
    ]

    def create(self, user_id: ObjectId, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        return self.insert({"user_id": user_id, "kind": kind, "data": data, "read": False,
                            "created_at": clock.now(), "read_at": None})

    def find_page_for(self, user_id: ObjectId, limit: int, cursor: str | None,
                      unread_only: bool = False) -> tuple[list[dict[str, Any]], str | None]:
        query: dict[str, Any] = {"user_id": user_id}
        if unread_only:
            query["read"] = False
        return paginate(self.collection, query, NOTIFICATION_SORT, limit, cursor)

    def mark_read(self, notification_id: ObjectId, user_id: ObjectId) -> dict[str, Any] | None:
        """Only the owner's own notification; someone else's is simply not found."""
        return self.collection.find_one_and_update(
            {"_id": notification_id, "user_id": user_id},
            {"$set": {"read": True, "read_at": clock.now()}},
            return_document=ReturnDocument.AFTER)

    def count_for(self, user_id: ObjectId, kind: str | None = None) -> int:
        query: dict[str, Any] = {"user_id": user_id}
        if kind:
            query["kind"] = kind
        return self.collection.count_documents(query)

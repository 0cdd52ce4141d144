"""Data exports: one document per archive a user asked for (`pending`, then `ready` with
the archive's storage key). The archive itself lives in the export storage
(services/privacy/data_export.py), not in the database."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel, ReturnDocument

from models.base import BaseModel

PENDING, READY = "pending", "ready"


class DataExport(BaseModel):
    collection_name = "data_exports"
    indexes = [
        IndexModel([("user_id", ASCENDING), ("_id", ASCENDING)], name="user_exports"),
        IndexModel([("expires_at", ASCENDING)], name="expires_at"),
    ]

    def create(self, user_id: ObjectId, now: datetime, expires_at: datetime
               ) -> dict[str, Any]:
        return self.insert({"user_id": user_id, "status": PENDING, "created_at": now,
                            "ready_at": None, "expires_at": expires_at, "key": None,
                            "size": 0})

    def mark_ready(self, export_id: ObjectId, key: str, size: int, now: datetime
                   ) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            {"_id": export_id, "status": PENDING},
            {"$set": {"status": READY, "key": key, "size": size, "ready_at": now}},
            return_document=ReturnDocument.AFTER)

    def find_owned(self, export_id: Any, user_id: ObjectId) -> dict[str, Any] | None:
        export = self.find_by_id(export_id)
        return export if export is not None and export["user_id"] == user_id else None

    def find_expired(self, now: datetime) -> list[dict[str, Any]]:
        return list(self.collection.find({"expires_at": {"$lte": now}}))

    def delete(self, export_id: ObjectId) -> None:
        self.collection.delete_one({"_id": export_id})

    def delete_of_user(self, user_id: ObjectId) -> list[dict[str, Any]]:
        found = list(self.collection.find({"user_id": user_id}))
        self.collection.delete_many({"user_id": user_id})
        return found

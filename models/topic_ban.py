"""Bans from one topic: one document per (topic, user); an expired ban is inactive."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from models.base import BaseModel
from utils import user_versions
from utils.pagination import paginate


def active_condition(now: datetime) -> dict[str, Any]:
    return {"$or": [{"expires_at": None}, {"expires_at": {"$gt": now}}]}


class TopicBan(BaseModel):
    collection_name = "topic_bans"
    indexes = [
        IndexModel([("topic_id", ASCENDING), ("user_id", ASCENDING)], unique=True,
                   name="topic_user_unique"),
        IndexModel([("topic_id", ASCENDING), ("_id", DESCENDING)], name="topic_recent"),
    ]

    def put(self, topic_id: ObjectId, user_id: ObjectId, banned_by: ObjectId, reason: str,
            expires_at: datetime | None, now: datetime) -> dict[str, Any]:
        """Ban, or replace the terms of an existing ban (reason, expiry). Like every
        write here, replaces the user's version stamp (services.platform.topic_access keeps a
        user's bans under it)."""
        ban = self.collection.find_one_and_update(
            {"topic_id": topic_id, "user_id": user_id},
            {"$set": {"banned_by": banned_by, "reason": reason, "expires_at": expires_at,
                      "created_at": now}},
            upsert=True, return_document=ReturnDocument.AFTER)
        user_versions.changed(user_id)
        return ban

    def remove(self, topic_id: ObjectId, user_id: ObjectId) -> bool:
        removed = self.collection.delete_one({"topic_id": topic_id,
                                              "user_id": user_id}).deleted_count > 0
        user_versions.changed(user_id)
        return removed

    def find(self, topic_id: ObjectId, user_id: ObjectId) -> dict[str, Any] | None:
        """The ban, in force or expired."""
        return self.collection.find_one({"topic_id": topic_id, "user_id": user_id},
                                        {"expires_at": 1})

    def active_page(self, topic_id: ObjectId, now: datetime, limit: int, cursor: str | None
                    ) -> tuple[list[dict[str, Any]], str | None]:
        """The topic's bans in force at `now`, the latest first."""
        return paginate(self.collection, {"topic_id": topic_id, **active_condition(now)},
                        [("_id", DESCENDING)], limit, cursor)

"""Invitations to private topics: one pending invitation per (topic, invitee)."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.base import BaseModel, utcnow
from utils.pagination import paginate


class TopicInvitation(BaseModel):
    collection_name = "topic_invitations"
    indexes = [
        IndexModel([("topic_id", ASCENDING), ("user_id", ASCENDING)], unique=True,
                   name="topic_user_unique"),
        IndexModel([("user_id", ASCENDING), ("_id", ASCENDING)], name="user_invitations"),
    ]

    def put(self, topic_id: ObjectId, user_id: ObjectId, invited_by: ObjectId) -> None:
        # Inviting twice is harmless: the first invitation stays.
        self.collection.update_one(
            {"topic_id": topic_id, "user_id": user_id},
            {"$setOnInsert": {"invited_by": invited_by, "created_at": utcnow()}}, upsert=True)

    def take(self, topic_id: ObjectId, user_id: ObjectId) -> dict[str, Any] | None:
        """Remove and return the invitation: accepting or declining uses it up once."""
        return self.collection.find_one_and_delete({"topic_id": topic_id, "user_id": user_id})

    def pending_page(self, user_id: ObjectId, limit: int, cursor: str | None
                     ) -> tuple[list[dict[str, Any]], str | None]:
        """Invitations waiting for the user's answer, the latest first."""
        return paginate(self.collection, {"user_id": user_id}, [("_id", DESCENDING)],
                        limit, cursor)

"""Invitations to private topics: one pending invitation per (topic, invitee)."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel

from models.base import BaseModel, utcnow


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

"""Topic memberships: one document per (topic, user) with the role in that topic."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from models import registry
from models.base import BaseModel, utcnow

OWNER, MODERATOR, MEMBER = "owner", "moderator", "member"
ROLES = (OWNER, MODERATOR, MEMBER)


@registry.register
class TopicMember(BaseModel):
    collection_name = "topic_members"
    indexes = [
        IndexModel([("topic_id", ASCENDING), ("user_id", ASCENDING)], unique=True,
                   name="topic_user_unique"),
        IndexModel([("user_id", ASCENDING), ("topic_id", ASCENDING)], name="user_topics"),
        IndexModel([("topic_id", ASCENDING), ("_id", ASCENDING)], name="topic_members"),
    ]

    def add(self, topic_id: ObjectId, user_id: ObjectId, role: str = MEMBER) -> bool:
        """True when the membership is new (joining twice changes nothing)."""
        try:
            self.collection.insert_one({"topic_id": topic_id, "user_id": user_id, "role": role,
                                        "joined_at": utcnow()})
        except DuplicateKeyError:
            return False
        return True

    def remove(self, topic_id: ObjectId, user_id: ObjectId) -> dict[str, Any] | None:
        """The removed membership, or None when there was none."""
        return self.collection.find_one_and_delete({"topic_id": topic_id, "user_id": user_id})

    def find(self, topic_id: ObjectId, user_id: ObjectId) -> dict[str, Any] | None:
        return self.collection.find_one({"topic_id": topic_id, "user_id": user_id})

    def set_role(self, topic_id: ObjectId, user_id: ObjectId,
                 role: str) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            {"topic_id": topic_id, "user_id": user_id}, {"$set": {"role": role}},
            return_document=ReturnDocument.AFTER)

    def roles_of(self, user_id: ObjectId, topic_ids: list[ObjectId]) -> dict[ObjectId, str]:
        cursor = self.collection.find({"user_id": user_id, "topic_id": {"$in": topic_ids}})
        return {doc["topic_id"]: doc["role"] for doc in cursor}

    def roles_and_topics_of_user(self, user_id: ObjectId
                                 ) -> list[tuple[ObjectId, str, dict[str, Any] | None]]:
        """(topic_id, role, the topic's `visibility` and `deleted`) of every topic the
        user belongs to: one round trip, the topics joined on their `_id` index."""
        cursor = self.collection.aggregate([
            {"$match": {"user_id": user_id}},
            {"$lookup": {"from": "topics", "localField": "topic_id", "foreignField": "_id",
                         "as": "topic"}},
            {"$project": {"topic_id": 1, "role": 1, "topic.visibility": 1,
                          "topic.deleted": 1}},
        ])
        return [(doc["topic_id"], doc["role"], (doc["topic"] or [None])[0]) for doc in cursor]


"""Topic memberships: one document per (topic, user) with the role in that topic."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.base import BaseModel, utcnow
from utils import user_versions
from utils.pagination import paginate

OWNER, MODERATOR, MEMBER = "owner", "moderator", "member"
ROLES = (OWNER, MODERATOR, MEMBER)


class TopicMember(BaseModel):
    collection_name = "topic_members"
    indexes = [
        IndexModel([("topic_id", ASCENDING), ("user_id", ASCENDING)], unique=True,
                   name="topic_user_unique"),
        IndexModel([("user_id", ASCENDING), ("topic_id", ASCENDING)], name="user_topics"),
        IndexModel([("topic_id", ASCENDING), ("_id", ASCENDING)], name="topic_members"),
        IndexModel([("user_id", ASCENDING), ("_id", ASCENDING)], name="user_memberships"),
    ]

    # Every write replaces the member's version stamp: processes keep a user's roles
    # under it (services.platform.topic_access).

    def add(self, topic_id: ObjectId, user_id: ObjectId, role: str = MEMBER) -> bool:
        """True when the membership is new (joining twice changes nothing)."""
        try:
            self.collection.insert_one({"topic_id": topic_id, "user_id": user_id, "role": role,
                                        "joined_at": utcnow()})
        except DuplicateKeyError:
            return False
        user_versions.changed(user_id)
        return True

    def remove(self, topic_id: ObjectId, user_id: ObjectId) -> dict[str, Any] | None:
        """The removed membership, or None when there was none."""
        removed = self.collection.find_one_and_delete({"topic_id": topic_id,
                                                       "user_id": user_id})
        user_versions.changed(user_id)
        return removed

    def find(self, topic_id: ObjectId, user_id: ObjectId) -> dict[str, Any] | None:
        return self.collection.find_one({"topic_id": topic_id, "user_id": user_id})

    def user_ids_in(self, topic_id: ObjectId, limit: int) -> list[ObjectId]:
        """The ids of (at most `limit`) members of the topic."""
        return [doc["user_id"] for doc in self.collection.find(
            {"topic_id": topic_id}, {"user_id": 1}).limit(limit)]

    def set_role(self, topic_id: ObjectId, user_id: ObjectId,
                 role: str) -> dict[str, Any] | None:
        updated = self.collection.find_one_and_update(
            {"topic_id": topic_id, "user_id": user_id}, {"$set": {"role": role}},
            return_document=ReturnDocument.AFTER)
        user_versions.changed(user_id)
        return updated

    def roles_of(self, user_id: ObjectId, topic_ids: list[ObjectId]) -> dict[ObjectId, str]:
        cursor = self.collection.find({"user_id": user_id, "topic_id": {"$in": topic_ids}})
        return {doc["topic_id"]: doc["role"] for doc in cursor}

    def roles_of_user(self, user_id: ObjectId) -> dict[ObjectId, str]:
        """{topic_id: role} of every topic the user belongs to."""
        cursor = self.collection.find({"user_id": user_id}, {"topic_id": 1, "role": 1})
        return {doc["topic_id"]: doc["role"] for doc in cursor}

    def members_page(self, topic_id: ObjectId, limit: int, cursor: str | None
                     ) -> tuple[list[dict[str, Any]], str | None]:
        """The topic's members, the first to join first."""
        return paginate(self.collection, {"topic_id": topic_id}, [("_id", ASCENDING)],
                        limit, cursor)

    def memberships_page(self, user_id: ObjectId, role: str | None, limit: int,
                         cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """The user's memberships (only those with `role` when given), the latest first."""
        query: dict[str, Any] = {"user_id": user_id}
        if role:
            query["role"] = role
        return paginate(self.collection, query, [("_id", DESCENDING)], limit, cursor)

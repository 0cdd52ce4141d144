"""Who blocked whom: one document per (blocker, blocked).

Each process keeps everyone a user blocked or was blocked by under that user's version
stamp (services.platform.user_copies), so every write here replaces the stamps of BOTH people."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.base import BaseModel, utcnow
from utils import user_versions
from utils.pagination import paginate


class Block(BaseModel):
    collection_name = "blocks"
    indexes = [
        IndexModel([("blocker_id", ASCENDING), ("blocked_id", ASCENDING)], unique=True,
                   name="blocker_blocked_unique"),
        IndexModel([("blocked_id", ASCENDING)], name="blocked_id"),
        IndexModel([("blocker_id", ASCENDING), ("_id", DESCENDING)], name="blocker_recent"),
    ]

    def add(self, blocker_id: ObjectId, blocked_id: ObjectId) -> None:
        # An upsert: blocking twice is not an error.
        self.collection.update_one(
            {"blocker_id": blocker_id, "blocked_id": blocked_id},
            {"$setOnInsert": {"created_at": utcnow()}}, upsert=True)
        _changed(blocker_id, blocked_id)

    def remove(self, blocker_id: ObjectId, blocked_id: ObjectId) -> None:
        self.collection.delete_one({"blocker_id": blocker_id, "blocked_id": blocked_id})
        _changed(blocker_id, blocked_id)

    def blocked_page(self, blocker_id: ObjectId, limit: int, cursor: str | None
                     ) -> tuple[list[dict[str, Any]], str | None]:
        """Whom the user blocked, the latest first."""
        return paginate(self.collection, {"blocker_id": blocker_id}, [("_id", DESCENDING)],
                        limit, cursor)

    def exists_between(self, a: ObjectId, b: ObjectId) -> bool:
        return self.collection.count_documents(
            {"$or": [{"blocker_id": a, "blocked_id": b}, {"blocker_id": b, "blocked_id": a}]},
            limit=1) > 0

    def related_ids(self, user_id: ObjectId, limit: int = 0) -> list[ObjectId]:
        """Everyone `user_id` blocked or was blocked by (at most `limit` of them, 0 for
        no limit)."""
        ids = []
        for doc in self.collection.find({"$or": [{"blocker_id": user_id},
                                                 {"blocked_id": user_id}]},
                                        {"blocker_id": 1, "blocked_id": 1}, limit=limit):
            ids.append(doc["blocked_id"] if doc["blocker_id"] == user_id else doc["blocker_id"])
        return ids

    def delete_all_of(self, user_id: ObjectId) -> None:
        others = self.related_ids(user_id)
        self.collection.delete_many({"$or": [{"blocker_id": user_id},
                                             {"blocked_id": user_id}]})
        _changed(user_id, *others)


def _changed(*user_ids: ObjectId) -> None:
    for user_id in user_ids:
        user_versions.changed(user_id)

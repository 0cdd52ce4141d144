"""Topics (communities). Soft-deleted: a deleted topic keeps its document so that its
moderation history and posts stay attributable, but nobody finds it any more."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from models.base import BaseModel
from utils import user_versions

PUBLIC, PRIVATE = "public", "private"
VISIBILITIES = (PUBLIC, PRIVATE)

# sort name -> keyset order; every list query filters on `deleted` first.
SORTS: dict[str, list[tuple[str, int]]] = {
    "active": [("last_activity_at", DESCENDING), ("_id", DESCENDING)],
    "new": [("created_at", DESCENDING), ("_id", DESCENDING)],
    "popular": [("member_count", DESCENDING), ("_id", DESCENDING)],
}


class Topic(BaseModel):
    collection_name = "topics"
    conflict_message = "A topic with this slug already exists."
    indexes = [
        IndexModel([("slug", ASCENDING)], unique=True, name="slug_unique"),
        *[IndexModel([("deleted", ASCENDING), *order], name=f"list_{name}")
          for name, order in SORTS.items()],
        IndexModel([("tags", ASCENDING), ("deleted", ASCENDING), ("_id", DESCENDING)],
                   name="tags"),
        IndexModel([("search_terms", ASCENDING)], name="search_terms"),
    ]

    def find_live(self, topic_id: Any, projection: dict[str, Any] | None = None
                  ) -> dict[str, Any] | None:
        topic = self.find_by_id(topic_id, {**projection, "deleted": 1} if projection else None)
        return None if topic is None or topic.get("deleted") else topic

    def find_live_by_slug(self, slug: str) -> dict[str, Any] | None:
        return self.collection.find_one({"slug": slug, "deleted": False})

    # What access decisions read; processes keep these under the topics' version stamp
    # (services.platform.topic_access), which a write to any of them replaces.
    # `slug` and `title` too: a post is answered with its topic's `{id, slug, title}`.
    ACCESS = ("visibility", "deleted", "owner_id", "allow_anonymous", "slug", "title")

    def update(self, topic_id: ObjectId, changes: dict[str, Any]) -> dict[str, Any] | None:
        updated = self.collection.find_one_and_update(
            {"_id": topic_id, "deleted": False}, {"$set": changes},
            return_document=ReturnDocument.AFTER)
        if any(field in changes for field in self.ACCESS):
            user_versions.topics_changed()
        return updated

    def add_members(self, topic_id: ObjectId, delta: int) -> None:
        self.collection.update_one({"_id": topic_id}, {"$inc": {"member_count": delta}})

    def add_posts(self, topic_id: ObjectId, delta: int) -> None:
        self.collection.update_one({"_id": topic_id}, {"$inc": {"post_count": delta}})

    def add_post(self, topic_id: ObjectId, at: datetime) -> None:
        """One more post, written at `at`: the count and the `active` sort in one write."""
        self.collection.update_one({"_id": topic_id}, {"$inc": {"post_count": 1},
                                                       "$max": {"last_activity_at": at}})

    def touch(self, topic_id: ObjectId, at: datetime) -> None:
        # $max: a late writer with an older time never moves the activity backwards.
        self.collection.update_one({"_id": topic_id}, {"$max": {"last_activity_at": at}})

    def ids_of(self, ids: list[ObjectId], **conditions: Any) -> list[ObjectId]:
        query = {"_id": {"$in": ids}, "deleted": False, **conditions}
        return [doc["_id"] for doc in self.collection.find(query, {"_id": 1})]

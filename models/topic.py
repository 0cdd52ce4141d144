"""Topics (communities). Soft-deleted: a deleted topic keeps its document so that its
moderation history and posts stay attributable, but nobody finds it any more."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from models.base import BaseModel
from models.mixins import Searchable
from utils import user_versions
from utils.pagination import paginate

PUBLIC, PRIVATE = "public", "private"
VISIBILITIES = (PUBLIC, PRIVATE)

# sort name -> keyset order; every list query filters on `deleted` first.
SORTS: dict[str, list[tuple[str, int]]] = {
    "active": [("last_activity_at", DESCENDING), ("_id", DESCENDING)],
    "new": [("created_at", DESCENDING), ("_id", DESCENDING)],
    "popular": [("member_count", DESCENDING), ("_id", DESCENDING)],
}


class Topic(Searchable, BaseModel):
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

    def slug_taken(self, slug: str) -> bool:
        """By any topic, deleted ones too (the unique index covers them all)."""
        return self.collection.count_documents({"slug": slug}, limit=1) > 0

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

    def add_post(self, topic_id: ObjectId, at: datetime) -> None:
        """One more post, written at `at`: the count and the `active` sort in one write."""
        self.collection.update_one({"_id": topic_id}, {"$inc": {"post_count": 1},
                                                       "$max": {"last_activity_at": at}})

    def touch(self, topic_id: ObjectId, at: datetime) -> None:
        # $max: a late writer with an older time never moves the activity backwards.
        self.collection.update_one({"_id": topic_id}, {"$max": {"last_activity_at": at}})

    # Lists and search (services/forum/topics_service.py, services/discovery/search_service.py)

    def list_page(self, private_ids: list[ObjectId] | None, tag: str | None,
                  whole: list[str], prefix: str | None, sort: str, limit: int,
                  cursor: str | None, projection: dict[str, Any] | None = None
                  ) -> tuple[list[dict[str, Any]], str | None]:
        """Live topics that are public or in `private_ids` (None: every one, as site admins
        see them), tagged `tag` unless None, holding every `whole` term and a term starting
        with `prefix` if given, in `sort` order."""
        conditions: list[dict[str, Any]] = [{"deleted": False}, _visible(private_ids)]
        if tag is not None:
            conditions.append({"tags": tag})
        matching: list[dict[str, Any]] = [{"search_terms": {"$all": whole}}] if whole else []
        if prefix:
            matching.append({"search_terms": {"$regex": "^" + prefix}})  # \w+: no escaping
        if matching:
            conditions.append(matching[0] if len(matching) == 1 else {"$and": matching})
        query = {"$and": [c for c in conditions if c]}
        return paginate(self.collection, query, SORTS[sort], limit, cursor, projection)

    def search_readable(self, private_ids: list[ObjectId] | None, whole: list[str],
                        prefix: str | None, limit: int) -> list[dict[str, Any]]:
        """Search candidates among the live topics that are public or in `private_ids`
        (None: every live topic)."""
        scope: dict[str, Any] = {"deleted": False}
        if private_ids is not None:
            scope["$or"] = [{"visibility": PUBLIC}, {"_id": {"$in": private_ids}}]
        return self.search_candidates(scope, whole, prefix, limit)


def _visible(private_ids: list[ObjectId] | None) -> dict[str, Any]:
    if private_ids is None:
        return {}
    if not private_ids:
        return {"visibility": PUBLIC}
    return {"$or": [{"visibility": PUBLIC}, {"_id": {"$in": private_ids}}]}

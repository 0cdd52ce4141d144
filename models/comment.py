"""Comments: a tree per post. `path` lists the ancestor ids from the top-level comment
down, so one indexed query loads every reply under a page of top-level comments."""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from models.base import BaseModel
from models.edit_version import Editable
from models.mixins import LinkPreviewed
from utils.pagination import paginate

SORTS: dict[str, list[tuple[str, int]]] = {
    "best": [("score", DESCENDING), ("_id", DESCENDING)],
    "new": [("created_at", DESCENDING), ("_id", DESCENDING)],
    "old": [("created_at", ASCENDING), ("_id", ASCENDING)],
}


class Comment(Editable, LinkPreviewed, BaseModel):
    collection_name = "comments"
    indexes = [
        # Top-level comments have parent_id None: (post_id, parent_id, <order>) pages them.
        *[IndexModel([("post_id", ASCENDING), ("parent_id", ASCENDING), *order],
                     name=f"post_{name}") for name, order in SORTS.items() if name != "old"],
        # A reply tree's comments oldest first (replies_under: path $in, then _id).
        IndexModel([("post_id", ASCENDING), ("path", ASCENDING), ("_id", ASCENDING)],
                   name="post_path_id"),
        IndexModel([("author_id", ASCENDING), ("_id", DESCENDING)], name="author_recent"),
        # Unmasking a pseudonym (services/forum/pseudonyms.py): only anonymous comments.
        IndexModel([("pseudonym", ASCENDING), ("topic_id", ASCENDING)], name="pseudonym_topic",
                   partialFilterExpression={"anonymous": True}),
    ]

    def update(self, comment_id: ObjectId, changes: dict[str, Any],
               condition: dict[str, Any] | None = None) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            {"_id": comment_id, **(condition or {})}, {"$set": changes},
            return_document=ReturnDocument.AFTER)

    def add_score(self, comment_id: ObjectId, delta: int) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            {"_id": comment_id}, {"$inc": {"score": delta}},
            return_document=ReturnDocument.AFTER)

    def add_replies(self, comment_id: ObjectId, delta: int) -> None:
        self.collection.update_one({"_id": comment_id}, {"$inc": {"reply_count": delta}})

    def author_of_pseudonym(self, topic_id: ObjectId, pseudonym: str) -> ObjectId | None:
        """Who wrote anonymously under `pseudonym` in the topic (None: nobody did here)."""
        found = self.collection.find_one({"topic_id": topic_id, "anonymous": True,
                                          "pseudonym": pseudonym}, {"author_id": 1})
        return found["author_id"] if found else None

    def live_counts_by_author(self, author_id: ObjectId) -> Counter[ObjectId]:
        """{post_id: how many of the author's comments not deleted it holds}."""
        return Counter(c["post_id"] for c in self.collection.find(
            {"author_id": author_id, "deleted": False}, {"post_id": 1}))

    def erase_by_author(self, author_id: ObjectId, erased: dict[str, Any], now: datetime
                        ) -> int:
        """Every live comment of the author becomes a deleted one with `erased` applied,
        and `erased` applies to those deleted before too; how many live ones changed."""
        mine: dict[str, Any] = {"author_id": author_id}
        changed = self.collection.update_many(
            {**mine, "deleted": False}, {"$set": {**erased, "deleted": True, "deleted_at": now}})
        self.collection.update_many(mine, {"$set": erased})
        return changed.modified_count

    def top_level_page(self, post_id: ObjectId, sort: str, limit: int, cursor: str | None,
                       projection: dict[str, Any] | None = None
                       ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the post's top-level comments in `sort` order."""
        return paginate(self.collection, {"post_id": post_id, "parent_id": None}, SORTS[sort],
                        limit, cursor, projection)

    def replies_under(self, post_id: ObjectId, top_ids: list[ObjectId], limit: int,
                      projection: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return list(self.collection.find({"post_id": post_id, "path": {"$in": top_ids}},
                                         projection)
                    .sort([("_id", ASCENDING)]).limit(limit))

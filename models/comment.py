"""Comments: a tree per post. `path` lists the ancestor ids from the top-level comment
down, so one indexed query loads every reply under a page of top-level comments."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from models.base import BaseModel

SORTS: dict[str, list[tuple[str, int]]] = {
    "best": [("score", DESCENDING), ("_id", DESCENDING)],
    "new": [("created_at", DESCENDING), ("_id", DESCENDING)],
    "old": [("created_at", ASCENDING), ("_id", ASCENDING)],
}


class Comment(BaseModel):
    collection_name = "comments"
    indexes = [
        # Top-level comments have parent_id None: (post_id, parent_id, <order>) pages them.
        *[IndexModel([("post_id", ASCENDING), ("parent_id", ASCENDING), *order],
                     name=f"post_{name}") for name, order in SORTS.items() if name != "old"],
        IndexModel([("post_id", ASCENDING), ("path", ASCENDING)], name="post_path"),
        IndexModel([("author_id", ASCENDING), ("_id", DESCENDING)], name="author_recent"),
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

    def replies_under(self, post_id: ObjectId, top_ids: list[ObjectId], limit: int,
                      projection: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return list(self.collection.find({"post_id": post_id, "path": {"$in": top_ids}},
                                         projection)
                    .sort([("_id", ASCENDING)]).limit(limit))

"""Posts. `hot_rank` is stored so the hot sort is an index scan; it is recomputed from
`score` and `created_at` whenever the score changes.

`audience` copies what the topic allows: `public`, `private`, or `hidden` once the topic is
deleted; the front page filters on it without looking up every topic.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from models.base import BaseModel
from models.edit_version import Editable
from models.mixins import LinkPreviewed, Searchable
from models.topic import PRIVATE, PUBLIC
from utils.pagination import paginate

HIDDEN = "hidden"
# Seconds for a post's age to outweigh a tenfold score: 45000 s = 12.5 hours (reddit's).
HOT_SECONDS = 45000
# Subtracted so ranks stay small numbers; any fixed epoch gives the same order.
HOT_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)

SORTS: dict[str, list[tuple[str, int]]] = {
    "hot": [("hot_rank", DESCENDING), ("_id", DESCENDING)],
    "new": [("created_at", DESCENDING), ("_id", DESCENDING)],
    "top": [("score", DESCENDING), ("_id", DESCENDING)],
}


def hot_rank(score: int, created_at: datetime) -> float:
    """sign(score) * log10(max(|score|, 1)) + age / 45000.

    The rank never changes with the clock, yet newer posts outrank older ones with the
    same score, and an older post needs ten times the votes for each 12.5 hours it is
    older: as new posts arrive, old ones sink. That is the decay, without rewriting ranks.
    """
    order = math.log10(max(abs(score), 1))
    sign = (score > 0) - (score < 0)
    return round(sign * order + (created_at - HOT_EPOCH).total_seconds() / HOT_SECONDS, 7)


class Post(Searchable, LinkPreviewed, Editable, BaseModel):
    collection_name = "posts"
    indexes = [
        # Inside a topic pinned posts come first: the sort is (pinned, <order>, _id).
        *[IndexModel([("topic_id", ASCENDING), ("pinned", DESCENDING), *order],
                     name=f"topic_{name}") for name, order in SORTS.items()],
        *[IndexModel([("audience", ASCENDING), *order], name=f"front_{name}")
          for name, order in SORTS.items()],
        # Whole-word search newest first: the index gives the order (tests/query_rules.py).
        IndexModel([("search_terms", ASCENDING), ("_id", DESCENDING)], name="search_recent"),
        IndexModel([("author_id", ASCENDING), ("_id", DESCENDING)], name="author_recent"),
    ]

    def update(self, post_id: ObjectId, changes: dict[str, Any],
               condition: dict[str, Any] | None = None) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            {"_id": post_id, **(condition or {})}, {"$set": changes},
            return_document=ReturnDocument.AFTER)

    def add_score(self, post_id: ObjectId, delta: int) -> dict[str, Any] | None:
        """$inc is atomic, so concurrent votes never lose an update; the hot rank follows
        in a second update guarded by the score it was computed from."""
        post = self.collection.find_one_and_update(
            {"_id": post_id}, {"$inc": {"score": delta}}, return_document=ReturnDocument.AFTER)
        if post is None:
            return None
        rank = hot_rank(post["score"], post["created_at"])
        # If another vote moved the score meanwhile this matches nothing, and that vote
        # (whose score is current) writes the rank instead: the rank is a pure function
        # of the score, so whichever write matches last is right.
        self.collection.update_one({"_id": post_id, "score": post["score"]},
                                   {"$set": {"hot_rank": rank}})
        post["hot_rank"] = rank
        return post

    def add_comments(self, post_id: ObjectId, delta: int) -> dict[str, Any] | None:
        """The post with its new comment_count (None if it is gone)."""
        return self.collection.find_one_and_update(
            {"_id": post_id}, {"$inc": {"comment_count": delta}},
            return_document=ReturnDocument.AFTER)

    def author_of_pseudonym(self, topic_id: ObjectId, pseudonym: str) -> ObjectId | None:
        """Who wrote anonymously under `pseudonym` in the topic (None: nobody did here)."""
        found = self.collection.find_one({"topic_id": topic_id, "anonymous": True,
                                          "pseudonym": pseudonym}, {"author_id": 1})
        return found["author_id"] if found else None

    def topic_ids_by_author(self, author_id: ObjectId) -> set[ObjectId]:
        return {p["topic_id"] for p in self.collection.find({"author_id": author_id},
                                                            {"topic_id": 1})}

    def erase_by_author(self, author_id: ObjectId, changes: dict[str, Any], now: datetime
                        ) -> int:
        """Apply `changes` to every post of the author, stamping `deleted_at` on those not
        deleted before; how many changed."""
        mine: dict[str, Any] = {"author_id": author_id}
        erased = self.collection.update_many(mine, {"$set": changes})
        self.collection.update_many({**mine, "deleted_at": None}, {"$set": {"deleted_at": now}})
        return erased.modified_count

    def set_audience(self, topic_id: ObjectId, audience: str) -> None:
        self.collection.update_many({"topic_id": topic_id}, {"$set": {"audience": audience}})

    # Lists and search (services/forum/post_lists.py, services/discovery/search_service.py)

    def topic_page(self, topic_id: ObjectId, sort: str, since: datetime | None, limit: int,
                   cursor: str | None, projection: dict[str, Any] | None = None
                   ) -> tuple[list[dict[str, Any]], str | None]:
        """A topic's posts written since `since` (all when None), pinned ones first, then
        in `sort` order; the index has the same shape."""
        query: dict[str, Any] = {"topic_id": topic_id, **_written_since(since)}
        return paginate(self.collection, query, [("pinned", DESCENDING), *SORTS[sort]],
                        limit, cursor, projection)

    def front_page(self, private_ids: list[ObjectId] | None, sort: str,
                   since: datetime | None, limit: int, cursor: str | None,
                   projection: dict[str, Any] | None = None
                   ) -> tuple[list[dict[str, Any]], str | None]:
        """Live posts of public topics and of the private ones in `private_ids` (None:
        of every topic not deleted, as site admins see them), in `sort` order."""
        query = {"$and": [_audience(private_ids), {"deleted": False}, _written_since(since)]}
        return paginate(self.collection, query, SORTS[sort], limit, cursor, projection)

    def search_readable(self, private_ids: list[ObjectId] | None, whole: list[str],
                        prefix: str | None, limit: int) -> list[dict[str, Any]]:
        """Search candidates among the posts the front page would show."""
        return self.search_candidates({"deleted": False, **_audience(private_ids)}, whole,
                                      prefix, limit)


def _audience(private_ids: list[ObjectId] | None) -> dict[str, Any]:
    # Each branch is an equality the indexes start with (docs/OPERATIONS.md "Every query on
    # an index"): audience for the front_* indexes; for the topic_* ones (topic_id,
    # pinned, <order>) pinned by equality too, both values, so MongoDB merges the
    # (topic, pinned) runs in order instead of sorting the private topics' posts.
    if private_ids is None:
        return {"audience": {"$in": [PUBLIC, PRIVATE]}}  # not HIDDEN
    return {"$or": [{"audience": PUBLIC},
                    {"topic_id": {"$in": private_ids}, "pinned": {"$in": [False, True]}}]}


def _written_since(since: datetime | None) -> dict[str, Any]:
    return {"created_at": {"$gte": since}} if since else {}

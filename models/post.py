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


class Post(BaseModel):
    collection_name = "posts"
    indexes = [
        # Inside a topic pinned posts come first: the sort is (pinned, <order>, _id).
        *[IndexModel([("topic_id", ASCENDING), ("pinned", DESCENDING), *order],
                     name=f"topic_{name}") for name, order in SORTS.items()],
        *[IndexModel([("audience", ASCENDING), *order], name=f"front_{name}")
          for name, order in SORTS.items()],
        IndexModel([("search_terms", ASCENDING)], name="search_terms"),
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

    def set_audience(self, topic_id: ObjectId, audience: str) -> None:
        self.collection.update_many({"topic_id": topic_id}, {"$set": {"audience": audience}})

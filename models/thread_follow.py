"""Who follows a chat thread, how far they read it, and how many replies they have not.

One document per (root message, user). `unread` counts the replies by others since the
follower last read the thread (`has_unread` beside it orders my threads list, unread
first); replying moves the replier's own read marker to their reply.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.base import BaseModel, utcnow
from utils.pagination import paginate

MY_THREADS_SORT = [("has_unread", DESCENDING), ("last_reply_at", DESCENDING),
                   ("_id", DESCENDING)]


class ThreadFollow(BaseModel):
    collection_name = "thread_follows"
    indexes = [
        IndexModel([("root_id", ASCENDING), ("user_id", ASCENDING)], unique=True,
                   name="root_user_unique"),
        IndexModel([("user_id", ASCENDING), ("has_unread", DESCENDING),
                    ("last_reply_at", DESCENDING), ("_id", DESCENDING)], name="user_threads"),
    ]

    def follow(self, root: dict[str, Any], user_id: ObjectId, read_seq: int) -> None:
        """Follow (idempotent); a new follower has read the thread up to `read_seq`."""
        self.collection.update_one(
            {"root_id": root["_id"], "user_id": user_id},
            {"$setOnInsert": {"room_id": root["room_id"], "last_read_seq": read_seq,
                              "unread": 0, "has_unread": False,
                              "last_reply_at": (root.get("thread") or {}).get(
                                  "last_reply_at") or root["created_at"],
                              "followed_at": utcnow()}}, upsert=True)

    def unfollow(self, root_id: ObjectId, user_id: ObjectId) -> None:
        self.collection.delete_one({"root_id": root_id, "user_id": user_id})

    def find(self, root_id: ObjectId, user_id: ObjectId) -> dict[str, Any] | None:
        return self.collection.find_one({"root_id": root_id, "user_id": user_id})

    def follower_ids(self, root_id: ObjectId) -> list[ObjectId]:
        return [f["user_id"] for f in self.collection.find({"root_id": root_id},
                                                           {"user_id": 1})]

    def replied(self, root_id: ObjectId, author_id: ObjectId, seq: int,
                at: datetime) -> None:
        """A reply at `seq`: unread for every follower but its author, read by the author."""
        self.collection.update_many(
            {"root_id": root_id, "user_id": {"$ne": author_id}},
            {"$inc": {"unread": 1}, "$set": {"has_unread": True, "last_reply_at": at}})
        self.collection.update_one(
            {"root_id": root_id, "user_id": author_id},
            {"$set": {"unread": 0, "has_unread": False, "last_reply_at": at},
             "$max": {"last_read_seq": seq}})

    def reply_gone(self, root_id: ObjectId, author_id: ObjectId, seq: int) -> None:
        """The reply at `seq` was deleted: no longer unread for whoever had not read it."""
        self.collection.update_many(
            {"root_id": root_id, "user_id": {"$ne": author_id}, "last_read_seq": {"$lt": seq},
             "unread": {"$gt": 0}}, {"$inc": {"unread": -1}})
        self.collection.update_many({"root_id": root_id, "unread": 0, "has_unread": True},
                                    {"$set": {"has_unread": False}})

    def mark_read(self, root_id: ObjectId, user_id: ObjectId, seq: int, unread: int) -> None:
        self.collection.update_one(
            {"root_id": root_id, "user_id": user_id},
            {"$max": {"last_read_seq": seq},
             "$set": {"unread": unread, "has_unread": unread > 0}})

    def page_of(self, user_id: ObjectId, limit: int, cursor: str | None
                ) -> tuple[list[dict[str, Any]], str | None]:
        """My followed threads: those with unread replies first, then by latest reply."""
        return paginate(self.collection, {"user_id": user_id}, MY_THREADS_SORT, limit, cursor)

    def delete_of_user(self, user_id: ObjectId) -> int:
        return self.collection.delete_many({"user_id": user_id}).deleted_count

    def delete_of_root(self, root_id: ObjectId) -> int:
        return self.collection.delete_many({"root_id": root_id}).deleted_count

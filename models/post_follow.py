"""Who follows which post for notifications. Writing or commenting on a post follows it
unless the user unfollowed it before (`following: false` is kept so the default does not
come back)."""
from __future__ import annotations

from bson import ObjectId
from pymongo import ASCENDING, IndexModel

from models.base import BaseModel
from utils import clock


class PostFollow(BaseModel):
    collection_name = "post_follows"
    indexes = [
        IndexModel([("post_id", ASCENDING), ("user_id", ASCENDING)], unique=True,
                   name="post_user_unique"),
        IndexModel([("post_id", ASCENDING), ("following", ASCENDING)], name="post_following"),
        IndexModel([("user_id", ASCENDING)], name="user_id"),  # account deletion
    ]

    def follow_by_default(self, post_id: ObjectId, user_id: ObjectId) -> None:
        self.collection.update_one(
            {"post_id": post_id, "user_id": user_id},
            {"$setOnInsert": {"following": True, "created_at": clock.now()}}, upsert=True)

    def set(self, post_id: ObjectId, user_id: ObjectId, following: bool) -> None:
        self.collection.update_one(
            {"post_id": post_id, "user_id": user_id},
            {"$set": {"following": following, "updated_at": clock.now()},
             "$setOnInsert": {"created_at": clock.now()}}, upsert=True)

    def is_following(self, post_id: ObjectId, user_id: ObjectId) -> bool:
        return self.collection.count_documents(
            {"post_id": post_id, "user_id": user_id, "following": True}, limit=1) > 0

    def followers(self, post_id: ObjectId) -> list[ObjectId]:
        return [doc["user_id"] for doc in self.collection.find(
            {"post_id": post_id, "following": True}, {"user_id": 1})]

    def delete_all_of(self, user_id: ObjectId) -> None:
        self.collection.delete_many({"user_id": user_id})

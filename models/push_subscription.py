"""Web Push subscriptions: one document per push endpoint (a browser profile on one push
service), owned by the account that registered it last, remembering the login (`origin`:
`session:<login_id>` or `token:<id>`) it was registered with, so logging out removes it.

A failing subscription carries `failing_since` and a `retry` slot ({notification_id,
attempts, next_at}): the one push still to deliver to it (a newer one takes its place)
and when it may be tried again (services/notify/push_delivery.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.base import BaseModel, utcnow


class PushSubscription(BaseModel):
    collection_name = "push_subscriptions"
    indexes = [
        IndexModel([("endpoint", ASCENDING)], unique=True, name="endpoint_unique"),
        IndexModel([("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                   name="user_created_id"),
        IndexModel([("origin", ASCENDING)], name="origin"),
        IndexModel([("retry.next_at", ASCENDING)], sparse=True, name="retry_due"),
    ]

    def register(self, endpoint: str, keys: dict[str, str], user_id: ObjectId,
                 origin: str | None, user_agent: str) -> dict[str, Any]:
        """The subscription of `endpoint`, created or handed to `user_id` (same id): one
        atomic upsert, so two racing registrations of one endpoint make one document."""
        now = utcnow()
        update = {"$set": {"p256dh": keys["p256dh"], "auth": keys["auth"], "user_id": user_id,
                           "origin": origin, "user_agent": user_agent, "updated_at": now,
                           "failing_since": None, "retry": None},
                  "$setOnInsert": {"endpoint": endpoint, "created_at": now}}
        for _attempt in range(3):
            try:
                found = self.collection.find_one_and_update(
                    {"endpoint": endpoint}, update, upsert=True,
                    return_document=ReturnDocument.AFTER)
            except DuplicateKeyError:
                continue  # a concurrent registration created it: this one now updates it
            return found or self.collection.find_one({"endpoint": endpoint})
        return self.collection.find_one({"endpoint": endpoint})

    def of_user(self, user_id: ObjectId) -> list[dict[str, Any]]:
        return list(self.collection.find({"user_id": user_id})
                    .sort([("created_at", DESCENDING), ("_id", DESCENDING)]))

    def trim(self, user_id: ObjectId, keep: int) -> int:
        """Delete all but the `keep` newest subscriptions of the user; how many went."""
        old = [s["_id"] for s in self.of_user(user_id)[keep:]]
        return self.collection.delete_many({"_id": {"$in": old}}).deleted_count if old else 0

    def delete_mine(self, subscription_id: ObjectId, user_id: ObjectId) -> bool:
        return self.collection.delete_one(
            {"_id": subscription_id, "user_id": user_id}).deleted_count == 1

    def delete(self, subscription_id: ObjectId) -> None:
        self.collection.delete_one({"_id": subscription_id})

    def delete_by_origin(self, origin: str) -> int:
        return self.collection.delete_many({"origin": origin}).deleted_count

    def delete_of_user_except(self, user_id: ObjectId, origins: list[str]) -> int:
        """Delete the user's subscriptions but those registered with one of `origins`."""
        return self.collection.delete_many(
            {"user_id": user_id, "origin": {"$nin": origins}}).deleted_count

    def delete_all_of(self, user_id: ObjectId) -> None:
        self.collection.delete_many({"user_id": user_id})

    # Delivery (services/notify/push_delivery.py)

    def delivered(self, subscription_id: ObjectId) -> None:
        self.collection.update_one({"_id": subscription_id},
                                   {"$set": {"failing_since": None, "retry": None}})

    def clear_retry(self, subscription_id: ObjectId) -> None:
        self.collection.update_one({"_id": subscription_id}, {"$set": {"retry": None}})

    def failed(self, subscription: dict[str, Any], notification_id: ObjectId,
               attempts: int, next_at: datetime) -> None:
        """Keep `notification_id` to try again at `next_at`; failing since the first failure."""
        self.collection.update_one({"_id": subscription["_id"]}, {"$set": {
            "failing_since": subscription.get("failing_since") or utcnow(),
            "retry": {"notification_id": notification_id, "attempts": attempts,
                      "next_at": next_at}}})

    def hold(self, subscription_id: ObjectId, notification_id: ObjectId,
             until: datetime) -> None:
        """Keep `notification_id` in the slot until `until` (the end of the user's quiet
        hours): a wait, not a failure, so `failing_since` is left as it is; a newer push
        takes the slot, as it does while a retry waits."""
        self.collection.update_one({"_id": subscription_id}, {"$set": {
            "retry": {"notification_id": notification_id, "attempts": 0, "next_at": until}}})

    def wait_with(self, subscription_id: ObjectId, notification_id: ObjectId) -> None:
        """A subscription waiting for its retry time gets the newer push in its slot."""
        self.collection.update_one({"_id": subscription_id, "retry": {"$ne": None}},
                                   {"$set": {"retry.notification_id": notification_id}})

    def retry_due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        return list(self.collection.find({"retry.next_at": {"$lte": now}})
                    .sort("retry.next_at", ASCENDING).limit(limit))

    def claim_retry(self, subscription: dict[str, Any]) -> bool:
        """Take the retry slot as read (one consumer of several wins it)."""
        return self.collection.update_one(
            {"_id": subscription["_id"], "retry.next_at": subscription["retry"]["next_at"],
             "retry.notification_id": subscription["retry"]["notification_id"]},
            {"$set": {"retry.next_at": None}}).modified_count == 1

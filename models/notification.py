"""Notifications a user sees, most recently changed first.

Every notification has a unique `group_key`. A coalescing kind keys it by
user + kind + subject + window slot, so one conditional upsert either creates the
notification or folds the event into it (count + 1, last actors, unread again, moved to
the top); any other notification gets a key of its own.
"""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from models.base import BaseModel
from utils import clock
from utils.pagination import paginate

NOTIFICATION_SORT = [("updated_at", DESCENDING), ("_id", DESCENDING)]
LAST_ACTORS = 5


class Notification(BaseModel):
    collection_name = "notifications"
    indexes = [
        IndexModel([("user_id", ASCENDING), ("updated_at", DESCENDING), ("_id", DESCENDING)],
                   name="user_updated"),
        IndexModel([("user_id", ASCENDING), ("read", ASCENDING)], name="user_read"),
        IndexModel([("user_id", ASCENDING), ("kind", ASCENDING)], name="user_kind"),
        IndexModel([("group_key", ASCENDING)], unique=True, name="group_key_unique"),
        IndexModel([("mail_pending", ASCENDING), ("read", ASCENDING),
                    ("updated_at", ASCENDING)], name="mail_due"),
    ]

    @classmethod
    def ensure_indexes(cls, db: Database) -> list[str]:
        # Rows stored before coalescing have no group_key (two would break the unique
        # index) nor updated_at (the list order): give them their own, once.
        legacy = db[cls.collection_name].find({"group_key": {"$exists": False}},
                                              {"created_at": 1})
        for row in legacy:
            db[cls.collection_name].update_one(
                {"_id": row["_id"], "group_key": {"$exists": False}},
                {"$set": {"group_key": str(row["_id"]), "updated_at": row["created_at"],
                          "count": 1, "actors": [], "email": False, "emailed_at": None}})
        return super().ensure_indexes(db)

    def create(self, user_id: ObjectId, kind: str, data: dict[str, Any],
               **extra: Any) -> dict[str, Any]:
        return self.add(str(ObjectId()), user_id, kind, data, **extra)

    def add(self, group_key: str, user_id: ObjectId, kind: str, data: dict[str, Any],
            actor: dict[str, Any] | None = None, subject: str | None = None,
            email: bool = False) -> dict[str, Any]:
        """Create the notification keyed `group_key`, or fold one more event into it.
        One atomic upsert: concurrent events on the same key never make two rows."""
        now = clock.now()
        update: dict[str, Any] = {
            "$inc": {"count": 1},
            # mail_pending: this change is still to be mailed if unseen (notify_mail).
            "$set": {"data": data, "read": False, "read_at": None, "updated_at": now,
                     "email": email, "mail_pending": email},
            # user_id comes from the filter, which names it so a sharded cluster
            # (models/sharding.py) routes the upsert to the user's shard.
            "$setOnInsert": {"kind": kind, "subject": subject,
                             "created_at": now, "emailed_at": None},
        }
        if actor is not None:
            update["$push"] = {"actors": {"$each": [actor], "$slice": -LAST_ACTORS}}
        else:
            update["$setOnInsert"]["actors"] = []
        for _attempt in range(3):
            try:
                found = self.collection.find_one_and_update(
                    {"user_id": user_id, "group_key": group_key}, update, upsert=True,
                    return_document=ReturnDocument.AFTER)
            except DuplicateKeyError:
                continue  # a concurrent upsert created it first: this one now updates it
            # Some MongoDB-compatible servers (SecantusDB, the test server) hand None back
            # to the loser of a concurrent create; the row exists, so read it.
            return found or self.collection.find_one({"user_id": user_id,
                                                      "group_key": group_key})
        return self.collection.find_one({"user_id": user_id, "group_key": group_key})

    def find_page_for(self, user_id: ObjectId, limit: int, cursor: str | None,
                      unread_only: bool = False) -> tuple[list[dict[str, Any]], str | None]:
        query: dict[str, Any] = {"user_id": user_id}
        if unread_only:
            query["read"] = False
        return paginate(self.collection, query, NOTIFICATION_SORT, limit, cursor)

    def mark_read(self, notification_id: ObjectId, user_id: ObjectId) -> dict[str, Any] | None:
        """Only the owner's own notification; someone else's is simply not found."""
        return self.collection.find_one_and_update(
            {"_id": notification_id, "user_id": user_id},
            {"$set": {"read": True, "read_at": clock.now()}},
            return_document=ReturnDocument.AFTER)

    def mark_all_read(self, user_id: ObjectId) -> int:
        result = self.collection.update_many({"user_id": user_id, "read": False},
                                             {"$set": {"read": True, "read_at": clock.now()}})
        return result.modified_count

    def delete_mine(self, notification_id: ObjectId, user_id: ObjectId) -> bool:
        result = self.collection.delete_one({"_id": notification_id, "user_id": user_id})
        return result.deleted_count == 1

    def unread_count(self, user_id: ObjectId) -> int:
        return self.collection.count_documents({"user_id": user_id, "read": False})

    def delete_all_of(self, user_id: ObjectId) -> None:
        self.collection.delete_many({"user_id": user_id})

    # Account deletion (services/privacy/name_copies.py)

    def naming(self, user_id: str, username: str) -> list[dict[str, Any]]:
        """Notifications that copied the user's name: as an actor, as a missed call's
        caller, as the staff member who gave a warning (usernames are unique at any
        time, so a warning `by` this name was given by them). Actors, data and kind."""
        return list(self.collection.find({"$or": [
            {"actors.id": user_id}, {"data.caller_id": user_id},
            {"kind": "warning", "data.by": username}]}, {"actors": 1, "data": 1, "kind": 1}))

    def rewrite_names(self, notification_id: ObjectId, data: dict[str, Any],
                      actors: list[dict[str, Any]]) -> None:
        self.collection.update_one({"_id": notification_id},
                                   {"$set": {"data": data, "actors": actors}})

    # Mail (services/notify/notify_mail.py, notify_digest.py)

    def mail_due(self, before: Any, limit: int) -> list[dict[str, Any]]:
        """Unread notifications with a change still to mail, unchanged since `before`,
        and not held (for the user's quiet hours) past now."""
        return list(self.collection.find(
            {"mail_pending": True, "read": False, "updated_at": {"$lte": before},
             "$or": [{"mail_held_until": None}, {"mail_held_until": {"$lte": clock.now()}}]}
        ).sort("updated_at", ASCENDING).limit(limit))

    def hold_mail(self, notification: dict[str, Any], until: Any) -> None:
        """Keep `notification`'s pending mail out of `mail_due` until `until` (the end of
        the user's quiet hours); its next sweep after that decides again."""
        self.collection.update_one(
            {"_id": notification["_id"], "mail_pending": True,
             "updated_at": notification["updated_at"]},
            {"$set": {"mail_held_until": until}})

    def release_mail_holds(self, user_id: ObjectId) -> None:
        """The user changed their quiet hours: their held mail is decided again."""
        self.collection.update_many({"user_id": user_id, "mail_held_until": {"$ne": None}},
                                    {"$set": {"mail_held_until": None}})

    def claim_mail(self, notification: dict[str, Any]) -> dict[str, Any] | None:
        """Mark `notification`'s change mailed, only while it is still unread, pending and
        unchanged since it was read: of several consumers racing, exactly one gets it
        back (the one that sends); a later change makes it pending again."""
        return self.collection.find_one_and_update(
            {"_id": notification["_id"], "read": False, "mail_pending": True,
             "updated_at": notification["updated_at"]},
            {"$set": {"mail_pending": False, "emailed_at": clock.now()}},
            return_document=ReturnDocument.AFTER)

    def unread_since(self, user_id: ObjectId, since: Any, limit: int
                     ) -> tuple[list[dict[str, Any]], int]:
        """A user's unread notifications changed after `since` (all unread if None), the
        most recent first, at most `limit`, and how many there are in all."""
        query: dict[str, Any] = {"user_id": user_id, "read": False}
        if since is not None:
            query["updated_at"] = {"$gt": since}
        items = list(self.collection.find(query).sort(NOTIFICATION_SORT).limit(limit))
        return items, self.collection.count_documents(query)

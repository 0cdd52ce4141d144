"""Uploaded files: who uploaded them, what their bytes are, where they are stored and
what they are attached to (`attached_to: {kind, id}`, at most one message, post or
comment). `state` is `reserved` (an upload through the API being checked and stored),
`pending` (a presigned upload not yet confirmed), `ready`, or `deleted` (its owner went;
the objects are removed by a job, then the document).

`quota_slot` ("<owner>:<number>", unique) numbers each user's uploads in the order their
quota was checked (services/uploads/uploads_service.py `_reserve`)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel, ReturnDocument

from models.base import BaseModel

RESERVED, PENDING, READY, DELETED = "reserved", "pending", "ready", "deleted"


class Upload(BaseModel):
    collection_name = "uploads"
    indexes = [
        IndexModel([("owner_id", ASCENDING), ("created_at", ASCENDING)], name="owner_created"),
        IndexModel([("attached_to.id", ASCENDING)], name="attached_to"),
        IndexModel([("state", ASCENDING), ("created_at", ASCENDING)], name="state_created"),
        IndexModel([("quota_slot", ASCENDING)], unique=True, sparse=True,
                   name="quota_slot_unique"),
    ]

    @staticmethod
    def quota_slot(owner_id: ObjectId, number: int) -> str:
        return f"{owner_id}:{number:012d}"  # zero-padded: sorts as numbers do

    def last_quota_number(self, owner_id: ObjectId) -> int:
        """The highest quota slot number `owner_id`'s uploads hold (0: none)."""
        prefix = f"{owner_id}:"
        last = self.collection.find_one(
            {"quota_slot": {"$gte": prefix, "$lt": f"{owner_id};"}}, {"quota_slot": 1},
            sort=[("quota_slot", -1)])
        return int(last["quota_slot"][len(prefix):]) if last else 0

    def bytes_since(self, owner_id: ObjectId, since: datetime) -> int:
        """Bytes `owner_id` uploaded (or announced, for pending uploads) since `since`."""
        found = self.collection.find({"owner_id": owner_id, "created_at": {"$gte": since}},
                                     {"size": 1})
        return sum(int(document.get("size") or 0) for document in found)

    def claim(self, ids: list[ObjectId], owner_id: ObjectId, kind: str,
              target_id: ObjectId) -> int:
        """Attach the owner's ready, unattached uploads; how many were claimed."""
        return self.collection.update_many(
            {"_id": {"$in": ids}, "owner_id": owner_id, "state": READY, "attached_to": None},
            {"$set": {"attached_to": {"kind": kind, "id": target_id}}}).modified_count

    def release(self, target_id: ObjectId) -> None:
        self.collection.update_many({"attached_to.id": target_id, "state": READY},
                                    {"$set": {"attached_to": None}})

    def of_target(self, target_id: ObjectId) -> list[dict[str, Any]]:
        return list(self.collection.find({"attached_to.id": target_id}))

    def ids_of_owner(self, owner_id: ObjectId) -> list[ObjectId]:
        return [u["_id"] for u in self.collection.find({"owner_id": owner_id}, {"_id": 1})]

    def mark_deleted(self, ids: list[ObjectId]) -> None:
        if ids:
            self.collection.update_many({"_id": {"$in": ids}}, {"$set": {"state": DELETED}})

    def finish(self, upload_id: ObjectId, changes: dict[str, Any],
               state: str = PENDING) -> dict[str, Any] | None:
        """A pending (or reserved) upload becomes ready (once: a second confirmation
        finds none)."""
        return self.collection.find_one_and_update(
            {"_id": upload_id, "state": state}, {"$set": {**changes, "state": READY}},
            return_document=ReturnDocument.AFTER)

    def stale(self, unattached_before: datetime, limit: int = 500) -> list[dict[str, Any]]:
        """Deleted uploads, and those never attached that were made before the time."""
        return list(self.collection.find({"$or": [
            {"state": DELETED},
            # attached_to is None or {kind, id}: a null id is an unattached upload, and
            # the attached_to.id index finds those
            {"attached_to.id": None, "created_at": {"$lt": unattached_before}}]}).limit(limit))

    def remove(self, upload_id: ObjectId) -> None:
        self.collection.delete_one({"_id": upload_id})

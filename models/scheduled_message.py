"""A chat message waiting for its time (`send_at` on POST /api/messages/rooms/<id>/messages).
Its author lists, edits and cancels it; services/chat/chat_scheduled.py sends it when due.
A consumer claims a due one with one conditional update (`claimed_at`), so two consumers
never both take it; a claim older than CLAIM_SECONDS (a consumer that died mid-send) may be
taken again, and the send stays idempotent by its client_id."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel, ReturnDocument

from models.base import BaseModel
from utils.pagination import paginate

SOONEST_FIRST = [("send_at", ASCENDING), ("_id", ASCENDING)]
CLAIM_SECONDS = 300


class ScheduledMessage(BaseModel):
    collection_name = "scheduled_messages"
    indexes = [
        IndexModel([("author_id", ASCENDING), *SOONEST_FIRST], name="author_soonest"),
        IndexModel(SOONEST_FIRST, name="send_at"),
    ]

    def create(self, scheduled_id: ObjectId, author_id: ObjectId, room_id: ObjectId,
               fields: dict[str, Any], send_at: datetime, now: datetime) -> dict[str, Any]:
        """`fields`: body, attachments, reply_to, thread_root_id, also_to_room."""
        return self.insert({"_id": scheduled_id, "author_id": author_id, "room_id": room_id,
                            **fields, "send_at": send_at, "created_at": now,
                            "claimed_at": None})

    def ids_of(self, author_id: ObjectId) -> list[ObjectId]:
        return [item["_id"] for item in self.collection.find({"author_id": author_id},
                                                             {"_id": 1})]

    def page_of(self, author_id: ObjectId, limit: int, cursor: str | None
                ) -> tuple[list[dict[str, Any]], str | None]:
        """The author's waiting messages, the soonest first."""
        return paginate(self.collection, {"author_id": author_id}, SOONEST_FIRST, limit, cursor)

    def find_mine(self, author_id: ObjectId, scheduled_id: ObjectId) -> dict[str, Any] | None:
        """The author's item while it still waits (not claimed for sending)."""
        return self.collection.find_one({"_id": scheduled_id, "author_id": author_id,
                                         "claimed_at": None})

    def update_mine(self, author_id: ObjectId, scheduled_id: ObjectId,
                    changes: dict[str, Any]) -> dict[str, Any] | None:
        """Changed while it still waits; None when it is gone or being sent."""
        return self.collection.find_one_and_update(
            {"_id": scheduled_id, "author_id": author_id, "claimed_at": None},
            {"$set": changes}, return_document=ReturnDocument.AFTER)

    def delete_mine(self, author_id: ObjectId, scheduled_id: ObjectId) -> bool:
        return self.collection.delete_one({"_id": scheduled_id, "author_id": author_id,
                                           "claimed_at": None}).deleted_count > 0

    def claim_due(self, now: datetime) -> dict[str, Any] | None:
        """Take the soonest due item for sending (one conditional update), or None."""
        stale = now - timedelta(seconds=CLAIM_SECONDS)
        return self.collection.find_one_and_update(
            {"send_at": {"$lte": now},
             "$or": [{"claimed_at": None}, {"claimed_at": {"$lt": stale}}]},
            {"$set": {"claimed_at": now}}, sort=SOONEST_FIRST,
            return_document=ReturnDocument.AFTER)

    def remove(self, scheduled_id: ObjectId) -> None:
        self.collection.delete_one({"_id": scheduled_id})

    def delete_all_of(self, author_id: ObjectId) -> int:
        return self.collection.delete_many({"author_id": author_id}).deleted_count

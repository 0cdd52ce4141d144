"""Polls: one document per poll, held by one item (a chat message or a post) that names it
in its `poll_id`. The ballots are models.poll_ballot's."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel

from models.base import BaseModel

HOST_TYPES = ("message", "post")


class Poll(BaseModel):
    collection_name = "polls"
    indexes = [
        IndexModel([("host_type", ASCENDING), ("host_id", ASCENDING)], unique=True,
                   name="host_unique"),
    ]
    conflict_message = "This item already has a poll."

    def create(self, document: dict[str, Any]) -> dict[str, Any]:
        return self.insert(document)

    def delete(self, poll_id: ObjectId) -> None:
        self.collection.delete_one({"_id": poll_id})

    # The coalesced `poll_updated` (services/polls/poll_live.py): each step is one atomic
    # update of the poll, so any number of processes agree on who announces.

    def claim_announcement(self, poll_id: ObjectId, now: datetime, earliest: datetime,
                           clear_pending: bool = False) -> bool:
        """Take the right to announce now: True when the last announcement was at or
        before `earliest` (or there was none); stamps `now`."""
        update: dict[str, Any] = {"announced_at": now}
        if clear_pending:
            update["announce_pending"] = False
        result = self.collection.update_one(
            {"_id": poll_id, "$or": [{"announced_at": None},
                                     {"announced_at": {"$lte": earliest}}]},
            {"$set": update})
        return result.modified_count > 0

    def mark_pending(self, poll_id: ObjectId) -> dict[str, Any] | None:
        """Note that a later announcement is owed: the poll (`announced_at` only) when this
        call is the one that noted it (its caller schedules the announcement), else None."""
        return self.collection.find_one_and_update(
            {"_id": poll_id, "announce_pending": {"$ne": True}},
            {"$set": {"announce_pending": True}}, projection={"announced_at": 1})

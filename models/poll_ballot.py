"""Poll ballots: one document per (poll, user), holding the option ids they chose. The
unique index is what makes it one ballot per user, however many devices vote at once."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from models.base import BaseModel
from utils.pagination import paginate

VOTERS_SORT = [("updated_at", ASCENDING), ("_id", ASCENDING)]


class PollBallot(BaseModel):
    collection_name = "poll_ballots"
    indexes = [
        IndexModel([("poll_id", ASCENDING), ("user_id", ASCENDING)], unique=True,
                   name="poll_user_unique"),
        IndexModel([("poll_id", ASCENDING), ("updated_at", ASCENDING), ("_id", ASCENDING)],
                   name="poll_voters"),
        IndexModel([("user_id", ASCENDING), ("_id", ASCENDING)], name="user_ballots_id"),
    ]

    def cast(self, poll_id: ObjectId, user_id: ObjectId, option_ids: list[str],
             now: datetime) -> None:
        """Store the user's choice, replacing the one they had."""
        key = {"poll_id": poll_id, "user_id": user_id}
        update = {"$set": {"option_ids": option_ids, "updated_at": now},
                  "$setOnInsert": {"created_at": now}}
        for _attempt in range(3):
            try:
                self.collection.update_one(key, update, upsert=True)
            except DuplicateKeyError:
                # Two first ballots of one user raced on the upsert: the loser retries
                # and now updates the winner's document.
                continue
            return
        raise RuntimeError("ballot could not be stored")

    def withdraw(self, poll_id: ObjectId, user_id: ObjectId) -> bool:
        return self.collection.delete_one({"poll_id": poll_id, "user_id": user_id}
                                          ).deleted_count > 0

    def tallies(self, poll_ids: list[ObjectId]) -> dict[ObjectId, dict[str, Any]]:
        """{poll_id: {"voters": n, "options": {option_id: votes}}}, counted from the
        ballots themselves (never a counter that could drift)."""
        if not poll_ids:
            return {}
        found: dict[ObjectId, dict[str, Any]] = {}
        voters = self.count_per("poll_id", poll_ids)
        rows = self.collection.aggregate([
            {"$match": {"poll_id": {"$in": poll_ids}}},
            {"$unwind": "$option_ids"},
            {"$group": {"_id": {"poll": "$poll_id", "option": "$option_ids"},
                        "n": {"$sum": 1}}}])
        for row in rows:
            entry = found.setdefault(row["_id"]["poll"], {"voters": 0, "options": {}})
            entry["options"][row["_id"]["option"]] = int(row["n"])
        for poll_id, count in voters.items():
            found.setdefault(poll_id, {"voters": 0, "options": {}})["voters"] = int(count)
        return found

    def mine(self, user_id: ObjectId, poll_ids: list[ObjectId]) -> dict[ObjectId, list[str]]:
        if not poll_ids:
            return {}
        cursor = self.collection.find({"user_id": user_id, "poll_id": {"$in": poll_ids}},
                                      {"poll_id": 1, "option_ids": 1})
        return {doc["poll_id"]: list(doc["option_ids"]) for doc in cursor}

    def voters_page(self, poll_id: ObjectId, limit: int, cursor: str | None
                    ) -> tuple[list[dict[str, Any]], str | None]:
        """Ballots in the order they were last changed."""
        return paginate(self.collection, {"poll_id": poll_id}, VOTERS_SORT, limit, cursor)

    def delete_of_poll(self, poll_id: ObjectId) -> None:
        self.collection.delete_many({"poll_id": poll_id})

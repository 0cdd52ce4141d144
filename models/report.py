"""Reports about posts, comments, messages, users and topics.

`open_key` ("reporter:type:target") exists only while a report is open, under a sparse
unique index: reporting the same thing twice finds the open report instead of adding
one, and once it is resolved the same person can report that target again.

Resolution claims every open report of a target with one `update_many` (status
`resolving` and a claim id) before acting, so two moderators never apply two actions to
the same target; a claim older than CLAIM_SECONDS (its process died) is open again.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.base import BaseModel
from utils.pagination import paginate

CLAIM_SECONDS = 300
REPORT_SORT = [("created_at", ASCENDING), ("_id", ASCENDING)]


def open_key(reporter_id: ObjectId, target_type: str, target_id: ObjectId) -> str:
    return f"{reporter_id}:{target_type}:{target_id}"


def open_condition(now: datetime) -> dict[str, Any]:
    """Open, or claimed by a resolution that never finished."""
    return {"$or": [{"status": "open"},
                    {"status": "resolving",
                     "claimed_at": {"$lt": now - timedelta(seconds=CLAIM_SECONDS)}}]}


class Report(BaseModel):
    collection_name = "reports"
    indexes = [
        IndexModel([("open_key", ASCENDING)], unique=True, sparse=True, name="open_key_unique"),
        IndexModel([("status", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
                   name="status_created"),
        IndexModel([("topic_id", ASCENDING), ("status", ASCENDING), ("created_at", ASCENDING)],
                   name="topic_status_created"),
        IndexModel([("target_type", ASCENDING), ("target_id", ASCENDING), ("status", ASCENDING)],
                   name="target_status"),
        IndexModel([("claim", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
                   sparse=True, name="claim_created"),
        # The admin user list's "reports against" count per user.
        IndexModel([("target_author_id", ASCENDING)], name="target_author"),
        IndexModel([("reporter_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
                   name="reporter_created"),
    ]

    def find_open(self, reporter_id: ObjectId, target_type: str, target_id: ObjectId
                  ) -> dict[str, Any] | None:
        return self.collection.find_one({"open_key": open_key(reporter_id, target_type,
                                                              target_id)})

    def find_page(self, query: dict[str, Any], limit: int, cursor: str | None
                  ) -> tuple[list[dict[str, Any]], str | None]:
        return paginate(self.collection, query, REPORT_SORT, limit, cursor)

    def filed_page(self, reporter_id: ObjectId, limit: int, cursor: str | None
                   ) -> tuple[list[dict[str, Any]], str | None]:
        """The reports one user filed, the latest first."""
        return paginate(self.collection, {"reporter_id": reporter_id},
                        [("created_at", DESCENDING), ("_id", DESCENDING)], limit, cursor)

    def claim_target(self, target_type: str, target_id: ObjectId, claim: ObjectId,
                     now: datetime) -> int:
        result = self.collection.update_many(
            {"target_type": target_type, "target_id": target_id, **open_condition(now)},
            {"$set": {"status": "resolving", "claim": claim, "claimed_at": now}})
        return result.modified_count

    def count_unresolved(self) -> int:
        """Reports open or being resolved."""
        return self._count({"status": {"$in": ["open", "resolving"]}})

    def holds_claim(self, report_id: ObjectId, claim: ObjectId) -> bool:
        """Whether `claim` took this report (a resolution racing it may have taken it)."""
        return self.collection.count_documents({"_id": report_id, "claim": claim}) > 0

    def release(self, claim: ObjectId) -> None:
        self.collection.update_many({"claim": claim},
                                    {"$set": {"status": "open"},
                                     "$unset": {"claim": "", "claimed_at": ""}})

    def finish(self, claim: ObjectId, status: str, changes: dict[str, Any]) -> list[dict]:
        self.collection.update_many({"claim": claim},
                                    {"$set": {"status": status, **changes},
                                     "$unset": {"open_key": "", "claimed_at": ""}})
        return list(self.collection.find({"claim": claim}).sort(REPORT_SORT))

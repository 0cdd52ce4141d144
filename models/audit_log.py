"""The audit trail: one document per admin or moderator action, insert-only.

There is deliberately no update or delete method here (and no endpoint calls one): the
log is evidence, so it only grows. Actor and target are stored with a name snapshot, so
an entry stays readable after the account is renamed or deleted.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.base import BaseModel
from utils import clock
from utils.pagination import paginate

# Newest first; `_id` breaks ties so keyset pages never skip or repeat an entry.
AUDIT_SORT = [("at", DESCENDING), ("_id", DESCENDING)]


class AuditLog(BaseModel):
    collection_name = "audit_log"
    indexes = [
        IndexModel([("at", DESCENDING), ("_id", DESCENDING)], name="at_desc"),
        # Each filter of the staff list first, then its newest-first order (AUDIT_SORT).
        IndexModel([("actor_id", ASCENDING), *AUDIT_SORT], name="actor_at_id"),
        IndexModel([("action", ASCENDING), *AUDIT_SORT], name="action_at_id"),
        IndexModel([("topic_id", ASCENDING), *AUDIT_SORT], name="topic_at"),
        IndexModel([("target_id", ASCENDING), *AUDIT_SORT], name="target_id_at_id"),
        IndexModel([("target_type", ASCENDING), *AUDIT_SORT], name="target_type_at_id"),
    ]

    def record(self, actor: dict[str, Any] | None, action: str, target_type: str,
               target_id: ObjectId | str | None, reason: str | None = None,
               data: dict[str, Any] | None = None, topic_id: ObjectId | None = None,
               at: datetime | None = None) -> dict[str, Any]:
        """`actor` None means the system itself (e.g. an expired ban lifting)."""
        return self.insert({
            "at": at or clock.now(),
            "actor_id": actor["_id"] if actor else None,
            "actor_username": actor["username"] if actor else "system",
            "actor_role": actor.get("role") if actor else "system",
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "topic_id": topic_id,
            "reason": reason,
            "data": data or {},
        })

    def find_page(self, query: dict[str, Any], limit: int, cursor: str | None
                  ) -> tuple[list[dict[str, Any]], str | None]:
        return paginate(self.collection, query, AUDIT_SORT, limit, cursor)

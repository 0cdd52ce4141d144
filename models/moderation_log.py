"""Every moderation action: who did what to which target, why and when. Append-only."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from models import registry
from models.base import BaseModel


@registry.register
class ModerationLog(BaseModel):
    collection_name = "moderation_log"
    indexes = [
        IndexModel([("topic_id", ASCENDING), ("_id", DESCENDING)], name="topic_recent"),
        IndexModel([("actor_id", ASCENDING), ("_id", DESCENDING)], name="actor_recent"),
        IndexModel([("_id", DESCENDING)], name="recent"),
    ]

    def add(self, actor_id: ObjectId | None, action: str, topic_id: ObjectId | None,
            target_type: str, target_id: ObjectId | None, reason: str | None,
            at: datetime) -> dict[str, Any]:
        return self.insert({"actor_id": actor_id, "action": action, "topic_id": topic_id,
                            "target_type": target_type, "target_id": target_id,
                            "reason": reason or "", "created_at": at})

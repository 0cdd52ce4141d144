"""What a user saved to come back to: posts, comments and chat messages (`PUT
/api/saved/<type>/<id>`). One document per user and item (a unique index), so saving
twice keeps the first save and its time. Whether the user may still read an item is
decided when the list is read, never stored here."""
from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from models.base import BaseModel
from utils.pagination import paginate

NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]


class SavedItem(BaseModel):
    collection_name = "saved_items"
    indexes = [
        IndexModel([("user_id", ASCENDING), ("item_type", ASCENDING), ("item_id", ASCENDING)],
                   unique=True, name="user_item_unique"),
        IndexModel([("user_id", ASCENDING), *NEWEST_FIRST], name="user_newest"),
    ]

    def save(self, user_id: ObjectId, item_type: str, item_id: ObjectId, now: datetime
             ) -> None:
        # A concurrent save of the same item may insert it first: saved all the same.
        with contextlib.suppress(DuplicateKeyError):
            self.collection.update_one(
                {"user_id": user_id, "item_type": item_type, "item_id": item_id},
                {"$setOnInsert": {"created_at": now}}, upsert=True)

    def unsave(self, user_id: ObjectId, item_type: str, item_id: ObjectId) -> None:
        self.collection.delete_one({"user_id": user_id, "item_type": item_type,
                                    "item_id": item_id})

    def page_of(self, user_id: ObjectId, limit: int, cursor: str | None
                ) -> tuple[list[dict[str, Any]], str | None]:
        """The user's saved items, the latest saved first."""
        return paginate(self.collection, {"user_id": user_id}, NEWEST_FIRST, limit, cursor)

    def delete_all_of(self, user_id: ObjectId) -> int:
        return self.collection.delete_many({"user_id": user_id}).deleted_count

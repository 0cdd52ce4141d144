"""Helpers every model shares: ids and times converted at the edge, duplicate keys as
Conflict, and a small base class over one collection."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, ClassVar

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import IndexModel
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from utils.clock import utcnow  # noqa: F401  (models and services read it from here)
from utils.db import get_db
from utils.errors import Conflict, NotFound


def isoformat(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a Z, as the contract prints times."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    text = value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def is_object_id(value: Any) -> bool:
    return isinstance(value, ObjectId) or (isinstance(value, str) and ObjectId.is_valid(value)
                                           and len(value) == 24)


def to_object_id(value: Any, what: str = "Resource") -> ObjectId:
    """Parse an id from the outside; a malformed one is simply not found."""
    if isinstance(value, ObjectId):
        return value
    if not is_object_id(value):
        raise NotFound(f"{what} not found.")
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        raise NotFound(f"{what} not found.") from None


def id_str(value: ObjectId | None) -> str | None:
    return None if value is None else str(value)


class BaseModel:
    """One collection. Subclasses name it and list their indexes."""

    collection_name: ClassVar[str]
    indexes: ClassVar[list[IndexModel]] = []
    conflict_message: ClassVar[str] = "This already exists."

    def __init__(self, db: Database | None = None) -> None:
        self.db = db if db is not None else get_db()

    @property
    def collection(self) -> Collection:
        return self.db[self.collection_name]

    @classmethod
    def ensure_indexes(cls, db: Database) -> list[str]:
        if not cls.indexes:
            return []
        return db[cls.collection_name].create_indexes(cls.indexes)

    def insert(self, document: dict[str, Any]) -> dict[str, Any]:
        try:
            result = self.collection.insert_one(document)
        except DuplicateKeyError as exc:
            raise Conflict(self.conflict_message, self._duplicate_details(exc)) from None
        document["_id"] = result.inserted_id
        return document

    def get(self, object_id: Any, what: str | None = None) -> dict[str, Any]:
        document = self.collection.find_one({"_id": to_object_id(object_id, what or self._what())})
        if document is None:
            raise NotFound(f"{what or self._what()} not found.")
        return document

    def find_by_id(self, object_id: Any, projection: dict[str, Any] | None = None
                   ) -> dict[str, Any] | None:
        if not is_object_id(object_id):
            return None
        return self.collection.find_one({"_id": ObjectId(object_id)}, projection)

    def find_one_with_user(self, match: dict[str, Any]
                           ) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """(the document matching `match`, the user its `user_id` names or None) in one
        round trip: the user comes along through `$lookup` on users' `_id` index. What
        every authenticated request asks (a bearer token, a browser session's login)."""
        found = next(self.collection.aggregate([
            {"$match": match},
            {"$limit": 1},
            {"$lookup": {"from": "users", "localField": "user_id", "foreignField": "_id",
                         "as": "user"}},
        ]), None)
        if found is None:
            return None
        users = found.pop("user")
        return found, (users[0] if users else None)

    def find_by_ids(self, ids: list[ObjectId], projection: dict[str, Any] | None = None
                    ) -> dict[ObjectId, dict[str, Any]]:
        """{_id: document} of those that exist; no round trip for no ids."""
        ids = list(set(ids))
        if not ids:
            return {}
        return {d["_id"]: d for d in self.collection.find({"_id": {"$in": ids}}, projection)}

    # Every collection alike: counts for staff, an account's export, the demo data

    def count_per(self, field: str, values: list[Any], condition: dict[str, Any] | None = None
                  ) -> dict[Any, int]:
        """{value: how many documents hold it in `field` (and match `condition`)}, one
        aggregation; values no document holds are left out."""
        rows = self.collection.aggregate([
            {"$match": {field: {"$in": values}, **(condition or {})}},
            {"$group": {"_id": f"${field}", "n": {"$sum": 1}}}])
        return {row["_id"]: row["n"] for row in rows}

    def count_not_deleted(self) -> int:
        """Documents of a soft-deleting collection that are not deleted."""
        return self._count({"deleted": False})

    def created_per_day(self, since: datetime) -> dict[str, int]:
        """{"YYYY-MM-DD": documents created that UTC day} from `since` on, deleted or not."""
        rows = self.collection.aggregate([
            {"$match": {"created_at": {"$gte": since}}},
            {"$group": {"_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at"}},
                        "n": {"$sum": 1}}}])
        return {row["_id"]: int(row["n"]) for row in rows}

    def for_export(self, owner_field: str, owner_id: ObjectId, fields: Iterable[str]
                   ) -> list[dict[str, Any]]:
        """The documents whose `owner_field` is `owner_id`, oldest first, with `fields`."""
        return list(self.collection.find({owner_field: owner_id}, dict.fromkeys(fields, 1))
                    .sort("_id", 1))

    def is_empty(self) -> bool:
        return self.collection.count_documents({}, limit=1) == 0

    def delete_all(self) -> int:
        """Empty the collection (its indexes stay); how many documents went."""
        return self.collection.delete_many({}).deleted_count

    def _count(self, condition: dict[str, Any]) -> int:
        rows = list(self.collection.aggregate([{"$match": condition},
                                               {"$group": {"_id": None, "n": {"$sum": 1}}}]))
        return int(rows[0]["n"]) if rows else 0

    def _what(self) -> str:
        return self.collection_name.rstrip("s").replace("_", " ").capitalize()

    @staticmethod
    def _duplicate_details(exc: DuplicateKeyError) -> dict[str, Any] | None:
        key = (exc.details or {}).get("keyValue") or (exc.details or {}).get("keyPattern")
        if isinstance(key, dict) and key:
            return {field: ["already taken"] for field in key}
        return None

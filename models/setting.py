"""Versioned settings documents (`settings` collection, one document per name).

Every write increments `version`, so readers that cached a compiled form can tell cheaply
whether theirs is current; `expected_version` turns concurrent edits into a Conflict
instead of a silent lost update.
"""
from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.base import BaseModel
from utils import clock
from utils.errors import Conflict


class Setting(BaseModel):
    collection_name = "settings"

    def get_named(self, name: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": name})

    def version_of(self, name: str) -> int:
        document = self.collection.find_one({"_id": name}, {"version": 1})
        return int(document["version"]) if document else 0

    def put(self, name: str, value: dict[str, Any], actor_id: Any,
            expected_version: int | None = None) -> dict[str, Any]:
        condition: dict[str, Any] = {"_id": name}
        if expected_version is not None:
            condition["version"] = expected_version
        update = {"$set": {"value": value, "updated_at": clock.now(), "updated_by": actor_id},
                  "$inc": {"version": 1}}
        try:
            # Upsert only when nobody expects an existing version (the first write).
            document = self.collection.find_one_and_update(
                condition, update, upsert=expected_version in (None, 0),
                return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            document = None
        if document is None:
            raise Conflict("The settings changed meanwhile; reload and try again.",
                           {"expected_version": ["does not match the stored version"]})
        return document

"""The earlier versions of edited messages, posts and comments (docs/TOPICS.md "Edit
history"). An edit stores the version it replaces, numbered from 1 (as first written):
the item's `edit_count` before the edit plus one. `Editable.edit` updates an item only
while its `edit_count` is the one it read, so concurrent edits never share a number (and
the unique index would refuse a second copy)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from bson import ObjectId
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.collection import Collection

from models.base import BaseModel
from utils.errors import Conflict
from utils.pagination import paginate

MESSAGE, POST, COMMENT = "message", "post", "comment"
ITEM_TYPES = (MESSAGE, POST, COMMENT)

SORT = [("version", ASCENDING), ("_id", ASCENDING)]


class EditVersion(BaseModel):
    collection_name = "edit_versions"
    conflict_message = "This version is stored already."
    indexes = [
        IndexModel([("item_type", ASCENDING), ("item_id", ASCENDING), ("version", ASCENDING)],
                   unique=True, name="item_version_unique"),
        # Erasing an account's content takes the history of everything it wrote.
        IndexModel([("author_id", ASCENDING), ("_id", ASCENDING)], name="author_id"),
    ]

    def keep(self, item_type: str, before: dict[str, Any], replaced_at: datetime
             ) -> dict[str, Any]:
        """Store `before` (the item as it was until `replaced_at`) as its version."""
        return self.insert({
            "item_type": item_type, "item_id": before["_id"], "author_id": before["author_id"],
            "version": int(before.get("edit_count") or 0) + 1,
            "title": before.get("title"), "body": before.get("body", ""),
            "attachments": before.get("attachments") or [],
            "written_at": before.get("edited_at") or before["created_at"],
            "replaced_at": replaced_at})

    def page_of(self, item_type: str, item_id: ObjectId, limit: int, cursor: str | None
                ) -> tuple[list[dict[str, Any]], str | None]:
        """The item's earlier versions, the first written first."""
        return paginate(self.collection, {"item_type": item_type, "item_id": item_id}, SORT,
                        limit, cursor)

    def forget(self, item_type: str, item_id: ObjectId) -> int:
        """The item was deleted: its earlier versions go with its words."""
        return self.collection.delete_many({"item_type": item_type,
                                            "item_id": item_id}).deleted_count

    def forget_author(self, author_id: ObjectId) -> int:
        """The author's content was erased: every earlier version of it goes too."""
        return self.collection.delete_many({"author_id": author_id}).deleted_count


class Editable:
    """A model whose documents count their edits in `edit_count` (messages, posts,
    comments); the services keep each replaced version in EditVersion."""

    collection: Collection
    EDIT_ATTEMPTS: ClassVar[int] = 20

    def edit(self, item_id: ObjectId, changes: dict[str, Any]
             ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(before, after) of one edit setting `changes` and counting it, or None when the
        item is gone or deleted. The update applies only while `edit_count` is still the
        one read (compare and swap), so `before` is exactly the version this edit
        replaced, whatever edits run at the same time on any process. (A BEFORE document
        from find_one_and_update would do on MongoDB, but SecantusDB reads it apart from
        the update.) Each lost race means another edit won: a few more tries."""
        for _attempt in range(self.EDIT_ATTEMPTS):
            before = self.collection.find_one({"_id": item_id, "deleted": False})
            if before is None:
                return None
            after = self.collection.find_one_and_update(
                # `None` also matches a document stored before edits were counted.
                {"_id": item_id, "deleted": False, "edit_count": before.get("edit_count")},
                {"$set": changes, "$inc": {"edit_count": 1}},
                return_document=ReturnDocument.AFTER)
            if after is not None:
                return before, after
        raise Conflict("Edited at the same time elsewhere; try again.")

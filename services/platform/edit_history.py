"""Edit history of messages, posts and comments (docs/TOPICS.md "Edit history"): each
edit keeps the version it replaced, deleting an item (or erasing its author's content)
removes its versions. Who may read them is the area's rule (services.chat.chat_history,
services.forum.forum_history): the author, the room's or topic's moderators, site staff."""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.edit_version import EditVersion
from services.platform.shapes.history import EDIT_VERSION
from utils.pagination import page


def kept(item_type: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    """After the edit that turned `before` into `after` was stored."""
    EditVersion().keep(item_type, before, after["edited_at"])


def versions(item_type: str, item_id: ObjectId, limit: int, cursor: str | None
             ) -> dict[str, Any]:
    """A page of the item's earlier versions, the first written first."""
    documents, next_cursor = EditVersion().page_of(item_type, item_id, limit, cursor)
    return page(documents, next_cursor, EDIT_VERSION.dump)


def forget(item_type: str, item_id: ObjectId) -> None:
    """The item was deleted: what it said before goes too."""
    EditVersion().forget(item_type, item_id)

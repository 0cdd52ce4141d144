"""My notifications: list, unread count, read one or all, delete. Every change tells
all my devices the new unread count (`notification_count`) after the write."""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.base import to_object_id
from models.notification import Notification
from services.notify import notify_core
from utils.errors import NotFound

serialize = notify_core.serialize


def notify(user_id: ObjectId, kind: str, data: dict[str, Any],
           actor: dict[str, Any] | None = None, **options: Any) -> dict[str, Any] | None:
    """`data` must be JSON-ready (strings for ids and times). None when the user does
    not want it (services/notify/notify_core.py)."""
    return notify_core.deliver(user_id, kind, data, actor=actor, **options)


def list_mine(user: dict[str, Any], limit: int, cursor: str | None, unread_only: bool
              ) -> dict[str, Any]:
    """One page, serialized (its actors read at once)."""
    items, next_cursor = Notification().find_page_for(user["_id"], limit, cursor, unread_only)
    return {"items": notify_core.serialize_all(items), "next_cursor": next_cursor}


def unread_count(user: dict[str, Any]) -> dict[str, int]:
    return {"count": Notification().unread_count(user["_id"])}


def mark_read(user: dict[str, Any], notification_id: str) -> dict[str, Any]:
    updated = Notification().mark_read(to_object_id(notification_id, "Notification"),
                                       user["_id"])
    if updated is None:
        raise NotFound("Notification not found.")
    notify_core.publish_count(user["_id"])
    return updated


def mark_all_read(user: dict[str, Any]) -> dict[str, int]:
    Notification().mark_all_read(user["_id"])
    return {"count": notify_core.publish_count(user["_id"])}


def delete(user: dict[str, Any], notification_id: str) -> None:
    if not Notification().delete_mine(to_object_id(notification_id, "Notification"),
                                      user["_id"]):
        raise NotFound("Notification not found.")
    notify_core.publish_count(user["_id"])

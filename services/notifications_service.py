"""Notifications: stored first, then pushed live as `notification` to `user_<id>`."""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.base import to_object_id
from models.notification import Notification
from services import live_rooms, realtime
from services.shapes.admin import NOTIFICATION
from utils.errors import NotFound


def serialize(notification: dict[str, Any]) -> dict[str, Any]:
    return NOTIFICATION.dump(notification)


def notify(user_id: ObjectId, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` must be JSON-ready (strings for ids and times)."""
    notification = Notification().create(user_id, kind, data)
    _emit(user_id, serialize(notification))
    return notification


def _emit(user_id: ObjectId, payload: dict[str, Any]) -> None:
    # Through the shared queue, like every other live event (ordered, every process).
    realtime.emit("notification", payload, to=live_rooms.user_room(user_id))


def list_mine(user: dict[str, Any], limit: int, cursor: str | None, unread_only: bool
              ) -> tuple[list[dict[str, Any]], str | None]:
    return Notification().find_page_for(user["_id"], limit, cursor, unread_only)


def mark_read(user: dict[str, Any], notification_id: str) -> dict[str, Any]:
    updated = Notification().mark_read(to_object_id(notification_id, "Notification"),
                                       user["_id"])
    if updated is None:
        raise NotFound("Notification not found.")
    return updated

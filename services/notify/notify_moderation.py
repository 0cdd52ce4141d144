"""Telling a user what moderators did to their content or account, after the write:
a removal of their post, comment or chat message by someone else, a topic ban. (Site
warnings are made in services/admin/admin_service.py.) The moderator is not named."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

from models.base import isoformat
from services.notify import notify_core


def content_removed(author_id: ObjectId, what: str, data: dict[str, Any]) -> None:
    """`what` is "post", "comment" or "message"; `data` says where (JSON-ready)."""
    notify_core.deliver(author_id, "content_removed", {"title": what, "what": what, **data})


def topic_banned(target_id: ObjectId, topic: dict[str, Any], reason: str | None,
                 expires_at: datetime | None) -> None:
    notify_core.deliver(target_id, "topic_ban", {
        "topic_id": str(topic["_id"]), "title": topic["title"], "reason": reason or "",
        "expires_at": isoformat(expires_at)})

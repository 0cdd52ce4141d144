"""Recording and reading the audit trail. Services call `record` after the action's own
write succeeded, so the log never claims an action that did not happen."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

from models.audit_log import AuditLog
from services.platform.shapes.admin import AUDIT_ENTRY
from utils.errors import ValidationFailed


def record(actor: dict[str, Any] | None, action: str, target_type: str,
           target_id: ObjectId | str | None, reason: str | None = None,
           data: dict[str, Any] | None = None, topic_id: ObjectId | None = None
           ) -> dict[str, Any]:
    return AuditLog().record(actor, action, target_type, target_id, reason, data, topic_id)


def query_for(filters: dict[str, Any]) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if filters.get("actor"):
        query["actor_id"] = ObjectId(filters["actor"])
    if filters.get("action"):
        query["action"] = filters["action"]
    if filters.get("target_type"):
        query["target_type"] = filters["target_type"]
    if filters.get("target_id"):
        # Targets are ObjectIds except settings, which are named.
        raw = filters["target_id"]
        query["target_id"] = {"$in": [ObjectId(raw), raw]} if ObjectId.is_valid(raw) else raw
    if filters.get("topic_id"):
        query["topic_id"] = ObjectId(filters["topic_id"])
    window = _time_window(filters.get("since"), filters.get("until"))
    if window:
        query["at"] = window
    return query


def _time_window(since: datetime | None, until: datetime | None) -> dict[str, datetime]:
    if since and until and since > until:
        raise ValidationFailed(details={"since": ["must not be after until"]})
    window = {}
    if since:
        window["$gte"] = since
    if until:
        window["$lte"] = until
    return window


def list_entries(filters: dict[str, Any], limit: int, cursor: str | None
                 ) -> tuple[list[dict[str, Any]], str | None]:
    return AuditLog().find_page(query_for(filters), limit, cursor)


def serialize_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """The stored entry keeps its actor flat (a name snapshot); the answer groups it."""
    return AUDIT_ENTRY.dump({**entry, "actor": {"id": entry.get("actor_id"),
                                                "username": entry["actor_username"],
                                                "role": entry.get("actor_role")}})


# Topic moderation actions are named `topic.<action>` in the audit trail.
TOPIC_ACTION_PREFIX = "topic."


def record_moderation(actor: dict[str, Any] | None, action: str, topic_id: Any,
                      target_type: str, target_id: Any, reason: str | None = None
                      ) -> dict[str, Any]:
    """Append a topic moderation action: admins read the trail whole (GET
    /api/admin/audit-log), topic moderators read their topic's part (GET
    /api/topics/<id>/moderation-log)."""
    topic_oid = ObjectId(topic_id) if topic_id is not None else None
    target_oid = (ObjectId(target_id) if target_id is not None
                  and ObjectId.is_valid(str(target_id)) else None)
    return record(actor, f"{TOPIC_ACTION_PREFIX}{action}", target_type, target_oid, reason,
                  topic_id=topic_oid)

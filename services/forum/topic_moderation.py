"""Topic bans and the topic's moderation log (its part of the audit trail)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from models.base import to_object_id
from models.topic_ban import TopicBan
from models.topic_member import MODERATOR
from models.user import User
from services.accounts import write_gate
from services.accounts.users_service import public_users
from services.forum.topic_members import drop_member
from services.notify import notify_moderation
from services.platform import audit_service, live_rooms
from services.platform.audit_service import TOPIC_ACTION_PREFIX
from services.platform.shapes.forum import BAN, MODERATION_ENTRY
from services.platform.topic_access import member_role, require_moderator
from utils import clock
from utils.errors import BadRequest, Forbidden, NotFound, ValidationFailed
from utils.pagination import page
from utils.roles import is_site_moderator

# Bans

def ban_user(actor: dict[str, Any], topic_id: Any, target_id: Any, reason: str | None,
             expires_at: datetime | None) -> dict[str, Any]:
    """The banned user loses membership, cannot rejoin, post, comment, chat or vote until
    the ban ends, and is taken out of the topic's live rooms at once."""
    write_gate.admit(actor, "moderate")
    topic = require_moderator(actor, topic_id)
    target = User().find_active(to_object_id(target_id, "User"))
    if target is None:
        raise NotFound("User not found.")
    _check_ban_target(actor, topic, target)
    now = clock.now()
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed(details={"expires_at": ["Must be in the future."]})
    ban = TopicBan().put(topic["_id"], target["_id"], actor["_id"], reason or "", expires_at,
                         now)
    drop_member(topic, target["_id"])
    audit_service.record_moderation(actor, "ban_user", topic["_id"], "user", target["_id"], reason)
    # Last, after every write: the user's sockets leave the topic's rooms on every process.
    live_rooms.evict_from_topic(target["_id"], topic["_id"])
    notify_moderation.topic_banned(target["_id"], topic, reason, expires_at)
    return serialize_ban(ban, target)


def _check_ban_target(actor: dict[str, Any], topic: dict[str, Any],
                      target: dict[str, Any]) -> None:
    if target["_id"] == actor["_id"]:
        raise BadRequest("You cannot ban yourself.")
    if target["_id"] == topic["owner_id"] or is_site_moderator(target):
        raise Forbidden("This user cannot be banned from the topic.")
    # A topic moderator is banned only by the owner or site staff, not by a peer.
    if member_role(topic["_id"], target["_id"]) == MODERATOR and not (
            actor["_id"] == topic["owner_id"] or is_site_moderator(actor)):
        raise Forbidden("Only the owner may ban a moderator.")


def unban_user(actor: dict[str, Any], topic_id: Any, target_id: Any) -> None:
    write_gate.admit(actor, "moderate")
    topic = require_moderator(actor, topic_id)
    target = to_object_id(target_id, "User")
    if not TopicBan().remove(topic["_id"], target):
        raise NotFound("This user is not banned here.")
    audit_service.record_moderation(actor, "unban_user", topic["_id"], "user", target)


def list_bans(actor: dict[str, Any], topic_id: Any, limit: int, cursor: str | None
              ) -> dict[str, Any]:
    topic = require_moderator(actor, topic_id)
    documents, next_cursor = TopicBan().active_page(topic["_id"], clock.now(), limit, cursor)
    people = public_users([d["user_id"] for d in documents])
    return page([d for d in documents if d["user_id"] in people], next_cursor,
                lambda d: serialize_ban(d, people[d["user_id"]]))


def serialize_ban(ban: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    return BAN.dump({**ban, "user": target})


# Moderation log

def list_moderation_log(actor: dict[str, Any], topic_id: Any, limit: int,
                        cursor: str | None) -> dict[str, Any]:
    topic = require_moderator(actor, topic_id)
    documents, next_cursor = audit_service.list_entries({"topic_id": str(topic["_id"])},
                                                        limit, cursor)
    actors = public_users([d["actor_id"] for d in documents if d["actor_id"]])
    return page(documents, next_cursor, lambda d: MODERATION_ENTRY.dump({
        **d, "action": d["action"].removeprefix(TOPIC_ACTION_PREFIX),
        "actor": actors.get(d["actor_id"]), "reason": d["reason"] or ""}))

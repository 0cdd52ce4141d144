"""Topics: creation, visibility, membership, roles, invitations, bans and the moderation
log. Other areas (posts, comments, chat rooms, reports) ask this module who may see and
who may take part in a topic:

- `get_readable_topic(user, topic_id)`: the topic, or NotFound when it is missing, deleted,
  or private and the user is not a member (site admins see everything);
- `require_participant(user, topic_id)`: readable AND a non-banned member, else NotFound
  (cannot see) or Forbidden (banned, not a member);
- `can_moderate(user, topic)`, `member_role`, `is_banned`, `record_moderation`,
  `touch_activity`.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bson import ObjectId
from flask import current_app

from models.base import to_object_id
from models.topic import PRIVATE, PUBLIC, SORTS, Topic
from models.topic_ban import TopicBan
from models.topic_invitation import TopicInvitation
from models.topic_member import MEMBER, MODERATOR, OWNER, TopicMember
from models.user import User
from services import audit_service, live_rooms, notifications_service
from services.shapes.forum import BAN, MODERATION_ENTRY, TOPIC, TOPIC_MEMBER
from services.users_service import public_users, serialize_public_user
from utils import clock, content_filter
from utils.cache import get_cache
from utils.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from utils.pagination import page, paginate
from utils.text import fold, query_terms, search_terms, slugify

log = logging.getLogger(__name__)

TOPIC_LISTS = "topic_lists"  # cache namespace of GET /api/topics pages
SITE_MODERATORS = ("moderator", "admin")
MAX_TAGS = 5


def _oid(value: Any, what: str = "Topic") -> ObjectId:
    return to_object_id(value, what)


def is_admin(user: dict[str, Any] | None) -> bool:
    return bool(user) and user.get("role") == "admin"


# Who may see and do what

def member_role(topic_id: Any, user_id: Any) -> str | None:
    """`owner`, `moderator`, `member`, or None for a non-member."""
    membership = TopicMember().find(_oid(topic_id), _oid(user_id, "User"))
    return membership["role"] if membership else None


def is_banned(topic_id: Any, user_id: Any) -> bool:
    """True while a ban is in force (an expired ban no longer counts)."""
    return TopicBan().is_active(_oid(topic_id), _oid(user_id, "User"), clock.now())


# What deciding access reads of a topic; callers that only check access load just these.
ACCESS_FIELDS = {"visibility": 1, "deleted": 1, "owner_id": 1}


def get_readable_topic(user: dict[str, Any] | None, topic_id: Any,
                       fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The topic (with only `fields` when given); NotFound as described above."""
    topic = Topic().find_live(topic_id, fields)
    if topic is None:
        raise NotFound("Topic not found.")
    if topic["visibility"] == PRIVATE and not is_admin(user) and (
            user is None or member_role(topic["_id"], user["_id"]) is None):
        # Same answer as a missing topic: a private topic's existence is not revealed.
        raise NotFound("Topic not found.")
    return topic


def require_not_banned(user: dict[str, Any], topic: dict[str, Any]) -> None:
    if is_banned(topic["_id"], user["_id"]):
        raise Forbidden("You are banned from this topic.")


def require_participant(user: dict[str, Any], topic_id: Any) -> dict[str, Any]:
    """`get_readable_topic`, then Forbidden when banned or not a member. Asked on every
    chat send, so one membership read decides both whether a private topic is visible
    and whether the user takes part (three reads, not four). The ban is read even for
    a member: a ban and a membership coexist for a moment (the ban is stored before
    the membership is dropped)."""
    topic = Topic().find_live(topic_id)
    if topic is None:
        raise NotFound("Topic not found.")
    role = member_role(topic["_id"], user["_id"])
    if topic["visibility"] == PRIVATE and not is_admin(user) and role is None:
        # Same answer as a missing topic: a private topic's existence is not revealed.
        raise NotFound("Topic not found.")
    require_not_banned(user, topic)
    if role is None:
        raise Forbidden("Join this topic first.")
    return topic


def can_moderate(user: dict[str, Any] | None, topic: dict[str, Any]) -> bool:
    if not user:
        return False
    if user.get("role") in SITE_MODERATORS:
        return True
    return member_role(topic["_id"], user["_id"]) in (OWNER, MODERATOR)


def _require_moderator(user: dict[str, Any], topic_id: Any) -> dict[str, Any]:
    topic = get_readable_topic(user, topic_id)
    if not can_moderate(user, topic):
        raise Forbidden("Only moderators of this topic may do this.")
    return topic


def _require_owner(user: dict[str, Any], topic_id: Any) -> dict[str, Any]:
    topic = get_readable_topic(user, topic_id)
    if topic["owner_id"] != user["_id"]:
        raise Forbidden("Only the owner of this topic may do this.")
    return topic


# Topic moderation actions are named `topic.<action>` in the audit trail.
TOPIC_ACTION_PREFIX = "topic."


def record_moderation(actor: dict[str, Any] | None, action: str, topic_id: Any,
                      target_type: str, target_id: Any, reason: str | None = None
                      ) -> dict[str, Any]:
    """Append to the one audit trail: admins read it whole (GET /api/admin/audit-log),
    topic moderators read their topic's part (GET /api/topics/<id>/moderation-log)."""
    topic_oid = ObjectId(topic_id) if topic_id is not None else None
    target_oid = (ObjectId(target_id) if target_id is not None
                  and ObjectId.is_valid(str(target_id)) else None)
    return audit_service.record(actor, f"{TOPIC_ACTION_PREFIX}{action}", target_type,
                                target_oid, reason, topic_id=topic_oid)


def touch_activity(topic_id: Any, at: datetime | None = None) -> None:
    """A post or chat message happened now: the `active` sort moves the topic up."""
    Topic().touch(_oid(topic_id), at or clock.now())
    get_cache().invalidate(TOPIC_LISTS)


# Serialization

# What serialize_topic shows (the list sorts are among them): never search_terms.
VIEW_FIELDS = {field: 1 for field in (
    "slug", "title", "description", "tags", "visibility", "owner_id", "member_count",
    "post_count", "created_at", "updated_at", "last_activity_at")}


def serialize_topic(topic: dict[str, Any], my_role: str | None = None,
                    owner: dict[str, Any] | None = None) -> dict[str, Any]:
    return TOPIC.dump({**topic, "owner": owner, "my_role": my_role})


def topic_view(user: dict[str, Any] | None, topic: dict[str, Any]) -> dict[str, Any]:
    role = member_role(topic["_id"], user["_id"]) if user else None
    return serialize_topic(topic, role, public_users([topic["owner_id"]]).get(topic["owner_id"]))


# Topics

def _clean_tags(tags: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys("-".join(fold(tag).split()) for tag in tags if tag.strip()))
    if len(cleaned) > MAX_TAGS:
        raise ValidationFailed(details={"tags": [f"At most {MAX_TAGS} tags."]})
    return cleaned


def _clean_title(title: str, author: dict[str, Any]) -> str:
    title = " ".join(title.split())
    if not 3 <= len(title) <= 100:
        raise ValidationFailed(details={"title": ["Length must be between 3 and 100."]})
    # The text to store (maybe masked) or ContentRejected (422).
    return content_filter.apply(title, "topic_title", author)


def _clean_description(description: str | None, author: dict[str, Any]) -> str:
    return content_filter.apply((description or "").strip(), "topic_description", author)


def _terms(topic: dict[str, Any]) -> list[str]:
    return search_terms(topic["title"], topic["description"], " ".join(topic["tags"]))


def create_topic(user: dict[str, Any], title: str, description: str = "",
                 tags: list[str] | None = None, visibility: str = PUBLIC) -> dict[str, Any]:
    now = clock.now()
    topic = {"title": _clean_title(title, user),
             "description": _clean_description(description, user),
             "tags": _clean_tags(tags or []), "visibility": visibility,
             "owner_id": user["_id"], "member_count": 1, "post_count": 0,
             "created_at": now, "updated_at": now, "last_activity_at": now,
             "deleted": False, "deleted_at": None}
    topic["search_terms"] = _terms(topic)
    topic = _insert_with_unique_slug(topic)
    TopicMember().add(topic["_id"], user["_id"], OWNER)
    get_cache().invalidate(TOPIC_LISTS)
    return topic


def _insert_with_unique_slug(topic: dict[str, Any]) -> dict[str, Any]:
    base = slugify(topic["title"])
    candidates = [base, *(f"{base}-{n}" for n in range(2, 6))]
    # Racing creators with the same title meet the unique index: try the next candidate,
    # then a random suffix, which cannot realistically collide.
    for slug in [*candidates, f"{base}-{secrets.token_hex(4)}"]:
        if Topic().collection.count_documents({"slug": slug}, limit=1):
            continue
        try:
            return Topic().insert({**topic, "slug": slug})
        except Conflict:
            continue
    return Topic().insert({**topic, "slug": f"{base}-{secrets.token_hex(8)}"})


def update_topic(user: dict[str, Any], topic_id: Any, changes: dict[str, Any]
                 ) -> dict[str, Any]:
    """Owner or moderators change title, description, tags or visibility; the slug stays,
    so links keep working."""
    topic = _require_moderator(user, topic_id)
    updates: dict[str, Any] = {}
    if "title" in changes:
        updates["title"] = _clean_title(changes["title"], user)
    if "description" in changes:
        updates["description"] = _clean_description(changes["description"], user)
    if "tags" in changes:
        updates["tags"] = _clean_tags(changes["tags"])
    if "visibility" in changes:
        updates["visibility"] = changes["visibility"]
    if not updates:
        return topic
    merged = {**topic, **updates}
    updates.update(search_terms=_terms(merged), updated_at=clock.now())
    updated = Topic().update(topic["_id"], updates)
    if updated is None:
        raise NotFound("Topic not found.")
    if "visibility" in updates and updates["visibility"] != topic["visibility"]:
        from services import posts_service  # posts denormalise the topic's audience

        posts_service.topic_audience_changed(updated)
        # Turned private: whoever follows it live without being a member stops now.
        live_rooms.evict_outsiders(topic["_id"])
    get_cache().invalidate(TOPIC_LISTS)
    if user["_id"] != topic["owner_id"]:
        # A moderator changing someone else's topic is a moderation action.
        record_moderation(user, "update_topic", topic["_id"], "topic", topic["_id"])
    return updated


def delete_topic(user: dict[str, Any], topic_id: Any) -> None:
    """Soft delete by the owner or a site admin: the document and the moderation history
    stay, the topic and its posts disappear from every list."""
    topic = get_readable_topic(user, topic_id)
    if topic["owner_id"] != user["_id"] and not is_admin(user):
        raise Forbidden("Only the owner or an administrator may delete this topic.")
    deleted = Topic().update(topic["_id"], {"deleted": True, "deleted_at": clock.now()})
    if deleted is None:
        raise NotFound("Topic not found.")
    record_moderation(user, "delete_topic", topic["_id"], "topic", topic["_id"])
    from services import posts_service

    posts_service.topic_audience_changed(deleted)
    live_rooms.evict_outsiders(topic["_id"])  # nobody reads a deleted topic
    get_cache().invalidate(TOPIC_LISTS)


def _visibility_filter(user: dict[str, Any] | None, private: list[ObjectId]
                       ) -> dict[str, Any]:
    if is_admin(user):
        return {}
    if not private:
        return {"visibility": PUBLIC}
    return {"$or": [{"visibility": PUBLIC}, {"_id": {"$in": private}}]}


def memberships(user: dict[str, Any] | None) -> dict[ObjectId, str]:
    """{topic_id: role} of every topic the user belongs to, in one query."""
    return TopicMember().roles_of_user(user["_id"]) if user else {}


def private_topic_ids(user: dict[str, Any] | None,
                      member_of: Iterable[ObjectId] | None = None) -> list[ObjectId]:
    """Private topics the user belongs to (what, besides public ones, they may read).
    `member_of`: the user's topic ids when the caller has already loaded them."""
    if user is None:
        return []
    ids = list(member_of) if member_of is not None else TopicMember().topic_ids_of(user["_id"])
    return Topic().ids_of(ids, visibility=PRIVATE) if ids else []


def readable_private_ids(user: dict[str, Any] | None,
                         member_of: Iterable[ObjectId] | None = None) -> list[ObjectId]:
    """What `audience_key` and the list filters need: nothing for visitors and admins
    (who read public, respectively all, topics), else `private_topic_ids`."""
    if user is None or is_admin(user):
        return []
    return private_topic_ids(user, member_of)


def audience_key(user: dict[str, Any] | None, private: list[ObjectId] | None = None) -> str:
    """A cache key part naming what the user may read: everyone who sees only public
    topics shares one cache entry; members of private topics get their own. `private`:
    the user's `readable_private_ids` when the caller has them already."""
    if user is None:
        return "public"
    if is_admin(user):
        return "admin"
    if private is None:
        private = private_topic_ids(user)
    if not private:
        return "public"
    names = sorted(str(topic_id) for topic_id in private)
    return "u" + hashlib.sha256(",".join(names).encode()).hexdigest()[:24]


def text_filter(field: str, query: str | None) -> dict[str, Any] | None:
    """Every word of `query` is a stored term; the last one may be a prefix of one."""
    whole, prefix = query_terms(query or "")
    conditions: list[dict[str, Any]] = [{field: {"$all": whole}}] if whole else []
    if prefix:
        conditions.append({field: {"$regex": "^" + prefix}})  # \w+ needs no escaping
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


def list_topics(user: dict[str, Any] | None, q: str | None, tag: str | None, sort: str,
                limit: int, cursor: str | None) -> dict[str, Any]:
    # One membership query serves the audience, the filter and every item's role.
    roles = memberships(user)
    private = readable_private_ids(user, roles)
    key = f"{audience_key(user, private)}:{sort}:{limit}:{cursor}:{tag}:{q}"
    cached = get_cache().get_or_set(
        TOPIC_LISTS, key, lambda: _topic_page(user, private, q, tag, sort, limit, cursor),
        current_app.config["TOPIC_LIST_CACHE_SECONDS"])
    # The role is per user, so it is added after the shared cache.
    for item in cached["items"]:
        item["my_role"] = roles.get(ObjectId(item["id"]))
    return cached


def _topic_page(user: dict[str, Any] | None, private: list[ObjectId], q: str | None,
                tag: str | None, sort: str, limit: int, cursor: str | None
                ) -> dict[str, Any]:
    conditions: list[dict[str, Any]] = [{"deleted": False}, _visibility_filter(user, private)]
    if tag:
        conditions.append({"tags": "-".join(fold(tag).split())})
    matching = text_filter("search_terms", q)
    if matching:
        conditions.append(matching)
    query = {"$and": [c for c in conditions if c]}
    documents, next_cursor = paginate(Topic().collection, query, SORTS[sort], limit, cursor,
                                      VIEW_FIELDS)
    owners = public_users([d["owner_id"] for d in documents])
    return page(documents, next_cursor, lambda d: serialize_topic(d, None,
                                                                  owners.get(d["owner_id"])))


# Membership

def join_topic(user: dict[str, Any], topic_id: Any) -> dict[str, Any]:
    """Public topics only; a private topic is joined by accepting an invitation."""
    topic = get_readable_topic(user, topic_id)
    require_not_banned(user, topic)
    if member_role(topic["_id"], user["_id"]) is None:
        if topic["visibility"] == PRIVATE:
            raise Forbidden("Private topics are joined through an invitation.")
        _add_member(topic, user["_id"])
    return Topic().get(topic["_id"])


def _add_member(topic: dict[str, Any], user_id: ObjectId) -> None:
    if TopicMember().add(topic["_id"], user_id, MEMBER):
        Topic().add_members(topic["_id"], 1)
        get_cache().invalidate(TOPIC_LISTS)


def _drop_member(topic: dict[str, Any], user_id: ObjectId) -> bool:
    if TopicMember().remove(topic["_id"], user_id) is None:
        return False
    Topic().add_members(topic["_id"], -1)
    get_cache().invalidate(TOPIC_LISTS)
    return True


def leave_topic(user: dict[str, Any], topic_id: Any) -> dict[str, Any]:
    topic = get_readable_topic(user, topic_id)
    role = member_role(topic["_id"], user["_id"])
    if role == OWNER:
        raise Conflict("Transfer ownership (POST /api/topics/<id>/transfer) before leaving.")
    if role is not None:
        _drop_member(topic, user["_id"])
        # No more topic events for someone who left (a private topic's would leak).
        live_rooms.evict_from_topic(user["_id"], topic["_id"])
    return Topic().get(topic["_id"])


def transfer_ownership(user: dict[str, Any], topic_id: Any, new_owner_id: Any
                       ) -> dict[str, Any]:
    """The new owner must be a member; the old owner stays on as a moderator."""
    topic = _require_owner(user, topic_id)
    target = _oid(new_owner_id, "User")
    if target == user["_id"]:
        raise BadRequest("You already own this topic.")
    if member_role(topic["_id"], target) is None or is_banned(topic["_id"], target):
        raise NotFound("That user is not a member of this topic.")
    TopicMember().set_role(topic["_id"], target, OWNER)
    TopicMember().set_role(topic["_id"], user["_id"], MODERATOR)
    updated = Topic().update(topic["_id"], {"owner_id": target, "updated_at": clock.now()})
    record_moderation(user, "transfer_ownership", topic["_id"], "user", target)
    get_cache().invalidate(TOPIC_LISTS)
    return updated or topic


def list_members(user: dict[str, Any] | None, topic_id: Any, limit: int,
                 cursor: str | None) -> dict[str, Any]:
    topic = get_readable_topic(user, topic_id)
    documents, next_cursor = paginate(TopicMember().collection, {"topic_id": topic["_id"]},
                                      [("_id", 1)], limit, cursor)
    people = public_users([d["user_id"] for d in documents])
    return page([d for d in documents if d["user_id"] in people], next_cursor,
                lambda d: TOPIC_MEMBER.dump({**d, "user": people[d["user_id"]]}))


# Moderators

def add_moderator(user: dict[str, Any], topic_id: Any, target_id: Any) -> dict[str, Any]:
    topic = _require_owner(user, topic_id)
    target = _oid(target_id, "User")
    role = member_role(topic["_id"], target)
    if role is None:
        raise NotFound("That user is not a member of this topic.")
    if role == OWNER:
        raise BadRequest("The owner is already in charge.")
    TopicMember().set_role(topic["_id"], target, MODERATOR)
    record_moderation(user, "add_moderator", topic["_id"], "user", target)
    return {"user": serialize_public_user(User().get(target, "User")), "role": MODERATOR}


def remove_moderator(user: dict[str, Any], topic_id: Any, target_id: Any) -> None:
    topic = _require_owner(user, topic_id)
    target = _oid(target_id, "User")
    if member_role(topic["_id"], target) != MODERATOR:
        raise NotFound("That user is not a moderator of this topic.")
    TopicMember().set_role(topic["_id"], target, MEMBER)
    record_moderation(user, "remove_moderator", topic["_id"], "user", target)


# Bans

def ban_user(actor: dict[str, Any], topic_id: Any, target_id: Any, reason: str | None,
             expires_at: datetime | None) -> dict[str, Any]:
    """The banned user loses membership, cannot rejoin, post, comment, chat or vote until
    the ban ends, and is taken out of the topic's live rooms at once."""
    topic = _require_moderator(actor, topic_id)
    target = User().find_active(_oid(target_id, "User"))
    if target is None:
        raise NotFound("User not found.")
    _check_ban_target(actor, topic, target)
    now = clock.now()
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed(details={"expires_at": ["Must be in the future."]})
    ban = TopicBan().put(topic["_id"], target["_id"], actor["_id"], reason or "", expires_at,
                         now)
    _drop_member(topic, target["_id"])
    record_moderation(actor, "ban_user", topic["_id"], "user", target["_id"], reason)
    # Last, after every write: the user's sockets leave the topic's rooms on every process.
    live_rooms.evict_from_topic(target["_id"], topic["_id"])
    return serialize_ban(ban, target)


def _check_ban_target(actor: dict[str, Any], topic: dict[str, Any],
                      target: dict[str, Any]) -> None:
    if target["_id"] == actor["_id"]:
        raise BadRequest("You cannot ban yourself.")
    if target["_id"] == topic["owner_id"] or target.get("role") in SITE_MODERATORS:
        raise Forbidden("This user cannot be banned from the topic.")
    # A topic moderator is banned only by the owner or site staff, not by a peer.
    if member_role(topic["_id"], target["_id"]) == MODERATOR and not (
            actor["_id"] == topic["owner_id"] or actor.get("role") in SITE_MODERATORS):
        raise Forbidden("Only the owner may ban a moderator.")


def unban_user(actor: dict[str, Any], topic_id: Any, target_id: Any) -> None:
    topic = _require_moderator(actor, topic_id)
    target = _oid(target_id, "User")
    if not TopicBan().remove(topic["_id"], target):
        raise NotFound("This user is not banned here.")
    record_moderation(actor, "unban_user", topic["_id"], "user", target)


def list_bans(actor: dict[str, Any], topic_id: Any, limit: int, cursor: str | None
              ) -> dict[str, Any]:
    topic = _require_moderator(actor, topic_id)
    documents, next_cursor = paginate(TopicBan().collection,
                                      TopicBan().active_query(topic["_id"], clock.now()),
                                      [("_id", -1)], limit, cursor)
    people = public_users([d["user_id"] for d in documents])
    return page([d for d in documents if d["user_id"] in people], next_cursor,
                lambda d: serialize_ban(d, people[d["user_id"]]))


def serialize_ban(ban: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    return BAN.dump({**ban, "user": target})


# Invitations (private topics)

def invite(actor: dict[str, Any], topic_id: Any, target_id: Any) -> None:
    topic = _require_moderator(actor, topic_id)
    if topic["visibility"] != PRIVATE:
        raise BadRequest("Public topics need no invitation: anyone may join.")
    target = User().find_active(_oid(target_id, "User"))
    if target is None:
        raise NotFound("User not found.")
    if member_role(topic["_id"], target["_id"]) is not None:
        raise Conflict("This user is already a member.")
    if is_banned(topic["_id"], target["_id"]):
        raise Forbidden("This user is banned from the topic.")
    TopicInvitation().put(topic["_id"], target["_id"], actor["_id"])
    # Stored, so the invitee finds it in GET /api/notifications even if offline now.
    notifications_service.notify(target["_id"], "topic_invitation", {
        "topic_id": str(topic["_id"]), "title": topic["title"],
        "invited_by": serialize_public_user(actor)})


def accept_invitation(user: dict[str, Any], topic_id: Any) -> dict[str, Any]:
    topic = Topic().find_live(topic_id)
    # Without an invitation the private topic stays invisible: same 404 as missing.
    if topic is None or TopicInvitation().take(topic["_id"], user["_id"]) is None:
        raise NotFound("Invitation not found.")
    if is_banned(topic["_id"], user["_id"]):
        raise Forbidden("You are banned from this topic.")
    _add_member(topic, user["_id"])
    return Topic().get(topic["_id"])


def decline_invitation(user: dict[str, Any], topic_id: Any) -> None:
    if TopicInvitation().take(_oid(topic_id), user["_id"]) is None:
        raise NotFound("Invitation not found.")


# Moderation log

def list_moderation_log(actor: dict[str, Any], topic_id: Any, limit: int,
                        cursor: str | None) -> dict[str, Any]:
    topic = _require_moderator(actor, topic_id)
    documents, next_cursor = audit_service.list_entries({"topic_id": str(topic["_id"])},
                                                        limit, cursor)
    actors = public_users([d["actor_id"] for d in documents if d["actor_id"]])
    return page(documents, next_cursor, lambda d: MODERATION_ENTRY.dump({
        **d, "action": d["action"].removeprefix(TOPIC_ACTION_PREFIX),
        "actor": actors.get(d["actor_id"]), "reason": d["reason"] or ""}))

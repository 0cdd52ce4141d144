"""Who may see and who may take part in a topic: the one place for these rules. Posts,
comments, chat rooms, live rooms, reports and search ask here; this module reads models
only, so every area can build on it without building on another area.

- `get_readable_topic(user, topic_id)`: the topic, or NotFound when it is missing, deleted,
  or private and the user is not a member (site admins see everything);
- `require_participant(user, topic_id)`: readable AND a non-banned member, else NotFound
  (cannot see) or Forbidden (banned, not a member);
- `can_moderate`, `require_moderator`, `require_owner`, `member_role`, `is_banned`, and
  what a user may read: `private_topic_ids`, `readable_private_ids`, `audience_key`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from bson import ObjectId
from flask import current_app

from models.base import to_object_id
from models.topic import PRIVATE, Topic
from models.topic_ban import TopicBan
from models.topic_member import MODERATOR, OWNER, TopicMember
from utils import clock, local_copies, user_versions
from utils.errors import Forbidden, NotFound
from utils.roles import is_admin, is_site_moderator


def _oid(value: Any, what: str = "Topic") -> ObjectId:
    return to_object_id(value, what)


# A user's roles and bans, and a topic's access fields, are read on almost every request.
# Each process keeps them (utils.local_copies) under version stamps that every write to
# them replaces: memberships and topic bans replace the user's stamp (models.topic_member,
# models.topic_ban), writes to a topic's access fields the topics' stamp (models.topic).
# Both stamps come in one Redis round trip per request, read before MongoDB.

def _copy_seconds() -> float:
    return current_app.config["LOCAL_COPY_SECONDS"]


def _access_of(user_id: ObjectId) -> dict[str, Any]:
    """{"roles": {topic_id: role}, "bans": {topic_id: ban expiry or None, or False for no
    ban}} of the user, the bans filled as they are asked."""
    stamp = user_versions.current(user_id)
    copy = local_copies.of("topic_access").get(str(user_id), stamp)
    if copy is None:
        copy = {"roles": TopicMember().roles_of_user(user_id), "bans": {}}
        local_copies.of("topic_access").put(str(user_id), stamp, copy, _copy_seconds())
    return copy


# Who may see and do what

def member_role(topic_id: Any, user_id: Any) -> str | None:
    """`owner`, `moderator`, `member`, or None for a non-member."""
    return _access_of(_oid(user_id, "User"))["roles"].get(_oid(topic_id))


def is_banned(topic_id: Any, user_id: Any) -> bool:
    """True while a ban is in force (an expired ban no longer counts)."""
    topic_oid, bans = _oid(topic_id), _access_of(_oid(user_id, "User"))["bans"]
    if topic_oid not in bans:
        ban = TopicBan().find(topic_oid, _oid(user_id, "User"))
        bans[topic_oid] = (ban["expires_at"] or None) if ban else False
    expiry = bans[topic_oid]
    return expiry is None or (expiry is not False and expiry > clock.now())


# What deciding access reads of a topic; callers that only check access load just these.
# (`allow_anonymous`: whether posting and commenting under a pseudonym is allowed.)
# (`slug`, `title`: what a post shows of its topic.) Topic.update replaces the topics'
# stamp when one of them changes, so every process's copies follow.
ACCESS_FIELDS = {field: 1 for field in Topic.ACCESS}


def _topic_access(topic_ids: list[ObjectId]) -> dict[ObjectId, dict[str, Any]]:
    """The access fields of these topics (deleted ones included), from this process's
    copies under the topics' stamp, the missing ones in one query."""
    stamp = user_versions.topics_current()
    found = {}
    for topic_id in topic_ids:
        copy = local_copies.of("topics").get(topic_id, stamp)
        if copy is not None:
            found[topic_id] = copy
    missing = [topic_id for topic_id in topic_ids if topic_id not in found]
    if missing:
        for document in Topic().find_by_ids(missing, ACCESS_FIELDS).values():
            local_copies.of("topics").put(document["_id"], stamp, document, _copy_seconds())
            found[document["_id"]] = document
    return found


def _find_live(topic_id: Any, fields: dict[str, Any] | None) -> dict[str, Any] | None:
    if fields is not None and set(fields) <= set(ACCESS_FIELDS):
        topic = _topic_access([_oid(topic_id)]).get(_oid(topic_id))
        return None if topic is None or topic.get("deleted") else dict(topic)
    return Topic().find_live(topic_id, fields)


def get_readable_topic(user: dict[str, Any] | None, topic_id: Any,
                       fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The topic (with only `fields` when given); NotFound as described above."""
    topic = _find_live(topic_id, fields)
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


def require_participant(user: dict[str, Any], topic_id: Any,
                        fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """`get_readable_topic`, then Forbidden when banned or not a member. Asked on every
    chat send and new post; with `fields` = ACCESS_FIELDS it reads no MongoDB while the
    copies are current. The ban is checked even for a member: a ban and a membership
    coexist for a moment (the ban is stored before the membership is dropped)."""
    topic = _find_live(topic_id, fields)
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
    if is_site_moderator(user):
        return True
    return member_role(topic["_id"], user["_id"]) in (OWNER, MODERATOR)


def require_moderator(user: dict[str, Any], topic_id: Any) -> dict[str, Any]:
    topic = get_readable_topic(user, topic_id)
    if not can_moderate(user, topic):
        raise Forbidden("Only moderators of this topic may do this.")
    return topic


def require_owner(user: dict[str, Any], topic_id: Any) -> dict[str, Any]:
    topic = get_readable_topic(user, topic_id)
    if topic["owner_id"] != user["_id"]:
        raise Forbidden("Only the owner of this topic may do this.")
    return topic

def memberships(user: dict[str, Any] | None) -> dict[ObjectId, str]:
    """{topic_id: role} of every topic the user belongs to, in one query."""
    return dict(_access_of(user["_id"])["roles"]) if user else {}


def private_topic_ids(user: dict[str, Any] | None,
                      member_of: Iterable[ObjectId] | None = None) -> list[ObjectId]:
    """Private topics the user belongs to (what, besides public ones, they may read).
    `member_of`: the user's topic ids when the caller has already loaded them."""
    if user is None:
        return []
    ids = list(member_of) if member_of is not None else list(memberships(user))
    return [topic_id for topic_id, topic in _topic_access(ids).items()
            if topic["visibility"] == PRIVATE and not topic.get("deleted")] if ids else []


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

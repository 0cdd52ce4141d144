"""Topics: creation, editing, deletion, the topic lists and the topic view. Who may see
and take part in a topic is services.platform.topic_access; membership and invitations are
services.forum.topic_members; bans and the moderation log services.forum.topic_moderation.
"""
from __future__ import annotations

import logging
import secrets
from typing import Any

from bson import ObjectId
from flask import current_app

from models.topic import PUBLIC, Topic
from models.topic_member import OWNER, TopicMember
from services.accounts import write_gate
from services.accounts.users_service import public_users
from services.forum import posts_service
from services.platform import audit_service, content_filter, live_rooms
from services.platform.shapes.forum import TOPIC
from services.platform.topic_access import (
    audience_key,
    get_readable_topic,
    member_role,
    memberships,
    readable_private_ids,
    require_moderator,
)
from services.platform.topic_activity import TOPIC_LISTS
from utils import clock, encoded
from utils.cache import get_cache
from utils.errors import Conflict, Forbidden, NotFound, ValidationFailed
from utils.pagination import page
from utils.roles import is_admin
from utils.text import fold, query_terms, search_terms, slugify

log = logging.getLogger(__name__)

MAX_TAGS = 5
TITLE_MIN, TITLE_MAX = 3, 100  # characters, after spaces are folded


# Serialization

# What serialize_topic shows (the list sorts are among them): never search_terms.
VIEW_FIELDS = {field: 1 for field in (
    "slug", "title", "description", "tags", "visibility", "allow_anonymous", "owner_id",
    "member_count",
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
    if not TITLE_MIN <= len(title) <= TITLE_MAX:
        raise ValidationFailed(details={"title": [
            f"Length must be between {TITLE_MIN} and {TITLE_MAX}."]})
    # The text to store (maybe masked) or ContentRejected (422).
    return content_filter.apply(title, "topic_title", author)


def _clean_description(description: str | None, author: dict[str, Any]) -> str:
    return content_filter.apply((description or "").strip(), "topic_description", author)


def _terms(topic: dict[str, Any]) -> list[str]:
    return search_terms(topic["title"], topic["description"], " ".join(topic["tags"]))


def create_topic(user: dict[str, Any], title: str, description: str = "",
                 tags: list[str] | None = None, visibility: str = PUBLIC,
                 allow_anonymous: bool = False) -> dict[str, Any]:
    write_gate.admit(user, "topic")
    now = clock.now()
    topic = {"title": _clean_title(title, user),
             "description": _clean_description(description, user),
             "tags": _clean_tags(tags or []), "visibility": visibility,
             "allow_anonymous": allow_anonymous,
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
        if Topic().slug_taken(slug):
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
    write_gate.admit(user, "edit")
    topic = require_moderator(user, topic_id)
    updates: dict[str, Any] = {}
    if "title" in changes:
        updates["title"] = _clean_title(changes["title"], user)
    if "description" in changes:
        updates["description"] = _clean_description(changes["description"], user)
    if "tags" in changes:
        updates["tags"] = _clean_tags(changes["tags"])
    if "visibility" in changes:
        updates["visibility"] = changes["visibility"]
    if "allow_anonymous" in changes:
        # Turning it off later leaves what was posted anonymously anonymous.
        updates["allow_anonymous"] = changes["allow_anonymous"]
    if not updates:
        return topic
    merged = {**topic, **updates}
    updates.update(search_terms=_terms(merged), updated_at=clock.now())
    updated = Topic().update(topic["_id"], updates)
    if updated is None:
        raise NotFound("Topic not found.")
    if "visibility" in updates and updates["visibility"] != topic["visibility"]:
        posts_service.topic_audience_changed(updated)  # posts denormalise the audience
        # Turned private: whoever follows it live without being a member stops now.
        live_rooms.evict_outsiders(topic["_id"])
    get_cache().invalidate(TOPIC_LISTS)
    if "title" in updates:
        posts_service.posts_changed(topic["_id"])  # cached post lists show the title
    if user["_id"] != topic["owner_id"]:
        # A moderator changing someone else's topic is a moderation action.
        audit_service.record_moderation(user, "update_topic", topic["_id"], "topic", topic["_id"])
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
    audit_service.record_moderation(user, "delete_topic", topic["_id"], "topic", topic["_id"])
    posts_service.topic_audience_changed(deleted)
    live_rooms.evict_outsiders(topic["_id"])  # nobody reads a deleted topic
    get_cache().invalidate(TOPIC_LISTS)


def list_topics(user: dict[str, Any] | None, q: str | None, tag: str | None, sort: str,
                limit: int, cursor: str | None) -> dict[str, Any]:
    # One membership query serves the audience, the filter and every item's role.
    roles = memberships(user)
    private = readable_private_ids(user, roles)
    key = f"{audience_key(user, private)}:{sort}:{limit}:{cursor}:{tag}:{q}"
    # The page is shared by everyone with the same audience, cached as the bytes it was
    # encoded to (a hit is sent without decoding or encoding it again), after a line of
    # its topics' ids; the role is per user, spliced into the bytes (utils.encoded).
    cached = get_cache().get_or_set_raw(
        TOPIC_LISTS, key, lambda: _encoded_page(user, private, q, tag, sort, limit, cursor),
        current_app.config["TOPIC_LIST_CACHE_SECONDS"])
    ids, _, body = cached.partition(b"\n")
    mine = [roles.get(ObjectId(i.decode())) for i in ids.split(b",") if i]
    filled = encoded.fill_nulls(body, "my_role", mine)
    if filled is None:  # never for TOPIC's shape; kept exact if the shape grows one
        page_ = current_app.json.loads(body)
        for item, role in zip(page_["items"], mine, strict=True):
            item["my_role"] = role
        return page_
    return filled


def _encoded_page(user: dict[str, Any] | None, private: list[ObjectId], q: str | None,
                  tag: str | None, sort: str, limit: int, cursor: str | None) -> bytes:
    shared = _topic_page(user, private, q, tag, sort, limit, cursor)
    ids = ",".join(item["id"] for item in shared["items"])
    return ids.encode() + b"\n" + encoded.encode(shared)


def _topic_page(user: dict[str, Any] | None, private: list[ObjectId], q: str | None,
                tag: str | None, sort: str, limit: int, cursor: str | None
                ) -> dict[str, Any]:
    # Every word of `q` is a stored term; the last one may be a prefix of one.
    whole, prefix = query_terms(q or "")
    documents, next_cursor = Topic().list_page(
        None if is_admin(user) else private, "-".join(fold(tag).split()) if tag else None,
        whole, prefix, sort, limit, cursor, VIEW_FIELDS)
    owners = public_users([d["owner_id"] for d in documents])
    return page(documents, next_cursor, lambda d: serialize_topic(d, None,
                                                                  owners.get(d["owner_id"])))

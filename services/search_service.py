"""Search over topics, posts and users without text indexes (SecantusDB has none).

Topics and posts store `search_terms`, their distinct words folded to lower case without
accents, under a multikey index. A query is split the same way; its words match stored
terms exactly and its last word also as a prefix (`^prefix` on the same index), so
"flask sock" finds "Flask-SocketIO". The most recent SEARCH_MAX_CANDIDATES documents
matching any word are ranked by how many query words they match, then by recency.
Visibility is applied in the query: nothing from a private topic reaches a non-member.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from flask import current_app

from models.post import HIDDEN, Post
from models.topic import PUBLIC, Topic
from models.topic_member import TopicMember
from services import posts_service, topic_access, topics_service, users_service
from utils import roles
from utils.pagination import decode_cursor, encode_cursor
from utils.text import query_terms


def search(user: dict[str, Any] | None, q: str, kind: str, limit: int,
           cursor: str | None) -> dict[str, Any]:
    if kind == "users":
        documents, next_cursor = users_service.search(user, q, limit, cursor)
        return {"items": [{"type": "user", **users_service.serialize_public_user(d)}
                          for d in documents], "next_cursor": next_cursor}
    whole, prefix = query_terms(q)
    if not whole and not prefix:
        return {"items": [], "next_cursor": None}
    if kind == "topics":
        ranked, next_cursor = _ranked(Topic().collection, _topic_scope(user), whole, prefix,
                                      limit, cursor)
        return {"items": [{"type": "topic", **view}
                          for view in _topic_views(user, ranked)], "next_cursor": next_cursor}
    ranked, next_cursor = _ranked(Post().collection, _post_scope(user), whole, prefix,
                                  limit, cursor)
    return {"items": [{"type": "post", **view}
                      for view in posts_service.post_views(user, ranked)],
            "next_cursor": next_cursor}


def _topic_scope(user: dict[str, Any] | None) -> dict[str, Any]:
    if roles.is_admin(user):
        return {"deleted": False}
    return {"deleted": False, "$or": [{"visibility": PUBLIC}, {
        "_id": {"$in": topic_access.private_topic_ids(user)}}]}


def _post_scope(user: dict[str, Any] | None) -> dict[str, Any]:
    if roles.is_admin(user):
        return {"deleted": False, "audience": {"$ne": HIDDEN}}
    return {"deleted": False, "$or": [{"audience": PUBLIC}, {
        "topic_id": {"$in": topic_access.private_topic_ids(user)}}]}


def _ranked(collection, scope: dict[str, Any], whole: list[str], prefix: str | None,
            limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    matches: list[dict[str, Any]] = [{"search_terms": {"$in": whole}}] if whole else []
    if prefix:
        matches.append({"search_terms": {"$regex": "^" + prefix}})  # \w+: nothing to escape
    query = {"$and": [scope, {"$or": matches}]}
    candidates = collection.find(query).sort([("_id", -1)]).limit(
        current_app.config["SEARCH_MAX_CANDIDATES"])
    scored = sorted(((_matched(doc, whole, prefix), doc) for doc in candidates),
                    key=lambda pair: (pair[0], pair[1]["created_at"], pair[1]["_id"]),
                    reverse=True)
    if cursor:
        after = _after(cursor)
        scored = [(m, d) for m, d in scored if (m, d["created_at"], d["_id"]) < after]
    page_items = scored[:limit]
    next_cursor = None
    if len(scored) > limit:
        matched, last = page_items[-1]
        next_cursor = encode_cursor([matched, last["created_at"], last["_id"]])
    return [doc for _m, doc in page_items], next_cursor


def _after(cursor: str) -> tuple[int, datetime, ObjectId]:
    matched, created_at, last_id = decode_cursor(cursor, (int, datetime, ObjectId))
    return matched, created_at, last_id


def _matched(document: dict[str, Any], whole: list[str], prefix: str | None) -> int:
    terms = set(document.get("search_terms", []))
    count = sum(1 for word in whole if word in terms)
    if prefix and any(term.startswith(prefix) for term in terms):
        count += 1
    return count


def _topic_views(user: dict[str, Any] | None, topics: list[dict[str, Any]]) -> list[dict]:
    roles = TopicMember().roles_of(user["_id"], [t["_id"] for t in topics]) if user else {}
    owners = users_service.public_users([t["owner_id"] for t in topics])
    return [topics_service.serialize_topic(t, roles.get(t["_id"]), owners.get(t["owner_id"]))
            for t in topics]

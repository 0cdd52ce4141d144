"""Search over topics, posts and users without text indexes (SecantusDB has none).

Topics and posts store `search_terms`, their distinct words folded to lower case without
accents, under a multikey index. A query is split the same way; its words match stored
terms exactly and its last word also as a prefix (`^prefix` on the same index), so
"flask sock" finds "Flask-SocketIO". The most recent SEARCH_MAX_CANDIDATES documents
matching any word are ranked by how many query words they match, then by recency.
Visibility is applied in the query: nothing from a private topic reaches a non-member.
Chat messages keep `search_terms` the same way (set at send and edit, emptied on
delete) and are searched only within the rooms the searcher may read.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from flask import current_app

from models.block import Block
from models.message import Message
from models.post import Post
from models.room import Room
from models.room_member import RoomMember
from models.topic import Topic
from models.topic_member import TopicMember
from services.accounts import users_service
from services.chat import chat_access, chat_views
from services.forum import posts_service, topics_service
from services.platform import room_roles, topic_access
from utils import roles
from utils.errors import APIError
from utils.pagination import decode_cursor, encode_cursor
from utils.text import query_terms, search_terms


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
        ranked, next_cursor = _ranked(Topic().search_readable(_private_ids(user), whole, prefix,
                                                              _candidates()),
                                      whole, prefix, limit, cursor)
        return {"items": [{"type": "topic", **view}
                          for view in _topic_views(user, ranked)], "next_cursor": next_cursor}
    ranked, next_cursor = _ranked(Post().search_readable(_private_ids(user), whole, prefix,
                                                         _candidates()),
                                  whole, prefix, limit, cursor)
    return {"items": [{"type": "post", **view}
                      for view in posts_service.post_views(user, ranked)],
            "next_cursor": next_cursor}


def _private_ids(user: dict[str, Any] | None) -> list[ObjectId] | None:
    """The private topics whose content `user` may find; None for every topic (admins)."""
    return None if roles.is_admin(user) else topic_access.private_topic_ids(user)


def _candidates() -> int:
    return current_app.config["SEARCH_MAX_CANDIDATES"]


def search_messages(user: dict[str, Any], q: str, room_id: str | None, limit: int,
                    cursor: str | None) -> dict[str, Any]:
    """Messages matching `q` in one room I may read (`room_id`; 404 otherwise) or in all
    my rooms: the groups and direct rooms I am a member of and the topic rooms I joined
    whose topic I may still read. Never deleted messages, nor ones I deleted for myself,
    nor ones by people I block, who block me, or whom I hide."""
    if room_id is not None:
        room_ids = [chat_access.readable_room(user, room_id)["_id"]]
    else:
        room_ids = _my_readable_rooms(user)
    whole, prefix = query_terms(q)
    if not (whole or prefix) or not room_ids:
        return {"items": [], "next_cursor": None}
    shunned = set(Block().related_ids(user["_id"])) | users_service.hidden_ids(user)
    ranked, next_cursor = _ranked(
        Message().search_in_rooms(room_ids, user["_id"], list(shunned), whole, prefix,
                                  _candidates()),
        whole, prefix, limit, cursor)
    return {"items": chat_views.serialize_messages(ranked, user["_id"]),
            "next_cursor": next_cursor}


def reindex_messages(batch: int = 500) -> int:
    """Fill `search_terms` of the messages that have none (stored before message search);
    deleted ones get an empty list. Idempotent; returns how many it wrote."""
    messages, written = Message(), 0
    while True:
        found = messages.without_search_terms(batch)
        if not found:
            return written
        for message in found:
            terms = [] if message.get("deleted") else search_terms(message.get("body") or "")
            messages.set_search_terms(message["_id"], terms)
        written += len(found)


def _my_readable_rooms(user: dict[str, Any]) -> list[ObjectId]:
    rooms = Room().find_by_ids(RoomMember().room_ids_of(user["_id"]),
                               {"kind": 1, "member_ids": 1, "topic_id": 1, "bans": 1}).values()
    readable, topics = [], {}
    for room in rooms:
        if room["kind"] != "topic":
            if user["_id"] in room["member_ids"]:
                readable.append(room["_id"])
            continue
        if room["topic_id"] not in topics:
            try:  # once per topic: private, banned, deleted since I joined its room
                chat_access.readable_room(user, room["_id"])
                topics[room["topic_id"]] = True
            except APIError:
                topics[room["topic_id"]] = False
                continue
        if topics[room["topic_id"]] and room_roles.sanction_of(room, "bans",
                                                               user["_id"]) is None:
            readable.append(room["_id"])
    return readable


def _ranked(candidates: list[dict[str, Any]], whole: list[str], prefix: str | None,
            limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """A page of `candidates` ranked by how many query words each matches, then by
    recency."""
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

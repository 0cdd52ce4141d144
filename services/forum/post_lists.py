"""Lists of posts: a topic's, and the front page (public topics plus the private ones the
reader joined), in the sorts `hot`, `new` and `top` (within a time window). Pages are
cached per topic and per audience (utils.cache) and filled in per reader after the cache:
`my_vote`, polls (their current results and my ballot), and authors the reader hides left
out."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from flask import current_app

from models.post import Post
from services.accounts.users_service import hidden_ids
from services.forum.posts_service import (
    FRONT_PAGE,
    VIEW_FIELDS,
    my_votes,
    post_views,
    topic_posts_namespace,
)
from services.platform import topic_access
from services.polls import poll_items
from utils import clock, roles
from utils.cache import get_cache

TOP_WINDOWS = {"day": timedelta(days=1), "week": timedelta(weeks=1),
               "month": timedelta(days=30), "all": None}


def list_posts(user: dict[str, Any] | None, topic_id: str | None, sort: str, t: str,
               limit: int, cursor: str | None) -> dict[str, Any]:
    if topic_id is None:
        return _front_page(user, sort, t, limit, cursor)
    # Access is checked for every reader before the cache: an entry holds what every
    # reader of the topic sees alike, and `my_vote` is filled in per reader after.
    topic = topic_access.get_readable_topic(user, topic_id, topic_access.ACCESS_FIELDS)
    cached = get_cache().get_or_set(
        topic_posts_namespace(topic["_id"]), f"{sort}:{t}:{limit}:{cursor}",
        lambda: _topic_posts(topic["_id"], sort, t, limit, cursor),
        current_app.config["TOPIC_POSTS_CACHE_SECONDS"])
    return _with_my_votes(user, cached)


def _topic_posts(topic_id: ObjectId, sort: str, t: str, limit: int, cursor: str | None
                 ) -> dict[str, Any]:
    documents, next_cursor = Post().topic_page(topic_id, sort, _since(sort, t), limit, cursor,
                                               VIEW_FIELDS)
    return {"items": post_views(None, documents), "next_cursor": next_cursor}


def _with_my_votes(user: dict[str, Any] | None, page: dict[str, Any]) -> dict[str, Any]:
    """Per reader, after the shared cache: `my_vote`, and posts by authors the reader
    hides left out (the page may hold fewer items; its cursor stays right)."""
    hidden = {str(uid) for uid in hidden_ids(user)}
    if hidden:
        page = {**page, "items": [item for item in page["items"]
                                  if (item.get("author") or {}).get("id") not in hidden]}
    votes = my_votes(user, "post", [ObjectId(item["id"]) for item in page["items"]])
    for item in page["items"]:
        item["my_vote"] = votes.get(ObjectId(item["id"]), 0) if user else None
    _fresh_polls(user, page["items"])
    return page


def _fresh_polls(user: dict[str, Any] | None, items: list[dict[str, Any]]) -> None:
    """Votes do not expire the cached pages: their polls are read again per reader."""
    polls = poll_items.views([ObjectId(item["poll"]["id"]) for item in items if item.get("poll")],
                             user["_id"] if user else None)
    for item in items:
        if item.get("poll"):
            item["poll"] = poll_items.dumped_view(polls.get(ObjectId(item["poll"]["id"])))


def _since(sort: str, t: str) -> datetime | None:
    """Where the `top` sort's time window starts; None for no window."""
    span = TOP_WINDOWS[t] if sort == "top" else None
    return clock.now() - span if span else None


def _front_page(user: dict[str, Any] | None, sort: str, t: str, limit: int,
                cursor: str | None) -> dict[str, Any]:
    """Public topics plus the private ones I joined. Cached per audience (everyone who
    reads only public topics shares an entry); `my_vote` is filled in per user after."""
    private = topic_access.readable_private_ids(user)
    key = f"{topic_access.audience_key(user, private)}:{sort}:{t}:{limit}:{cursor}"
    cached = get_cache().get_or_set(
        FRONT_PAGE, key, lambda: _front_page_items(user, private, sort, t, limit, cursor),
        current_app.config["FRONT_PAGE_CACHE_SECONDS"])
    return _with_my_votes(user, cached)


def _front_page_items(user: dict[str, Any] | None, private: list[ObjectId], sort: str,
                      t: str, limit: int, cursor: str | None) -> dict[str, Any]:
    documents, next_cursor = Post().front_page(None if roles.is_admin(user) else private, sort,
                                               _since(sort, t), limit, cursor, VIEW_FIELDS)
    return {"items": post_views(None, documents), "next_cursor": next_cursor}

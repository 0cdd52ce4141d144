"""Posts: create, read, edit, soft delete, pin and lock, the topic and front-page lists.

Reading a post means reading its topic (`topic_access.get_readable_topic`), so nothing
of a private topic reaches a non-member. Writes emit `new_post` / `post_updated` to
`topic_<id>` only after they succeeded.
"""
from __future__ import annotations

import logging
from typing import Any

from bson import ObjectId

from models.edit_version import POST as EDITED_POST
from models.post import HIDDEN, Post, hot_rank
from models.topic import Topic
from models.vote import Vote
from services.accounts import write_gate
from services.accounts.users_service import public_users
from services.forum import notify_content, pseudonyms
from services.media import attachments, link_previews
from services.platform import (
    content_filter,
    edit_history,
    live_rooms,
    realtime,
    topic_access,
    topic_activity,
)
from services.platform.shapes.forum import POST, POST_BROADCAST
from services.polls import poll_items
from utils import clock, jobs
from utils.cache import get_cache
from utils.errors import Forbidden, NotFound, ValidationFailed
from utils.text import render_markdown, search_terms, stored_html

log = logging.getLogger(__name__)

FRONT_PAGE = "front_page"  # cache namespace of GET /api/posts without topic_id

DELETED_TEXT = "[deleted]"
TITLE_MIN, TITLE_MAX = 3, 300  # characters, after spaces are folded
BODY_MAX = 40000


def topic_posts_namespace(topic_id: Any) -> str:
    """Cache namespace of one topic's post lists (GET /api/posts?topic_id=)."""
    return f"topic_posts:{topic_id}"


def posts_changed(topic_id: Any) -> None:
    """After a write that shows in post lists (a post, its score, comment count, flags):
    the topic's lists and the front page are recomputed on their next read."""
    cache = get_cache()
    cache.invalidate(FRONT_PAGE)
    cache.invalidate(topic_posts_namespace(topic_id))


# Serialization

# What serialize_post shows, plus hot_rank for the page cursor: never search_terms.
VIEW_FIELDS = {field: 1 for field in (
    "topic_id", "author_id", "title", "body", "body_html", "score", "hot_rank",
    "comment_count", "pinned", "locked", "deleted", "created_at", "edited_at", "previews",
    "attachments", "anonymous", "pseudonym", "edit_count", "poll_id")}


def serialize_post(post: dict[str, Any], author: dict[str, Any] | None,
                   my_vote: int | None = 0, topic: dict[str, Any] | None = None,
                   polls: dict[ObjectId, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Raw markdown comes back as text in `body`; `body_html` is rendered and sanitised.
    A deleted post keeps its place, counts and comments but loses its words and author.
    `topic` is the post's topic with TOPIC_REF_FIELDS (`topics_of`); `polls`: see
    `poll_items.of_item`."""
    return POST.dump(_shown(post, author, my_vote, topic, polls))


# What a post shows of its topic: `{id, slug, title}`.
TOPIC_REF_FIELDS = {"slug": 1, "title": 1}


def topics_of(posts: list[dict[str, Any]]) -> dict[ObjectId, dict[str, Any]]:
    """The topics of `posts` with TOPIC_REF_FIELDS, in one query for the whole page."""
    return Topic().find_by_ids([p["topic_id"] for p in posts], TOPIC_REF_FIELDS)


def _shown(post: dict[str, Any], author: dict[str, Any] | None,
           my_vote: int | None, topic: dict[str, Any] | None = None,
           polls: dict[ObjectId, dict[str, Any]] | None = None) -> dict[str, Any]:
    # A topic document that is gone still leaves its id (never seen in practice: topics
    # are deleted softly).
    topic = topic or {"_id": post["topic_id"], "slug": "", "title": ""}
    if post.get("deleted", False):
        return {**post, "title": DELETED_TEXT, "body": "", "body_html": "", "author": None,
                "my_vote": my_vote, "deleted": True, "previews": [], "attachments": [],
                "topic": topic}
    return {**post, "body_html": stored_html(post),
            "author": pseudonyms.shown_author(post, author), "my_vote": my_vote,
            "anonymous": bool(post.get("anonymous")), "deleted": False, "topic": topic,
            "poll": poll_items.of_item(post, polls)}


def public_view(post: dict[str, Any], author: dict[str, Any] | None = None,
                topic: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a room broadcast carries: no viewer, so no `my_vote`. `author` and `topic`
    when the caller has them already (a new post: the writer and the topic it checked)."""
    if author is None:
        author = public_users([post["author_id"]]).get(post["author_id"])
    if topic is None:
        topic = topics_of([post]).get(post["topic_id"])
    return POST_BROADCAST.dump(_shown(post, author, None, topic))


def post_views(user: dict[str, Any] | None, posts: list[dict[str, Any]]) -> list[dict]:
    authors = public_users([p["author_id"] for p in posts])
    topics = topics_of(posts)
    votes = my_votes(user, "post", [p["_id"] for p in posts])
    polls = poll_items.views([p.get("poll_id") for p in posts], user["_id"] if user else None)
    return [serialize_post(p, authors.get(p["author_id"]), votes.get(p["_id"], 0) if user
                           else None, topics.get(p["topic_id"]), polls) for p in posts]


def my_votes(user: dict[str, Any] | None, target_type: str,
             ids: list[ObjectId]) -> dict[ObjectId, int]:
    return Vote().values_of(user["_id"], target_type, ids) if user and ids else {}


def emit_post(event: str, post: dict[str, Any], author: dict[str, Any] | None = None,
              topic: dict[str, Any] | None = None) -> None:
    """To the topic's room, and the post's own room (`join_post`) for its updates."""
    rooms = [live_rooms.topic_room(post["topic_id"])]
    if event != "new_post":
        rooms.append(live_rooms.post_room(post["_id"]))
    realtime.emit(event, public_view(post, author, topic), to=rooms)


def _post_written(post: dict[str, Any], before: dict[str, Any] | None = None) -> None:
    if link_previews.wanted(post["body"], before):
        link_previews.queue(attach_post_previews, post["_id"])


@jobs.task(retries=1, retry_delay=5, queue=jobs.BEST_EFFORT)
def attach_post_previews(post_id: str) -> None:
    """Link previews of a post's body (docs/MEDIA.md), announced as `post_updated`."""
    updated = link_previews.refresh(Post(), post_id)
    if updated is not None:
        posts_changed(updated["topic_id"])
        emit_post("post_updated", updated)


# Reading

def get_readable_post(user: dict[str, Any] | None, post_id: Any
                      ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(post, topic); NotFound when either is missing or the topic is not readable. The
    post comes with VIEW_FIELDS, the topic with its access fields only."""
    post = Post().find_by_id(post_id, VIEW_FIELDS)
    if post is None:
        raise NotFound("Post not found.")
    try:
        topic = topic_access.get_readable_topic(user, post["topic_id"],
                                                  topic_access.ACCESS_FIELDS)
    except NotFound:
        raise NotFound("Post not found.") from None
    return post, topic


def get_post(user: dict[str, Any] | None, post_id: Any) -> dict[str, Any]:
    post, _topic = get_readable_post(user, post_id)
    return post_views(user, [post])[0]


# Writing

def _clean_title(title: str, author: dict[str, Any]) -> str:
    title = " ".join(title.split())
    if not TITLE_MIN <= len(title) <= TITLE_MAX:
        raise ValidationFailed(details={"title": [
            f"Length must be between {TITLE_MIN} and {TITLE_MAX}."]})
    # The text to store (maybe masked) or ContentRejected (422).
    return content_filter.apply(title, "post_title", author)


def _clean_body(body: str, author: dict[str, Any]) -> str:
    if len(body) > BODY_MAX:
        raise ValidationFailed(details={"body": [f"Longer than maximum length {BODY_MAX}."]})
    return content_filter.apply(body, "post_body", author)


def create_post(user: dict[str, Any], topic_id: Any, title: str, body: str,
                files: list[Any] | None = None, anonymous: bool = False,
                poll: dict[str, Any] | None = None) -> dict[str, Any]:
    """`anonymous`: under the user's pseudonym in this topic, where the topic allows it;
    `poll`: a poll the post carries (services/polls/poll_items.py `prepare`)."""
    write_gate.admit(user, "post", topic_id=topic_id, text=f"{title}\n{body}",
                     attachments=len(files or []))
    # MongoDB commands on the common path (issue 20, at most 4): the insert, the topic's
    # count and activity in one update, the author's follow. Access comes from the
    # process's copies (services.platform.topic_access); the answer and the `new_post` event
    # need no read: their author is `user`, their topic the copy, and a new post has no
    # votes.
    topic = topic_access.require_participant(user, topic_id, topic_access.ACCESS_FIELDS)
    now = clock.now()
    hidden = pseudonyms.fields_for(user, topic, anonymous)
    title, body = _clean_title(title, user), _clean_body(body, user)
    new_poll = poll_items.prepare(poll, user, "post_body")
    post_id = ObjectId()
    stored_files = attachments.claim(user, files, "post", post_id)
    try:
        poll_items.store(new_poll, "post", post_id)
        post = _insert_post(post_id, topic, user, title, body, stored_files, now,
                            {**hidden, **({"poll_id": new_poll["_id"]} if new_poll else {})})
    except BaseException:
        attachments.release(post_id)
        poll_items.discard(new_poll)
        raise
    Topic().add_post(topic["_id"], now)
    topic_activity.topic_lists_changed()
    posts_changed(topic["_id"])
    emit_post("new_post", post, user, topic)
    notify_content.post_created(pseudonyms.actor(post, user), post)
    _post_written(post)
    return serialize_post(post, user, 0, topic)


def _insert_post(post_id: ObjectId, topic: dict[str, Any], user: dict[str, Any], title: str,
                 body: str, files: list[dict[str, Any]], now: Any,
                 hidden: dict[str, Any]) -> dict[str, Any]:
    return Post().insert({**hidden,
        "_id": post_id, "attachments": files,
        "topic_id": topic["_id"], "author_id": user["_id"], "title": title, "body": body,
        "body_html": render_markdown(body), "score": 0, "hot_rank": hot_rank(0, now),
        "comment_count": 0, "pinned": False, "locked": False, "deleted": False,
        "audience": _audience(topic), "created_at": now, "edited_at": None,
        "search_terms": search_terms(title, body)})


def _audience(topic: dict[str, Any]) -> str:
    return HIDDEN if topic.get("deleted") else topic["visibility"]


def topic_audience_changed(topic: dict[str, Any]) -> None:
    """The topic became public, private or deleted: its posts follow on the front page."""
    Post().set_audience(topic["_id"], _audience(topic))
    posts_changed(topic["_id"])


def update_post(user: dict[str, Any], post_id: Any, changes: dict[str, Any]
                ) -> dict[str, Any]:
    write_gate.admit(user, "edit", text=f"{changes.get('title', '')}\n{changes.get('body', '')}")
    post, _topic = get_readable_post(user, post_id)
    if post["author_id"] != user["_id"]:
        raise Forbidden("Only the author may edit this post.")
    if post["deleted"]:
        raise Forbidden("This post was deleted.")
    title = _clean_title(changes.get("title", post["title"]), user)
    body = _clean_body(changes.get("body", post["body"]), user)
    edited = Post().edit(post["_id"], {
        "title": title, "body": body, "body_html": render_markdown(body),
        "edited_at": clock.now(), "search_terms": search_terms(title, body)})
    if edited is None:
        raise Forbidden("This post was deleted.")
    before, updated = edited
    edit_history.kept(EDITED_POST, before, updated)
    posts_changed(updated["topic_id"])
    emit_post("post_updated", updated)
    notify_content.post_edited(pseudonyms.actor(updated, user), post, updated)
    _post_written(updated, before=post)
    return post_views(user, [updated])[0]


def require_open(post: dict[str, Any]) -> None:
    """Comments and votes need a post that is neither deleted nor locked."""
    if post["deleted"]:
        raise Forbidden("This post was deleted.")
    if post["locked"]:
        raise Forbidden("This post is locked.")

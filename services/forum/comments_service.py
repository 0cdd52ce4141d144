"""Comments: a tree per post, depth-limited, paged by top-level comment.

Each comment stores `path` (ancestor ids from the top) and `depth` (0 at the top), so
one query on (post_id, path) loads every reply under a page of top-level comments.
`reply_count` (direct replies) and the post's `comment_count` (comments not deleted) are
kept with `$inc`, never recounted.
"""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from flask import current_app

from models.comment import SORTS, Comment
from models.edit_version import COMMENT as EDITED_COMMENT
from models.post import Post
from services.accounts import trust, write_gate
from services.accounts.users_service import hidden_ids, public_users
from services.forum import notify_content, posts_service, pseudonyms
from services.media import attachments, link_previews
from services.notify import notify_moderation
from services.platform import (
    audit_service,
    content_filter,
    edit_history,
    live_rooms,
    realtime,
    topic_access,
)
from services.platform.shapes.forum import COMMENT
from utils import clock, jobs
from utils.errors import Forbidden, NotFound, ValidationFailed
from utils.text import render_markdown, stored_html

BODY_MAX = 10000

# What serialize_comment shows (the tree is built from parent_id): not path, not topic_id.
VIEW_FIELDS = {field: 1 for field in (
    "post_id", "parent_id", "author_id", "body", "body_html", "score", "depth",
    "reply_count", "deleted", "created_at", "edited_at", "attachments", "anonymous",
    "pseudonym", "edit_count", "previews")}


def serialize_comment(comment: dict[str, Any], author: dict[str, Any] | None,
                      my_vote: int | None) -> dict[str, Any]:
    if comment.get("deleted", False):
        shown = {**comment, "author": None, "body": posts_service.DELETED_TEXT,
                 "body_html": "", "deleted": True, "attachments": [], "previews": []}
    else:
        shown = {**comment, "author": pseudonyms.shown_author(comment, author),
                 "body_html": stored_html(comment), "deleted": False}
    shown["my_vote"] = my_vote
    return COMMENT.dump(shown)


def comment_views(user: dict[str, Any] | None, comments: list[dict[str, Any]]
           ) -> dict[ObjectId, dict[str, Any]]:
    authors = public_users([c["author_id"] for c in comments])
    votes = posts_service.my_votes(user, "comment", [c["_id"] for c in comments])
    return {c["_id"]: serialize_comment(c, authors.get(c["author_id"]),
                                        votes.get(c["_id"], 0) if user else None)
            for c in comments}


def blank_hidden_authors(user: dict[str, Any] | None, views: dict[ObjectId, dict[str, Any]]
                         ) -> dict[ObjectId, dict[str, Any]]:
    """Comments by authors `user` hides keep their place (their replies hang under them),
    emptied and flagged `author_hidden`. Compared with the author shown, like post lists:
    an anonymous comment shows a stand-in whose id is never a user's, so hiding its
    writer cannot unmask it."""
    hidden = {str(uid) for uid in hidden_ids(user)}
    return {comment_id: {**view, "body": "", "body_html": "", "author_hidden": True}
            if (view.get("author") or {}).get("id") in hidden else view
            for comment_id, view in views.items()}


def get_readable_comment(user: dict[str, Any] | None, comment_id: Any
                      ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    comment = Comment().find_by_id(comment_id)
    if comment is None:
        raise NotFound("Comment not found.")
    try:
        post, topic = posts_service.get_readable_post(user, comment["post_id"])
    except NotFound:
        raise NotFound("Comment not found.") from None
    return comment, post, topic


def create_comment(user: dict[str, Any], post_id: Any, body: str,
                   parent_id: str | None = None, files: list[Any] | None = None,
                   anonymous: bool = False) -> dict[str, Any]:
    """`anonymous`: under the user's pseudonym in this topic, where the topic allows it."""
    post, topic = posts_service.get_readable_post(user, post_id)
    write_gate.admit(user, "comment", topic_id=topic["_id"], text=body,
                     attachments=len(files or []), place=post["_id"])
    posts_service.require_open(post)
    hidden = pseudonyms.fields_for(user, topic, anonymous)
    if not body.strip() or len(body) > BODY_MAX:
        raise ValidationFailed(details={"body": [f"Length must be between 1 and {BODY_MAX}."]})
    body = content_filter.apply(body, "comment", user)
    parent = _parent(post, parent_id) if parent_id else None
    path = [*parent["path"], parent["_id"]] if parent else []
    comment_id = ObjectId()
    stored_files = attachments.claim(user, files, "comment", comment_id)
    try:
        comment = _insert_comment(comment_id, post, topic, user, parent, path, body,
                                  stored_files, hidden)
    except BaseException:
        attachments.release(comment_id)
        raise
    if parent:
        Comment().add_replies(parent["_id"], 1)
    counted = Post().add_comments(post["_id"], 1)
    posts_service.posts_changed(topic["_id"])  # comment_count shows in post lists
    view = comment_views(user, [comment])[comment["_id"]]
    realtime.emit("new_comment", {**view, "my_vote": None, "replies": []},
                  to=live_rooms.post_room(post["_id"]))
    if counted is not None:  # the topic's room and the post's learn the new comment_count
        posts_service.emit_post("post_updated", counted)
    notify_content.comment_created(pseudonyms.actor(comment, user), comment, post, parent)
    trust.note_reply(user, parent or post)  # a new author was read and answered
    _comment_written(comment)
    return {**view, "replies": []}


def _comment_written(comment: dict[str, Any], before: dict[str, Any] | None = None) -> None:
    if link_previews.wanted(comment["body"], before):
        link_previews.queue(attach_comment_previews, comment["_id"])


@jobs.task(retries=1, retry_delay=5, queue=jobs.BEST_EFFORT)
def attach_comment_previews(comment_id: str) -> None:
    """Link previews of a comment's body (docs/MEDIA.md), announced as `comment_updated`
    to the post's room (whoever entered it may read the post)."""
    updated = link_previews.refresh(Comment(), comment_id)
    if updated is not None:
        view = serialize_comment(updated, public_users([updated["author_id"]]).get(
            updated["author_id"]), None)
        realtime.emit("comment_updated", {**view, "replies": []},
                      to=live_rooms.post_room(updated["post_id"]))


def _insert_comment(comment_id: ObjectId, post: dict[str, Any], topic: dict[str, Any],
                    user: dict[str, Any], parent: dict[str, Any] | None, path: list,
                    body: str, files: list[dict[str, Any]],
                    hidden: dict[str, Any]) -> dict[str, Any]:
    return Comment().insert({**hidden,
        "_id": comment_id, "attachments": files,
        "post_id": post["_id"], "topic_id": topic["_id"], "author_id": user["_id"],
        "parent_id": parent["_id"] if parent else None, "path": path, "depth": len(path),
        "body": body, "body_html": render_markdown(body), "score": 0, "reply_count": 0,
        "deleted": False, "created_at": clock.now(), "edited_at": None})


def _parent(post: dict[str, Any], parent_id: str) -> dict[str, Any]:
    """The comment to attach to. Below the depth limit a reply attaches to the deepest
    allowed ancestor instead, so threads never grow past COMMENT_MAX_DEPTH levels."""
    parent = Comment().find_by_id(parent_id)
    if parent is None or parent["post_id"] != post["_id"]:
        raise NotFound("Parent comment not found.")
    deepest_parent = current_app.config["COMMENT_MAX_DEPTH"] - 2  # depth counts from 0
    if parent["depth"] > deepest_parent:
        parent = Comment().get(parent["path"][deepest_parent], "Comment")
    return parent


def update_comment(user: dict[str, Any], comment_id: Any, body: str) -> dict[str, Any]:
    write_gate.admit(user, "edit", text=body)
    comment, post, _topic = get_readable_comment(user, comment_id)
    if comment["author_id"] != user["_id"]:
        raise Forbidden("Only the author may edit this comment.")
    if not body.strip():
        raise ValidationFailed(details={"body": ["Must not be blank."]})
    body = content_filter.apply(body, "comment", user)
    edited = Comment().edit(comment["_id"], {"body": body, "body_html": render_markdown(body),
                                             "edited_at": clock.now()})
    if edited is None:
        raise Forbidden("This comment was deleted.")
    before, updated = edited
    edit_history.kept(EDITED_COMMENT, before, updated)
    notify_content.comment_edited(pseudonyms.actor(updated, user), comment, updated, post)
    _comment_written(updated, comment)
    return {**comment_views(user, [updated])[updated["_id"]], "replies": []}


def delete_comment(user: dict[str, Any], comment_id: Any) -> None:
    """Soft: the comment stays in the tree as "[deleted]" and its replies stay put."""
    comment, post, topic = get_readable_comment(user, comment_id)
    is_author = comment["author_id"] == user["_id"]
    if not is_author and not topic_access.can_moderate(user, topic):
        raise Forbidden("Only the author or a moderator may delete this comment.")
    # Conditional on not yet deleted: a repeated delete never counts twice.
    deleted = Comment().update(comment["_id"], {"deleted": True, "deleted_at": clock.now()},
                               {"deleted": False})
    if deleted is None:
        return
    attachments.discard(comment["_id"])
    edit_history.forget(EDITED_COMMENT, comment["_id"])
    counted = Post().add_comments(post["_id"], -1)
    posts_service.posts_changed(topic["_id"])
    if counted is not None:
        posts_service.emit_post("post_updated", counted)
    if not is_author:
        audit_service.record_moderation(user, "delete_comment", topic["_id"], "comment",
                                         comment["_id"])
        notify_moderation.content_removed(comment["author_id"], "comment", {
            "post_id": str(post["_id"]), "topic_id": str(topic["_id"]),
            "comment_id": str(comment["_id"])})


def list_comments(user: dict[str, Any] | None, post_id: Any, sort: str, limit: int,
                  cursor: str | None) -> dict[str, Any]:
    """A page of top-level comments, each with its whole reply tree (sorted the same way)."""
    post, _topic = posts_service.get_readable_post(user, post_id)
    top, next_cursor = Comment().top_level_page(post["_id"], sort, limit, cursor, VIEW_FIELDS)
    replies = Comment().replies_under(post["_id"], [c["_id"] for c in top],
                                      current_app.config["COMMENT_TREE_MAX_REPLIES"],
                                      VIEW_FIELDS) if top else []
    views = blank_hidden_authors(user, comment_views(user, top + replies))
    children: dict[ObjectId, list[dict[str, Any]]] = {}
    for reply in _sorted(replies, sort):
        children.setdefault(reply["parent_id"], []).append(reply)

    def build(comment: dict[str, Any]) -> dict[str, Any]:
        return {**views[comment["_id"]],
                "replies": [build(child) for child in children.get(comment["_id"], [])]}

    return {"items": [build(c) for c in top], "next_cursor": next_cursor}


def _sorted(comments: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    (field, direction), _tie = SORTS[sort]
    return sorted(comments, key=lambda c: (c[field], c["_id"]), reverse=direction < 0)

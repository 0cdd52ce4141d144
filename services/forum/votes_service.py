"""Votes on posts and comments: -1, 0 or 1 per user and target, idempotent.

The vote document is swapped atomically (its previous value comes back), and the target's
score moves by the difference with `$inc`: concurrent votes from many users add up
exactly, and voting the same way twice changes nothing.
"""
from __future__ import annotations

from typing import Any

from models.comment import Comment
from models.post import Post
from models.vote import Vote
from services.accounts import write_gate
from services.forum import comments_service, posts_service
from utils import clock
from utils.errors import Forbidden, NotFound


def vote_post(user: dict[str, Any], post_id: Any, value: int) -> dict[str, int]:
    post, topic = posts_service.get_readable_post(user, post_id)
    write_gate.admit(user, "vote", topic_id=topic["_id"])
    posts_service.require_open(post)
    previous = Vote().cast("post", post["_id"], user["_id"], value, clock.now())
    if value != previous:
        post = Post().add_score(post["_id"], value - previous)
        if post is None:
            raise NotFound("Post not found.")
        posts_service.posts_changed(topic["_id"])  # scores and hot order show in lists
        posts_service.emit_post("post_updated", post)
    return {"score": post["score"], "my_vote": value}


def vote_comment(user: dict[str, Any], comment_id: Any, value: int) -> dict[str, int]:
    comment, post, topic = comments_service.get_readable_comment(user, comment_id)
    write_gate.admit(user, "vote", topic_id=topic["_id"])
    posts_service.require_open(post)
    if comment["deleted"]:
        raise Forbidden("This comment was deleted.")
    previous = Vote().cast("comment", comment["_id"], user["_id"], value, clock.now())
    if value != previous:
        comment = Comment().add_score(comment["_id"], value - previous)
        if comment is None:
            raise NotFound("Comment not found.")
    return {"score": comment["score"], "my_vote": value}

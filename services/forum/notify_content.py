"""Notifications caused by posts and comments, called after the write that caused
them: a reply to my post or my comment, a mention, activity on a post I follow.

Each user hears of one comment once, in this order of precedence: the reply (to the post
author for a top-level comment, to the parent's author for a nested one), a mention,
follow activity. Writing or commenting on a post follows it (unless unfollowed).
"""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.comment import Comment
from models.post import Post
from models.user import User
from services.forum import pseudonyms
from services.notify import notify_core, notify_prefs
from services.notify.notify_mentions import notify_mentions
from services.platform import topic_access
from utils import jobs
from utils.errors import NotFound


def _reader(topic_id: ObjectId):
    def can_read(user: dict[str, Any]) -> bool:
        try:
            topic_access.get_readable_topic(user, topic_id, topic_access.ACCESS_FIELDS)
        except NotFound:
            return False
        return True
    return can_read


def _about(post: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"post_id": str(post["_id"]), "topic_id": str(post["topic_id"]),
            "title": post["title"], **extra}


def _sources(post: dict[str, Any]) -> dict[str, Any]:
    return {"topic": post["topic_id"], "post": post["_id"]}


def post_created(author: dict[str, Any], post: dict[str, Any]) -> None:
    notify_prefs.follow_by_default(post["_id"], author["_id"])
    notify_mentions(author, [post["title"], post["body"]], _reader(post["topic_id"]),
                    _about(post), f"post:{post['_id']}", _sources(post))


def post_edited(author: dict[str, Any], before: dict[str, Any],
                after: dict[str, Any]) -> None:
    """Only the names the edit added are told (each mention once per post)."""
    notify_mentions(author, [after["title"], after["body"]], _reader(after["topic_id"]),
                    _about(after), f"post:{after['_id']}", _sources(after),
                    before=[before["title"], before["body"]])


def comment_edited(author: dict[str, Any], before: dict[str, Any], after: dict[str, Any],
                   post: dict[str, Any]) -> None:
    notify_mentions(author, [after["body"]], _reader(post["topic_id"]),
                    _about(post, comment_id=str(after["_id"])), f"post:{post['_id']}",
                    _sources(post), before=[before["body"]])


def comment_created(author: dict[str, Any], comment: dict[str, Any], post: dict[str, Any],
                    parent: dict[str, Any] | None) -> None:
    notify_prefs.follow_by_default(post["_id"], author["_id"])
    data, sources = _about(post, comment_id=str(comment["_id"])), _sources(post)
    if parent is None:
        kind, recipient, subject = "post_reply", post["author_id"], f"post:{post['_id']}"
    else:
        kind, recipient, subject = ("comment_reply", parent["author_id"],
                                    f"comment:{parent['_id']}")
    can_read = _reader(post["topic_id"])
    told = {author["_id"], recipient}
    replied_to = User().find_active(recipient)
    if replied_to is not None and can_read(replied_to):
        notify_core.deliver(recipient, kind, data, actor=author, subject=subject,
                            sources=sources)
    told |= notify_mentions(author, [comment["body"]], can_read, data, f"post:{post['_id']}",
                            sources, skip=told)
    # Followers of a busy post may be many: told by a job, after the write, so the
    # request takes the same time whatever their number.
    fan_out_to_followers.enqueue(str(post["_id"]), str(comment["_id"]), str(author["_id"]),
                                 [str(uid) for uid in told])


@jobs.task(retries=3, retry_delay=2)
def fan_out_to_followers(post_id: str, comment_id: str, author_id: str,
                         told: list[str]) -> None:
    """`post_activity` to the post's followers who were not told of the comment already
    (as a reply or a mention) and may still read it. A post or comment deleted, or an
    author gone, before the job runs tells nobody."""
    post = Post().find_by_id(post_id)
    author = User().find_active(author_id)
    comment = Comment().find_by_id(comment_id)
    if post is None or post.get("deleted") or author is None or comment is None \
            or comment.get("deleted"):
        return
    skip = {ObjectId(uid) for uid in told} | {author["_id"]}
    author = pseudonyms.actor(comment, author)
    data, sources = _about(post, comment_id=comment_id), _sources(post)
    can_read = _reader(post["topic_id"])
    others = [uid for uid in notify_prefs.followers(post["_id"]) if uid not in skip]
    for follower in User().find_by_ids(others).values():
        if not follower.get("deleted") and can_read(follower):
            notify_core.deliver(follower["_id"], "post_activity", data, actor=author,
                                subject=f"post:{post['_id']}", sources=sources)

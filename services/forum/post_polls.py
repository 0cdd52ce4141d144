"""Polls in posts, as forum hands them to services.polls (registrations.POLL_HOSTS): a
poll is read by whoever reads the post, voted in by the topic's participants (members
not banned, as for posting there) on an open post, and its `poll_updated` goes where
`post_updated` goes (the topic's room and the post's own)."""
from __future__ import annotations

from typing import Any

from models.post import Post
from services.accounts import write_gate
from services.forum import posts_service
from services.platform import live_rooms, topic_access
from services.polls.poll_hosts import PollHost
from utils.errors import NotFound


def _readable_post(user: dict[str, Any], post_id: Any) -> tuple[dict, dict]:
    post, topic = posts_service.get_readable_post(user, post_id)
    if post["deleted"]:
        raise NotFound("Post not found.")  # a deleted post shows no poll
    return post, topic


def _readable(user: dict[str, Any], post_id: Any) -> None:
    _readable_post(user, post_id)


def _writable(user: dict[str, Any], post_id: Any) -> None:
    post, topic = _readable_post(user, post_id)
    write_gate.admit(user, "vote", topic_id=topic["_id"])
    topic_access.require_participant(user, topic["_id"], topic_access.ACCESS_FIELDS)
    posts_service.require_open(post)


def _audience(post_id: Any) -> list[str]:
    post = Post().find_by_id(post_id, {"topic_id": 1, "deleted": 1})
    if post is None or post["deleted"]:
        return []
    return [live_rooms.topic_room(post["topic_id"]), live_rooms.post_room(post["_id"])]


POLL_HOST = PollHost(readable=_readable, writable=_writable, audience=_audience)

"""Who reads the edit history of posts and comments: the author, the topic's owner and
moderators, and site staff. Anyone else, readers of the topic included, gets the 404 a
missing post or comment gets (the versions themselves: services.platform.edit_history)."""
from __future__ import annotations

from typing import Any

from models.edit_version import COMMENT, POST
from services.forum import comments_service, posts_service
from services.platform import edit_history, topic_access
from utils.errors import NotFound


def post_history(user: dict[str, Any], post_id: Any, limit: int,
                 cursor: str | None) -> dict[str, Any]:
    post, topic = posts_service.get_readable_post(user, post_id)
    _require_history_reader(user, post, topic, "Post not found.")
    return edit_history.versions(POST, post["_id"], limit, cursor)


def comment_history(user: dict[str, Any], comment_id: Any, limit: int,
                    cursor: str | None) -> dict[str, Any]:
    comment, _post, topic = comments_service.get_readable_comment(user, comment_id)
    _require_history_reader(user, comment, topic, "Comment not found.")
    return edit_history.versions(COMMENT, comment["_id"], limit, cursor)


def _require_history_reader(user: dict[str, Any], item: dict[str, Any],
                            topic: dict[str, Any], missing: str) -> None:
    """A deleted item has no history left (its versions went with it)."""
    if item.get("deleted") or (item["author_id"] != user["_id"]
                               and not topic_access.can_moderate(user, topic)):
        raise NotFound(missing)

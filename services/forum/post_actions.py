"""What an author or a topic's moderators do to a post once it is written: delete it
(soft: it keeps its place and its comments), pin, unpin, lock or unlock it. Each is
announced as `post_updated` after it is stored; a moderator's action is audit-logged."""
from __future__ import annotations

from typing import Any

from models.edit_version import POST as EDITED_POST
from models.post import Post
from services.accounts import write_gate
from services.forum.posts_service import emit_post, get_readable_post, post_views, posts_changed
from services.media import attachments
from services.notify import notify_moderation
from services.platform import audit_service, edit_history, topic_access
from services.polls import poll_items
from utils import clock
from utils.errors import Forbidden, NotFound


def delete_post(user: dict[str, Any], post_id: Any) -> None:
    """Soft: the post keeps its place in the list and its comments stay readable."""
    post, topic = get_readable_post(user, post_id)
    is_author = post["author_id"] == user["_id"]
    if not is_author and not topic_access.can_moderate(user, topic):
        raise Forbidden("Only the author or a moderator may delete this post.")
    deleted = Post().update(post["_id"], {"deleted": True, "deleted_at": clock.now(),
                                          "deleted_by": user["_id"]}, {"deleted": False})
    if deleted is None:
        return  # already deleted: deleting is idempotent
    attachments.discard(post["_id"])
    edit_history.forget(EDITED_POST, post["_id"])
    poll_items.remove(post.get("poll_id"))
    if not is_author:
        audit_service.record_moderation(user, "delete_post", topic["_id"], "post",
                                         post["_id"])
        notify_moderation.content_removed(post["author_id"], "post", {
            "post_id": str(post["_id"]), "topic_id": str(topic["_id"])})
    posts_changed(topic["_id"])
    emit_post("post_updated", deleted)


FLAGS = {"pin": ("pinned", True), "unpin": ("pinned", False),
         "lock": ("locked", True), "unlock": ("locked", False)}


def moderate_post(user: dict[str, Any], post_id: Any, action: str) -> dict[str, Any]:
    """pin, unpin, lock or unlock; topic moderators and site staff only."""
    write_gate.admit(user, "moderate")
    field, value = FLAGS[action]
    post, topic = get_readable_post(user, post_id)
    if not topic_access.can_moderate(user, topic):
        raise Forbidden("Only moderators of this topic may do this.")
    updated = Post().update(post["_id"], {field: value})
    if updated is None:
        raise NotFound("Post not found.")
    audit_service.record_moderation(user, f"{action}_post", topic["_id"], "post", post["_id"])
    posts_changed(topic["_id"])
    emit_post("post_updated", updated)
    return post_views(user, [updated])[0]

"""Following a post for `post_activity` notifications (docs/NOTIFICATIONS.md). Only a
post the caller may read can be followed; another answers 404 like a missing one."""
from __future__ import annotations

from typing import Any

from services.forum import posts_service
from services.notify import notify_prefs
from services.platform.shapes.notifications import FOLLOW


def set_following(user: dict[str, Any], post_id: Any, following: bool) -> dict[str, Any]:
    post, _topic = posts_service.get_readable_post(user, post_id)
    notify_prefs.set_following(user, post["_id"], following)
    return get_following(user, post_id)


def get_following(user: dict[str, Any], post_id: Any) -> dict[str, Any]:
    post, _topic = posts_service.get_readable_post(user, post_id)
    return FOLLOW.dump({"post_id": str(post["_id"]),
                        "following": notify_prefs.is_following(post["_id"], user["_id"])})

"""Saved items: posts, comments and chat messages I keep to come back to (docs/TOPICS.md
"Saved items"). Saving needs an item I may read (else the 404 of a missing one); the list
checks again when it is read, so an item I can no longer read (I left the room, the
topic turned private, it was deleted) is left out of it, never shown."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bson import ObjectId

from models.base import isoformat, to_object_id
from models.comment import Comment
from models.message import Message
from models.post import Post
from models.saved_item import SavedItem
from services.accounts import write_gate
from services.accounts.users_service import hidden_ids
from services.chat import chat_access, chat_views
from services.forum import comments_service, posts_service
from services.platform import topic_access
from utils import clock
from utils.errors import Forbidden, NotFound

POST, COMMENT, MESSAGE = "post", "comment", "message"
ITEM_TYPES = (POST, COMMENT, MESSAGE)


def save(user: dict[str, Any], item_type: str, item_id: Any) -> None:
    """Idempotent: saving again keeps the first save's time."""
    write_gate.admit(user, "personal")
    item = _readable(user, item_type, item_id)
    SavedItem().save(user["_id"], item_type, item["_id"], clock.now())


def unsave(user: dict[str, Any], item_type: str, item_id: Any) -> None:
    """Idempotent, and the same answer whether the item exists or may be read (it tells
    nothing): an item I can no longer read can still leave my list."""
    write_gate.admit(user, "personal")
    SavedItem().unsave(user["_id"], item_type, to_object_id(item_id))


def _readable(user: dict[str, Any], item_type: str, item_id: Any) -> dict[str, Any]:
    if item_type == MESSAGE:
        return chat_access.readable_message(user, item_id)[0]
    if item_type == POST:
        item = posts_service.get_readable_post(user, item_id)[0]
    else:
        item = comments_service.get_readable_comment(user, item_id)[0]
    if item["deleted"]:
        raise NotFound(f"{item_type.capitalize()} not found.")
    return item


def list_saved(user: dict[str, Any], limit: int, cursor: str | None) -> dict[str, Any]:
    """My saved items, the latest saved first, each as its own lists show it plus `type`
    and `saved_at`. Filtered after paging, so a page may hold fewer than `limit` items;
    the cursor stays right."""
    documents, next_cursor = SavedItem().page_of(user["_id"], limit, cursor)
    views: dict[tuple[str, ObjectId], dict[str, Any]] = {}
    for item_type, viewer in VIEWERS.items():
        ids = [d["item_id"] for d in documents if d["item_type"] == item_type]
        if ids:
            views.update({(item_type, view_id): view
                          for view_id, view in viewer(user, ids).items()})
    items = [{**views[(d["item_type"], d["item_id"])], "type": d["item_type"],
              "saved_at": isoformat(d["created_at"])}
             for d in documents if (d["item_type"], d["item_id"]) in views]
    return {"items": items, "next_cursor": next_cursor}


def _post_views(user: dict[str, Any], ids: list[ObjectId]) -> dict[ObjectId, dict]:
    posts = [p for p in Post().find_by_ids(ids, posts_service.VIEW_FIELDS).values()
             if not p["deleted"]]
    readable = _readable_topics(user, {p["topic_id"] for p in posts})
    posts = [p for p in posts if p["topic_id"] in readable]
    # Left out, as post lists leave out posts by authors I hide (compared with the
    # author shown, so an anonymous post's writer is not unmasked).
    hidden = {str(uid) for uid in hidden_ids(user)}
    return {ObjectId(view["id"]): view for view in posts_service.post_views(user, posts)
            if (view.get("author") or {}).get("id") not in hidden}


def _comment_views(user: dict[str, Any], ids: list[ObjectId]) -> dict[ObjectId, dict]:
    comments = [c for c in Comment().find_by_ids(ids, comments_service.VIEW_FIELDS).values()
                if not c["deleted"]]
    # A comment is read like its post: its post's topic decides.
    posts = Post().find_by_ids([c["post_id"] for c in comments], {"topic_id": 1})
    readable = _readable_topics(user, {p["topic_id"] for p in posts.values()})
    comments = [c for c in comments
                if c["post_id"] in posts and posts[c["post_id"]]["topic_id"] in readable]
    views = comments_service.blank_hidden_authors(
        user, comments_service.comment_views(user, comments))
    return {comment_id: {**view, "replies": []} for comment_id, view in views.items()}


def _message_views(user: dict[str, Any], ids: list[ObjectId]) -> dict[ObjectId, dict]:
    messages = [m for m in Message().undeleted_by_ids(ids).values()
                if user["_id"] not in (m.get("hidden_for") or [])]  # deleted for me
    rooms = _readable_rooms(user, {m["room_id"] for m in messages})
    messages = [m for m in messages if m["room_id"] in rooms]
    return {ObjectId(view["id"]): view
            for view in chat_views.serialize_messages(messages, user["_id"])}


def _readable_topics(user: dict[str, Any], topic_ids: set[ObjectId]) -> set[ObjectId]:
    return {topic_id for topic_id in topic_ids
            if _may(lambda t=topic_id: topic_access.get_readable_topic(
                user, t, topic_access.ACCESS_FIELDS))}


def _readable_rooms(user: dict[str, Any], room_ids: set[ObjectId]) -> set[ObjectId]:
    return {room_id for room_id in room_ids
            if _may(lambda r=room_id: chat_access.readable_room(user, r))}


def _may(check: Callable[[], Any]) -> bool:
    """Whether the access check passes: not found, or a reader banned from a topic's
    chat (Forbidden), both mean "not readable now"."""
    try:
        check()
    except (NotFound, Forbidden):
        return False
    return True


VIEWERS: dict[str, Callable[[dict[str, Any], list[ObjectId]], dict[ObjectId, dict]]] = {
    POST: _post_views, COMMENT: _comment_views, MESSAGE: _message_views}

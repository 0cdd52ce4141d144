"""Deleting an account erases its name from the copies others keep of it.

Most places show a user through their id, so a deleted account reads "deleted user" by
itself (services/platform/shapes/users.py). A few documents copied the name when they were
written, and those are rewritten here:

- other users' notifications: `actors` (id and username), a direct or untitled room's
  `data.title` (the sender's username), a missed call's `data.caller_name`, a warning's
  `data.by` (the staff member who gave it);
- the call-start system messages the account wrote in chat rooms ("<name> started a
  video call"), their search terms, and a room's `last_message` copy of them.

The moderation audit log keeps `actor_username` on purpose: it is the record of who
did what with staff powers (docs/ADMIN.md).
"""
from __future__ import annotations

from typing import Any

from models.message import Message
from models.notification import Notification
from models.room import Room
from services.platform.shapes.users import DELETED_NAME


def erase(user: dict[str, Any]) -> None:
    """`user`: the account as it was before deletion (its name matches the copies)."""
    _erase_from_notifications(str(user["_id"]), user["username"])
    _erase_from_call_messages(user)


def _erase_from_notifications(uid: str, username: str) -> None:
    notifications = Notification()
    for note in notifications.naming(uid, username):
        actors = note.get("actors") or []
        named = any(actor.get("id") == uid for actor in actors)
        data = dict(note.get("data") or {})
        if named and data.get("title") == username:
            data["title"] = DELETED_NAME
        if data.get("caller_id") == uid:
            data["caller_name"] = DELETED_NAME
        if note["kind"] == "warning" and data.get("by") == username:
            data["by"] = DELETED_NAME
        notifications.rewrite_names(note["_id"], data, [
            {**a, "username": DELETED_NAME} if a.get("id") == uid else a for a in actors])


def _erase_from_call_messages(user: dict[str, Any]) -> None:
    messages = Message()
    for message in messages.call_starts_by(user["_id"]):
        body = f"{DELETED_NAME} started a {message['system'].get('kind', '')} call"
        messages.rewrite_body(message["_id"], body)
        Room().rewrite_last_message_body(message["room_id"], message["_id"], body)

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
from utils.text import search_terms


def erase(user: dict[str, Any]) -> None:
    """`user`: the account as it was before deletion (its name matches the copies)."""
    _erase_from_notifications(str(user["_id"]), user["username"])
    _erase_from_call_messages(user)


def _erase_from_notifications(uid: str, username: str) -> None:
    notifications = Notification().collection
    # Usernames are unique at any time, so a warning `by` this name was given by them.
    for note in notifications.find({"$or": [
            {"actors.id": uid}, {"data.caller_id": uid},
            {"kind": "warning", "data.by": username}]},
            {"actors": 1, "data": 1, "kind": 1}):
        actors = note.get("actors") or []
        named = any(actor.get("id") == uid for actor in actors)
        data = dict(note.get("data") or {})
        if named and data.get("title") == username:
            data["title"] = DELETED_NAME
        if data.get("caller_id") == uid:
            data["caller_name"] = DELETED_NAME
        if note["kind"] == "warning" and data.get("by") == username:
            data["by"] = DELETED_NAME
        notifications.update_one({"_id": note["_id"]}, {"$set": {
            "data": data,
            "actors": [{**a, "username": DELETED_NAME} if a.get("id") == uid else a
                       for a in actors]}})


def _erase_from_call_messages(user: dict[str, Any]) -> None:
    messages = Message().collection
    started = messages.find({"author_id": user["_id"], "system.type": "call",
                             "system.event": "started", "deleted": False},
                            {"system": 1, "room_id": 1})
    for message in started:
        body = f"{DELETED_NAME} started a {message['system'].get('kind', '')} call"
        messages.update_one({"_id": message["_id"]},
                            {"$set": {"body": body, "search_terms": search_terms(body)}})
        Room().collection.update_one({"_id": message["room_id"],
                                      "last_message.id": message["_id"]},
                                     {"$set": {"last_message.body": body}})

"""Drafts that follow me across devices (docs/MESSAGING.md "Drafts"): my unsent text in a
room, stored once per (user, room), read and written by me only, where I may read the
room. My other sockets hear `draft_updated` on `user_<id>` (never anyone else); a
message I send there, from any device, clears it.

The send path has a budget of database commands (tests/test_messages_send_path.py), so
a send does not ask MongoDB whether there is a draft to clear: Redis keeps, per user,
the set of rooms where they have one (`rt:drafts:<user_id>`), and only a send that takes
its room out of that set deletes the stored draft. Without Redis, or when it fails, the
send asks MongoDB instead."""
from __future__ import annotations

import logging
from typing import Any

from bson import ObjectId
from flask import current_app
from redis.exceptions import RedisError

from models.draft import Draft
from services.accounts import write_gate
from services.chat.chat_access import readable_room
from services.platform import realtime
from services.platform.live_rooms import user_room
from services.platform.shapes.messages import DRAFT
from utils.errors import ValidationFailed
from utils.redis_client import get_redis

log = logging.getLogger(__name__)

MARKS_PREFIX = "rt:drafts:"


def _view(room_id: ObjectId, draft: dict[str, Any] | None) -> dict[str, Any]:
    return DRAFT.dump({"room_id": str(room_id), "body": draft["body"] if draft else "",
                       "updated_at": draft["updated_at"] if draft else None})


def get_draft(user: dict[str, Any], room_id: Any) -> dict[str, Any]:
    room = readable_room(user, room_id)
    return _view(room["_id"], Draft().find(user["_id"], room["_id"]))


def save_draft(user: dict[str, Any], room_id: Any, body: str,
               sid: str | None = None) -> dict[str, Any]:
    """Store my draft (a blank body deletes it) and tell my other sockets (all of them
    for a REST call; every one but `sid` for a socket event)."""
    write_gate.admit(user, "personal")  # mine alone: nobody else ever reads it
    room = readable_room(user, room_id)
    limit = current_app.config["CHAT_MESSAGE_MAX_LENGTH"]
    if len(body) > limit:
        raise ValidationFailed(details={"body": [f"Longer than maximum length {limit}."]})
    drafts = Draft()
    if body.strip():
        draft = drafts.put(user["_id"], room["_id"], body)
    else:
        drafts.remove(user["_id"], room["_id"])
        draft = None
    _mark(user["_id"], room["_id"], draft is not None)
    view = _view(room["_id"], draft)
    realtime.emit("draft_updated", view, to=user_room(user["_id"]), skip_sid=sid)
    return view


def clear_after_send(user_id: ObjectId, room_id: ObjectId) -> None:
    """A message of mine was stored in the room: the draft it came from is gone, on
    every device."""
    client = get_redis()
    try:
        marked = client is None or client.srem(f"{MARKS_PREFIX}{user_id}", str(room_id)) > 0
    except RedisError as exc:
        log.warning("draft marks of %s unreadable: %s", user_id, exc)
        marked = True  # cannot tell: the database answers
    if marked and Draft().remove(user_id, room_id):
        realtime.emit("draft_updated", _view(room_id, None), to=user_room(user_id))


def _mark(user_id: ObjectId, room_id: ObjectId, on: bool) -> None:
    """Note in Redis whether I keep a draft in the room, after the database write."""
    client = get_redis()
    if client is None:
        return
    key = f"{MARKS_PREFIX}{user_id}"
    try:
        if on:
            client.sadd(key, str(room_id))
        else:
            client.srem(key, str(room_id))
    except RedisError as exc:  # the draft is stored; only a send's clearing depends on it
        log.warning("draft mark of %s in %s not written: %s", user_id, room_id, exc)

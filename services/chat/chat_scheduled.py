"""Scheduled messages (docs/MESSAGING.md "Scheduled messages"): a send with `send_at` is
kept, not sent; its author lists, edits and cancels it; `send_scheduled_messages` (every
minute) sends each due one through the normal send path, so it gets its seq, events and
notifications like any message. Access is checked when it is scheduled and again when it
is sent: if the author may no longer write there, it is dropped and they are told why
(`scheduled_message_dropped`)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from models.base import isoformat, to_object_id
from models.scheduled_message import ScheduledMessage
from models.user import User
from services.accounts import write_gate
from services.chat import chat_send
from services.chat.chat_access import writable_room
from services.media import attachments
from services.notify import notifications_service
from services.platform.shapes.messages import SCHEDULED
from utils import clock, jobs
from utils.errors import APIError, NotFound, ValidationFailed
from utils.pagination import page

log = logging.getLogger(__name__)

MAX_AHEAD = timedelta(days=30)
# What the uploads of a waiting scheduled message are attached to (only its author may
# download them; services/uploads/uploads_service.py).
SCHEDULED_KIND = "scheduled"
# How many due messages one run sends at most (the next minute's run takes the rest).
SWEEP_BATCH = 200


def client_id_for(scheduled_id: ObjectId) -> str:
    """The send's client_id: a second attempt of the same item returns the first message."""
    return f"scheduled-{scheduled_id}"


def _check_send_at(send_at: datetime) -> datetime:
    now = clock.now()
    if send_at <= now:
        raise ValidationFailed(details={"send_at": ["Must be in the future."]})
    if send_at - now > MAX_AHEAD:
        raise ValidationFailed(details={"send_at": ["At most 30 days ahead."]})
    return send_at


def _check_message(user: dict[str, Any], room: dict[str, Any], body: str,
                   files: list[str], action: str = "message") -> str:
    """The write gate and the body rules now; the send path checks them again later."""
    write_gate.admit(user, action, room=room, text=body, attachments=len(files))
    return chat_send.clean_body(body, user, empty_ok=bool(files))


def schedule(user: dict[str, Any], room_id: Any, body: str, send_at: datetime,
             files: list[str] | None = None, reply_to: str | None = None,
             thread_root_id: str | None = None, also_to_room: bool = False
             ) -> dict[str, Any]:
    """Keep a message to send at `send_at`; its scheduled item."""
    room = writable_room(user, room_id)
    send_at = _check_send_at(send_at)
    files = files or []
    body = _check_message(user, room, body, files)
    # The uploads are checked now (mine, ready, not attached elsewhere) and held for the
    # item, so the sweep of never-attached uploads leaves them until it is sent.
    scheduled_id = ObjectId()
    attachments.claim(user, files, SCHEDULED_KIND, scheduled_id)
    try:
        item = ScheduledMessage().create(
            scheduled_id, user["_id"], room["_id"],
            {"body": body, "attachments": files, "reply_to": reply_to,
             "thread_root_id": thread_root_id, "also_to_room": also_to_room},
            send_at, clock.now())
    except Exception:
        attachments.release(scheduled_id)
        raise
    return SCHEDULED.dump(item)


def list_mine(user: dict[str, Any], limit: int, cursor: str | None) -> dict[str, Any]:
    items, next_cursor = ScheduledMessage().page_of(user["_id"], limit, cursor)
    return page(items, next_cursor, SCHEDULED.dump)


def _mine(user: dict[str, Any], scheduled_id: Any) -> dict[str, Any]:
    item = ScheduledMessage().find_mine(user["_id"],
                                        to_object_id(scheduled_id, "Scheduled message"))
    if item is None:  # someone else's, sent already or being sent: the same answer
        raise NotFound("Scheduled message not found.")
    return item


def update(user: dict[str, Any], scheduled_id: Any, changes: dict[str, Any]) -> dict[str, Any]:
    """Change the body or the time of one of mine that still waits."""
    write_gate.admit(user, "edit")
    item = _mine(user, scheduled_id)
    update_set: dict[str, Any] = {}
    if "send_at" in changes:
        update_set["send_at"] = _check_send_at(changes["send_at"])
    if "body" in changes:
        # Writing there still allowed (same 404 as before for a room I lost).
        room = writable_room(user, item["room_id"])
        update_set["body"] = _check_message(user, room, changes["body"], item["attachments"],
                                            "edit")
    if not update_set:
        return SCHEDULED.dump(item)
    updated = ScheduledMessage().update_mine(user["_id"], item["_id"], update_set)
    if updated is None:  # sent or cancelled meanwhile
        raise NotFound("Scheduled message not found.")
    return SCHEDULED.dump(updated)


def cancel(user: dict[str, Any], scheduled_id: Any) -> None:
    write_gate.admit(user, "delete")  # taking back what one wrote: allowed while muted
    item_id = to_object_id(scheduled_id, "Scheduled message")
    if not ScheduledMessage().delete_mine(user["_id"], item_id):
        raise NotFound("Scheduled message not found.")
    attachments.release(item_id)  # free again: attachable, or swept in time


def forget_user(user_id: ObjectId) -> None:
    """Account deletion: the scheduled messages go, and the uploads they held are free
    (the sweep removes them)."""
    scheduled = ScheduledMessage()
    for item_id in scheduled.ids_of(user_id):
        attachments.release(item_id)
    scheduled.delete_all_of(user_id)


@jobs.periodic(jobs.crontab(minute="*"))
def send_scheduled_messages() -> int:
    """Send the scheduled messages whose time came; how many were sent."""
    sent = 0
    scheduled = ScheduledMessage()
    for _ in range(SWEEP_BATCH):
        item = scheduled.claim_due(clock.now())
        if item is None:
            break
        try:
            sent += _send(item)
        except Exception:  # not the author's fault: the claim expires, a later run retries
            log.exception("scheduled message %s not sent; retried later", item["_id"])
            continue
        scheduled.remove(item["_id"])
    return sent


def _send(item: dict[str, Any]) -> int:
    author = User().find_by_id(item["author_id"])
    if author is None or author.get("deleted"):
        return 0
    attachments.release(item["_id"])  # held for the item until now: the send claims them
    try:
        chat_send.send_message(author, str(item["room_id"]), item["body"],
                               client_id_for(item["_id"]), item.get("reply_to"),
                               list(item.get("attachments") or []),
                               thread_root_id=item.get("thread_root_id"),
                               also_to_room=bool(item.get("also_to_room")))
    except APIError as exc:  # may no longer write there, or the message is refused now
        _dropped(author, item, exc)
        return 0
    return 1


def _dropped(author: dict[str, Any], item: dict[str, Any], exc: APIError) -> None:
    log.info("scheduled message %s dropped: %s", item["_id"], exc.code)
    notifications_service.notify(
        author["_id"], "scheduled_message_dropped",
        {"room_id": str(item["room_id"]), "reason": exc.code, "message": exc.message,
         "send_at": isoformat(item["send_at"])})

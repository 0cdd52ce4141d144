"""Notifications pushed to a user's subscribed browsers (docs/NOTIFICATIONS.md "Push").

When: a notification was stored (services/notify/notify_core.py `deliver`) for a user who
allows the `push` channel for its kind and has no connected socket (anyone online sees it
arrive live); the job `push_notification` then sends it to each of their subscriptions,
never in the request.

At send time the job asks again: the notification still exists and is unread, the user
still allows push for its kind and is still offline, and may still read the room or
topic it is about (the readers handed over by the app factory, `init_app`); otherwise
nothing is sent, so no push carries content of a place the recipient left.

Failures: a push service answering 429, 5xx or not at all keeps the push in the
subscription's retry slot (one per subscription: a newer push takes its place) until
`next_at`, no sooner than its `Retry-After` and after an exponential backoff; the periodic
`push_retry_sweep` sends what is due. 404/410 removes the subscription, and so does a
subscription still failing PUSH_FAILURE_DAYS after its first failure.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, current_app

from models.notification import Notification
from models.push_subscription import PushSubscription
from models.user import User
from services.notify import notify_prefs, push_keys, push_send, push_subscriptions
from services.platform import live_rooms, topic_access
from services.platform.shapes.notifications import summary
from utils import clock, jobs
from utils.errors import APIError

EXTENSION = "roundtable_push_readers"
RETRY_BASE_SECONDS = 60
RETRY_MAX_SECONDS = 6 * 3600
SWEEP_BATCH = 200
HIGH_URGENCY = frozenset({"direct_message"})
# Kinds about a place (a chat room, a topic) the recipient must still be able to read.
ABOUT_A_PLACE = frozenset({"direct_message", "mention", "post_reply", "comment_reply",
                           "thread_reply", "post_activity", "missed_call"})
TITLE = "Roundtable"

Reader = Callable[[dict[str, Any], dict[str, Any]], bool]


def init_app(app: Flask, readers: Iterable[Reader]) -> None:
    """`readers` (registrations.PUSH_READERS): `reader(user, data)` is False when the
    notification data names something of the reader's area `user` may not read now."""
    app.extensions[EXTENSION] = tuple(readers)


def readers(app: Flask | None = None) -> tuple[Reader, ...]:
    return (app or current_app).extensions.get(EXTENSION, ())


def queue(recipient: dict[str, Any], notification: dict[str, Any]) -> None:
    """After the notification was stored: push it later if the recipient wants it."""
    if not push_keys.enabled() or not notify_prefs.allows(recipient, notification["kind"],
                                                          "push"):
        return
    if live_rooms.is_online([recipient["_id"]]).get(str(recipient["_id"])):
        return
    push_notification.enqueue(str(notification["_id"]))


def _may_read(user: dict[str, Any], data: dict[str, Any]) -> bool:
    if data.get("topic_id"):
        try:
            topic_access.get_readable_topic(user, data["topic_id"], topic_access.ACCESS_FIELDS)
            if topic_access.is_banned(data["topic_id"], user["_id"]):
                return False
        except APIError:
            return False
    return all(reader(user, data) for reader in readers())


def message_for(user: dict[str, Any] | None, note: dict[str, Any] | None
                ) -> push_send.Message | None:
    """The push for `note` as of now, or None when it should not be sent any more."""
    if user is None or note is None or note.get("read") or user.get("deleted") \
            or not notify_prefs.allows(user, note["kind"], "push"):
        return None
    if note["kind"] in ABOUT_A_PLACE and not _may_read(user, note.get("data") or {}):
        return None
    if live_rooms.is_online([user["_id"]]).get(str(user["_id"])):
        return None
    tag = push_send.topic(f"{note['kind']}:{note.get('subject') or note['_id']}")
    frontend = current_app.config["FRONTEND_URL"].rstrip("/")
    payload = {"kind": note["kind"], "title": TITLE, "body": summary(note),
               "url": f"{frontend}/notifications", "tag": tag,
               "notification_id": str(note["_id"]),
               "unread_count": Notification().unread_count(user["_id"])}
    return push_send.Message(payload, current_app.config["PUSH_TTL_SECONDS"],
                             "high" if note["kind"] in HIGH_URGENCY else "normal", tag)


@jobs.task()
def push_notification(notification_id: str) -> int:
    """Push one notification to every subscription of its user; how many took it."""
    note = Notification().find_by_id(notification_id)
    if note is None:
        return 0
    user = User().find_by_id(note["user_id"])
    message = message_for(user, note)
    if message is None:
        return 0
    sent = 0
    for subscription in PushSubscription().of_user(user["_id"]):
        retry = subscription.get("retry")
        if retry and retry.get("next_at") and retry["next_at"] > clock.now():
            # Told to wait (Retry-After, backoff): this push waits in its place.
            PushSubscription().wait_with(subscription["_id"], note["_id"])
            continue
        sent += attempt(subscription, note["_id"], message)
    return sent


def attempt(subscription: dict[str, Any], notification_id: Any,
            message: push_send.Message) -> bool:
    """Send `message` to one subscription and keep what the push service answered."""
    stored = PushSubscription()
    if push_subscriptions.endpoint_problem(subscription["endpoint"]):
        stored.delete(subscription["_id"])  # its push service is no longer allowed
        return False
    outcome = push_send.send(subscription, message)
    if outcome.result == push_send.DELIVERED:
        stored.delivered(subscription["_id"])
        return True
    if outcome.result == push_send.GONE:
        stored.delete(subscription["_id"])
    elif outcome.result == push_send.RETRY:
        _retry_later(subscription, notification_id, outcome.retry_after)
    return False


def _retry_later(subscription: dict[str, Any], notification_id: Any, wait: float) -> None:
    now = clock.now()
    since = subscription.get("failing_since")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=datetime.UTC)
    limit = datetime.timedelta(days=current_app.config["PUSH_FAILURE_DAYS"])
    if since is not None and now - since >= limit:
        PushSubscription().delete(subscription["_id"])
        return
    attempts = ((subscription.get("retry") or {}).get("attempts") or 0) + 1
    backoff = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    next_at = now + datetime.timedelta(seconds=max(wait, backoff))
    PushSubscription().failed(subscription, notification_id, attempts, next_at)


@jobs.periodic(jobs.crontab(minute="*"))
def push_retry_sweep() -> int:
    """Send the pushes whose retry time came; how many were delivered."""
    sent = 0
    for subscription in PushSubscription().retry_due(clock.now(), SWEEP_BATCH):
        if not PushSubscription().claim_retry(subscription):
            continue  # another consumer has it
        note = Notification().find_by_id(subscription["retry"]["notification_id"])
        user = User().find_by_id(subscription["user_id"])
        mine = note is not None and user is not None and note["user_id"] == user["_id"]
        message = message_for(user, note) if mine else None
        if message is None:
            PushSubscription().clear_retry(subscription["_id"])  # nothing left to send
            continue
        sent += attempt(subscription, note["_id"], message)
    return sent

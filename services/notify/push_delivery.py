"""Notifications pushed to a user's subscribed browsers (docs/NOTIFICATIONS.md "Push").

When: a notification was stored (services/notify/notify_core.py `deliver`) for a user who
allows the `push` channel for its kind and has no connected socket (anyone online sees it
arrive live); the job `push_notification` then sends it to each of their subscriptions,
never in the request.

At send time the job asks again: the notification still exists and is unread, the user
still allows push for its kind and is still offline, and may still read the room or
topic it is about (the readers handed over by the app factory, `init_app`); otherwise
nothing is sent, so no push carries content of a place the recipient left. During the
user's quiet hours (services/notify/quiet_hours.py; moderation notices excepted) the push
waits in each subscription's slot until they end, and the sweep then asks all of it again.

Failures: a push service answering 429, 5xx or not at all keeps the push in the
subscription's retry slot (one per subscription: a newer push takes its place) until
`next_at`, no sooner than its `Retry-After` and after an exponential backoff; the periodic
`push_retry_sweep` sends what is due. 404/410 removes the subscription, and so does a
subscription still failing PUSH_FAILURE_DAYS after its first failure.

Pushes that are no notification (a call ringing and its end, services/calls/call_push.py)
go out through the same `push_to`, built by `message`; they are not retried.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, current_app

from models.notification import Notification
from models.push_subscription import PushSubscription
from models.user import User
from services.notify import notify_prefs, push_keys, push_send, push_subscriptions, quiet_hours
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
    if online(recipient["_id"]):
        return
    push_notification.enqueue(str(notification["_id"]))


def online(user_id: Any) -> bool:
    """Whether any socket of the user is connected (then they hear it live, in the app)."""
    return bool(live_rooms.is_online([user_id]).get(str(user_id)))


def call_topic(call_id: Any) -> str:
    """What every push about one call is keyed on: the ringing, its end and the missed
    call share one `Topic`, so each replaces the one before (services/calls/call_push.py)."""
    return f"call:{call_id}"


def message(user: dict[str, Any], kind: str, body: str, url: str, topic_key: str, ttl: int,
            urgency: str, notification_id: str | None = None, **extra: Any
            ) -> push_send.Message:
    """A push for `user` in the payload shape of docs/NOTIFICATIONS.md "Push"."""
    tag = push_send.topic(topic_key)
    payload = {"kind": kind, "title": TITLE, "body": body, "url": url, "tag": tag,
               "notification_id": notification_id,
               "unread_count": Notification().unread_count(user["_id"]), **extra}
    return push_send.Message(payload, ttl, urgency, tag)


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
    if online(user["_id"]):
        return None
    data = note.get("data") or {}
    topic_key = call_topic(data["call_id"]) if note["kind"] == "missed_call" \
        else f"{note['kind']}:{note.get('subject') or note['_id']}"
    frontend = current_app.config["FRONTEND_URL"].rstrip("/")
    return message(user, note["kind"], summary(note), f"{frontend}/notifications", topic_key,
                   current_app.config["PUSH_TTL_SECONDS"],
                   "high" if note["kind"] in HIGH_URGENCY else "normal", str(note["_id"]))


@jobs.task()
def push_notification(notification_id: str) -> int:
    """Push one notification to every subscription of its user; how many took it."""
    note = Notification().find_by_id(notification_id)
    if note is None:
        return 0
    user = User().find_by_id(note["user_id"])
    pushed = message_for(user, note)
    if pushed is None or _held_for_quiet_hours(user, note):
        return 0
    return push_to(user, pushed, note["_id"])


def _held_for_quiet_hours(user: dict[str, Any], note: dict[str, Any],
                          subscriptions: list[dict[str, Any]] | None = None) -> bool:
    """During the user's quiet hours (moderation excepted: quiet_hours.NEVER_HELD) the push
    waits in each subscription's slot until they end; the sweep then decides again."""
    until = quiet_hours.held_until(user, note["kind"], clock.now())
    if until is None:
        return False
    for subscription in subscriptions or PushSubscription().of_user(user["_id"]):
        PushSubscription().hold(subscription["_id"], note["_id"], until)
    return True


def push_to(user: dict[str, Any], pushed: push_send.Message,
            notification_id: Any = None) -> int:
    """Send `pushed` to every subscription of `user`; how many took it. A subscription told
    to wait (Retry-After, backoff) keeps the notification in its retry slot, or skips a
    push that is no notification (a ringing call: it would be stale by then)."""
    sent = 0
    for subscription in PushSubscription().of_user(user["_id"]):
        retry = subscription.get("retry")
        if retry and retry.get("next_at") and retry["next_at"] > clock.now():
            if notification_id is not None:
                PushSubscription().wait_with(subscription["_id"], notification_id)
            continue
        sent += attempt(subscription, notification_id, pushed)
    return sent


def attempt(subscription: dict[str, Any], notification_id: Any,
            pushed: push_send.Message) -> bool:
    """Send `pushed` to one subscription and keep what the push service answered."""
    stored = PushSubscription()
    if push_subscriptions.endpoint_problem(subscription["endpoint"]):
        stored.delete(subscription["_id"])  # its push service is no longer allowed
        return False
    outcome = push_send.send(subscription, pushed)
    if outcome.result == push_send.DELIVERED:
        stored.delivered(subscription["_id"])
        return True
    if outcome.result == push_send.GONE:
        stored.delete(subscription["_id"])
    elif outcome.result == push_send.RETRY:
        _retry_later(subscription, notification_id, outcome.retry_after)
    return False


def _retry_later(subscription: dict[str, Any], notification_id: Any, wait: float) -> None:
    # A push that is no notification is not retried; the slot keeps what waited in it.
    notification_id = notification_id or (subscription.get("retry") or {}).get(
        "notification_id")
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
        pushed = message_for(user, note) if mine else None
        if pushed is None:
            PushSubscription().clear_retry(subscription["_id"])  # nothing left to send
            continue
        if _held_for_quiet_hours(user, note, [subscription]):
            continue  # quiet hours began (or moved) while it waited
        sent += attempt(subscription, note["_id"], pushed)
    return sent

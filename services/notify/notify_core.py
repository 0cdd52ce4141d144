"""The one way a notification is made: check what the recipient allows, store (or fold
into a coalesced one), then tell every device (`notification` and `notification_count`
to `user_<id>`, through `realtime.emit`, after the write) and, for a user with no open
socket, queue its Web Push (services/notify/push_delivery.py).

Coalescing rule (docs/NOTIFICATIONS.md): for a kind in COALESCED, events of that kind on
the same subject for the same user within the same window slot of
NOTIFY_COALESCE_SECONDS (slot = epoch seconds // window) update one notification: the
count grows, the last actors are kept, and it becomes unread and moves to the top again.
"""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from flask import current_app

from models.notification import Notification
from models.user import User
from services.notify import notify_prefs, push_delivery
from services.platform import live_rooms, realtime, user_copies
from services.platform.shapes.notifications import NOTIFICATION
from services.platform.shapes.users import PUBLIC_FIELDS, stand_in
from utils import clock

COALESCED = frozenset({"post_reply", "comment_reply", "mention", "post_activity",
                       "direct_message", "thread_reply"})


def actor_of(user: dict[str, Any]) -> dict[str, Any]:
    """What a notification stores of an actor: the id it is shown by (and the name, for
    a pseudonym, which has no account to read it from). An anonymous author is recorded
    as their pseudonym's stand-in, never as themselves."""
    shown = user.get("shown_as")
    if shown:
        return {"id": str(shown["_id"]), "username": shown["username"], "pseudonym": True}
    return {"id": str(user["_id"]), "username": user["username"]}


def deliver(recipient_id: ObjectId, kind: str, data: dict[str, Any],
            actor: dict[str, Any] | None = None, subject: str | None = None,
            sources: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Notify one user of one event, or nothing when they would not want it: the actor
    themselves, a blocked actor, a muted source (`sources` is {target type: id}; the actor
    counts as a `user` source), a kind switched off. `data` must be JSON-ready."""
    # The recipient, their blocks and mutes: this process's copies (services.platform.user_copies).
    recipient = user_copies.active_user(recipient_id)
    if recipient is None or not wanted(recipient, kind, actor, sources or {}):
        return None
    group_key = str(ObjectId())
    if kind in COALESCED and subject is not None:
        window = max(1, int(current_app.config["NOTIFY_COALESCE_SECONDS"]))
        slot = int(clock.time()) // window
        group_key = f"{recipient['_id']}:{kind}:{subject}:{slot}"
    notification = Notification().add(
        group_key, recipient["_id"], kind, data,
        actor=actor_of(actor) if actor else None, subject=subject,
        email=notify_prefs.allows(recipient, kind, "email"))
    publish(recipient["_id"], notification)
    push_delivery.queue(recipient, notification)
    return notification


def wanted(recipient: dict[str, Any], kind: str, actor: dict[str, Any] | None,
           sources: dict[str, Any]) -> bool:
    if actor is not None and actor["_id"] == recipient["_id"]:
        return False
    if kind in notify_prefs.MODERATION:
        return True
    if not notify_prefs.allows(recipient, kind, "in_app"):
        return False
    if actor is not None:
        if user_copies.is_blocked_between(actor["_id"], recipient["_id"]):
            return False
        # A user mute acts on the author shown: muting a writer must not silence their
        # pseudonym (that would tell who is behind it); muting the stand-in does.
        shown = actor.get("shown_as")
        sources = {**sources, "user": ObjectId(shown["_id"]) if shown else actor["_id"]}
    return not notify_prefs.muted([recipient["_id"]], sources)


def serialize(notification: dict[str, Any]) -> dict[str, Any]:
    """One notification as it goes out live: its actors from this process's copies (the
    send path's command budget has no room for a read of users)."""
    return serialize_all([notification], from_copies=True)[0]


def serialize_all(notifications: list[dict[str, Any]], from_copies: bool = False
                  ) -> list[dict[str, Any]]:
    """Actors shown like every other user reference, as they are now (a rename, a new
    avatar, a deleted account): one read of their public fields for the whole list, or
    `from_copies` the process's copies first (user_copies, checked against each user's
    stamp) and a read only of those not there."""
    stored = [a for n in notifications for a in n.get("actors") or []]
    wanted = [ObjectId(a["id"]) for a in stored
              if not a.get("pseudonym") and ObjectId.is_valid(a["id"])]
    users: dict[ObjectId, dict[str, Any]] = {}
    if from_copies:
        for user_id in wanted:
            copy = user_copies.active_user(user_id)
            if copy is not None:
                users[user_id] = copy
    missing = [user_id for user_id in wanted if user_id not in users]
    if missing:
        users.update(User().find_by_ids(missing, PUBLIC_FIELDS))
    by_id = {str(user_id): user for user_id, user in users.items()}
    return [NOTIFICATION.dump({**n, "actors": [
        by_id.get(a["id"]) or stand_in(a["id"], a["username"]) for a in n.get("actors") or []
    ]}) for n in notifications]


def publish(user_id: ObjectId, notification: dict[str, Any]) -> None:
    realtime.emit("notification", serialize(notification), to=live_rooms.user_room(user_id))
    publish_count(user_id)


def publish_count(user_id: ObjectId) -> int:
    """The exact unread count, read after the write, to every device of the user."""
    count = Notification().unread_count(user_id)
    realtime.emit("notification_count", {"count": count}, to=live_rooms.user_room(user_id))
    return count

"""What a user wants to hear about: per kind and channel settings, mutes, post follows.

Settings live in the user's `settings.notifications`: the account-wide switches of
`PATCH /api/users/me` (`mentions`, `replies`, `direct_messages`, `friend_requests`,
`email`) and, under `kinds`, one `{in_app, email, push}` set per kind
(`PATCH /api/notifications/settings`). A kind reaches a channel only when both allow it.
A kind never set allows in-app and email; push only for PUSHED_BY_DEFAULT.
"""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.base import to_object_id
from models.notification import Notification
from models.notification_mute import TARGET_TYPES, NotificationMute
from models.post_follow import PostFollow
from models.push_subscription import PushSubscription
from models.user import User, default_settings
from services.platform import tokens, user_copies
from services.platform.shapes.notifications import MUTE
from utils.pagination import page

# Every kind, and the account-wide switch of PATCH /api/users/me that also gates it.
KINDS: dict[str, str | None] = {
    "post_reply": "replies", "comment_reply": "replies", "thread_reply": "replies",
    "mention": "mentions",
    "direct_message": "direct_messages", "friend_request": "friend_requests",
    "friend_accepted": "friend_requests", "topic_invitation": None, "missed_call": None,
    "post_activity": None, "warning": None, "content_removed": None, "topic_ban": None,
    "call": None, "scheduled_message_dropped": None,
}
# `call` is a call ringing: only its `push` channel means something (a call rings in the
# app on every open socket, and is never mailed); services/calls/call_push.py.
# A user is always told in-app what moderators did to their content or account: mutes,
# blocks and the in-app switch do not apply (the email channel still does).
MODERATION = frozenset({"warning", "content_removed", "topic_ban"})
CHANNELS = ("in_app", "email", "push")
# What reaches a subscribed browser unless switched off: direct messages, mentions,
# replies and calls (services/notify/push_delivery.py).
PUSHED_BY_DEFAULT = frozenset({"direct_message", "mention", "post_reply", "comment_reply",
                               "thread_reply", "missed_call", "call"})
# How often a user gets a digest mail of their unread activity (services/notify/notify_digest.py).
DIGESTS = ("off", "daily", "weekly")


def _stored(user: dict[str, Any]) -> dict[str, Any]:
    return {**default_settings()["notifications"],
            **user.get("settings", {}).get("notifications", {})}


def kind_settings(user: dict[str, Any]) -> dict[str, dict[str, bool]]:
    """Each kind's channels as stored, or their defaults."""
    stored = _stored(user).get("kinds", {})
    return {kind: {channel: bool(stored.get(kind, {}).get(channel, _default(kind, channel)))
                   for channel in CHANNELS} for kind in KINDS}


def _default(kind: str, channel: str) -> bool:
    return channel != "push" or kind in PUSHED_BY_DEFAULT


def allows(user: dict[str, Any], kind: str, channel: str) -> bool:
    if channel == "in_app" and kind in MODERATION:
        return True
    stored = _stored(user)
    switch = KINDS[kind]
    if switch is not None and not stored.get(switch, True):
        return False
    if channel == "email" and not stored.get("email", True):
        return False
    return kind_settings(user)[kind][channel]


def digest(user: dict[str, Any]) -> str:
    value = _stored(user).get("digest", "off")
    return value if value in DIGESTS else "off"


def settings_view(user: dict[str, Any]) -> dict[str, Any]:
    return {"kinds": kind_settings(user), "digest": digest(user)}


def update_settings(user: dict[str, Any], kinds: dict[str, dict[str, bool]] | None = None,
                    digest_every: str | None = None) -> dict[str, Any]:
    merged = kind_settings(user)
    for kind, channels in (kinds or {}).items():
        merged[kind].update(channels)
    changes: dict[str, Any] = {"settings.notifications.kinds": merged}
    if digest_every is not None:
        changes["settings.notifications.digest"] = digest_every
    updated = User().update(user["_id"], changes)
    if updated:
        updated = rotate_resubscribed(user, updated)
    return settings_view(updated or user)


# Unsubscribe links (services/notify/notify_mail.py) carry the nonce of their mail (a kind, or
# the digest); turning that mail back on replaces it, so an old link cannot apply again.

def _mailed(user: dict[str, Any]) -> dict[str, bool]:
    return {**{kind: allows(user, kind, "email") for kind in KINDS},
            "digest": digest(user) != "off"}


def mail_nonce(user: dict[str, Any], mail: str) -> str:
    return (user.get("mail_nonces") or {}).get(mail, "")


def rotate_resubscribed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """New nonces for the mails `after` allows and `before` did not; the user as stored."""
    was = _mailed(before)
    back_on = [mail for mail, on in _mailed(after).items() if on and not was[mail]]
    if not back_on:
        return after
    return User().update(after["_id"], {f"mail_nonces.{mail}": tokens.new_nonce()
                                        for mail in back_on}) or after


# Mutes

def mute(user: dict[str, Any], target_type: str, target_id: Any) -> None:
    """Muting never tells whether the target exists: the answer is the same either way,
    and a mute of nothing mutes nothing."""
    NotificationMute().add(user["_id"], target_type, to_object_id(target_id, "Mute"))


def unmute(user: dict[str, Any], target_type: str, target_id: Any) -> None:
    NotificationMute().remove(user["_id"], target_type, to_object_id(target_id, "Mute"))


def list_mutes(user: dict[str, Any], limit: int, cursor: str | None) -> dict[str, Any]:
    items, next_cursor = NotificationMute().page_for(user["_id"], limit, cursor)
    return page(items, next_cursor, MUTE.dump)


def muted(user_ids: list[ObjectId], sources: dict[str, ObjectId]) -> set[ObjectId]:
    """Which of `user_ids` muted any of `sources` ({target type: id}): from the copies
    of their mutes (services.platform.user_copies), MongoDB only for those without one."""
    targets = {(kind, oid) for kind, oid in sources.items()
               if kind in TARGET_TYPES and oid is not None}
    if not user_ids or not targets:
        return set()
    copied = user_copies.mutes_of(user_ids)
    found = {uid for uid, mutes in copied.items() if mutes is not None and mutes & targets}
    ask = [uid for uid in user_ids if copied.get(uid) is None]
    if ask:
        found |= NotificationMute().muting(ask, dict(targets))
    return found


def muted_rooms(user_id: ObjectId, rooms: list[dict[str, Any]]) -> set[ObjectId]:
    """Ids of `rooms` muted by `user_id`: the room itself, or (a topic room) its topic."""
    mutes = user_copies.mutes_of([user_id]).get(user_id)
    if mutes is not None:
        by_room = {r["_id"] for r in rooms if ("room", r["_id"]) in mutes}
        topics = {r["topic_id"] for r in rooms
                  if r.get("topic_id") and ("topic", r["topic_id"]) in mutes}
    else:
        stored = NotificationMute()
        by_room = stored.targets_of(user_id, "room", [r["_id"] for r in rooms])
        topics = stored.targets_of(user_id, "topic", list({r["topic_id"] for r in rooms
                                                           if r.get("topic_id")}))
    return by_room | {r["_id"] for r in rooms if r.get("topic_id") in topics}


# Post follows

def follow_by_default(post_id: ObjectId, user_id: ObjectId) -> None:
    PostFollow().follow_by_default(post_id, user_id)


def set_following(user: dict[str, Any], post_id: ObjectId, following: bool) -> None:
    PostFollow().set(post_id, user["_id"], following)


def is_following(post_id: ObjectId, user_id: ObjectId) -> bool:
    return PostFollow().is_following(post_id, user_id)


def followers(post_id: ObjectId) -> list[ObjectId]:
    return PostFollow().followers(post_id)


def forget_user(user_id: ObjectId) -> None:
    """A deleted account keeps no notifications, mutes, follows or push subscriptions."""
    Notification().delete_all_of(user_id)
    PushSubscription().delete_all_of(user_id)
    NotificationMute().delete_all_of(user_id)
    PostFollow().delete_all_of(user_id)

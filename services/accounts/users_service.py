"""Profiles, search, friends and blocks.

`serialize_public_user` is what anyone may see of a user (never the email);
`serialize_private_user` is the owner's view. Other areas render authors with the public
one, so a deleted account shows as "deleted user" wherever its posts remain.
"""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from flask import current_app

from models.base import to_object_id
from models.block import Block
from models.friendship import ACCEPTED, PENDING, Friendship
from models.user import User, default_settings
from models.user_hide import UserHide
from services.accounts import write_gate
from services.notify import notify_core, notify_prefs, quiet_hours
from services.platform import avatars, content_filter, file_storage, user_copies
from services.platform.shapes.users import (
    BLOCKED,
    FRIEND,
    FRIEND_REQUEST,
    PRIVATE_USER,
    PUBLIC_FIELDS,
    PUBLIC_USER,
)
from utils.errors import BadRequest, Conflict, Forbidden, NotFound
from utils.pagination import page


def public_users(ids: list[ObjectId]) -> dict[ObjectId, dict[str, Any]]:
    """{_id: user} with what serialize_public_user needs (never hashes, email or settings)."""
    return User().find_by_ids(ids, PUBLIC_FIELDS)


def serialize_public_user(user: dict[str, Any]) -> dict[str, Any]:
    return PUBLIC_USER.dump(user)


def serialize_private_user(user: dict[str, Any]) -> dict[str, Any]:
    return PRIVATE_USER.dump(user)


# Profiles

def update_profile(user: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Only display_name, bio, settings, time_zone and quiet_hours (validated by the
    route's schema, which refuses every other field; services.notify.quiet_hours)."""
    write_gate.admit(user, "profile")
    updates: dict[str, Any] = {}
    if "display_name" in changes:
        # Masked or refused (422) by the content filter like every other text people see.
        name = content_filter.apply((changes["display_name"] or "").strip(), "display_name",
                                    user) or None
        updates["display_name"] = name
        updates["display_name_lower"] = name.lower() if name else None
    if "bio" in changes:
        updates["bio"] = content_filter.apply((changes["bio"] or "").strip(), "bio", user)
    if "settings" in changes:
        settings = {**default_settings(), **user.get("settings", {})}
        incoming = changes["settings"]
        if "notifications" in incoming:
            settings["notifications"] = {**settings["notifications"],
                                         **incoming["notifications"]}
        if "allow_messages_from" in incoming:
            settings["allow_messages_from"] = incoming["allow_messages_from"]
        updates["settings"] = settings
    for field in ("time_zone", "quiet_hours"):
        if field in changes:
            updates[field] = changes[field]
    if not updates:
        return user
    updated = User().update(user["_id"], updates)
    if updated and {"time_zone", "quiet_hours"} & set(changes):
        quiet_hours.changed(user["_id"])
    return notify_prefs.rotate_resubscribed(user, updated) if updated else updated


def get_public_profile(viewer: dict[str, Any] | None, username: str) -> dict[str, Any]:
    """A user someone who blocked the viewer, or was blocked by them, is not found."""
    user = User().find_by_username(username) if len(username) <= 64 else None
    if user is None or (viewer and is_blocked_between(viewer["_id"], user["_id"])):
        raise NotFound("User not found.")
    return user


def generated_avatar(text: str, color: int) -> str:
    """The initials picture of a user without an uploaded one (PublicUser.avatar_url):
    an SVG made here from its URL alone, so it works offline, tells no third party who
    looks at whom, and reads no account."""
    return avatars.initials_svg(text, color)


def set_avatar(user: dict[str, Any], data: bytes) -> dict[str, Any]:
    write_gate.admit(user, "profile")
    image = avatars.normalize(data, current_app.config["AVATAR_MAX_BYTES"])
    key = file_storage.save_avatar(image)
    updated = User().update(user["_id"], {"avatar_key": key})
    file_storage.get_storage().delete(user.get("avatar_key"))
    return updated


def search(viewer: dict[str, Any] | None, query: str, limit: int,
           cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Users whose username or display name starts with `query`, by username."""
    return User().search_page(query, Block().related_ids(viewer["_id"]) if viewer else None,
                              limit, cursor, {**PUBLIC_FIELDS, "username_lower": 1})


# Blocks

def is_blocked_between(a: ObjectId, b: ObjectId) -> bool:
    """True when either user blocked the other (messaging refuses then). `a` is the
    acting user: the answer comes from their copy (services.platform.user_copies)."""
    return user_copies.is_blocked_between(a, b)


def are_friends(a: ObjectId, b: ObjectId) -> bool:
    pair = Friendship().find_pair(a, b)
    return pair is not None and pair["status"] == ACCEPTED


def _other_user(user: dict[str, Any], target_id: str) -> dict[str, Any]:
    target = User().find_active(target_id)
    if target is None:
        raise NotFound("User not found.")
    if target["_id"] == user["_id"]:
        raise BadRequest("You cannot do this to yourself.")
    return target


def block(user: dict[str, Any], target_id: str) -> None:
    """Blocking also ends a friendship and any pending request between the two."""
    target = _other_user(user, target_id)
    Block().add(user["_id"], target["_id"])
    Friendship().delete_pair(user["_id"], target["_id"])


def unblock(user: dict[str, Any], target_id: str) -> None:
    target = _other_user(user, target_id)
    Block().remove(user["_id"], target["_id"])


def list_blocked(user: dict[str, Any], limit: int, cursor: str | None) -> dict[str, Any]:
    documents, next_cursor = Block().blocked_page(user["_id"], limit, cursor)
    people = _users_by_id([d["blocked_id"] for d in documents])
    return page(documents, next_cursor,
                lambda d: BLOCKED.dump({**d, "user": people[d["blocked_id"]]}))


# Hiding: their content leaves my lists, without a block (they can still message me).

def hide(user: dict[str, Any], target_id: str) -> None:
    UserHide().add(user["_id"], _other_user(user, target_id)["_id"])


def unhide(user: dict[str, Any], target_id: str) -> None:
    UserHide().remove(user["_id"], _other_user(user, target_id)["_id"])


def hidden_ids(user: dict[str, Any] | None) -> set[ObjectId]:
    """Authors whose content `user` hides (none for the anonymous)."""
    return set(user_copies.hidden_by(user["_id"])) if user else set()


def list_hidden(user: dict[str, Any], limit: int, cursor: str | None) -> dict[str, Any]:
    documents, next_cursor = UserHide().page_for(user["_id"], limit, cursor)
    people = _users_by_id([d["hidden_id"] for d in documents])
    return page(documents, next_cursor,
                lambda d: BLOCKED.dump({**d, "user": people[d["hidden_id"]]}))


def _users_by_id(ids: list[ObjectId]) -> dict[ObjectId, dict[str, Any]]:
    return User().find_by_ids(ids)


# Friends

def send_friend_request(user: dict[str, Any], target_id: str) -> dict[str, Any]:
    """A request to someone who already asked me accepts theirs instead."""
    write_gate.admit(user, "friend_request")
    target = _other_user(user, target_id)
    if is_blocked_between(user["_id"], target["_id"]):
        raise Forbidden("You cannot send this user a friend request.")
    friendships = Friendship()
    existing = friendships.find_pair(user["_id"], target["_id"])
    if existing and existing["status"] == PENDING and existing["addressee_id"] == user["_id"]:
        accepted = friendships.accept(existing["_id"], user["_id"])
        if accepted:
            _notify_friend(target["_id"], "friend_accepted", user, accepted)
            return _request_view(accepted, user, target)
    if existing:
        raise Conflict("A friend request or friendship already exists.")
    created = friendships.create_request(user["_id"], target["_id"])
    _notify_friend(target["_id"], "friend_request", user, created)
    return _request_view(created, user, target)


def _notify_friend(recipient_id: ObjectId, kind: str, actor: dict[str, Any],
                   request: dict[str, Any]) -> None:
    notify_core.deliver(recipient_id, kind, {"request_id": str(request["_id"]),
                                             "user_id": str(actor["_id"])}, actor=actor)


def _request_view(document: dict[str, Any], me: dict[str, Any],
                  other: dict[str, Any]) -> dict[str, Any]:
    direction = "outgoing" if document["requester_id"] == me["_id"] else "incoming"
    return FRIEND_REQUEST.dump({**document, "user": other, "direction": direction})


def list_friend_requests(user: dict[str, Any], direction: str | None, limit: int,
                         cursor: str | None) -> dict[str, Any]:
    documents, next_cursor = Friendship().pending_page(user["_id"], direction, limit, cursor)
    people = _users_by_id([_other_id(d, user["_id"]) for d in documents])
    return page(documents, next_cursor,
                lambda d: _request_view(d, user, people[_other_id(d, user["_id"])]))


def _other_id(document: dict[str, Any], me: ObjectId) -> ObjectId:
    return document["addressee_id"] if document["requester_id"] == me else document["requester_id"]


def accept_friend_request(user: dict[str, Any], request_id: str) -> dict[str, Any]:
    write_gate.admit(user, "befriend")
    accepted = Friendship().accept(to_object_id(request_id, "Friend request"), user["_id"])
    if accepted is None:
        raise NotFound("Friend request not found.")
    friend = User().get(accepted["requester_id"], "User")
    _notify_friend(friend["_id"], "friend_accepted", user, accepted)
    return FRIEND.dump({**accepted, "user": friend})


def decline_friend_request(user: dict[str, Any], request_id: str) -> None:
    if not Friendship().delete_pending_to(to_object_id(request_id, "Friend request"),
                                          user["_id"]):
        raise NotFound("Friend request not found.")


def list_friends(user: dict[str, Any], limit: int, cursor: str | None) -> dict[str, Any]:
    documents, next_cursor = Friendship().friends_page(user["_id"], limit, cursor)
    people = _users_by_id([_other_id(d, user["_id"]) for d in documents])
    return page(documents, next_cursor,
                lambda d: FRIEND.dump({**d, "user": people[_other_id(d, user["_id"])]}))


def remove_friend(user: dict[str, Any], friend_id: str) -> None:
    friend = _other_user(user, friend_id)
    if not Friendship().delete_pair(user["_id"], friend["_id"], status=ACCEPTED):
        raise NotFound("Friend not found.")

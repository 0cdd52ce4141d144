"""Site administration: roles, site bans, warnings, the user list and the content filter.

Every function takes the acting user, checks what that user may do (the route decorator
is the first gate, not the only one), writes, then records the action in the audit log
and only then tells anyone (notification, live logout).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

from models.base import BaseModel, id_str, isoformat, to_object_id
from models.comment import Comment
from models.message import Message
from models.notification import Notification
from models.post import Post
from models.report import Report
from models.user import User
from services.accounts import auth_login, trust, write_gate
from services.notify import notifications_service
from services.platform import audit_service, content_filter, realtime, site_bans, site_mutes
from services.platform.live_rooms import user_room
from services.platform.shapes.admin import ADMIN_USER, CONTENT_FILTER
from utils import clock
from utils.errors import Conflict, Forbidden, NotFound, ValidationFailed
from utils.roles import is_admin, is_site_moderator
from utils.text import plain_text, plain_text_html

RANK = {"user": 0, "moderator": 1, "admin": 2}


def get_target_user(user_id: str) -> dict[str, Any]:
    user = User().find_active(to_object_id(user_id, "User"))
    if user is None:
        raise NotFound("User not found.")
    return user


def _require_outranks(actor: dict[str, Any], target: dict[str, Any], verb: str) -> None:
    """Moderators act on plain users only; admins on anyone but themselves."""
    if actor["_id"] == target["_id"]:
        raise Forbidden(f"You cannot {verb} yourself.")
    if not is_admin(actor) and RANK.get(target["role"], 0) >= RANK.get(actor["role"], 0):
        raise Forbidden(f"Only an admin can {verb} a {target['role']}.")


def _active_admin_count() -> int:
    return User().count_admins(site_bans.active_ban_query(False))


# Serialization

def admin_user_view(user: dict[str, Any], counts: dict[str, int] | None = None
                    ) -> dict[str, Any]:
    """The admin view of a user. Reads only: a ban past its expiry shows as none and is
    lifted by the user's next login or request (site_bans.active_ban)."""
    return serialize_admin_user(user, site_bans.ban_in_force(user), counts)


def serialize_admin_user(user: dict[str, Any], ban: dict[str, Any] | None,
                         counts: dict[str, int] | None = None) -> dict[str, Any]:
    """`ban` is the one in force (None when there is none), not the stored field; the
    mute likewise."""
    mute = site_mutes.mute_in_force(user)
    return ADMIN_USER.dump({**user, "banned": ban is not None, "ban": ban,
                            "trust_level": trust.level(user),
                            "trust_level_set": user.get("trust_level") is not None,
                            "muted": mute is not None, "mute": mute,
                            "counts": counts or {}})


def user_counts(user_ids: list[ObjectId]) -> dict[ObjectId, dict[str, int]]:
    """Content and moderation counts for a page of users, one aggregation per kind."""
    counts: dict[ObjectId, dict[str, int]] = {uid: {} for uid in user_ids}
    for name, model, field, extra in COUNTED:
        found = model().count_per(field, user_ids, extra)
        for uid in user_ids:
            counts[uid][name] = found.get(uid, 0)
    return counts


# (count name, model, user field, extra filter)
COUNTED: list[tuple[str, type[BaseModel], str, dict[str, Any]]] = [
    ("posts", Post, "author_id", {"deleted": False}),
    ("comments", Comment, "author_id", {"deleted": False}),
    ("messages", Message, "author_id", {"deleted": False}),
    ("reports_filed", Report, "reporter_id", {}),
    ("reports_against", Report, "target_author_id", {}),
    ("warnings", Notification, "user_id", {"kind": "warning"}),
]


# User list

def list_users(filters: dict[str, Any], limit: int, cursor: str | None
               ) -> tuple[list[dict[str, Any]], str | None]:
    conditions = []
    if filters.get("banned") is not None:
        conditions.append(site_bans.active_ban_query(filters["banned"]))
    if filters.get("muted") is not None:
        muted = site_mutes.active_mute_query()
        conditions.append(muted if filters["muted"] else {"$nor": [muted]})
    return User().staff_page(filters.get("q"), filters.get("role"), conditions, limit, cursor)


def admin_user_page(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = user_counts([user["_id"] for user in users])
    return [admin_user_view(user, counts[user["_id"]]) for user in users]


# Roles

def update_user(actor: dict[str, Any], user_id: str, changes: dict[str, Any]
                ) -> dict[str, Any]:
    """`changes`: `role` and/or `trust_level` (services.accounts.trust)."""
    reason = changes.get("reason")
    if "role" in changes:
        change_role(actor, user_id, changes["role"], reason)
    if "trust_level" in changes:
        trust.set_level(actor, user_id, changes["trust_level"], reason)
    return get_target_user(user_id)


def change_role(actor: dict[str, Any], user_id: str, role: str, reason: str | None
                ) -> dict[str, Any]:
    write_gate.admit(actor, "admin")
    target = get_target_user(user_id)
    if target["role"] == role:
        return target
    users = User()
    updated = users.update_if(target["_id"], {"role": target["role"]}, {"$set": {"role": role}})
    if updated is None:
        raise Conflict("The user's role changed meanwhile; reload and try again.")
    # Count after the write: of two admins demoting each other at once, at least one sees
    # zero and puts its change back, so the site never ends up without an admin.
    if target["role"] == "admin" and _active_admin_count() == 0:
        users.update_if(target["_id"], {"role": role}, {"$set": {"role": "admin"}})
        raise Conflict("The last admin cannot be demoted.")
    audit_service.record(actor, "user.role_change", "user", target["_id"], reason,
                         {"from": target["role"], "to": role})
    return updated


# Bans and warnings

def ban_user(actor: dict[str, Any], user_id: str, reason: str,
             expires_at: datetime | None, source: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    """Site ban: sessions and tokens end at once and live sockets are logged out."""
    write_gate.admit(actor, "admin")
    if not is_site_moderator(actor):
        raise Forbidden()
    if expires_at is not None and expires_at <= clock.now():
        raise ValidationFailed(details={"expires_at": ["must be in the future"]})
    target = get_target_user(user_id)
    _require_outranks(actor, target, "ban")
    ban = {"reason": reason, "expires_at": expires_at, "banned_by": actor["_id"],
           "banned_at": clock.now()}
    users = User()
    users.update(target["_id"], {"ban": ban})
    if target["role"] == "admin" and _active_admin_count() == 0:
        users.update_if(target["_id"], {"ban.banned_at": ban["banned_at"]},
                        {"$set": {"ban": target.get("ban")}})
        raise Conflict("The last admin cannot be banned.")
    # Sessions, tokens and (told why) every live socket end, on every process.
    updated = auth_login.end_all_sessions(target["_id"], reason=f"banned: {reason}")
    audit_service.record(actor, "user.ban", "user", target["_id"], reason,
                         {"expires_at": expires_at, **(source or {})})
    return updated


def unban_user(actor: dict[str, Any], user_id: str, reason: str | None) -> dict[str, Any]:
    return _lift(actor, user_id, reason, "ban", "banned", site_bans.active_ban)


def _lift(actor: dict[str, Any], user_id: str, reason: str | None, field: str,
          done: str, in_force: Any) -> dict[str, Any]:
    """End the user's site `field` ("ban" or "mute") now in force: only if it is still the
    one read (its `<done>_at` stamp), audited as `user.un<field>`."""
    write_gate.admit(actor, "admin")
    if not is_site_moderator(actor):
        raise Forbidden()
    target = get_target_user(user_id)
    current = in_force(target)
    if current is None:
        raise Conflict(f"This user is not {done}.")
    stamp = f"{field}.{done}_at"
    updated = User().update_if(target["_id"], {stamp: current[f"{done}_at"]},
                               {"$set": {field: None}})
    if updated is None:
        raise Conflict(f"The {field} changed meanwhile; reload and try again.")
    audit_service.record(actor, f"user.un{field}", "user", target["_id"], reason,
                         {f"{field}_reason": current["reason"]})
    return updated


def mute_user(actor: dict[str, Any], user_id: str, reason: str,
              expires_at: datetime | None) -> dict[str, Any]:
    """Site mute: the account keeps reading but writes nothing until `expires_at`
    (services.platform.site_mutes). Sessions stay; the user is told live (`account_muted`)."""
    write_gate.admit(actor, "admin")
    if not is_site_moderator(actor):
        raise Forbidden()
    if expires_at is not None and expires_at <= clock.now():
        raise ValidationFailed(details={"expires_at": ["must be in the future"]})
    target = get_target_user(user_id)
    _require_outranks(actor, target, "mute")
    mute = {"reason": reason, "expires_at": expires_at, "muted_by": actor["_id"],
            "muted_at": clock.now()}
    updated = User().update(target["_id"], {"mute": mute})
    if updated is None:
        raise NotFound("User not found.")
    audit_service.record(actor, "user.mute", "user", target["_id"], reason,
                         {"expires_at": expires_at})
    realtime.emit("account_muted", {"reason": reason, "expires_at": isoformat(expires_at)},
                  to=user_room(target["_id"]))
    return updated


def unmute_user(actor: dict[str, Any], user_id: str, reason: str | None) -> dict[str, Any]:
    updated = _lift(actor, user_id, reason, "mute", "muted", site_mutes.mute_in_force)
    realtime.emit("account_unmuted", {}, to=user_room(updated["_id"]))
    return updated


def warn_user(actor: dict[str, Any], user_id: str, reason: str) -> dict[str, Any]:
    """A warning from site staff; the user sees it as a `warning` notification."""
    write_gate.admit(actor, "admin")
    return issue_warning(actor, to_object_id(user_id, "User"), reason)


def issue_warning(actor: dict[str, Any], user_id: ObjectId, reason: str,
                  source: dict[str, Any] | None = None, topic_id: ObjectId | None = None
                  ) -> dict[str, Any]:
    """The one way a `warning` notification is made (the admin route and a report's
    `warn_user`). A warning speaks for the site, so only site staff of a higher rank than
    the target give one: moderators warn users, admins warn users and moderators; topic
    moderators do not. The reason is plain text: `reason_html` is it escaped, never
    rendered as markup or markdown."""
    if not is_site_moderator(actor):
        raise Forbidden("Only site moderators and admins give warnings.")
    target = get_target_user(str(user_id))
    if actor["_id"] == target["_id"]:
        raise Forbidden("You cannot warn yourself.")
    if RANK.get(target["role"], 0) >= RANK.get(actor["role"], 0):
        raise Forbidden(f"Only a higher rank can warn a {target['role']}.")
    reason = plain_text(reason)
    if not reason:
        raise ValidationFailed(details={"reason": ["The reason is empty."]})
    notification = notifications_service.notify(target["_id"], "warning", {
        "reason": reason, "reason_html": plain_text_html(reason), "by": actor["username"],
        "topic_id": id_str(topic_id),
        **{key: str(value) for key, value in (source or {}).items()}})
    audit_service.record(actor, "user.warn", "user", target["_id"], reason,
                         {"notification_id": notification["_id"], **(source or {})},
                         topic_id=topic_id)
    return notification


# Content filter

def serialize_filter(stored: dict[str, Any]) -> dict[str, Any]:
    return CONTENT_FILTER.dump(stored)


def get_content_filter() -> dict[str, Any]:
    return content_filter.load_config()


def put_content_filter(actor: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    write_gate.admit(actor, "admin")
    value = {"rules": body["rules"], "new_account_link_limit": body["new_account_link_limit"]}
    before = content_filter.load_config()
    stored = content_filter.save_config(value, actor["_id"], body.get("expected_version"))
    audit_service.record(actor, "content_filter.update", "setting", content_filter.SETTING_NAME,
                         body.get("reason"), {"from_version": before["version"],
                                              "to_version": stored["version"],
                                              "rules": len(value["rules"])})
    return stored

"""Site bans, stored on the user as `ban: {reason, expires_at, banned_by, banned_at}`.

A ban is active while `ban` is set and `expires_at` is None or in the future. Expired
bans lift by themselves: whoever next looks at the user (login, a request, the admin list)
clears the field with a conditional update, so exactly one process records the lifting
in the audit log. Queries never trust a stale field either (`active_ban_query`).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from models.base import isoformat
from models.user import User
from services.platform import audit_service
from utils import clock
from utils.errors import Forbidden


def ban_in_force(user: dict[str, Any]) -> dict[str, Any] | None:
    """The user's ban while it lasts, read only (views call this)."""
    ban = user.get("ban")
    if not ban:
        return None
    expires_at: datetime | None = ban.get("expires_at")
    return ban if expires_at is None or expires_at > clock.now() else None


def active_ban(user: dict[str, Any]) -> dict[str, Any] | None:
    """The user's ban while it lasts; an expired one is lifted on the way."""
    ban = ban_in_force(user)
    if ban is None and user.get("ban"):
        lift_expired(user)
    return ban


def lift_expired(user: dict[str, Any]) -> bool:
    """Clear an expired ban once; True for the one caller whose update did it."""
    ban = user["ban"]
    lifted = User().update_if(user["_id"], {"ban.banned_at": ban["banned_at"],
                                            "ban.expires_at": {"$lte": clock.now()}},
                              {"$set": {"ban": None}})
    if lifted is None:
        return False
    user["ban"] = None
    audit_service.record(None, "user.ban_expired", "user", user["_id"], ban.get("reason"),
                         {"expires_at": ban["expires_at"]})
    return True


def active_ban_query(active: bool) -> dict[str, Any]:
    """A users filter for "has an active ban" (or its negation), whatever is stored."""
    banned = {"ban": {"$type": "object"},
              "$or": [{"ban.expires_at": None}, {"ban.expires_at": {"$gt": clock.now()}}]}
    return banned if active else {"$nor": [banned]}


def refuse_if_banned(user: dict[str, Any]) -> None:
    """Login's check: 403 naming the reason and the expiry."""
    ban = active_ban(user)
    if ban is None:
        return
    until = isoformat(ban.get("expires_at"))
    message = f"This account is banned: {ban['reason']}" + (f" (until {until})." if until
                                                              else " (permanently).")
    raise Forbidden(message, {"reason": ban["reason"], "expires_at": until})

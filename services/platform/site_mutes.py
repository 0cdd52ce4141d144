"""Site mutes, stored on the user as `mute: {reason, expires_at, muted_by, muted_at}`: a
sanction between a warning and a ban. A muted account keeps its sessions and reads as
before, but every write other than account self-care answers 403 `muted` until
`expires_at` (None: until lifted): services.accounts.write_gate makes the check for every write.

Like site bans (services.platform.site_bans), an expired mute is simply no longer in force; the
stored field stays until the next mute or unmute replaces it. Live sockets see it at
their next event: a write to the user renews its version stamp (utils.user_versions),
so the socket reloads the user and the same check refuses the send.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from models.base import isoformat
from utils import clock
from utils.errors import Muted


def mute_in_force(user: dict[str, Any]) -> dict[str, Any] | None:
    mute = user.get("mute")
    if not mute:
        return None
    expires_at: datetime | None = mute.get("expires_at")
    return mute if expires_at is None or expires_at > clock.now() else None


def require_not_muted(user: dict[str, Any]) -> None:
    """403 `muted` with the reason and expiry (services.accounts.write_gate.admit asks it)."""
    mute = mute_in_force(user)
    if mute is None:
        return
    until = isoformat(mute.get("expires_at"))
    raise Muted("Your account is muted" + (f" until {until}." if until else "."),
                {"reason": mute["reason"], "expires_at": until})


def active_mute_query() -> dict[str, Any]:
    return {"mute": {"$type": "object"},
            "$or": [{"mute.expires_at": None}, {"mute.expires_at": {"$gt": clock.now()}}]}

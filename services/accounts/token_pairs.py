"""Tokens for apps: a login gives a short-lived access token and a rotating refresh token.

Each login by an app starts a token *family* (models.auth_token). A refresh retires the
refresh token it presents and answers a new pair of the same family. Presenting a retired
refresh token again means two parties hold it (the app, and whoever copied it): the whole
family is revoked, access tokens included, and the sockets it opened close (refresh token
reuse detection, OAuth 2.0 Security BCP, RFC 9700 section 4.14.2). The sockets of a family
carry its origin (`token:<family_id>`), so they outlive the access token that opened them
and end with the family.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from flask import current_app

from models.auth_token import ACCESS, REFRESH, AuthToken
from models.user import User
from services.accounts import login_throttle
from services.accounts.auth_login import token_hash
from services.platform import live_rooms, site_bans
from utils import clock
from utils.errors import Unauthorized

# Failed refreshes count per client address in the login throttle, under this account.
THROTTLE_ACCOUNT = "refresh-token"
REFUSED = "The refresh token is invalid, expired or already used; log in again."
TOKEN_MAX = 200


def issue_pair(user: dict[str, Any], name: str | None) -> dict[str, Any]:
    """A new family for `user` (a login by an app): its first access and refresh tokens."""
    return _pair(user["_id"], ObjectId(), name or "api", clock.now())


def _pair(user_id: ObjectId, family_id: ObjectId, name: str,
          started_at: datetime) -> dict[str, Any]:
    config, now, tokens = current_app.config, clock.now(), AuthToken()
    access, refresh = "rta_" + secrets.token_urlsafe(32), "rtr_" + secrets.token_urlsafe(32)
    lifetime = config["ACCESS_TOKEN_TTL_SECONDS"]
    expires_at = now + timedelta(seconds=lifetime)
    tokens.create(user_id, token_hash(access), name, expires_at, kind=ACCESS,
                  family_id=family_id)
    tokens.create(user_id, token_hash(refresh), name,
                  now + timedelta(days=config["REFRESH_TOKEN_TTL_DAYS"]), kind=REFRESH,
                  family_id=family_id, started_at=started_at, retired_at=None)
    # `token` and `expires_at` repeat the access token for clients of the single token.
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
            "expires_in": lifetime, "token": access, "expires_at": expires_at}


def refresh(refresh_token: str, address: str) -> dict[str, Any]:
    """A new pair for a live refresh token, which is retired; 401 for anything else.
    A retired one revokes its family. Failures are throttled per client address like
    failed logins (services.accounts.login_throttle)."""
    login_throttle.check(THROTTLE_ACCOUNT, address)
    hashed = token_hash(refresh_token) if 0 < len(refresh_token) <= TOKEN_MAX else None
    old = AuthToken().retire_refresh(hashed, clock.now()) if hashed else None
    if old is None:
        known = AuthToken().find_refresh(hashed) if hashed else None
        if known is not None and known["retired_at"] is not None:
            revoke_family(known["user_id"], known["family_id"], "token_reused")
        login_throttle.record_failure(THROTTLE_ACCOUNT, address, None)
        raise Unauthorized(REFUSED)
    user = User().find_active(old["user_id"])
    if user is None or site_bans.active_ban(user):
        raise Unauthorized(REFUSED)
    pair = _pair(user["_id"], old["family_id"], old["name"], old["started_at"])
    if not AuthToken().exists(old["_id"]):
        # The family was revoked between the retirement and the new pair (a reuse
        # racing this refresh): the new pair goes with it.
        revoke_family(user["_id"], old["family_id"], "token_reused")
        raise Unauthorized(REFUSED)
    return pair


def revoke_family(user_id: ObjectId, family_id: ObjectId, reason: str) -> None:
    """Delete every token of the family; its sockets close on every process."""
    AuthToken().delete_credential(user_id, family_id)
    live_rooms.end_sockets(user_id, reason, only=live_rooms.token_origin(family_id))

"""STUN/TURN configuration for a signed-in user, with short-lived TURN credentials in
the format of coturn's REST API (`use-auth-secret`): username `<expiry>:<user_id>`
(expiry in Unix seconds), password base64(HMAC-SHA1(static-auth-secret, username)).
coturn checks the HMAC and refuses a username whose expiry has passed."""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from typing import Any

from flask import current_app

from models.base import isoformat
from utils import clock


def turn_credentials(secret: str, user_id: str, expiry: int) -> tuple[str, str]:
    username = f"{expiry}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(user: dict[str, Any]) -> dict[str, Any]:
    config = current_app.config
    lifetime = int(config["TURN_CREDENTIAL_SECONDS"])
    expires = clock.now() + timedelta(seconds=lifetime)
    servers: list[dict[str, Any]] = []
    if config["STUN_URLS"]:
        servers.append({"urls": list(config["STUN_URLS"])})
    if config["TURN_URLS"] and config["TURN_SECRET"]:
        username, credential = turn_credentials(config["TURN_SECRET"], str(user["_id"]),
                                                int(expires.timestamp()))
        servers.append({"urls": list(config["TURN_URLS"]), "username": username,
                        "credential": credential})
    return {"ice_servers": servers, "ttl": lifetime, "expires_at": isoformat(expires)}

"""Signed, expiring, single-use links (email verification, password reset).

The signed payload names the user, an expiry and a nonce; the nonce is also stored on the
user and cleared when the link is used, so a link works once, and a newer link (or a
password change) kills older ones.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from utils import clock


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"roundtable.{purpose}")


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def make(purpose: str, user_id: str, nonce: str, lifetime: timedelta) -> str:
    expires = int((clock.now() + lifetime).timestamp())
    return _serializer(purpose).dumps({"uid": user_id, "n": nonce, "exp": expires})


def read(purpose: str, token: str) -> dict[str, Any] | None:
    """The payload of a valid, unexpired token, else None (the caller says why not)."""
    try:
        payload = _serializer(purpose).loads(token)
    except BadSignature:
        return None
    if not isinstance(payload, dict) or not {"uid", "n", "exp"} <= payload.keys():
        return None
    if not isinstance(payload["exp"], int) or payload["exp"] <= clock.now().timestamp():
        return None
    return payload

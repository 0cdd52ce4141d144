"""Signed, expiring, single-use links (email verification, password reset), and signed
non-expiring ones (`sign`/`unsign`: the unsubscribe links of notification mails).

The signed payload names the user, an expiry and a nonce; the nonce is also stored on the
user and cleared when the link is used, so a link works once, and a newer link (or a
password change) kills older ones.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from bson import ObjectId
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from models.user import User
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


def sign(purpose: str, payload: dict[str, Any]) -> str:
    """A signed, non-expiring token carrying `payload` (unsubscribe links)."""
    return _serializer(purpose).dumps(payload)


def unsign(purpose: str, token: str) -> dict[str, Any] | None:
    """The payload of a token `sign` made for `purpose`, else None (forged, altered)."""
    try:
        payload = _serializer(purpose).loads(token)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) else None


def frontend_link(path: str, token: str) -> str:
    """The frontend page `path` that takes `token` (the link a mail carries)."""
    base = current_app.config["FRONTEND_URL"].rstrip("/")
    return f"{base}/{path}?{urlencode({'token': token})}"


def consume_link(purpose: str, token: str, nonce_field: str,
                  changes: dict[str, Any]) -> dict[str, Any] | None:
    """Apply `changes` to the user a `purpose` link names, if the link is valid and its
    nonce (`nonce_field`) still matches; the updated user, or None."""
    payload = read(purpose, token)
    if payload is None or not ObjectId.is_valid(payload["uid"]):
        return None
    # Matching and clearing the nonce in one update makes the link single-use under races.
    return User().update_if(ObjectId(payload["uid"]),
                            {nonce_field: payload["n"], "deleted": False},
                            {"$set": {**changes, nonce_field: None}})

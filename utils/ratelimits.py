"""Rate-limit keys beyond the client address the limiter uses by default."""
from __future__ import annotations

import hashlib

from flask import request
from flask_limiter.util import get_remote_address

from utils.identity import email_key as canonical_email


def email_key() -> str:
    """Per target address in its one canonical spelling (utils.identity, so invisible
    characters do not make a fresh budget), hashed: limiter keys are stored in Redis.
    The body may be anything at this point, so never raise."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str) or not email.strip():
        return "noemail:" + get_remote_address()
    return "email:" + hashlib.sha256(canonical_email(email).encode()).hexdigest()
